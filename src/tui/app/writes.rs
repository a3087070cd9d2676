//! Writes: on the writer's thread (or inline in tests), one at a time, cancellable
//! while they wait for the file; every write comes back as a report applied the same
//! way.

use std::time::Instant;

use super::App;
use crate::store::StoreError;
use crate::tui::effect::{Report, Write, Written};
use crate::tui::model::Tab;
use crate::tui::writer::Pending as PendingWrite;

impl App {
    /// Runs a write: on the writer's thread when there is one (the App goes on taking
    /// keys, and its report is applied when it is done), else at once on the App's
    /// store.
    pub(super) fn write(&mut self, write: Write) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            let written = (write.job)(&mut self.store);
            return self.written(written);
        };
        if let Some(p) = &self.pending {
            self.error(format!(
                "still waiting for the file: {} (Esc cancels it)",
                p.what
            ));
            return Ok(());
        }
        writer.send(write.job)?;
        self.pending = Some(PendingWrite {
            what: write.what,
            since: Instant::now(),
        });
        self.dirty = true;
        Ok(())
    }

    /// Applies the writes that finished on the writer's thread.
    pub(super) fn poll_writes(&mut self) {
        let Some(writer) = &self.writer else {
            return;
        };
        for written in writer.finished() {
            self.pending = None;
            self.dirty = true;
            if let Err(e) = self.written(written) {
                self.error(e.to_string());
                let _ = self.refresh();
            }
        }
    }

    /// A write came back: the same steps for every write.
    fn written(&mut self, written: Written) -> Result<(), StoreError> {
        let report: Report = written?;
        // Marks made while the change waited stay.
        for id in &report.unmark {
            self.feed.marks.remove(id);
        }
        match report.select {
            Some((Tab::Operators, id)) => self.operators.sel.id = Some(id),
            Some((Tab::Sources, id)) => self.sources.sel.id = Some(id),
            _ => {}
        }
        // A dialog opened while the write waited keeps the screen.
        if let Some(d) = report.reopen
            && self.dialog.is_none()
        {
            self.dialog = Some(d);
        }
        self.refresh()?;
        if let Some(m) = report.message {
            self.show(m);
        }
        Ok(())
    }

    /// Gives up the write that is waiting for the file.
    pub(super) fn cancel_write(&mut self) {
        if let (Some(writer), Some(p)) = (&self.writer, &self.pending) {
            writer.cancel();
            let what = p.what.clone();
            self.info(format!("cancelling: {what}…"));
        }
    }
}
