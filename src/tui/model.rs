//! The small pieces every part of the App model shares: the tabs, the status message,
//! a selection that follows its item, a `/` filter and how keys edit it, and the one
//! way a choice cycles.

use super::action::{Action, Command};
use super::keymap::{Context, Keymap};

/// The four tabs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Operators,
    Sources,
    Weights,
    Feed,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Operators, Tab::Sources, Tab::Weights, Tab::Feed];

    pub fn index(self) -> usize {
        match self {
            Tab::Operators => 0,
            Tab::Sources => 1,
            Tab::Weights => 2,
            Tab::Feed => 3,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Operators => "Operators",
            Tab::Sources => "Sources",
            Tab::Weights => "Weights",
            Tab::Feed => "Feed",
        }
    }

    pub fn context(self) -> Context {
        match self {
            Tab::Operators => Context::Operators,
            Tab::Sources => Context::Sources,
            Tab::Weights => Context::Weights,
            Tab::Feed => Context::Feed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub kind: MessageKind,
}

impl Message {
    pub fn info(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            kind: MessageKind::Info,
        }
    }

    pub fn error(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            kind: MessageKind::Error,
        }
    }
}

/// A selection in a list, tracked by the id of the selected item so that it stays on
/// the same item when rows come and go.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub cursor: usize,
    pub offset: usize,
    pub id: Option<i64>,
}

impl Selection {
    /// After the rows changed: back on the same id if it is still there, else the same
    /// position (clamped).
    pub fn sync(&mut self, ids: &[i64]) {
        if let Some(id) = self.id
            && let Some(i) = ids.iter().position(|x| *x == id)
        {
            self.cursor = i;
        }
        self.cursor = self.cursor.min(ids.len().saturating_sub(1));
        self.id = ids.get(self.cursor).copied();
    }

    pub fn set(&mut self, i: usize, ids: &[i64]) {
        self.cursor = i.min(ids.len().saturating_sub(1));
        self.id = ids.get(self.cursor).copied();
    }

    /// Keeps the cursor inside a window of `page` rows.
    pub fn scroll(&mut self, page: usize) {
        self.offset = visible_offset(self.cursor, self.offset, page);
    }

    /// After the window changed size: the cursor stays in view and the window is as
    /// full as `len` items allow (a window that grew scrolls back instead of showing
    /// empty room).
    pub fn fit(&mut self, page: usize, len: usize) {
        let page = page.max(1);
        self.offset = visible_offset(self.cursor, self.offset, page).min(len.saturating_sub(page));
    }

    pub fn step(&mut self, delta: isize, ids: &[i64]) {
        let i = (self.cursor as isize + delta).max(0) as usize;
        self.set(i, ids);
    }

    /// Moves by one command; false if the command is not a movement.
    pub fn navigate(&mut self, cmd: Command, page: usize, ids: &[i64]) -> bool {
        let page = page.max(1) as isize;
        match cmd {
            Command::Up => self.step(-1, ids),
            Command::Down => self.step(1, ids),
            Command::PageUp => self.step(-page, ids),
            Command::PageDown => self.step(page, ids),
            Command::First => self.set(0, ids),
            Command::Last => self.set(ids.len().saturating_sub(1), ids),
            _ => return false,
        }
        self.scroll(page as usize);
        true
    }
}

/// The first visible row for `cursor`, keeping `offset` where it can.
pub fn visible_offset(cursor: usize, offset: usize, page: usize) -> usize {
    if page == 0 || cursor < offset {
        cursor
    } else if cursor >= offset + page {
        cursor + 1 - page
    } else {
        offset
    }
}

/// A column a table can be sorted by.
pub trait SortColumn: Copy + Eq + Default + 'static {
    /// Every sortable column, in the order the sort key cycles through them. The
    /// first, the default, is the file's own order (by name).
    const ALL: &'static [Self];
    /// As messages name it.
    fn name(self) -> &'static str;
    /// Counts read biggest first when their column is picked; names A to Z.
    fn descending_first(self) -> bool {
        false
    }
}

/// How a table is sorted: by which column, and which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort<C> {
    pub column: C,
    pub descending: bool,
}

impl<C: SortColumn> Sort<C> {
    /// The next column, in its natural direction.
    pub fn next_column(&mut self) {
        let i = C::ALL.iter().position(|c| *c == self.column).unwrap_or(0);
        self.column = C::ALL[cycle(i, C::ALL.len(), 1)];
        self.descending = self.column.descending_first();
    }

    pub fn reverse(&mut self) {
        self.descending = !self.descending;
    }

    /// The sort key of a table (`o` the next column, `r` reverse), and what to say:
    /// "sorted by load ▼ (r reverses)" with `reverse_key` the key that reverses.
    pub fn apply(&mut self, cmd: Command, reverse_key: &str) -> String {
        if cmd == Command::Reverse {
            self.reverse();
        } else {
            self.next_column();
        }
        format!("{} ({reverse_key} reverses)", self.describe())
    }

    /// ▲ ascending, ▼ descending: drawn after the sorted column's header.
    pub fn arrow(&self) -> &'static str {
        if self.descending { "▼" } else { "▲" }
    }

    /// "sorted by load ▼".
    pub fn describe(&self) -> String {
        format!("sorted by {} {}", self.column.name(), self.arrow())
    }

    /// The rows of `all` that `keep` wants, in this order. `by` compares two rows on
    /// a column; the default column and ties keep the file's order.
    pub fn rows<T: Clone>(
        &self,
        all: &[T],
        keep: impl Fn(&T) -> bool,
        by: impl Fn(C, &T, &T) -> std::cmp::Ordering,
    ) -> Vec<T> {
        let mut rows: Vec<(usize, &T)> = all.iter().enumerate().filter(|(_, t)| keep(t)).collect();
        rows.sort_by(|(ia, a), (ib, b)| {
            let on_column = if self.column == C::default() {
                ia.cmp(ib)
            } else {
                by(self.column, a, b)
            };
            let on_column = if self.descending {
                on_column.reverse()
            } else {
                on_column
            };
            on_column.then(ia.cmp(ib))
        });
        rows.into_iter().map(|(_, t)| t.clone()).collect()
    }
}

/// Index `i` of `n` moved by `delta`, wrapping both ways: the one way choices, fields
/// and picker rows cycle.
pub fn cycle(i: usize, n: usize, delta: isize) -> usize {
    if n == 0 {
        return 0;
    }
    let n = n as isize;
    (((i as isize + delta) % n + n) % n) as usize
}

/// Text typed after `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextFilter {
    pub text: String,
    /// Keys are being typed into it.
    pub editing: bool,
}

/// What a key did to a filter being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterEdit {
    /// A character typed or erased.
    Typed,
    /// Enter: the text stays, typing ends.
    Kept,
    /// Esc: the text is gone.
    Cleared,
    /// Not a key for the filter.
    Ignored,
}

impl TextFilter {
    /// Longest filter text, in characters.
    pub const MAX: usize = 100;

    pub fn matches(&self, haystack: &[&str]) -> bool {
        let needle = self.text.trim().to_lowercase();
        needle.is_empty() || haystack.iter().any(|h| h.to_lowercase().contains(&needle))
    }

    pub fn is_shown(&self) -> bool {
        self.editing || !self.text.is_empty()
    }

    /// The text as a store filter: `None` when blank.
    pub fn query(&self) -> Option<&str> {
        Some(self.text.as_str()).filter(|t| !t.trim().is_empty())
    }

    /// Applies a key while the filter is being typed: the one filter editor of every
    /// table, the feed's search and the audit log.
    pub fn edit(&mut self, action: &Action) -> FilterEdit {
        match action {
            Action::Input(c) => {
                // Kept as typed (a paste may hold anything); shown escaped.
                if self.text.chars().count() < Self::MAX {
                    self.text.push(*c);
                }
                FilterEdit::Typed
            }
            Action::Backspace => {
                self.text.pop();
                FilterEdit::Typed
            }
            Action::Command(Command::Confirm) => {
                self.editing = false;
                FilterEdit::Kept
            }
            Action::Command(Command::Back) => {
                *self = TextFilter::default();
                FilterEdit::Cleared
            }
            _ => FilterEdit::Ignored,
        }
    }
}

/// The first key bound to `cmd` in `ctx`, as the footer writes it ("" if unbound).
pub fn key_label(km: &Keymap, ctx: Context, cmd: Command) -> String {
    km.first_key(ctx, cmd)
        .map(|k| k.to_string())
        .unwrap_or_default()
}

/// The first key bound to `cmd` that is not a character (forms take characters as
/// text, so only such a key can be shown there).
pub fn special_label(km: &Keymap, ctx: Context, cmd: Command) -> String {
    km.first_special_key(ctx, cmd)
        .map(|k| k.to_string())
        .unwrap_or_default()
}

/// A dialog's footer: (key, what it does).
pub type Hints<'a> = Vec<(String, &'a str)>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_wraps_both_ways() {
        assert_eq!(cycle(0, 3, -1), 2);
        assert_eq!(cycle(2, 3, 1), 0);
        assert_eq!(cycle(1, 3, 5), 0);
        assert_eq!(cycle(0, 0, 1), 0);
    }

    #[test]
    fn filter_editor_types_keeps_and_clears() {
        let mut f = TextFilter {
            editing: true,
            ..TextFilter::default()
        };
        assert_eq!(f.edit(&Action::Input('a')), FilterEdit::Typed);
        f.edit(&Action::Input('b'));
        f.edit(&Action::Backspace);
        assert_eq!(f.text, "a");
        assert_eq!(f.edit(&Action::Command(Command::Confirm)), FilterEdit::Kept);
        assert!(!f.editing);
        assert_eq!(f.text, "a");
        assert_eq!(f.edit(&Action::Command(Command::Back)), FilterEdit::Cleared);
        assert_eq!(f, TextFilter::default());
        for _ in 0..200 {
            f.edit(&Action::Input('x'));
        }
        assert_eq!(f.text.chars().count(), TextFilter::MAX);
    }

    #[test]
    fn selection_follows_its_id() {
        let mut s = Selection::default();
        s.set(1, &[10, 20, 30]);
        s.sync(&[5, 10, 20, 30]);
        assert_eq!((s.cursor, s.id), (2, Some(20)));
        s.sync(&[5, 10]);
        assert_eq!((s.cursor, s.id), (1, Some(10)));
    }

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    enum Col {
        #[default]
        Name,
        Size,
    }

    impl SortColumn for Col {
        const ALL: &'static [Col] = &[Col::Name, Col::Size];
        fn name(self) -> &'static str {
            match self {
                Col::Name => "name",
                Col::Size => "size",
            }
        }
        fn descending_first(self) -> bool {
            self == Col::Size
        }
    }

    #[test]
    fn sort_cycles_columns_reverses_and_breaks_ties_in_file_order() {
        // (name, size) in the file's order.
        let all = [("ann", 2), ("bob", 5), ("cat", 2), ("dan", 9)];
        let by = |c: Col, a: &(&str, u32), b: &(&str, u32)| match c {
            Col::Name => std::cmp::Ordering::Equal,
            Col::Size => a.1.cmp(&b.1),
        };
        let names = |s: &Sort<Col>| -> Vec<&str> {
            s.rows(&all, |r| r.0 != "bob", by)
                .iter()
                .map(|r| r.0)
                .collect()
        };
        let mut s = Sort::<Col>::default();
        assert_eq!(names(&s), ["ann", "cat", "dan"]);
        s.reverse();
        assert_eq!((names(&s), s.arrow()), (vec!["dan", "cat", "ann"], "▼"));
        s.next_column();
        assert_eq!(s.describe(), "sorted by size ▼");
        // Ties (ann, cat: 2) stay in file order either way.
        assert_eq!(names(&s), ["dan", "ann", "cat"]);
        s.reverse();
        assert_eq!(names(&s), ["ann", "cat", "dan"]);
        s.next_column();
        assert_eq!(s, Sort::default());
    }

    #[test]
    fn fit_keeps_the_cursor_in_view_and_the_window_full() {
        let ids: Vec<i64> = (0..10).collect();
        let mut s = Selection::default();
        s.set(9, &ids);
        s.scroll(3);
        assert_eq!(s.offset, 7);
        // Wider: scrolls back so that 5 columns show, the cursor still in view.
        s.fit(5, ids.len());
        assert_eq!(s.offset, 5);
        s.fit(20, ids.len());
        assert_eq!(s.offset, 0);
        // Narrower again: the cursor stays in view.
        s.fit(2, ids.len());
        assert_eq!(s.offset, 8);
        s.set(3, &ids);
        s.fit(2, ids.len());
        assert_eq!(s.offset, 3);
    }
}
