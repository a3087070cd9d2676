//! The `?` overlay: every binding of the keymap in use, by context, with its help
//! text. Generated from the same table as the footer hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{dialog_box, fit, layout, pad, shown};
use crate::tui::app::App;
use crate::tui::keymap::Keymap;

pub fn render(app: &App, scroll: usize, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let lines = lines(&app.keymap, app.theme, app.read_only);
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let boxed = layout::centered(area, 76, height);
    let inner = dialog_box(frame, theme, boxed, "Keys · Esc or ? closes");
    let page = usize::from(inner.height);
    let max_scroll = lines.len().saturating_sub(page);
    let start = scroll.min(max_scroll);
    let w = usize::from(inner.width);
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(start)
        .take(page)
        .map(|l| {
            if l.width() > w {
                Line::from(fit(&l.to_string(), w))
            } else {
                l
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

fn lines(km: &Keymap, theme: crate::tui::theme::Theme, read_only: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if read_only {
        out.push(Line::styled(
            "read-only: editing keys are disabled",
            theme.badge(),
        ));
    }
    for (ctx, rows) in km.help() {
        if rows.is_empty() {
            continue;
        }
        out.push(Line::styled(ctx.title().to_string(), theme.header()));
        for (keys, help) in rows {
            out.push(Line::from(vec![
                Span::styled(format!("  {}", pad(&keys, 16)), theme.key()),
                Span::raw(help.to_string()),
            ]));
        }
    }
    out.push(Line::from(""));
    out.push(Line::styled(
        format!(
            "Change keys in {}",
            Keymap::user_path()
                .map(|p| shown(&p.display().to_string()).into_owned())
                .unwrap_or_else(|| "keymap.toml".into())
        ),
        theme.dim(),
    ));
    out
}
