//! How a contact comes in: JSON lines read and parsed (`lines`), validated, and
//! committed by one group-commit writer (`writer`) that any number of producers share:
//! `ingest` (`stream`), the simulator and the HTTP server only hand it contacts.

mod lines;
mod stream;
pub mod writer;

pub use lines::{MAX_LINE, contact_json, contact_line, parse_line};
pub use stream::{IngestReport, run, run_bounded};
pub use writer::{Closed, IntakeQueue, IntakeWriter, Limits, OnError, Results};

/// Lines committed in one transaction unless `--batch` says otherwise. Larger batches
/// rewrite the pages of the random-position indexes (lead identifiers, idempotency
/// keys) to the WAL fewer times; 5,000 measured about 8% slower than 20,000.
pub const DEFAULT_BATCH: u32 = 20_000;

/// How long one batch may hold the write lock, unless `--batch-ms` says otherwise:
/// a supervisor's edit waits at most about this long behind intake (see
/// `store/turn.rs`).
pub const DEFAULT_BATCH_MS: u32 = 50;
