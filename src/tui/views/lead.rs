//! The lead card: who the lead is (identifiers) and every contact it made, across
//! sources, with status and operator.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{dialog_box, layout, shown};
use crate::tui::app::App;
use crate::tui::model::visible_offset;
use crate::tui::overlays::lead::LeadCard;

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
    let [top, table_area] =
        Layout::vertical([Constraint::Length(6), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(ident), top);
    let page = usize::from(table_area.height.saturating_sub(1));
    let offset = visible_offset(card.sel.cursor, card.sel.offset, page);
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
                Cell::from(shown(&c.source).into_owned()),
                Cell::from(Span::styled(c.status.to_string(), status_style)),
                Cell::from(shown(c.operator.as_deref().unwrap_or("—")).into_owned()),
                // One line per contact: line breaks show as `\n`.
                Cell::from(shown(&c.message).into_owned()),
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
        [
            Constraint::Length(8),
            Constraint::Length(11),
            Constraint::Length(14),
            Constraint::Length(7),
            Constraint::Length(16),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(1);
    frame.render_widget(table, table_area);
}
