//! The simulators the TUI runs: one started from the form (`s`), and the demo's slow
//! one with its operators closing contacts. Each runs on its own thread with its own
//! connection, so the screen never waits on their transactions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{App, DemoWork, SimRun};
use crate::domain::ContactStatus;
use crate::sim::{self, Plan, Progress, SourceMix};
use crate::store::{FeedFilter, StoreError};
use crate::tui::overlays::Dialog;
use crate::tui::overlays::confirm::{Confirm, Pending};
use crate::tui::overlays::form::Form;

impl App {
    /// Starts the demo's slow simulator (a contact every ~1.5 s) and its operators
    /// closing a contact every ~2 s, so the feed moves and operators fill up.
    pub fn start_demo_simulator(&mut self) -> Result<(), StoreError> {
        let mix = SourceMix::resolve(&mut self.store, &[])?;
        let plan = Plan {
            count: 1_000_000,
            rate: Some(0.7),
            mix,
            repeat: 0.25,
            seed: None,
        };
        self.spawn_simulator(plan, true)?;
        let mut store = self.store.session(Some("demo"))?;
        if let Some(seed) = self.seed {
            store.reseed(seed);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let handle = std::thread::Builder::new()
            .name("demo operators".into())
            .spawn(move || {
                let open = FeedFilter {
                    status: Some(ContactStatus::Active),
                    ..FeedFilter::default()
                };
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..40 {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    // The oldest open contact is done. A failure (a busy file) just
                    // skips a turn.
                    if let Ok(rows) = store.contacts(&open, None, 1000)
                        && let Some(oldest) = rows.last()
                    {
                        let _ = store.close_contact(oldest.id);
                    }
                }
            })
            .map_err(|e| StoreError::Io(format!("cannot start the demo: {e}")))?;
        self.demo_work = Some(DemoWork {
            cancel,
            handle: Some(handle),
        });
        Ok(())
    }

    pub(super) fn simulate_key(&mut self) -> Result<(), StoreError> {
        if let Some(sim) = &self.sim {
            if sim.demo {
                // The demo's contacts are what makes it move: asked first.
                self.dialog = Some(Dialog::Confirm(Confirm {
                    title: "Stop the demo's simulator".into(),
                    lines: vec![
                        "Stop the demo's simulator?".into(),
                        "No more contacts arrive; the demo's operators go on closing theirs."
                            .into(),
                    ],
                    yes: "stop".into(),
                    pending: Pending::StopSimulator,
                }));
                return Ok(());
            }
            sim.progress.cancel.store(true, Ordering::Relaxed);
            self.info("stopping the simulator…");
            return Ok(());
        }
        let sources = self.store.sources()?;
        if sources.is_empty() {
            self.error("there are no sources to simulate: add one on the Sources tab");
            return Ok(());
        }
        self.dialog = Some(Dialog::Form(Form::simulate(&sources)));
        Ok(())
    }

    pub(super) fn spawn_simulator(&mut self, plan: Plan, demo: bool) -> Result<(), StoreError> {
        plan.validate()?;
        // Its own connection, so the UI never waits on the simulator's transactions.
        let mut store = self.store.session(None)?;
        if let Some(seed) = self.seed {
            store.reseed(seed);
        }
        let progress = Arc::new(Progress::default());
        let shared = Arc::clone(&progress);
        let count = plan.count;
        let handle = std::thread::Builder::new()
            .name("simulator".into())
            .spawn(move || sim::run(&mut store, &plan, &shared))
            .map_err(|e| StoreError::Io(format!("cannot start the simulator: {e}")))?;
        self.sim = Some(SimRun {
            progress,
            handle: Some(handle),
            count,
            demo,
            seen: 0,
        });
        self.dirty = true;
        Ok(())
    }

    /// Stops a running simulation and waits for its thread (at most one contact).
    pub fn stop_simulator(&mut self) {
        if let Some(mut work) = self.demo_work.take() {
            work.cancel.store(true, Ordering::Relaxed);
            if let Some(h) = work.handle.take() {
                let _ = h.join();
            }
        }
        if let Some(mut sim) = self.sim.take() {
            sim.progress.cancel.store(true, Ordering::Relaxed);
            if let Some(h) = sim.handle.take() {
                let _ = h.join();
            }
        }
    }

    /// The question q asks while a simulator runs.
    pub(super) fn quit_question(&self) -> Option<Confirm> {
        let sim = self.sim.as_ref()?;
        let sent = sim.progress.sent.load(Ordering::Relaxed);
        let what = if sim.demo {
            "The demo's simulator stops.".to_string()
        } else {
            format!("The simulator stops ({sent} of {} sent).", sim.count)
        };
        Some(Confirm {
            title: "Quit".into(),
            lines: vec![
                "Quit switchboard?".into(),
                what,
                "Every contact it sent stays in the file.".into(),
            ],
            yes: "quit".into(),
            pending: Pending::Quit,
        })
    }
}
