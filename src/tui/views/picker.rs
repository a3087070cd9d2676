//! The operator picker for manual assignment: every operator, those routing could
//! pick first (with weight and load), then the rest with the reason they are not.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{dialog_box, fit, layout, pad_left, shown};
use crate::tui::app::App;
use crate::tui::model::visible_offset;
use crate::tui::overlays::assign::AssignPicker;

pub fn render(app: &App, p: &AssignPicker, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let height = (p.rows.len() as u16 + 5).min(area.height.saturating_sub(2));
    let boxed = layout::centered(area, 72, height.max(8));
    let inner = dialog_box(frame, theme, boxed, "Assign to operator");
    let [subject, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(
        Paragraph::new(Line::from(fit(
            &format!(" {}", p.subject),
            usize::from(subject.width),
        ))),
        subject,
    );
    let page = usize::from(table_area.height.saturating_sub(1));
    let offset = visible_offset(p.sel.cursor, p.sel.offset, page);
    let rows: Vec<Row> = p
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(i, r)| {
            let note = if r.why.is_empty() {
                Span::styled("eligible", theme.active())
            } else {
                Span::styled(r.why.label(), theme.dim())
            };
            let weight = if r.weight == 0 {
                "—".to_string()
            } else {
                r.weight.to_string()
            };
            let row = Row::new(vec![
                Cell::from(shown(&r.name).into_owned()),
                Cell::from(pad_left(&weight, 6)),
                Cell::from(pad_left(&format!("{}/{}", r.load, r.max_load), 7)),
                Cell::from(note),
            ]);
            if i == p.sel.cursor {
                row.style(theme.selected())
            } else if !r.why.is_empty() {
                row.style(theme.dim())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(vec!["Operator", "Weight", "   Load", "Routing"]).style(theme.header());
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(30),
        ],
    )
    .header(header)
    .column_spacing(2);
    frame.render_widget(table, table_area);
}
