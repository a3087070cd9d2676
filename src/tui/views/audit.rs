//! The audit log: who changed what, when, before -> after; newest first, `/` filters.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{dialog_box, filter_bar, layout, shown};
use crate::tui::app::{App, visible_offset};
use crate::tui::dialog::AuditView;

pub fn render(app: &App, v: &AuditView, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let boxed = layout::big_dialog(area);
    let inner = dialog_box(frame, theme, boxed, "Audit log · newest first");
    let [bar, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    if v.filter.is_shown() {
        frame.render_widget(Paragraph::new(filter_bar(theme, &v.filter, "entries")), bar);
    } else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(
                    " {} entr{} loaded · / filters",
                    v.entries.len(),
                    if v.entries.len() == 1 { "y" } else { "ies" }
                ),
                theme.dim(),
            )),
            bar,
        );
    }
    if v.entries.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(" nothing recorded yet", theme.dim())),
            Rect::new(table_area.x, table_area.y, table_area.width, 1),
        );
        return;
    }
    let page = usize::from(table_area.height.saturating_sub(1));
    let offset = visible_offset(v.sel.cursor, v.sel.offset, page);
    let rows: Vec<Row> = v
        .entries
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(i, e)| {
            let action = match e.entity_id {
                Some(id) => format!("{} #{id}", shown(&e.action)),
                None => shown(&e.action).into_owned(),
            };
            // Actors and before/after values are stored text, as anyone wrote them.
            let row = Row::new(vec![
                Cell::from(app.time(e.at)),
                Cell::from(shown(&e.actor).into_owned()),
                Cell::from(action),
                Cell::from(shown(&e.summary()).into_owned()),
            ]);
            if i == v.sel.cursor {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(vec!["Time", "Actor", "Action", "Change"]).style(theme.header());
    let table = Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Length(10),
            Constraint::Length(20),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(1);
    frame.render_widget(table, table_area);
}
