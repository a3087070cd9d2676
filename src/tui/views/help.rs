//! The `?` overlay: every binding of the keymap in use, by context, the current
//! tab's first, with its help text; `/` searches. Generated from the same table as
//! the footer hints.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{dialog_box, filter_bar, fit, layout, pad, shown};
use crate::tui::app::App;
use crate::tui::overlays::help::{HelpRow, HelpView};

pub fn render(app: &App, help: &HelpView, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let lines = lines(app, help);
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let boxed = layout::centered(area, 76, height.max(5));
    let inner = dialog_box(frame, theme, boxed, "Keys · / searches · Esc or ? closes");
    let [bar, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let top = if help.filter.is_shown() {
        filter_bar(theme, &help.filter, "keys")
    } else {
        Line::styled(
            format!("the {} first · / searches", app.tab.context().title()),
            theme.dim(),
        )
    };
    frame.render_widget(Paragraph::new(top), bar);
    let page = usize::from(body.height);
    let max_scroll = lines.len().saturating_sub(page);
    let start = help.scroll.min(max_scroll);
    let w = usize::from(body.width);
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
    frame.render_widget(Paragraph::new(shown), body);
}

fn lines(app: &App, help: &HelpView) -> Vec<Line<'static>> {
    let theme = app.theme;
    let km = &app.keymap;
    let mut out = Vec::new();
    if app.read_only {
        out.push(Line::styled(
            "read-only: editing keys are disabled",
            theme.badge(),
        ));
    }
    let rows = help.rows(km, app.tab.context());
    if rows.is_empty() {
        out.push(Line::styled(
            format!(
                "no key matches '{}' (Esc clears the search)",
                fit(help.filter.text.trim(), 40)
            ),
            theme.dim(),
        ));
    }
    for row in rows {
        match row {
            HelpRow::Section(title) => out.push(Line::styled(title.to_string(), theme.header())),
            HelpRow::Key(keys, text) => out.push(Line::from(vec![
                Span::styled(format!("  {}", pad(&keys, 16)), theme.key()),
                Span::raw(text.to_string()),
            ])),
        }
    }
    out.push(Line::from(""));
    out.push(Line::styled(
        format!(
            "Change keys in {}",
            km.user_path()
                .map(|p| shown(&p.display().to_string()).into_owned())
                .unwrap_or_else(|| "keymap.toml".into())
        ),
        theme.dim(),
    ));
    out
}
