//! Writes off the event loop. A supervisor's change runs on a thread of its own with
//! its own connection, so while the file is locked (an intake batch, another
//! supervisor, a lock held from outside) keys keep working, the status bar says what
//! is waiting, and Esc cancels it. One change at a time: the next edit waits until the
//! last one landed or was cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use crate::store::{Store, StoreError};

/// A write: runs on the writer's store and returns `R`, what the App makes of it.
pub type Job<R> = Box<dyn FnOnce(&mut Store) -> R + Send>;

/// A write on its way.
#[derive(Debug, Clone)]
pub struct Pending {
    /// e.g. "saving operator 'Anna Petrova'".
    pub what: String,
    pub since: Instant,
}

/// The writer thread, its connection and the channels to it.
pub struct Writer<R> {
    jobs: Option<mpsc::Sender<Job<R>>>,
    done: mpsc::Receiver<R>,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    wake: Arc<tokio::sync::Notify>,
}

impl<R: Send + 'static> Writer<R> {
    /// Starts the writer's thread on its own session of the file.
    pub fn start(mut store: Store) -> Result<Writer<R>, StoreError> {
        let cancel = store.cancel_flag();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job<R>>();
        let (done_tx, done_rx) = mpsc::channel::<R>();
        let wake = Arc::new(tokio::sync::Notify::new());
        let notify = Arc::clone(&wake);
        let reset = Arc::clone(&cancel);
        let handle = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                for job in jobs_rx {
                    reset.store(false, Ordering::Relaxed);
                    let done = job(&mut store);
                    if done_tx.send(done).is_err() {
                        return;
                    }
                    notify.notify_one();
                }
            })
            .map_err(|e| StoreError::Io(format!("cannot start the writer: {e}")))?;
        Ok(Writer {
            jobs: Some(jobs_tx),
            done: done_rx,
            cancel,
            handle: Some(handle),
            wake,
        })
    }

    pub fn send(&self, job: Job<R>) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .and_then(|j| j.send(job).ok())
            .ok_or_else(|| StoreError::Io("the writer thread stopped".into()))
    }

    /// Writes that finished since the last call.
    pub fn finished(&self) -> Vec<R> {
        self.done.try_iter().collect()
    }

    /// Makes the running write give up if it is still waiting for the file.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Woken whenever a write finished.
    pub fn wake(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.wake)
    }
}

impl<R> Drop for Writer<R> {
    fn drop(&mut self) {
        // A write still waiting is cancelled; one already committing finishes.
        self.cancel.store(true, Ordering::Relaxed);
        self.jobs = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
