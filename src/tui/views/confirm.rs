//! A yes/no question that says exactly what will change.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{dialog_box, layout, shown, width};
use crate::tui::action::Command;
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::overlays::confirm::Confirm;

pub fn render(app: &App, c: &Confirm, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let key = |ctx, cmd| {
        app.keymap
            .first_key(ctx, cmd)
            .map(|k| k.to_string())
            .unwrap_or_default()
    };
    let mut lines: Vec<Line> = vec![Line::from("")];
    // The lines quote names as stored.
    lines.extend(c.lines.iter().map(|l| Line::from(format!(" {}", shown(l)))));
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::raw(" "),
        Span::styled(
            format!(
                "{}/{}",
                key(Context::Dialog, Command::Yes),
                key(Context::Dialog, Command::Confirm)
            ),
            theme.key(),
        ),
        Span::raw(format!(" {}   ", c.yes)),
        Span::styled(key(Context::Navigation, Command::Back), theme.key()),
        Span::raw(" cancel"),
    ]));
    let box_w = c
        .lines
        .iter()
        .map(|l| width(l) + 4)
        .max()
        .unwrap_or(40)
        .clamp(40, 76) as u16;
    let boxed = layout::centered(area, box_w, lines.len() as u16 + 2);
    let inner = dialog_box(frame, theme, boxed, &c.title);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
