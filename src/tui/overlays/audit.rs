//! The audit log: newest first, filtered by text or a contact id, read 200 entries at
//! a time as the cursor nears the end.

use crate::store::{AuditEntry, Store, StoreError};
use crate::tui::action::{Action, Command};
use crate::tui::keymap::{Context, Keymap};
use crate::tui::model::{FilterEdit, Hints, Selection, TextFilter, key_label};

/// Entries read at a time.
const CHUNK: usize = 200;

#[derive(Debug, Clone)]
pub struct AuditView {
    pub entries: Vec<AuditEntry>,
    pub sel: Selection,
    pub filter: TextFilter,
    /// No older entries left to load.
    pub complete: bool,
    /// The selected entry is open in full (Enter); Esc goes back to the list.
    pub entry_open: bool,
}

impl AuditView {
    pub fn open(store: &mut Store) -> Result<AuditView, StoreError> {
        let mut view = AuditView {
            entries: Vec::new(),
            sel: Selection::default(),
            filter: TextFilter::default(),
            complete: false,
            entry_open: false,
        };
        view.load(store, true)?;
        Ok(view)
    }

    /// Reads the newest entries again (as many as are loaded, at least 200); `reset`
    /// goes back to the first.
    pub fn load(&mut self, store: &mut Store, reset: bool) -> Result<(), StoreError> {
        let limit = if reset {
            CHUNK
        } else {
            self.entries.len().max(CHUNK)
        };
        self.entries = store.audit_log(self.filter.query(), None, limit)?;
        self.complete = self.entries.len() < limit;
        let ids: Vec<i64> = self.entries.iter().map(|e| e.id).collect();
        if reset {
            self.sel = Selection::default();
        }
        self.sel.sync(&ids);
        Ok(())
    }

    /// One key, with `page` rows in view; false when the view closes. The view stays
    /// open when reading the file fails (the error is returned).
    pub fn handle(
        &mut self,
        action: &Action,
        store: &mut Store,
        page: usize,
    ) -> Result<bool, StoreError> {
        if self.filter.editing {
            if self.filter.edit(action) != FilterEdit::Ignored {
                self.load(store, true)?;
            }
            return Ok(true);
        }
        if self.entry_open {
            match action {
                Action::Command(Command::Back | Command::Confirm) => self.entry_open = false,
                Action::Command(cmd @ (Command::Up | Command::Down)) => {
                    let ids: Vec<i64> = self.entries.iter().map(|e| e.id).collect();
                    self.sel.navigate(*cmd, page, &ids);
                }
                _ => {}
            }
            return Ok(true);
        }
        match action {
            Action::Command(Command::Back) => {
                if self.filter.text.is_empty() {
                    return Ok(false);
                }
                self.filter = TextFilter::default();
                self.load(store, true)?;
            }
            Action::Command(Command::Confirm) => self.entry_open = !self.entries.is_empty(),
            Action::Command(Command::Filter) => self.filter.editing = true,
            Action::Command(cmd) => {
                let ids: Vec<i64> = self.entries.iter().map(|e| e.id).collect();
                self.sel.navigate(*cmd, page, &ids);
                // Near the end: read older entries.
                if !self.complete && self.sel.cursor + page >= self.entries.len() {
                    let before = self.entries.last().map(|e| e.id);
                    let more = store.audit_log(self.filter.query(), before, CHUNK)?;
                    self.complete = more.len() < CHUNK;
                    self.entries.extend(more);
                }
            }
            _ => {}
        }
        Ok(true)
    }

    /// The entry open in full, if any.
    pub fn open_entry(&self) -> Option<&AuditEntry> {
        self.entry_open
            .then(|| self.entries.get(self.sel.cursor))
            .flatten()
    }

    pub fn hints(&self, km: &Keymap) -> Hints<'static> {
        let back = key_label(km, Context::Navigation, Command::Back);
        let confirm = key_label(km, Context::Dialog, Command::Confirm);
        if self.entry_open {
            return vec![
                (
                    key_label(km, Context::Navigation, Command::Down),
                    "next entry",
                ),
                (back, "back to the list"),
            ];
        }
        if self.filter.editing {
            vec![(confirm, "keep filter"), (back, "clear filter")]
        } else {
            vec![
                (confirm, "open entry"),
                (
                    key_label(km, Context::Navigation, Command::Filter),
                    "filter",
                ),
                (back, "close"),
            ]
        }
    }
}
