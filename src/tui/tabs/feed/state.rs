//! The Feed tab's state: one page of contacts read by keyset (ids, never OFFSET),
//! newest first or oldest first, the follow-the-top / keep-my-place rule, the
//! selection as a contact id, the "N new" count, marks and the two-second highlight of
//! rows that just arrived.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::domain::ContactStatus;
use crate::store::{Contact, FeedFilter, Seen, Store, StoreError};

use crate::tui::model::TextFilter;

/// How long a new row stays highlighted.
pub const FRESH_FOR: Duration = Duration::from_secs(2);
/// "N new" counts up to this, then shows "999+ new".
pub const NEW_CAP: usize = 999;

#[derive(Debug, Default)]
pub struct FeedState {
    /// Source, operator and status from `w` and the `f` picker; the text comes from
    /// `searched`.
    pub filter: FeedFilter,
    /// The `/` text as it is typed.
    pub search: TextFilter,
    /// The text searched for, set by Enter: a search reads every row that does not
    /// match, so it does not run on each key typed.
    pub searched: String,
    /// The visible page, in the order shown.
    pub rows: Vec<Contact>,
    /// Oldest first (the longest waiting on top) instead of newest first. New
    /// contacts then arrive at the bottom.
    pub oldest_first: bool,
    /// `None`: following: the page starts at the top (the newest contact, or the
    /// oldest when oldest first) and the selection sits on it. `Some(id)`: paused:
    /// the page starts at `id`, or the first contact after it in the order shown, and
    /// stays there while new contacts arrive.
    pub anchor: Option<i64>,
    /// Row of the selected contact on the page, when it is there.
    pub cursor: usize,
    /// The selected contact. The selection is this id, never a row: when the contact
    /// leaves the view (filtered out, or changed so that it no longer matches) it
    /// stays selected and the header says so, instead of the cursor landing on a
    /// neighbour.
    pub selected_id: Option<i64>,
    /// Contacts that arrived while the page was paused away from them.
    pub new_above: usize,
    /// Marked contacts by id, with the state each had when it was marked: a bulk
    /// action applies only to those still in that state.
    pub marks: BTreeMap<i64, Seen>,
    /// Ids that arrived recently, and when they were first shown.
    pub fresh: HashMap<i64, Instant>,
    /// Highest id known while following; anything above it is new.
    pub max_seen: Option<i64>,
    /// Contacts waiting across the file (the tab title).
    pub waiting: u32,
    /// Names for the filter header.
    pub source_name: Option<String>,
    pub operator_name: Option<String>,
}

impl FeedState {
    /// The filter as the store sees it: picker filters plus the search text.
    pub fn effective_filter(&self) -> FeedFilter {
        let mut f = self.filter.clone();
        let t = self.searched.trim();
        f.text = (!t.is_empty()).then(|| t.to_string());
        f
    }

    pub fn has_filters(&self) -> bool {
        !self.effective_filter().is_empty()
    }

    pub fn following(&self) -> bool {
        self.anchor.is_none()
    }

    /// The selected contact, when it is on the page.
    pub fn selected(&self) -> Option<&Contact> {
        self.rows
            .get(self.cursor)
            .filter(|r| Some(r.id) == self.selected_id)
    }

    /// The selected contact's id when it is not on the page any more.
    pub fn selection_out_of_view(&self) -> Option<i64> {
        self.selected_id.filter(|_| self.selected().is_none())
    }

    /// Marked contacts that are not on the page.
    pub fn marks_out_of_view(&self) -> usize {
        self.marks
            .keys()
            .filter(|id| !self.rows.iter().any(|r| r.id == **id))
            .count()
    }

    /// Whether contact `a` comes after contact `b` in the order shown.
    fn after(&self, a: i64, b: i64) -> bool {
        if self.oldest_first { a > b } else { a < b }
    }

    /// An id above the top of the order shown (`bottom`: below its bottom).
    fn edge(&self, bottom: bool) -> i64 {
        if self.oldest_first != bottom {
            i64::MIN
        } else {
            i64::MAX
        }
    }

    /// Up to `n` contacts just after `id` in the order shown, in that order.
    fn rows_after(
        &self,
        store: &mut Store,
        filter: &FeedFilter,
        id: i64,
        n: usize,
    ) -> Result<Vec<Contact>, StoreError> {
        if self.oldest_first {
            let mut rows = store.contacts_after(filter, id, n)?;
            rows.reverse();
            Ok(rows)
        } else {
            store.contacts(filter, Some(id), n)
        }
    }

    /// Up to `n` contacts just before `id` in the order shown, in that order (the
    /// nearest last).
    fn rows_before(
        &self,
        store: &mut Store,
        filter: &FeedFilter,
        id: i64,
        n: usize,
    ) -> Result<Vec<Contact>, StoreError> {
        if self.oldest_first {
            let mut rows = store.contacts(filter, Some(id), n)?;
            rows.reverse();
            Ok(rows)
        } else {
            store.contacts_after(filter, id, n)
        }
    }

    /// Reads the page again at the same place (or the top when following) and keeps
    /// the selection on the same contact.
    pub fn reload(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        let filter = self.effective_filter();
        let page = page.max(1);
        let from = match self.anchor {
            None => self.edge(false),
            // The page starts at the anchor itself.
            Some(a) if self.oldest_first => a.saturating_sub(1),
            Some(a) => a.saturating_add(1),
        };
        let mut rows = self.rows_after(store, &filter, from, page)?;
        if self.anchor.is_some() && rows.is_empty() {
            // Nothing at or after the anchor matches (a new filter): show the top,
            // still paused.
            rows = self.rows_after(store, &filter, self.edge(false), page)?;
            self.anchor = rows.first().map(|r| r.id);
        }
        // The newest contact known: the top row, or, oldest first, the newest of all.
        let newest = if self.oldest_first {
            store.contacts(&filter, None, 1)?.first().map(|r| r.id)
        } else {
            rows.first().map(|r| r.id)
        };
        // "N new": what arrived above a paused page since it last showed the top.
        // Oldest first, new contacts arrive at the bottom, out of the way.
        self.new_above = match (self.anchor, self.max_seen.or(newest)) {
            (Some(_), Some(seen)) if !self.oldest_first => {
                store.count_newer(&filter, seen, NEW_CAP + 1)?
            }
            _ => 0,
        };
        let now = Instant::now();
        // New rows are highlighted where they show up: at the top while following,
        // at the bottom (paused or not) when oldest first.
        if self.anchor.is_none() || self.oldest_first {
            if let Some(seen) = self.max_seen {
                for r in rows.iter().filter(|r| r.id > seen) {
                    self.fresh.entry(r.id).or_insert(now);
                }
            }
            if let Some(top) = newest {
                self.max_seen = Some(self.max_seen.map_or(top, |s| s.max(top)));
            } else if self.max_seen.is_none() {
                self.max_seen = Some(0);
            }
        }
        self.rows = rows;
        self.sync_cursor();
        Ok(())
    }

    fn sync_cursor(&mut self) {
        if self.anchor.is_none() || self.selected_id.is_none() {
            // Following: the selection is the newest contact.
            self.select(0);
            return;
        }
        if let Some(i) = self
            .rows
            .iter()
            .position(|r| Some(r.id) == self.selected_id)
        {
            self.cursor = i;
        }
    }

    fn select(&mut self, i: usize) {
        self.cursor = i.min(self.rows.len().saturating_sub(1));
        self.selected_id = self.rows.get(self.cursor).map(|r| r.id);
    }

    /// The supervisor moved: the page stops following new contacts (until `g`).
    fn pause(&mut self) {
        if self.anchor.is_none() {
            self.anchor = self.rows.first().map(|r| r.id);
        }
    }

    /// From a selection that left the view, a movement goes to the row next to where
    /// it was: the first row after it (`down`) or the last one before it (`up`).
    /// True if that applied.
    fn step_back_into_view(&mut self, down: bool) -> bool {
        let Some(gone) = self.selection_out_of_view() else {
            return false;
        };
        let i = if down {
            self.rows
                .iter()
                .position(|r| self.after(r.id, gone))
                .unwrap_or(self.rows.len().saturating_sub(1))
        } else {
            self.rows
                .iter()
                .rposition(|r| self.after(gone, r.id))
                .unwrap_or(0)
        };
        self.select(i);
        true
    }

    /// Drops highlights older than [`FRESH_FOR`]; true if any went.
    pub fn expire_fresh(&mut self, now: Instant) -> bool {
        let before = self.fresh.len();
        self.fresh.retain(|_, t| now.duration_since(*t) < FRESH_FOR);
        self.fresh.len() != before
    }

    pub fn is_fresh(&self, id: i64) -> bool {
        self.fresh.contains_key(&id)
    }

    pub fn down(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        self.pause();
        if self.step_back_into_view(true) {
            return Ok(());
        }
        if self.cursor + 1 < self.rows.len() {
            self.select(self.cursor + 1);
            return Ok(());
        }
        let Some(last) = self.rows.last() else {
            return Ok(());
        };
        let filter = self.effective_filter();
        let Some(next) = self.rows_after(store, &filter, last.id, 1)?.pop() else {
            return Ok(());
        };
        // Shift the page by one row.
        self.anchor = self.rows.get(1).map(|r| r.id).or(Some(next.id));
        self.selected_id = Some(next.id);
        self.reload(store, page)
    }

    pub fn up(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        self.pause();
        if self.step_back_into_view(false) {
            return Ok(());
        }
        if self.cursor > 0 {
            self.select(self.cursor - 1);
            return Ok(());
        }
        let Some(first) = self.rows.first() else {
            return Ok(());
        };
        let filter = self.effective_filter();
        if let Some(c) = self.rows_before(store, &filter, first.id, 1)?.last() {
            self.anchor = Some(c.id);
            self.selected_id = Some(c.id);
            self.reload(store, page)?;
        }
        Ok(())
    }

    pub fn page_down(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        self.pause();
        let Some(last) = self.rows.last() else {
            return Ok(());
        };
        let filter = self.effective_filter();
        let next = self.rows_after(store, &filter, last.id, 1)?;
        let Some(first_next) = next.first() else {
            self.select(self.rows.len().saturating_sub(1));
            return Ok(());
        };
        let keep = self.cursor;
        self.anchor = Some(first_next.id);
        self.reload(store, page)?;
        self.select(keep);
        Ok(())
    }

    pub fn page_up(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        self.pause();
        let Some(first) = self.rows.first() else {
            return Ok(());
        };
        let filter = self.effective_filter();
        let above = self.rows_before(store, &filter, first.id, page.max(1))?;
        let Some(top) = above.first() else {
            self.select(0);
            return Ok(());
        };
        let keep = self.cursor;
        self.anchor = Some(top.id);
        self.reload(store, page)?;
        self.select(keep);
        Ok(())
    }

    /// Back to the top, following new contacts again.
    pub fn first(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        self.anchor = None;
        self.selected_id = None;
        self.cursor = 0;
        self.reload(store, page)
    }

    /// The last page (the oldest contacts, or the newest when oldest first).
    pub fn last(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        let filter = self.effective_filter();
        let bottom = self.rows_before(store, &filter, self.edge(true), page.max(1))?;
        let Some(first) = bottom.first() else {
            return Ok(());
        };
        self.anchor = Some(first.id);
        self.selected_id = bottom.last().map(|c| c.id);
        self.reload(store, page)
    }

    /// Marks or unmarks the selected row (remembering the state it shows) and moves
    /// down.
    pub fn toggle_mark(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        if let Some(c) = self.selected() {
            let (id, seen) = (c.id, Seen::of(c));
            if self.marks.remove(&id).is_none() {
                self.marks.insert(id, seen);
            }
            self.down(store, page)?;
        }
        Ok(())
    }

    /// Marks every contact in view (each with what it shows now); returns how many
    /// were newly marked.
    pub fn mark_all(&mut self) -> usize {
        let before = self.marks.len();
        for c in &self.rows {
            self.marks.entry(c.id).or_insert_with(|| Seen::of(c));
        }
        self.marks.len() - before
    }

    /// Clears every mark; returns how many there were.
    pub fn clear_marks(&mut self) -> usize {
        let n = self.marks.len();
        self.marks.clear();
        n
    }

    /// The filter after `w`: waiting only, or no status filter.
    pub fn toggle_waiting(&mut self) {
        self.filter.status = match self.filter.status {
            Some(ContactStatus::Waiting) => None,
            _ => Some(ContactStatus::Waiting),
        };
        self.reset_position();
    }

    /// Newest first <-> oldest first, for the same contacts.
    pub fn reverse_order(&mut self) {
        self.oldest_first = !self.oldest_first;
        self.reset_position();
    }

    /// After a filter or order change: following stays following (at the top); a paused page reopens at the
    /// selected contact, which stays selected (and is reported out of view if the new
    /// filter hides it).
    pub fn reset_position(&mut self) {
        self.new_above = 0;
        if self.anchor.is_some() {
            self.anchor = self.selected_id.or(self.anchor);
        }
    }

    /// Clears every filter and the marks; true if anything was cleared.
    pub fn clear_filters(&mut self) -> bool {
        let had = self.has_filters() || !self.marks.is_empty();
        self.filter = FeedFilter::default();
        self.search = TextFilter::default();
        self.searched.clear();
        self.source_name = None;
        self.operator_name = None;
        self.marks.clear();
        if had {
            self.reset_position();
        }
        had
    }
}
