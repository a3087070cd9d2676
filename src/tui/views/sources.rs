//! The Sources tab: name, strategy, waiting, today, total, description (the sorted
//! column marked ▲ or ▼); beside it the
//! selected source's configured share per operator against the actual share of its
//! last 200 routed contacts.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::{bar, filter_bar, fit, layout, pad, pad_left, shown};
use crate::tui::action::Command;
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::model::{Sort, visible_offset};
use crate::tui::tabs::sources::SourceColumn;

pub fn render(app: &App, frame: &mut Frame<'_>, body: Rect) {
    let theme = app.theme;
    let t = &app.sources;
    let (bar_area, rest) = layout::with_filter(body, t.filter.is_shown());
    if let Some(a) = bar_area {
        frame.render_widget(Paragraph::new(filter_bar(theme, &t.filter, "sources")), a);
    }
    if t.all.is_empty() {
        let add = app
            .keymap
            .first_key(Context::Sources, Command::Add)
            .map(|k| k.to_string())
            .unwrap_or_else(|| "a".into());
        let mut lines = vec![
            Line::from(""),
            Line::styled("No sources yet.", theme.title()),
            Line::from(""),
        ];
        if !app.read_only {
            lines.push(Line::from(vec![
                Span::raw("Press "),
                Span::styled(add, theme.key()),
                Span::raw(
                    " to add one: a channel contacts come from (a bot, a form, a phone line).",
                ),
            ]));
        }
        frame.render_widget(
            Paragraph::new(lines)
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true }),
            rest,
        );
        return;
    }
    let (table_area, chart_area) = layout::sources(rest, t.rows.len());
    let page = usize::from(table_area.height.saturating_sub(1));
    let offset = visible_offset(t.sel.cursor, t.sel.offset, page);
    // The sorted column has room for its arrow.
    let arrow_room = |c: SourceColumn| if t.sort.column == c { 2 } else { 0 };
    let widths = [
        16,
        8 + arrow_room(SourceColumn::Strategy),
        7 + arrow_room(SourceColumn::Waiting),
        5 + arrow_room(SourceColumn::Today),
        6 + arrow_room(SourceColumn::Total),
    ];
    let desc_w = usize::from(table_area.width)
        .saturating_sub(widths.iter().map(|w| usize::from(*w)).sum::<usize>() + 5);
    let rows: Vec<Row> = t
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(i, s)| {
            let waiting = if s.waiting > 0 {
                Cell::from(Span::styled(
                    pad_left(&s.waiting.to_string(), 7),
                    theme.waiting(),
                ))
            } else {
                Cell::from(pad_left("0", 7))
            };
            let row = Row::new(vec![
                Cell::from(fit(&s.name, usize::from(widths[0]))),
                Cell::from(s.strategy.to_string()),
                waiting,
                Cell::from(pad_left(&s.today.to_string(), 5)),
                Cell::from(pad_left(&s.total.to_string(), 6)),
                Cell::from(fit(&s.description, desc_w)),
            ]);
            if i == t.sel.cursor {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(header(t.sort)).style(theme.header());
    let table = Table::new(
        rows,
        [
            Constraint::Length(widths[0]),
            Constraint::Length(widths[1]),
            Constraint::Length(widths[2]),
            Constraint::Length(widths[3]),
            Constraint::Length(widths[4]),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(1);
    frame.render_widget(table, table_area);
    if t.rows.is_empty() {
        super::empty_table_note(
            frame,
            theme,
            table_area,
            "no source matches the filter",
            Alignment::Left,
        );
    }
    chart(app, frame, chart_area);
}

/// The column headers, the sorted one with its arrow.
fn header(sort: Sort<SourceColumn>) -> Vec<String> {
    let mut labels = [
        "Name",
        "Strategy",
        "Waiting",
        "Today",
        " Total",
        "Description",
    ]
    .map(String::from);
    let i = match sort.column {
        SourceColumn::Name => 0,
        SourceColumn::Strategy => 1,
        SourceColumn::Waiting => 2,
        SourceColumn::Today => 3,
        SourceColumn::Total => 4,
    };
    labels[i].push(' ');
    labels[i].push_str(sort.arrow());
    labels.into()
}

fn chart(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let name = app
        .sources
        .rows
        .get(app.sources.sel.cursor)
        .map(|s| shown(&s.name).into_owned())
        .unwrap_or_default();
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" {name} · share by operator "),
            theme.title(),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(stats) = &app.sources.chart else {
        return;
    };
    let w = usize::from(inner.width);
    let name_w = 16.min(w / 4).max(6);
    // name, two bars with a percentage each, and between them the chance now
    let bar_w = w.saturating_sub(name_w + 1 + 2 * 6 + 2 + 5) / 2;
    let mut lines = vec![Line::from(vec![
        Span::raw(pad("", name_w + 1)),
        Span::styled(pad("configured", bar_w + 6), theme.configured_bar()),
        Span::raw(" "),
        Span::styled(pad_left("now", 4), theme.header()),
        Span::raw(" "),
        Span::styled(
            fit(
                &if stats.routed == 0 {
                    "actual: none routed yet".to_string()
                } else {
                    format!("actual, last {}", stats.routed)
                },
                bar_w + 6,
            ),
            theme.actual_bar(),
        ),
    ])];
    if stats.operators.is_empty() {
        lines.push(Line::styled(
            "no operator has a weight here: contacts wait (set weights on the Weights tab)",
            theme.dim(),
        ));
    }
    for (i, o) in stats.operators.iter().enumerate() {
        let chance = app.sources.chances.get(i).copied().unwrap_or(0.0);
        let (cf, ce) = bar(o.configured_share, bar_w);
        let (af, ae) = bar(o.actual_share, bar_w);
        lines.push(Line::from(vec![
            Span::raw(pad(&o.operator, name_w)),
            Span::raw(" "),
            Span::styled(cf, theme.configured_bar()),
            Span::styled(ce, theme.dim()),
            Span::raw(format!("{:>5.0}%", o.configured_share * 100.0)),
            Span::raw(format!("{:>4.0}%", chance * 100.0)),
            Span::raw(" "),
            Span::styled(af, theme.actual_bar()),
            Span::styled(ae, theme.dim()),
            Span::raw(format!("{:>5.0}%", o.actual_share * 100.0)),
        ]));
    }
    if stats.waiting > 0 {
        lines.push(Line::styled(
            format!("{} waiting for an operator", stats.waiting),
            theme.waiting(),
        ));
    }
    lines.push(Line::styled(
        format!(
            "configured: share of the weights · now: chance of the next contact ({}, active with room)",
            stats.strategy
        ),
        theme.dim(),
    ));
    // Bars fit their line; notes wrap.
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
