//! The render pass: reads the App, never changes it. One file per tab or dialog;
//! `tui::layout` is shared with `update`.
//!
//! Text from the file or from outside (names, messages, paths, typed filters) reaches
//! the screen only escaped: through [`shown`], or through `fit`, `pad` and `pad_left`,
//! which escape before they cut. `width` measures the escaped text.

mod audit;
mod chrome;
mod confirm;
mod feed;
mod filter_picker;
mod form;
mod help;
mod lead;
mod operators;
mod picker;
mod sources;
mod weights;

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::App;
use super::layout;
use super::model::Tab;
use super::overlays::Dialog;
use super::theme::Theme;
use crate::domain::{display_width, escape_control};

/// Draws the whole screen for `app`.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    if layout::too_small(area) {
        too_small(frame, area);
        return;
    }
    let a = layout::areas(area);
    chrome::tabs(app, frame, a.tabs);
    match app.tab {
        Tab::Operators => operators::render(app, frame, a.body),
        Tab::Sources => sources::render(app, frame, a.body),
        Tab::Weights => weights::render(app, frame, a.body),
        Tab::Feed => feed::render(app, frame, a.body),
    }
    // A message too long for its line takes the status bar's line too, until the
    // next key; the footer stays.
    let long = app
        .message
        .as_ref()
        .is_some_and(|m| width(&m.text) + 1 > usize::from(a.status.width));
    chrome::status(app, frame, a.status, long);
    chrome::footer(app, frame, a.footer);
    match &app.dialog {
        Some(Dialog::Form(f)) => form::render(app, f, frame, area),
        Some(Dialog::Confirm(c)) => confirm::render(app, c, frame, area),
        Some(Dialog::Assign(p)) => picker::render(app, p, frame, area),
        Some(Dialog::FeedFilter(p)) => filter_picker::render(app, p, frame, area),
        Some(Dialog::Lead(l)) => lead::render(app, l, frame, area),
        Some(Dialog::Audit(v)) => audit::render(app, v, frame, area),
        None => {}
    }
    if let Some(h) = &app.help {
        help::render(app, h, frame, area);
    }
}

fn too_small(frame: &mut Frame<'_>, area: Rect) {
    let text = vec![
        Line::from("terminal too small"),
        Line::from(format!(
            "need {}x{}, have {}x{}",
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT,
            area.width,
            area.height
        )),
        Line::from("enlarge it, or press q to quit"),
    ];
    let y = area.height.saturating_sub(3) / 2;
    let inner = Rect::new(
        area.x,
        area.y + y,
        area.width,
        area.height.saturating_sub(y).min(3),
    );
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        inner,
    );
}

/// A bordered dialog box on a cleared background; returns its inside.
fn dialog_box(frame: &mut Frame<'_>, theme: Theme, area: Rect, title: &str) -> Rect {
    frame.render_widget(Clear, area);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(format!(" {} ", shown(title)), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// One dim line under a table's header row, for a table with no rows.
pub(crate) fn empty_table_note(
    frame: &mut Frame<'_>,
    theme: Theme,
    table_area: Rect,
    text: &str,
    alignment: Alignment,
) {
    let a = Rect::new(table_area.x, table_area.y + 1, table_area.width, 1);
    frame.render_widget(
        Paragraph::new(Line::styled(text.to_string(), theme.dim())).alignment(alignment),
        a,
    );
}

/// `s` as it may be drawn on one line: every control character (newlines included) as
/// a visible escape (`\e`, `\n`, `\u{9b}`), so nothing stored acts on the terminal.
pub(crate) fn shown(s: &str) -> Cow<'_, str> {
    escape_control(s)
}

/// Cells `s` takes once [`shown`].
pub(crate) fn width(s: &str) -> usize {
    display_width(&shown(s))
}

/// `s` [`shown`] and cut to `max` cells, with `…` when cut.
pub(crate) fn fit(s: &str, max: usize) -> String {
    let s = shown(s);
    if width(&s) <= max {
        return s.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `s` [`shown`], cut or padded to exactly `w` cells.
pub(crate) fn pad(s: &str, w: usize) -> String {
    let f = fit(s, w);
    let n = width(&f);
    format!("{f}{}", " ".repeat(w.saturating_sub(n)))
}

/// `s` [`shown`], right-aligned in `w` cells.
pub(crate) fn pad_left(s: &str, w: usize) -> String {
    let f = fit(s, w);
    let n = width(&f);
    format!("{}{f}", " ".repeat(w.saturating_sub(n)))
}

/// One line of text with key hints: `key label  key label`.
pub(crate) fn hint_line(theme: Theme, hints: &[(String, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (k, label)) in hints.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(k.clone(), theme.key()));
        spans.push(Span::raw(format!(" {label}")));
    }
    Line::from(spans)
}

/// A horizontal bar of `cells` cells filled to `fraction`.
pub(crate) fn bar(fraction: f64, cells: usize) -> (String, String) {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = ((f * cells as f64).round() as usize).min(cells);
    ("█".repeat(full), "░".repeat(cells - full))
}

/// A one-line filter bar: `/text` with a cursor while typing.
pub(crate) fn filter_bar(
    theme: Theme,
    f: &crate::tui::model::TextFilter,
    what: &str,
) -> Line<'static> {
    let mut spans = vec![
        Span::styled("/", theme.key()),
        Span::raw(shown(&f.text).into_owned()),
    ];
    if f.editing {
        spans.push(Span::styled("▏", theme.key()));
        spans.push(Span::styled(
            format!("   filtering {what} · Enter keep · Esc clear"),
            theme.dim(),
        ));
    } else {
        spans.push(Span::styled(
            format!("   filtered {what} · Esc clears"),
            theme.dim(),
        ));
    }
    Line::from(spans)
}
