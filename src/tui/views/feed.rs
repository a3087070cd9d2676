//! The Feed tab: contacts newest or oldest first (time, source, lead, operator, status,
//! message), with the order, the active filters and the "N new" count above. Only the
//! page the App read is drawn.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{fit, layout, shown, width};
use crate::domain::ContactStatus;
use crate::tui::action::Command;
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::tabs::feed::state::NEW_CAP;

pub fn render(app: &App, frame: &mut Frame<'_>, body: Rect) {
    let theme = app.theme;
    let f = &app.feed;
    let (header_area, table_area) = layout::feed(body);

    // Header: what is shown, and how many arrived above a scrolled page.
    let mut left: Vec<Span> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    if let Some(s) = f.filter.status {
        tags.push(format!("{s} only"));
    }
    if let Some(s) = &f.source_name {
        tags.push(format!("source {}", shown(s)));
    }
    if let Some(o) = &f.operator_name {
        tags.push(format!("operator {}", shown(o)));
    }
    let top_key = app
        .keymap
        .first_key(Context::Navigation, Command::First)
        .map(|k| k.to_string())
        .unwrap_or_else(|| "g".into());
    match (f.following(), f.oldest_first) {
        (true, false) => left.push(Span::styled("newest first, following", theme.dim())),
        (true, true) => left.push(Span::styled("oldest first", theme.badge())),
        (false, false) => left.push(Span::styled(
            format!("paused ({top_key}: follow)"),
            theme.warn(),
        )),
        (false, true) => {
            left.push(Span::styled("oldest first", theme.badge()));
            left.push(Span::raw(" · "));
            left.push(Span::styled(
                format!("paused ({top_key}: top)"),
                theme.warn(),
            ));
        }
    }
    if let Some(id) = f.selection_out_of_view() {
        left.push(Span::raw(" · "));
        left.push(Span::styled(format!("#{id} left the view"), theme.warn()));
    }
    if !tags.is_empty() {
        left.push(Span::raw(" · "));
        left.push(Span::styled(tags.join(" · "), theme.badge()));
    }
    if f.search.editing {
        left.push(Span::raw(" · "));
        left.push(Span::styled("/", theme.key()));
        left.push(Span::raw(shown(&f.search.text).into_owned()));
        left.push(Span::styled("▏", theme.key()));
    } else if !f.searched.is_empty() {
        left.push(Span::raw(" · "));
        left.push(Span::styled("/", theme.key()));
        left.push(Span::raw(shown(&f.searched).into_owned()));
    }
    // The waiting list says how to put the longest waiting on top, and oldest first
    // how to go back.
    let waiting_only = f.filter.status == Some(ContactStatus::Waiting);
    if let Some(k) = app.keymap.first_key(Context::Feed, Command::Reverse)
        && (waiting_only || f.oldest_first)
    {
        let other = if f.oldest_first { "newest" } else { "oldest" };
        left.push(Span::raw(" · "));
        left.push(Span::styled(format!("{k}: {other} first"), theme.dim()));
    }
    if !f.marks.is_empty() {
        left.push(Span::raw(" · "));
        let hidden = f.marks_out_of_view();
        left.push(Span::styled(
            if hidden > 0 {
                format!("{} marked ({hidden} out of view)", f.marks.len())
            } else {
                format!("{} marked", f.marks.len())
            },
            theme.marked(),
        ));
    }
    let right = if f.new_above > 0 {
        let n = if f.new_above > NEW_CAP {
            format!("{NEW_CAP}+")
        } else {
            f.new_above.to_string()
        };
        Some(Span::styled(format!("▲ {n} new "), theme.warn()))
    } else {
        None
    };
    frame.render_widget(Paragraph::new(Line::from(left)), header_area);
    if let Some(r) = right {
        let w = (r.width() as u16).min(header_area.width);
        let a = Rect::new(header_area.right() - w, header_area.y, w, 1);
        frame.render_widget(Paragraph::new(Line::from(r)).alignment(Alignment::Right), a);
    }

    if f.rows.is_empty() {
        let text = if f.has_filters() {
            "no contact matches these filters (Esc clears them)"
        } else {
            "no contacts yet: they appear here as they arrive (s starts the simulator)"
        };
        super::empty_table_note(frame, theme, table_area, text, Alignment::Center);
        return;
    }

    let wide = table_area.width >= 100;
    let (src_w, lead_w, op_w) = if wide { (14, 20, 16) } else { (12, 15, 13) };
    let time_w = rows_time_width(app);
    // The message takes what the other columns and their six gaps leave.
    let message_w = usize::from(table_area.width)
        .saturating_sub(1 + usize::from(time_w) + src_w + lead_w + usize::from(op_w) + 7 + 6);
    let rows: Vec<Row> = f
        .rows
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let marked = f.marks.contains_key(&c.id);
            let status_style = theme.status(c.status);
            let operator = match (&c.operator, c.status) {
                (_, ContactStatus::Waiting) => Span::styled("—", theme.waiting()),
                (Some(o), _) => Span::raw(fit(o, usize::from(op_w))),
                (None, _) => Span::styled("—", theme.dim()),
            };
            let row_style = if i == f.cursor && f.selected_id == Some(c.id) {
                theme.selected()
            } else if f.is_fresh(c.id) {
                theme.fresh()
            } else if c.status == ContactStatus::Closed {
                theme.dim()
            } else {
                Style::new()
            };
            let mark = if marked {
                Span::styled("●", theme.marked())
            } else if f.is_fresh(c.id) {
                Span::styled("+", theme.fresh())
            } else {
                Span::raw(" ")
            };
            Row::new(vec![
                Cell::from(mark),
                Cell::from(app.time(c.created_at)),
                Cell::from(fit(&c.source, src_w)),
                Cell::from(fit(&c.lead, lead_w)),
                Cell::from(operator),
                Cell::from(Span::styled(c.status.to_string(), status_style)),
                // One line per contact: line breaks show as `\n`, a cut ends in
                // "…"; the lead card (Enter) shows it whole.
                Cell::from(fit(&c.message, message_w)),
            ])
            .style(row_style)
        })
        .collect();
    let header = Row::new(vec![
        "", "Time", "Source", "Lead", "Operator", "Status", "Message",
    ])
    .style(theme.header());
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Length(time_w),
            Constraint::Length(src_w as u16),
            Constraint::Length(lead_w as u16),
            Constraint::Length(op_w),
            Constraint::Length(7),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(1);
    frame.render_widget(table, table_area);
}

/// Wide enough for the longest time on the page.
fn rows_time_width(app: &App) -> u16 {
    app.feed
        .rows
        .iter()
        .map(|c| width(&app.time(c.created_at)))
        .max()
        .unwrap_or(8)
        .max(4) as u16
}
