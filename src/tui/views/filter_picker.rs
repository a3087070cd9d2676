//! The feed's filter picker: source, operator and status, each cycled with ◀ ▶.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{dialog_box, layout, pad, shown};
use crate::tui::app::App;
use crate::tui::overlays::filter::FilterPicker;

pub fn render(app: &App, p: &FilterPicker, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let rows = [
        ("Source", p.sources.get(p.chosen[0]).map(|x| x.1.clone())),
        (
            "Operator",
            p.operators.get(p.chosen[1]).map(|x| x.1.clone()),
        ),
        ("Status", p.statuses.get(p.chosen[2]).map(|x| x.1.clone())),
    ];
    let mut lines = vec![Line::from("")];
    for (i, (label, value)) in rows.iter().enumerate() {
        let focused = i == p.focus;
        lines.push(Line::from(vec![
            Span::styled(if focused { " ▸ " } else { "   " }, theme.key()),
            Span::raw(pad(&format!("{label}:"), 10)),
            Span::styled(
                format!("◀ {} ▶", shown(value.as_deref().unwrap_or_default())),
                if focused {
                    theme.selected()
                } else {
                    theme.title()
                },
            ),
        ]));
    }
    lines.push(Line::from(""));
    let boxed = layout::centered(area, 56, lines.len() as u16 + 2);
    let inner = dialog_box(frame, theme, boxed, "Filter the feed");
    frame.render_widget(Paragraph::new(lines), inner);
}
