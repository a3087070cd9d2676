//! Add/edit forms and the simulator dialog: labelled fields, the focused one with a
//! cursor, choices with ◀ ▶, and the store's refusal when the last save failed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{dialog_box, fit, layout, pad, shown, width};
use crate::tui::app::App;
use crate::tui::overlays::form::{FieldKind, Form, FormKind};

pub fn render(app: &App, form: &Form, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let label_w = form.fields.iter().map(|f| f.label.len()).max().unwrap_or(4) + 2;
    let mut lines: Vec<Line> = vec![Line::from("")];
    let box_w: u16 = 64;
    let value_w = usize::from(box_w).saturating_sub(label_w + 8);
    for (i, f) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let marker = if focused { "▸ " } else { "  " };
        let mut spans = vec![
            Span::styled(marker.to_string(), theme.key()),
            Span::raw(pad(&format!("{}:", f.label), label_w)),
        ];
        match &f.kind {
            FieldKind::Choice { .. } => {
                let text = format!("◀ {} ▶", shown(f.shown()));
                spans.push(Span::styled(
                    text,
                    if focused {
                        theme.selected()
                    } else {
                        theme.title()
                    },
                ));
            }
            _ => {
                // A value filled in from the file may hold control characters. The
                // end of a long value stays visible while typing.
                spans.push(Span::styled(
                    tail(&shown(&f.value), value_w.saturating_sub(1)),
                    if focused {
                        theme.title()
                    } else {
                        ratatui::style::Style::new()
                    },
                ));
                if focused {
                    spans.push(Span::styled("▏", theme.key()));
                }
            }
        }
        lines.push(Line::from(spans));
    }
    if let FormKind::Simulate(_) = form.kind {
        lines.push(Line::from(""));
        lines.push(Line::styled(
            "Contacts use the real intake path: routing, limits, leads.",
            theme.dim(),
        ));
    }
    if !form.conflict.is_empty() {
        // Another writer changed fields this form edits: both values, and the choice.
        lines.push(Line::from(""));
        lines.push(Line::styled(
            "Changed by someone else since you opened this form:",
            theme.warn(),
        ));
        for c in &form.conflict {
            let field = form
                .fields
                .iter()
                .find(|f| f.label.eq_ignore_ascii_case(c.field));
            let yours = field.map(|f| f.shown().to_string()).unwrap_or_default();
            let label = field.map_or(c.field, |f| f.label);
            lines.push(Line::styled(
                fit(
                    &format!(
                        "  {label}: {} now (you saw {}; yours: {yours})",
                        c.now, c.seen
                    ),
                    usize::from(box_w) - 2,
                ),
                theme.warn(),
            ));
        }
        lines.push(Line::styled(
            "Enter saves yours over it · Esc keeps theirs",
            theme.dim(),
        ));
    }
    let inner_w = usize::from(box_w) - 2;
    let mut extra = 0u16;
    if let Some(e) = &form.error {
        let e = fit(e, 300);
        // Wrapped below: the box grows by the lines it takes.
        extra = (super::width(&e).div_ceil(inner_w.max(1))).saturating_sub(1) as u16;
        lines.push(Line::styled(e, theme.error()));
    }
    let height = lines.len() as u16 + 2 + extra;
    let boxed = layout::centered(area, box_w, height);
    let inner = dialog_box(frame, theme, boxed, &form.title);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The last characters of `s` that fit in `max` cells.
fn tail(s: &str, max: usize) -> String {
    let mut used = 0;
    let mut start = s.len();
    for (i, c) in s.char_indices().rev() {
        used += width(c.encode_utf8(&mut [0; 4]));
        if used > max {
            break;
        }
        start = i;
    }
    s[start..].to_string()
}
