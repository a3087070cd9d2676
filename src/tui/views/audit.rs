//! The audit log: who changed what, when, before -> after; newest first, `/` filters.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::{dialog_box, filter_bar, fit, layout, shown, width};
use crate::store::AuditEntry;
use crate::tui::app::App;
use crate::tui::model::visible_offset;
use crate::tui::overlays::audit::AuditView;

pub fn render(app: &App, v: &AuditView, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let boxed = layout::big_dialog(area);
    let inner = dialog_box(frame, theme, boxed, "Audit log · newest first");
    if let Some(e) = v.open_entry() {
        entry_in_full(app, e, frame, inner);
        return;
    }
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
        let text = if v.filter.text.trim().is_empty() {
            " nothing recorded yet".to_string()
        } else {
            format!(
                " no entry matches '{}' (Esc clears the filter)",
                fit(v.filter.text.trim(), 40)
            )
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.dim())),
            Rect::new(table_area.x, table_area.y, table_area.width, 1),
        );
        return;
    }
    let page = usize::from(table_area.height.saturating_sub(1));
    let offset = visible_offset(v.sel.cursor, v.sel.offset, page);
    let action_of = |e: &crate::store::AuditEntry| match e.entity_id {
        Some(id) => format!("{} #{id}", shown(&e.action)),
        None => shown(&e.action).into_owned(),
    };
    let visible = || v.entries.iter().skip(offset).take(page);
    // Columns sized to what is shown: whole actions with their ids, the actor up to a
    // third of the width; the change takes the rest and is cut with "…".
    let total = usize::from(table_area.width);
    let action_w = visible()
        .map(|e| width(&action_of(e)))
        .max()
        .unwrap_or(6)
        .clamp(6, total / 3);
    let actor_w = visible()
        .map(|e| width(&e.actor))
        .max()
        .unwrap_or(5)
        .clamp(5, (total / 5).max(5));
    let time_w = 11;
    let change_w = total.saturating_sub(time_w + actor_w + action_w + 3);
    let rows: Vec<Row> = v
        .entries
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(i, e)| {
            // Actors and before/after values are stored text, as anyone wrote them.
            let row = Row::new(vec![
                Cell::from(app.time(e.at)),
                Cell::from(fit(&e.actor, actor_w)),
                Cell::from(fit(&action_of(e), action_w)),
                Cell::from(fit(&e.summary(), change_w)),
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
            Constraint::Length(time_w as u16),
            Constraint::Length(actor_w as u16),
            Constraint::Length(action_w as u16),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(1);
    frame.render_widget(table, table_area);
}

/// One entry: who, when, what, and every field before and after, wrapped.
fn entry_in_full(app: &App, e: &AuditEntry, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let field = |label: &str, v: String| {
        Line::from(vec![
            Span::styled(format!(" {label:<10}"), theme.dim()),
            Span::raw(v),
        ])
    };
    let what = match e.entity_id {
        Some(id) => format!("{} #{id}", shown(&e.entity)),
        None => shown(&e.entity).into_owned(),
    };
    let mut lines = vec![
        field("when", app.time(e.at)),
        field("actor", shown(&e.actor).into_owned()),
        field("action", shown(&e.action).into_owned()),
        field("entity", what),
    ];
    // Stored values as JSON text: anyone wrote them, so escaped.
    let json = |v: &Option<serde_json::Value>| match v {
        Some(v) => shown(&v.to_string()).into_owned(),
        None => "—".to_string(),
    };
    lines.push(field("change", shown(&e.summary()).into_owned()));
    lines.push(field("before", json(&e.before)));
    lines.push(field("after", json(&e.after)));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
