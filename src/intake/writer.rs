//! Group commit: contacts from any number of producers go into one queue, and one
//! writer commits whatever is queued in one IMMEDIATE transaction (bounded in time, so
//! a supervisor waits at most about that long), answering each producer only after
//! the commit that holds its contacts.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, RecvError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::store::{Intake, Store, StoreError, ValidContact};

/// The results of one submission, one per contact, in its order.
pub type Results = Vec<Result<Intake, StoreError>>;
/// Called once, on the writer's thread, after the commit that holds the submission's
/// last contact (or with the errors that kept them out).
pub type Reply = Box<dyn FnOnce(Results) + Send>;

/// Contacts from one producer and how to answer it.
pub struct Submission {
    pub contacts: Vec<ValidContact>,
    pub reply: Reply,
}

/// What the writer does after a transaction failed as a whole (the file stayed locked
/// past the deadline, a disk error): the producers of that transaction get the error
/// either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Stop and return the error (a one-off run such as `ingest`).
    Stop,
    /// Go on with the next submissions (a server).
    Continue,
}

/// Bounds of one transaction.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Contacts in one transaction at most.
    pub max_batch: usize,
    /// How long one transaction may hold the write lock while another writer waits
    /// (a person's write stops it at once); `None`: only `max_batch` bounds it.
    pub budget: Option<Duration>,
    pub on_error: OnError,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_batch: super::DEFAULT_BATCH as usize,
            budget: Some(Duration::from_millis(u64::from(super::DEFAULT_BATCH_MS))),
            on_error: OnError::Continue,
        }
    }
}

/// The writer is gone (it stopped on an error, or the process is shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("intake has stopped; nothing was stored")]
pub struct Closed;

/// Where producers hand in contacts. Cheap to clone; the writer ends once every
/// clone is dropped and what was queued is committed and answered.
#[derive(Clone)]
pub struct IntakeQueue {
    tx: Sender,
}

#[derive(Clone)]
enum Sender {
    Bounded(SyncSender<Submission>),
    Unbounded(mpsc::Sender<Submission>),
}

/// A queue and its receiving end. `capacity`: submissions that may wait before
/// [`IntakeQueue::submit`] blocks (back pressure for a producer that reads faster than
/// the file takes); `None`: never blocks (producers bound themselves, e.g. a server's
/// connection cap).
pub fn queue(capacity: Option<usize>) -> (IntakeQueue, Receiver<Submission>) {
    match capacity {
        Some(n) => {
            let (tx, rx) = mpsc::sync_channel(n);
            (
                IntakeQueue {
                    tx: Sender::Bounded(tx),
                },
                rx,
            )
        }
        None => {
            let (tx, rx) = mpsc::channel();
            (
                IntakeQueue {
                    tx: Sender::Unbounded(tx),
                },
                rx,
            )
        }
    }
}

impl IntakeQueue {
    /// Queues `contacts`; `reply` is called after their commit.
    pub fn submit(&self, contacts: Vec<ValidContact>, reply: Reply) -> Result<(), Closed> {
        let s = Submission { contacts, reply };
        match &self.tx {
            Sender::Bounded(tx) => tx.send(s).map_err(|_| Closed),
            Sender::Unbounded(tx) => tx.send(s).map_err(|_| Closed),
        }
    }

    /// Queues `contacts` unless that would block (a bounded queue that is full);
    /// then gives them back.
    pub fn try_submit(
        &self,
        contacts: Vec<ValidContact>,
        reply: Reply,
    ) -> Result<(), (Vec<ValidContact>, Reply)> {
        let s = Submission { contacts, reply };
        match &self.tx {
            Sender::Bounded(tx) => tx.try_send(s).map_err(|e| match e {
                TrySendError::Full(s) | TrySendError::Disconnected(s) => (s.contacts, s.reply),
            }),
            Sender::Unbounded(tx) => tx.send(s).map_err(|e| (e.0.contacts, e.0.reply)),
        }
    }

    /// Queues `contacts` and waits for their commit.
    pub fn add(&self, contacts: Vec<ValidContact>) -> Result<Results, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(
            contacts,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )
        .map_err(|e| StoreError::Io(e.to_string()))?;
        rx.recv()
            .map_err(|_: RecvError| StoreError::Io(Closed.to_string()))
    }
}

/// A writer on a thread of its own, owning its store session.
pub struct IntakeWriter {
    queue: Option<IntakeQueue>,
    handle: Option<JoinHandle<Result<(), StoreError>>>,
}

impl IntakeWriter {
    /// Starts the writer on `store` (a session of its own: the writer is its only
    /// user).
    pub fn spawn(mut store: Store, limits: Limits, capacity: Option<usize>) -> IntakeWriter {
        let (queue, rx) = queue(capacity);
        let handle = std::thread::Builder::new()
            .name("intake".into())
            .spawn(move || run(&mut store, &rx, limits))
            .ok();
        IntakeWriter {
            queue: Some(queue),
            handle,
        }
    }

    /// A queue to hand contacts in.
    pub fn queue(&self) -> IntakeQueue {
        self.queue.clone().expect("present until finish")
    }

    /// Waits until every other clone of the queue is dropped and all that was queued
    /// is committed and answered.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.queue = None;
        match self.handle.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(StoreError::Io("intake writer failed".into()))),
            None => Err(StoreError::Io("intake writer could not start".into())),
        }
    }
}

/// One producer's submission while its contacts are committed.
struct Waiting {
    count: usize,
    results: Results,
    reply: Reply,
}

/// Commits what `jobs` brings until every sender is gone; see the module comment.
pub fn run(
    store: &mut Store,
    jobs: &Receiver<Submission>,
    limits: Limits,
) -> Result<(), StoreError> {
    let max_batch = limits.max_batch.max(1);
    let mut waiting: VecDeque<Waiting> = VecDeque::new();
    // The contacts of `waiting` not committed yet, in order.
    let mut contacts: VecDeque<ValidContact> = VecDeque::new();
    let take_in = |s: Submission, waiting: &mut VecDeque<Waiting>, c: &mut VecDeque<_>| {
        waiting.push_back(Waiting {
            count: s.contacts.len(),
            results: Vec::with_capacity(s.contacts.len()),
            reply: s.reply,
        });
        c.extend(s.contacts);
    };
    loop {
        if waiting.is_empty() {
            match jobs.recv() {
                Ok(s) => take_in(s, &mut waiting, &mut contacts),
                Err(_) => return Ok(()),
            }
        }
        // Whatever else is queued now joins this transaction, up to its bound.
        while contacts.len() < max_batch {
            match jobs.try_recv() {
                Ok(s) => take_in(s, &mut waiting, &mut contacts),
                Err(_) => break,
            }
        }
        let take = contacts.len().min(max_batch);
        let mut failed = None;
        if take > 0 {
            let batch = &contacts.make_contiguous()[..take];
            let outcome = match limits.budget {
                Some(b) => store.add_valid_contacts_within(batch, b),
                // Without a time bound a batch still gives way to a person at once.
                None => store.add_valid_contacts_within(batch, Duration::MAX),
            };
            match outcome {
                Ok(results) => {
                    contacts.drain(..results.len());
                    hand_out(&mut waiting, results.into_iter());
                }
                Err(e) => {
                    contacts.drain(..take);
                    hand_out(&mut waiting, (0..take).map(|_| Err(replicate(&e))));
                    failed = Some(e);
                }
            }
        }
        // Answer every submission whose contacts are all committed (or refused).
        while waiting.front().is_some_and(|w| w.results.len() == w.count) {
            let w = waiting.pop_front().expect("front exists");
            (w.reply)(w.results);
        }
        if let Some(e) = failed
            && limits.on_error == OnError::Stop
        {
            return Err(e);
        }
    }
}

/// Gives results, in order, to the submissions they belong to.
fn hand_out(
    waiting: &mut VecDeque<Waiting>,
    mut results: impl Iterator<Item = Result<Intake, StoreError>>,
) {
    for w in waiting.iter_mut() {
        while w.results.len() < w.count {
            match results.next() {
                Some(r) => w.results.push(r),
                None => return,
            }
        }
    }
}

/// The error of a failed transaction, once for each contact that was in it.
fn replicate(e: &StoreError) -> StoreError {
    match e {
        StoreError::Busy(d) => StoreError::Busy(*d),
        StoreError::Cancelled => StoreError::Cancelled,
        StoreError::ReadOnly(p) => StoreError::ReadOnly(p.clone()),
        other => StoreError::Io(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Strategy;
    use crate::store::{NewContact, OpenOptions};

    fn contact(i: usize) -> ValidContact {
        NewContact {
            source: Some("web".into()),
            email: Some(format!("p{i}@example.com")),
            ..NewContact::default()
        }
        .validate()
        .unwrap()
    }

    /// Many producers at once: each is answered once, with its own contacts in its
    /// order, and each answer comes after the contacts are in the file.
    #[test]
    fn answers_each_producer_after_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let mut store = Store::open(&path, OpenOptions::default()).unwrap();
        store.add_operator("ann", 3, true).unwrap();
        store.add_source("web", "", Strategy::Weighted).unwrap();
        store.set_weight(&"ann".into(), &"web".into(), 1).unwrap();
        let writer = IntakeWriter::spawn(
            store.session(None).unwrap(),
            Limits {
                max_batch: 7,
                ..Limits::default()
            },
            None,
        );
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let q = writer.queue();
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut reader = Store::open(&path, OpenOptions::default()).unwrap();
                    for round in 0..5 {
                        let batch: Vec<_> = (0..round + 1)
                            .map(|k| contact(t * 100 + round * 10 + k))
                            .collect();
                        let results = q.add(batch).unwrap();
                        assert_eq!(results.len(), round + 1);
                        for (k, r) in results.iter().enumerate() {
                            let c = &r.as_ref().unwrap().contact;
                            // Committed before the answer: another connection sees it.
                            let seen = reader.contact(c.id).unwrap();
                            assert_eq!(
                                seen.lead,
                                format!("p{}@example.com", t * 100 + round * 10 + k)
                            );
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        writer.finish().unwrap();
        let stats = store.operators().unwrap();
        assert_eq!(stats[0].load, 3, "the limit holds across groups");
        let count: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM contact", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 8 * 15);
    }

    /// A submission of no contacts is answered too, in its turn.
    #[test]
    fn empty_submissions_are_answered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("e.db"), OpenOptions::default()).unwrap();
        let writer = IntakeWriter::spawn(store.session(None).unwrap(), Limits::default(), Some(4));
        assert!(writer.queue().add(Vec::new()).unwrap().is_empty());
        writer.finish().unwrap();
    }
}
