//! The Weights tab: the operator x source matrix. Each cell shows the weight and the
//! operator's share of the source's weights; inactive and full operators are dimmed;
//! the header row and the name column stay in place while the grid scrolls.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{filter_bar, fit, layout, pad, pad_left};
use crate::tui::action::Command;
use crate::tui::app::App;
use crate::tui::keymap::Context;
use crate::tui::model::{key_label, visible_offset};

pub fn render(app: &App, frame: &mut Frame<'_>, body: Rect) {
    let theme = app.theme;
    let t = &app.weights;
    let (bar_area, grid) = layout::with_filter(body, t.filter.is_shown());
    if let Some(a) = bar_area {
        frame.render_widget(Paragraph::new(filter_bar(theme, &t.filter, "operators")), a);
    }
    if t.sources.is_empty() || (t.operators.is_empty() && t.filter.text.is_empty()) {
        let lines = vec![
            Line::from(""),
            Line::styled("Nothing to weigh yet.", theme.title()),
            Line::from(""),
            Line::from("Add operators (tab 1) and sources (tab 2) first; each cell here is then"),
            Line::from("an operator's weight in a source's traffic."),
        ];
        frame.render_widget(
            Paragraph::new(lines)
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true }),
            grid,
        );
        return;
    }
    let name_w = usize::from(layout::WEIGHT_NAME_W);
    let cell_w = usize::from(layout::WEIGHT_CELL_W);
    let cols = layout::weight_columns(grid);
    let rows_page = usize::from(grid.height.saturating_sub(2)).max(1);
    let col_off = visible_offset(t.col.cursor, t.col.offset, cols);
    let row_off = visible_offset(t.row.cursor, t.row.offset, rows_page);
    let visible_sources: Vec<_> = t
        .sources
        .iter()
        .enumerate()
        .skip(col_off)
        .take(cols)
        .collect();
    let more_left = col_off > 0;
    let more_right = col_off + cols < t.sources.len();

    let mut lines: Vec<Line> = Vec::new();
    let mut header = vec![Span::styled(
        pad(
            if more_left {
                "◀ operator"
            } else {
                "operator"
            },
            name_w,
        ),
        theme.header(),
    )];
    for (j, s) in &visible_sources {
        let style = if *j == t.col.cursor {
            theme
                .header()
                .add_modifier(ratatui::style::Modifier::UNDERLINED)
        } else {
            theme.header()
        };
        header.push(Span::styled(
            pad_left(&fit(&s.name, cell_w - 1), cell_w),
            style,
        ));
    }
    if more_right {
        header.push(Span::styled(" ▶", theme.header()));
    }
    lines.push(Line::from(header));

    for (i, op) in t.operators.iter().enumerate().skip(row_off).take(rows_page) {
        let tag = if !op.active {
            "off"
        } else if op.is_full() {
            "full"
        } else {
            ""
        };
        let base = if tag.is_empty() {
            Style::new()
        } else {
            theme.dim()
        };
        let name = format!("{}{}", pad(&op.name, name_w - 6), pad_left(tag, 5));
        let mut spans = vec![Span::styled(format!("{name} "), base)];
        for (j, s) in &visible_sources {
            let selected = i == t.row.cursor && *j == t.col.cursor;
            let w = t.weight(op.id, s.id);
            let edit = t.edit_of(op.id, s.id);
            let text = if let Some(e) = edit {
                pad_left(&format!("[{}▏]", e.typed), cell_w)
            } else if w == 0 {
                pad_left("·   ", cell_w)
            } else {
                pad_left(
                    &format!("{w} {:>3.0}%", t.share(op.id, s.id) * 100.0),
                    cell_w,
                )
            };
            let style = if edit.is_some() {
                theme
                    .selected()
                    .add_modifier(ratatui::style::Modifier::BOLD)
            } else if selected {
                theme.selected()
            } else {
                base
            };
            spans.push(Span::styled(text, style));
        }
        lines.push(Line::from(spans));
    }
    if t.operators.is_empty() {
        lines.push(Line::styled("no operator matches the filter", theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines), grid);
    // Legend on the last line of the grid area.
    if grid.height >= 3 {
        let legend = Rect::new(grid.x, grid.y + grid.height - 1, grid.width, 1);
        let pos = format!(
            "row {}/{} · column {}/{}",
            (t.row.cursor + 1).min(t.operators.len()),
            t.operators.len(),
            (t.col.cursor + 1).min(t.sources.len()),
            t.sources.len()
        );
        let (text, style) = match &t.edit {
            Some(e) => (
                format!(
                    "editing, was {}: type digits · {} sets · {} cancels · {pos}",
                    e.seen,
                    key_label(&app.keymap, Context::Dialog, Command::Confirm),
                    key_label(&app.keymap, Context::Navigation, Command::Back),
                ),
                theme.key(),
            ),
            None => (
                format!("weight and % of the source · dim: inactive or full · {pos}"),
                theme.dim(),
            ),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(fit(&text, usize::from(grid.width)), style)),
            legend,
        );
    }
}
