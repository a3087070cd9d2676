//! Where things go on screen. Pure functions of the terminal size and a few flags,
//! shared by the render pass and by `update` (which needs page sizes). Nothing here
//! reads the App.

use ratatui::layout::{Constraint, Layout, Rect};

use super::model::Tab;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

pub struct Areas {
    pub tabs: Rect,
    pub body: Rect,
    pub status: Rect,
    pub footer: Rect,
}

/// Tab bar, body, status bar (two lines), footer.
pub fn areas(area: Rect) -> Areas {
    let [tabs, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        tabs,
        body,
        status,
        footer,
    }
}

/// A one-line filter bar on top of a body when `shown`.
pub fn with_filter(body: Rect, shown: bool) -> (Option<Rect>, Rect) {
    if !shown {
        return (None, body);
    }
    let [bar, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(body);
    (Some(bar), rest)
}

/// Wide terminals put a side pane beside the table, narrow ones under it.
pub fn wide(body: Rect) -> bool {
    body.width >= 110
}

/// Operators: table, and the detail pane when open.
pub fn operators(body: Rect, detail: bool) -> (Rect, Option<Rect>) {
    if !detail {
        return (body, None);
    }
    if wide(body) {
        let [t, d] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(body);
        (t, Some(d))
    } else {
        let [t, d] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(body);
        (t, Some(d))
    }
}

/// Sources: the table and the share chart of the selected source; on a narrow
/// terminal the table takes the rows it needs, up to half the body.
pub fn sources(body: Rect, rows: usize) -> (Rect, Rect) {
    if wide(body) {
        // The chart grows with the screen: two fifths of it, at least 56 cells.
        let chart = (body.width * 2 / 5).max(56);
        let [t, c] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(chart)]).areas(body);
        (t, c)
    } else {
        let want = u16::try_from(rows + 2).unwrap_or(u16::MAX);
        let h = want.clamp(4, (body.height / 2).max(4));
        let [t, c] = Layout::vertical([Constraint::Length(h), Constraint::Fill(1)]).areas(body);
        (t, c)
    }
}

/// Feed: a header line (filters, "N new") and the table.
pub fn feed(body: Rect) -> (Rect, Rect) {
    let [h, t] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(body);
    (h, t)
}

/// Rows of the feed table at this terminal size (the header row excluded).
pub fn feed_page(area: Rect) -> usize {
    let body = areas(area).body;
    let (_, table) = feed(body);
    usize::from(table.height.saturating_sub(1)).max(1)
}

/// What sizes a tab's table besides the screen.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableShape {
    /// The `/` filter bar is shown.
    pub filter: bool,
    /// The Operators tab's detail pane is open.
    pub detail: bool,
    /// Rows the table holds (a narrow Sources tab gives the table what it needs).
    pub rows: usize,
}

/// Rows of a tab's table (the header row excluded).
pub fn table_page(area: Rect, tab: Tab, shape: TableShape) -> usize {
    let body = areas(area).body;
    let table = match tab {
        Tab::Operators => {
            let (_, rest) = with_filter(body, shape.filter);
            operators(rest, shape.detail).0
        }
        Tab::Sources => {
            let (_, rest) = with_filter(body, shape.filter);
            sources(rest, shape.rows).0
        }
        // The grid has a legend line under it.
        Tab::Weights => {
            let grid = with_filter(body, shape.filter).1;
            return usize::from(grid.height.saturating_sub(2)).max(1);
        }
        Tab::Feed => feed(body).1,
    };
    usize::from(table.height.saturating_sub(1)).max(1)
}

/// A centred dialog of at most `width` x `height`, never larger than the screen.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2)).max(1);
    let h = height.min(area.height.saturating_sub(2)).max(1);
    Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    )
}

/// The big list dialogs (audit log, lead card): most of the screen.
/// They cover the tab body only, so the status bar and the footer stay in view.
pub fn big_dialog(area: Rect) -> Rect {
    let body = areas(area).body;
    let w = body.width.saturating_sub(2).min(140);
    Rect::new(body.x + (body.width - w) / 2, body.y, w, body.height)
}

/// Rows in a big list dialog: its height minus borders, its filter line and header.
pub fn dialog_page(area: Rect) -> usize {
    usize::from(big_dialog(area).height.saturating_sub(4)).max(1)
}

/// Weights grid: the operator-name column and each source column, in cells.
pub const WEIGHT_NAME_W: u16 = 21;
pub const WEIGHT_CELL_W: u16 = 13;

/// Source columns that fit beside the name column.
pub fn weight_columns(grid: Rect) -> usize {
    usize::from(grid.width.saturating_sub(WEIGHT_NAME_W) / WEIGHT_CELL_W).max(1)
}

/// The Weights grid at this terminal size.
pub fn weights_grid(area: Rect, filter_shown: bool) -> Rect {
    with_filter(areas(area).body, filter_shown).1
}
