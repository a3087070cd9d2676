//! What surrounds every tab: the tab bar, the status bar (file, actor, flags, last
//! refresh, simulator, message) and the footer of key hints.

use std::sync::atomic::Ordering;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{fit, hint_line, shown, width};
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::model::{MessageKind, Tab};

pub fn tabs(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let keys = [
        crate::tui::action::Command::TabOperators,
        crate::tui::action::Command::TabSources,
        crate::tui::action::Command::TabWeights,
        crate::tui::action::Command::TabFeed,
    ];
    let mut spans = vec![Span::raw(" ")];
    for (tab, cmd) in Tab::ALL.into_iter().zip(keys) {
        let key = app
            .keymap
            .first_key(Context::Global, cmd)
            .map(|k| format!("{k} "))
            .unwrap_or_default();
        let mut title = format!("{key}{}", tab.title());
        if tab == Tab::Feed && app.feed.waiting > 0 {
            title.push_str(&format!(" ({} waiting)", app.feed.waiting));
        }
        let style = if tab == app.tab {
            theme.tab_active()
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!(" {title} "), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn status(app: &App, frame: &mut Frame<'_>, area: Rect, long_message: bool) {
    let theme = app.theme;
    let mut parts: Vec<Span<'static>> = Vec::new();
    let sep = || Span::raw(" · ");
    if app.demo {
        parts.push(Span::styled(" DEMO", theme.badge()));
    }
    parts.push(Span::raw(format!(" {}", shown(&app.file_label()))));
    parts.push(sep());
    parts.push(Span::raw(shown(app.store.actor()).into_owned()));
    if app.read_only {
        parts.push(sep());
        parts.push(Span::styled("read-only", theme.badge()));
    }
    if let Some(t) = app.last_refresh {
        parts.push(sep());
        parts.push(Span::raw(format!("refreshed {}", app.time(t))));
    }
    if let Some(sim) = &app.sim {
        let sent = sim.progress.sent.load(Ordering::Relaxed);
        let waiting = sim.progress.waiting.load(Ordering::Relaxed);
        parts.push(sep());
        let text = if sim.progress.cancel.load(Ordering::Relaxed) {
            format!("sim stopping ({sent} sent)")
        } else if sim.demo {
            format!("sim {sent} sent, {waiting} waited")
        } else {
            format!("sim {sent}/{}, {waiting} waited", sim.count)
        };
        parts.push(Span::styled(text, theme.badge()));
    }
    // The file path is the part that gives way on a narrow terminal.
    let total: usize = parts.iter().map(|s| s.width()).sum();
    let avail = usize::from(area.width);
    if total > avail {
        let path_index = usize::from(app.demo);
        let over = total - avail;
        if let Some(p) = parts.get_mut(path_index) {
            let keep = p.width().saturating_sub(over + 1).max(4);
            let text = p.content.to_string();
            p.content = format!(" {}", tail(&text, keep)).into();
        }
    }
    let bar = Line::from(parts).style(Style::new().add_modifier(Modifier::REVERSED));
    // A write waiting for the file says so, with how long, until it lands.
    let waiting = app
        .pending
        .as_ref()
        .filter(|p| p.since.elapsed().as_millis() >= 150);
    let message = if let Some(p) = waiting {
        let text = format!(
            "⧗ {}: waiting for the file {:.1} s (Esc cancels)",
            p.what,
            p.since.elapsed().as_secs_f64()
        );
        Line::from(Span::styled(
            format!(" {}", fit(&text, usize::from(area.width).saturating_sub(1))),
            theme.warn(),
        ))
    } else {
        match &app.message {
            Some(m) => {
                let style = match m.kind {
                    MessageKind::Error => theme.error(),
                    MessageKind::Info => theme.info(),
                };
                let limit =
                    usize::from(area.width).saturating_sub(1) * if long_message { 2 } else { 1 };
                // Messages quote stored names as they are: `fit` escapes them.
                Line::from(Span::styled(format!(" {}", fit(&m.text, limit)), style))
            }
            None => Line::from(""),
        }
    };
    // A long message takes both lines; the bar is back on the next key.
    if !long_message {
        let bar_area = Rect::new(area.x, area.y, area.width, 1);
        frame.render_widget(Paragraph::new(bar), bar_area);
    }
    let (y, lines) = if long_message { (0, 2) } else { (1, 1) };
    let message_area = Rect::new(area.x, area.y + y, area.width, lines);
    frame.render_widget(
        Paragraph::new(message).wrap(Wrap { trim: false }),
        message_area,
    );
}

/// The last `n` cells of `s`, with a leading `…`.
fn tail(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.trim_start().chars().collect();
    let mut out: Vec<char> = Vec::new();
    let mut used = 0;
    for c in chars.iter().rev() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w >= n {
            break;
        }
        out.push(*c);
        used += w;
    }
    if out.len() == chars.len() {
        return chars.into_iter().collect();
    }
    out.push('…');
    out.into_iter().rev().collect()
}

pub fn footer(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let theme = app.theme;
    let km = &app.keymap;
    let key = |ctx: Context, cmd| {
        km.first_key(ctx, cmd)
            .map(|k| k.to_string())
            .unwrap_or_default()
    };
    use crate::tui::action::Command as C;
    let hints: Vec<(String, &str)> = if let Some(h) = &app.help {
        if h.filter.editing {
            vec![
                (key(Context::Dialog, C::Confirm), "keep search"),
                (key(Context::Navigation, C::Back), "clear search"),
            ]
        } else {
            vec![
                (key(Context::Navigation, C::Filter), "search"),
                (key(Context::Navigation, C::Down), "scroll"),
                (key(Context::Navigation, C::Back), "close help"),
            ]
        }
    } else if let Some(d) = &app.dialog {
        d.hints(km)
    } else if app_filter_editing(app) && app.tab == Tab::Feed {
        vec![
            (key(Context::Dialog, C::Confirm), "search"),
            (key(Context::Navigation, C::Back), "clear the search"),
        ]
    } else if app_filter_editing(app) {
        vec![
            (key(Context::Dialog, C::Confirm), "keep filter"),
            (key(Context::Navigation, C::Back), "clear filter"),
        ]
    } else if app.tab == Tab::Weights && app.weights.edit.is_some() {
        vec![
            ("0-9".to_string(), "type"),
            (key(Context::Dialog, C::Confirm), "set"),
            (key(Context::Navigation, C::Back), "cancel"),
        ]
    } else {
        let mut h = km.hints(app.tab.context(), app.read_only);
        h.extend(km.hints(Context::Navigation, app.read_only));
        h.extend(km.hints(Context::Global, app.read_only));
        h
    };
    // As many hints as fit, whole; help and quit always make it, at the end.
    let always = |label: &str| label == "help" || label == "quit";
    let cost = |k: &str, label: &str| width(k) + 1 + width(label) + 2;
    let reserved: usize = hints
        .iter()
        .filter(|(_, l)| always(l))
        .map(|(k, l)| cost(k, l))
        .sum();
    // In order (the tab's actions, then moving, then global keys) until one does not
    // fit: a later, shorter hint never pushes out a tab action before it. Opposite
    // keys come paired from the keymap (`+/- max`).
    let mut shown: Vec<(String, &str)> = Vec::new();
    let mut used = 1 + reserved;
    let mut full = false;
    for (k, label) in hints {
        if always(label) {
            shown.push((k, label));
            continue;
        }
        let w = cost(&k, label);
        if full || used + w > usize::from(area.width) {
            full = true;
            continue;
        }
        used += w;
        shown.push((k, label));
    }
    let (mut rest, ends): (Vec<_>, Vec<_>) = shown.into_iter().partition(|(_, l)| !always(l));
    rest.extend(ends);
    let shown = rest;
    let mut line = hint_line(theme, &shown);
    line.spans.insert(0, Span::raw(" "));
    frame.render_widget(Paragraph::new(line), area);
}

fn app_filter_editing(app: &App) -> bool {
    app.current_filter().editing
}
