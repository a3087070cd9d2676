//! The lead card: who the lead is (identifiers) and every contact it made, across
//! sources, with status and operator.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::{dialog_box, fit, layout, shown};
use crate::tui::app::App;
use crate::tui::model::visible_offset;
use crate::tui::overlays::lead::LeadCard;

/// Contact, time, source, status, operator; the message takes the rest.
const COLUMNS: [u16; 5] = [8, 11, 14, 7, 16];

pub fn render(app: &App, card: &LeadCard, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let l = &card.lead.lead;
    let boxed = layout::big_dialog(area);
    let title = format!("Lead #{} · {}", l.id, l.label());
    let inner = dialog_box(frame, theme, boxed, &title);
    let field = |label: &str, v: &Option<String>| {
        Line::from(vec![
            Span::styled(format!(" {label:<12}"), theme.dim()),
            match v {
                Some(v) => Span::raw(shown(v).into_owned()),
                None => Span::styled("—", theme.dim()),
            },
        ])
    };
    let ident = vec![
        field("name", &l.name),
        field("external id", &l.external_id),
        field("phone", &l.phone),
        field("email", &l.email),
        Line::from(vec![
            Span::styled(format!(" {:<12}", "first seen"), theme.dim()),
            Span::raw(app.time(l.created_at)),
            Span::styled(
                format!("   {} contact(s)", card.lead.contacts.len()),
                theme.dim(),
            ),
        ]),
    ];
    let [top, rest] = Layout::vertical([Constraint::Length(6), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(ident), top);
    if card.contact_open {
        contact_in_full(app, card, frame, rest);
        return;
    }
    // The selected contact's whole message, wrapped, under the table.
    let [table_area, message_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(4)]).areas(rest);
    if let Some(c) = card.selected() {
        let title = Line::styled(
            format!(" message of #{} · Enter shows the whole contact", c.id),
            theme.dim(),
        );
        let mut lines = vec![title];
        lines.extend(message_lines(&c.message));
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }),
            message_area,
        );
    }
    let page = usize::from(table_area.height.saturating_sub(1));
    let offset = visible_offset(card.sel.cursor, card.sel.offset, page);
    // The fixed columns and their gaps; the message takes the rest.
    let message_w = usize::from(table_area.width)
        .saturating_sub(COLUMNS.iter().map(|w| usize::from(*w) + 1).sum());
    let rows: Vec<Row> = card
        .lead
        .contacts
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(i, c)| {
            let status_style = theme.status(c.status);
            let row = Row::new(vec![
                Cell::from(format!("#{}", c.id)),
                Cell::from(app.time(c.created_at)),
                Cell::from(fit(&c.source, usize::from(COLUMNS[2]))),
                Cell::from(Span::styled(c.status.to_string(), status_style)),
                Cell::from(fit(
                    c.operator.as_deref().unwrap_or("—"),
                    usize::from(COLUMNS[4]),
                )),
                // One line per contact: line breaks show as `\n`; the pane below
                // shows the selected one whole.
                Cell::from(fit(&c.message, message_w)),
            ]);
            if i == card.sel.cursor {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(vec![
        "Contact", "Time", "Source", "Status", "Operator", "Message",
    ])
    .style(theme.header());
    let table = Table::new(
        rows,
        COLUMNS
            .map(Constraint::Length)
            .into_iter()
            .chain([Constraint::Fill(1)]),
    )
    .header(header)
    .column_spacing(1);
    frame.render_widget(table, table_area);
}

/// A stored message as lines: its own line breaks kept, every line escaped.
fn message_lines(message: &str) -> Vec<Line<'static>> {
    message
        .split('\n')
        .map(|l| Line::from(format!(" {}", shown(l.trim_end_matches('\r')))))
        .collect()
}

/// One contact, every field and the whole message, wrapped to the width.
fn contact_in_full(app: &App, card: &LeadCard, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let Some(c) = card.selected() else {
        return;
    };
    let field = |label: &str, v: String| {
        Line::from(vec![
            Span::styled(format!(" {label:<12}"), theme.dim()),
            Span::raw(v),
        ])
    };
    let mut lines = vec![
        Line::styled(format!(" Contact #{}", c.id), theme.header()),
        field("received", app.time(c.created_at)),
        field("source", shown(&c.source).into_owned()),
        Line::from(vec![
            Span::styled(format!(" {:<12}", "status"), theme.dim()),
            Span::styled(c.status.to_string(), theme.status(c.status)),
        ]),
        field(
            "operator",
            shown(c.operator.as_deref().unwrap_or("—")).into_owned(),
        ),
        Line::styled(" message", theme.dim()),
    ];
    lines.extend(message_lines(&c.message));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
