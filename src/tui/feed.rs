//! The Feed tab's state: one page of contacts read by keyset (ids, never OFFSET), the
//! follow-the-top / keep-my-place rule, the "N new" count, marks and the two-second
//! highlight of rows that just arrived.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::domain::ContactStatus;
use crate::store::{Contact, FeedFilter, Store, StoreError};

use super::app::TextFilter;

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
    /// The visible page, newest first.
    pub rows: Vec<Contact>,
    /// `None`: following the top. `Some(id)`: the page starts at the newest contact
    /// with an id <= `id`, and stays there while new contacts arrive.
    pub anchor: Option<i64>,
    pub cursor: usize,
    pub selected_id: Option<i64>,
    /// Contacts that arrived while the page was scrolled away from the top.
    pub new_above: usize,
    pub marks: BTreeSet<i64>,
    /// Ids that arrived recently, and when they were first shown.
    pub fresh: HashMap<i64, Instant>,
    /// Highest id shown while following; anything above it is new.
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

    pub fn selected(&self) -> Option<&Contact> {
        self.rows.get(self.cursor)
    }

    /// Reads the page again at the same place (or the top when following) and keeps
    /// the selection on the same contact when it is still on the page.
    pub fn reload(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        let filter = self.effective_filter();
        let page = page.max(1);
        let mut rows = match self.anchor {
            None => store.contacts(&filter, None, page)?,
            Some(a) => store.contacts(&filter, Some(a.saturating_add(1)), page)?,
        };
        if self.anchor.is_some() && rows.is_empty() {
            // Everything below the anchor went away (a new filter): back to the top.
            self.anchor = None;
            rows = store.contacts(&filter, None, page)?;
        }
        // "N new": what arrived since the feed last showed the top.
        self.new_above = match (self.anchor, self.max_seen.or(rows.first().map(|r| r.id))) {
            (Some(_), Some(seen)) => store.count_newer(&filter, seen, NEW_CAP + 1)?,
            _ => 0,
        };
        let now = Instant::now();
        if self.anchor.is_none() {
            if let Some(seen) = self.max_seen {
                for r in rows.iter().filter(|r| r.id > seen) {
                    self.fresh.entry(r.id).or_insert(now);
                }
            }
            if let Some(top) = rows.first() {
                self.max_seen = Some(self.max_seen.map_or(top.id, |s| s.max(top.id)));
            } else if self.max_seen.is_none() {
                self.max_seen = Some(0);
            }
        }
        self.rows = rows;
        self.sync_cursor();
        Ok(())
    }

    fn sync_cursor(&mut self) {
        if let Some(id) = self.selected_id
            && let Some(i) = self.rows.iter().position(|r| r.id == id)
        {
            self.cursor = i;
        }
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
        self.selected_id = self.rows.get(self.cursor).map(|r| r.id);
    }

    fn select(&mut self, i: usize) {
        self.cursor = i.min(self.rows.len().saturating_sub(1));
        self.selected_id = self.rows.get(self.cursor).map(|r| r.id);
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
        if self.cursor + 1 < self.rows.len() {
            self.select(self.cursor + 1);
            return Ok(());
        }
        let Some(last) = self.rows.last() else {
            return Ok(());
        };
        let filter = self.effective_filter();
        if store.contacts(&filter, Some(last.id), 1)?.is_empty() {
            return Ok(());
        }
        // Shift the page by one row.
        self.anchor = self.rows.get(1).map(|r| r.id).or(Some(last.id - 1));
        self.selected_id = None;
        self.reload(store, page)?;
        self.select(self.rows.len().saturating_sub(1));
        Ok(())
    }

    pub fn up(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        if self.cursor > 0 {
            self.select(self.cursor - 1);
            return Ok(());
        }
        let Some(first) = self.rows.first() else {
            return Ok(());
        };
        let filter = self.effective_filter();
        let above = store.contacts_after(&filter, first.id, 1)?;
        match above.first() {
            None => {
                self.anchor = None;
                self.new_above = 0;
            }
            Some(c) => {
                let id = c.id;
                let at_top = store.count_newer(&filter, id, 1)? == 0;
                self.anchor = if at_top { None } else { Some(id) };
                self.selected_id = Some(id);
                self.reload(store, page)?;
            }
        }
        self.select(0);
        Ok(())
    }

    pub fn page_down(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        let Some(last) = self.rows.last() else {
            return Ok(());
        };
        let filter = self.effective_filter();
        let next = store.contacts(&filter, Some(last.id), 1)?;
        let Some(first_next) = next.first() else {
            self.select(self.rows.len().saturating_sub(1));
            return Ok(());
        };
        let keep = self.cursor;
        self.anchor = Some(first_next.id);
        self.selected_id = None;
        self.reload(store, page)?;
        self.select(keep);
        Ok(())
    }

    pub fn page_up(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        let Some(first) = self.rows.first() else {
            return Ok(());
        };
        let filter = self.effective_filter();
        let above = store.contacts_after(&filter, first.id, page.max(1))?;
        if above.is_empty() {
            self.anchor = None;
            self.select(0);
            return Ok(());
        }
        let keep = self.cursor;
        let top = store.count_newer(&filter, above[0].id, 1)? == 0;
        self.anchor = if top { None } else { Some(above[0].id) };
        self.selected_id = None;
        self.reload(store, page)?;
        self.select(keep);
        Ok(())
    }

    /// Back to the top, following new contacts again.
    pub fn first(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        self.anchor = None;
        self.selected_id = None;
        self.cursor = 0;
        self.reload(store, page)?;
        self.select(0);
        Ok(())
    }

    /// The oldest page.
    pub fn last(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        let filter = self.effective_filter();
        let oldest = store.contacts_after(&filter, 0, page.max(1))?;
        let Some(top_of_oldest) = oldest.first() else {
            return Ok(());
        };
        let at_top = store.count_newer(&filter, top_of_oldest.id, 1)? == 0;
        self.anchor = if at_top { None } else { Some(top_of_oldest.id) };
        self.selected_id = None;
        self.reload(store, page)?;
        self.select(self.rows.len().saturating_sub(1));
        Ok(())
    }

    /// Marks or unmarks the selected row and moves down.
    pub fn toggle_mark(&mut self, store: &mut Store, page: usize) -> Result<(), StoreError> {
        if let Some(c) = self.selected() {
            let id = c.id;
            if !self.marks.remove(&id) {
                self.marks.insert(id);
            }
            self.down(store, page)?;
        }
        Ok(())
    }

    /// The filter after `w`: waiting only, or no status filter.
    pub fn toggle_waiting(&mut self) {
        self.filter.status = match self.filter.status {
            Some(ContactStatus::Waiting) => None,
            _ => Some(ContactStatus::Waiting),
        };
        self.reset_position();
    }

    /// After a filter change: back to the top.
    pub fn reset_position(&mut self) {
        self.anchor = None;
        self.cursor = 0;
        self.selected_id = None;
        self.new_above = 0;
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
