//! The server's connections to the file, all from the one store `serve` opened:
//! read-only sessions for reads, one session per actor for other writes, and the
//! intake writer for contacts. SQLite work runs on blocking threads, never on the
//! async runtime's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use super::problem::ApiError;
use crate::intake::{IntakeQueue, Results};
use crate::store::{Store, StoreError, ValidContact};

/// How long a server write keeps retrying a locked file before the request gets 503.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// Reads at once (each on its own read-only connection).
const READERS: usize = 4;
/// Writes other than intake at once (SQLite runs one at a time anyway).
const WRITERS: usize = 4;

pub struct Db {
    /// The store `serve` opened: it keeps the file open (one checkpointer) and
    /// hands out the sessions below.
    base: Mutex<Store>,
    readers: Mutex<Vec<Store>>,
    writers: Mutex<HashMap<String, Vec<Store>>>,
    read_slots: Semaphore,
    write_slots: Semaphore,
    intake: IntakeQueue,
}

impl Db {
    pub fn new(base: Store, intake: IntakeQueue) -> Db {
        Db {
            base: Mutex::new(base),
            readers: Mutex::new(Vec::new()),
            writers: Mutex::new(HashMap::new()),
            read_slots: Semaphore::new(READERS),
            write_slots: Semaphore::new(WRITERS),
            intake,
        }
    }

    fn base(&self) -> std::sync::MutexGuard<'_, Store> {
        self.base.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a read-only session.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _slot = self
            .read_slots
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        let db = Arc::clone(self);
        run_blocking(move || {
            let taken = db.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut store = match taken {
                Some(s) => s,
                None => db.base().reader()?,
            };
            let out = f(&mut store);
            db.readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(store);
            out
        })
        .await
    }

    /// Runs `f` on a session that writes as `actor`.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        actor: &str,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _slot = self
            .write_slots
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        let db = Arc::clone(self);
        let actor = actor.to_string();
        run_blocking(move || {
            let taken = db
                .writers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&actor)
                .and_then(Vec::pop);
            let mut store = match taken {
                Some(s) => s,
                None => {
                    let mut s = db.base().session(Some(&actor))?;
                    s.set_busy_deadline(WRITE_DEADLINE);
                    s
                }
            };
            let out = f(&mut store);
            db.writers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(actor)
                .or_default()
                .push(store);
            out
        })
        .await
    }

    /// Hands contacts to the intake writer and waits for their commit.
    pub async fn intake(&self, contacts: Vec<ValidContact>) -> Result<Results, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.intake
            .submit(
                contacts,
                Box::new(move |r| {
                    let _ = tx.send(r);
                }),
            )
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        rx.await
            .map_err(|_| ApiError::unavailable("intake has stopped; nothing was stored"))
    }

    /// Drops the pooled sessions and the intake queue (at shutdown, so the writer can
    /// finish).
    pub fn close(&self) {
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(format!("a database task failed: {e}"))),
    }
}
