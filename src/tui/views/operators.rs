//! The Operators tab: name, active, load against max load with a bar, sources, today,
//! the sorted column marked ▲ or ▼; and the detail pane (weights by source, open
//! contacts).

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::{bar, filter_bar, fit, layout, pad_left, shown};
use crate::tui::action::Command;
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::model::{Sort, visible_offset};
use crate::tui::tabs::operators::OperatorColumn;

pub fn render(app: &App, frame: &mut Frame<'_>, body: Rect) {
    let theme = app.theme;
    let t = &app.operators;
    let (bar_area, rest) = layout::with_filter(body, t.filter.is_shown());
    if let Some(a) = bar_area {
        frame.render_widget(Paragraph::new(filter_bar(theme, &t.filter, "operators")), a);
    }
    if t.all.is_empty() {
        empty(app, frame, rest);
        return;
    }
    let (table_area, detail_area) = layout::operators(rest, t.detail_open);
    let page = usize::from(table_area.height.saturating_sub(1));
    let offset = visible_offset(t.sel.cursor, t.sel.offset, page);
    // The name column as wide as the longest name (within reason), the rest to the right.
    let name_w = t
        .rows
        .iter()
        .map(|o| super::width(&o.name))
        .max()
        .unwrap_or(4)
        .clamp(12, 32) as u16;
    let rows: Vec<Row> = t
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(i, o)| {
            let (full, empty) = bar(
                if o.max_load == 0 {
                    1.0
                } else {
                    f64::from(o.load) / f64::from(o.max_load)
                },
                8,
            );
            let load = Line::from(vec![
                Span::styled(full, theme.load(o.load, o.max_load)),
                Span::styled(empty, theme.dim()),
                Span::raw(format!(" {:>3}/{:<3}", o.load, o.max_load)),
            ]);
            let base = if o.active { Style::new() } else { theme.dim() };
            let style = if i == t.sel.cursor {
                theme.selected()
            } else {
                base
            };
            Row::new(vec![
                Cell::from(fit(&o.name, usize::from(name_w))),
                Cell::from(if o.active { "yes" } else { "no" }),
                Cell::from(load),
                Cell::from(pad_left(&o.sources.to_string(), 7)),
                Cell::from(pad_left(&o.assigned_today.to_string(), 5)),
            ])
            .style(style)
        })
        .collect();
    let header = Row::new(header(t.sort)).style(theme.header());
    let arrow_room = |c: OperatorColumn| if t.sort.column == c { 2 } else { 0 };
    let table = Table::new(
        rows,
        [
            // The sorted column has room for its arrow.
            Constraint::Length(name_w),
            Constraint::Length(6 + arrow_room(OperatorColumn::Active)),
            Constraint::Length(16),
            Constraint::Length(7 + arrow_room(OperatorColumn::Sources)),
            Constraint::Length(5 + arrow_room(OperatorColumn::Today)),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(2);
    frame.render_widget(table, table_area);
    if t.rows.is_empty() {
        super::empty_table_note(
            frame,
            theme,
            table_area,
            "no operator matches the filter",
            Alignment::Left,
        );
    }
    if let Some(area) = detail_area {
        detail(app, frame, area);
    }
}

/// The column headers, the sorted one with its arrow (max load sorts the Load
/// column, which shows it after the slash).
fn header(sort: Sort<OperatorColumn>) -> Vec<Cell<'static>> {
    let mut labels = ["Name", "Active", "Load", "Sources", "Today"].map(String::from);
    let (i, label) = match sort.column {
        OperatorColumn::Name => (0, "Name"),
        OperatorColumn::Active => (1, "Active"),
        OperatorColumn::Load => (2, "Load"),
        OperatorColumn::MaxLoad => (2, "Max load"),
        OperatorColumn::Sources => (3, "Sources"),
        OperatorColumn::Today => (4, "Today"),
    };
    labels[i] = format!("{label} {}", sort.arrow());
    labels.into_iter().map(Cell::from).collect()
}

fn empty(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let add = app
        .keymap
        .first_key(Context::Operators, Command::Add)
        .map(|k| k.to_string())
        .unwrap_or_else(|| "a".into());
    let mut lines = vec![Line::from("")];
    if app.empty {
        lines.push(Line::styled("This file is empty.", theme.title()));
        lines.push(Line::from(""));
    } else {
        lines.push(Line::styled("No operators yet.", theme.title()));
        lines.push(Line::from(""));
    }
    if app.read_only {
        lines.push(Line::from(
            "It is open read-only, so nothing can be added here.",
        ));
    } else {
        lines.push(Line::from(vec![
            Span::raw("Press "),
            Span::styled(add, theme.key()),
            Span::raw(" to add an operator,"),
        ]));
    }
    if app.empty {
        lines.push(Line::from(vec![
            Span::raw("or quit and load demo data with "),
            Span::styled("switchboard demo", theme.key()),
        ]));
        lines.push(Line::from(
            "(8 operators, 4 sources, weights and a few hundred contacts).",
        ));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn detail(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let Some(op) = app.operators.rows.get(app.operators.sel.cursor) else {
        return;
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" {} ", shown(&op.name)),
            theme.title(),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    let state = format!(
        "{} · load {}/{} · {} assigned today",
        if op.active { "active" } else { "inactive" },
        op.load,
        op.max_load,
        op.assigned_today
    );
    lines.push(Line::from(fit(&state, w)));
    let Some(d) = app
        .operators
        .detail
        .as_ref()
        .filter(|d| d.operator_id == op.id)
    else {
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    };
    lines.push(Line::styled("Weights by source", theme.header()));
    if d.weights.is_empty() {
        lines.push(Line::styled(
            "  no weights: takes no routed traffic",
            theme.dim(),
        ));
    }
    let source_w = w.saturating_sub(16).clamp(4, 24);
    for (source, weight, share) in &d.weights {
        lines.push(Line::from(format!(
            "  {} {weight:>6} {:>4.0}% of the source",
            super::pad(source, source_w),
            share * 100.0,
        )));
    }
    lines.push(Line::styled(
        format!("Open contacts ({})", op.load),
        theme.header(),
    ));
    if d.open.is_empty() {
        lines.push(Line::styled("  none", theme.dim()));
    }
    // As many as fit; the last row says how many more there are.
    let room = usize::from(inner.height).saturating_sub(lines.len());
    let total = (op.load as usize).max(d.open.len());
    let shown_n = if total > room {
        room.saturating_sub(1)
    } else {
        d.open.len()
    };
    for c in d.open.iter().take(shown_n) {
        let text = format!(
            "  #{:<6} {} {} · {} · {}",
            c.id,
            app.time(c.created_at),
            c.source,
            c.lead,
            c.message
        );
        lines.push(Line::from(fit(&text, w)));
    }
    if total > shown_n && room > 0 {
        lines.push(Line::styled(
            format!("  … and {} more", total - shown_n),
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
