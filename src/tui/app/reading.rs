//! Reading the file: what the current tab and any open dialog show, after a write,
//! when another process committed (`PRAGMA data_version`, polled on each tick), and
//! when the simulator moved.

use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Instant;

use super::App;
use crate::store::{ChangeWatcher, StoreError, now_ms};
use crate::tui::model::Tab;
use crate::tui::overlays::Dialog;
use crate::tui::tabs::feed::state::FeedState;

impl App {
    /// Reads what the current tab (and any open dialog) shows.
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        self.empty = self.store.is_empty()?;
        self.feed.waiting = self.store.waiting_count()?;
        self.load_tab()?;
        // Open dialogs stay open; the two that show live data read it again.
        match &mut self.dialog {
            Some(Dialog::Audit(view)) => view.load(&mut self.store, false)?,
            Some(Dialog::Assign(picker)) => picker.refresh(&mut self.store)?,
            _ => {}
        }
        self.last_refresh = Some(now_ms());
        self.dirty = true;
        Ok(())
    }

    pub(super) fn load_tab(&mut self) -> Result<(), StoreError> {
        let store = &mut self.store;
        match self.tab {
            Tab::Operators => self.operators.load(store),
            Tab::Sources => self.sources.load(store),
            Tab::Weights => self.weights.load(store),
            Tab::Feed => self.feed.reload(store, FeedState::page(self.area)),
        }
    }

    pub(super) fn tick(&mut self) {
        let mut changed = match self.watcher.as_mut().map(ChangeWatcher::changed) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                self.error(format!("cannot watch the file: {e}"));
                false
            }
            None => false,
        };
        if let Some(sim) = &mut self.sim {
            let sent = sim.progress.sent.load(Ordering::Relaxed);
            if sent != sim.seen {
                sim.seen = sent;
                self.dirty = true;
            }
            if sim.handle.as_ref().is_some_and(JoinHandle::is_finished) {
                let demo = sim.demo;
                let outcome = sim.handle.take().map(JoinHandle::join);
                self.sim = None;
                changed = true;
                match outcome {
                    Some(Ok(Ok(report))) => {
                        let who = if demo { "demo simulator" } else { "simulator" };
                        self.info(format!("{who} done: {report}"));
                    }
                    Some(Ok(Err(e))) => self.error(format!("simulator stopped: {e}")),
                    _ => self.error("simulator stopped unexpectedly"),
                }
            }
        }
        if changed && let Err(e) = self.refresh() {
            self.error(e.to_string());
        }
        if self.feed.expire_fresh(Instant::now()) {
            self.dirty = true;
        }
    }
}
