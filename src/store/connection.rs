//! Opening a SQLite connection, after the process-wide settings: the lowest step,
//! used by the store's own opening, the watcher, the checkpointer and the schema
//! checks alike.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// Process-wide SQLite settings, applied once before the first connection opens.
///
/// Memory statistics off: with them on every SQLite allocation takes a global mutex
/// to keep counters nobody here reads. `.cargo/config.toml` already builds SQLite with
/// them off; this keeps them off when a `LIBSQLITE3_FLAGS` of the environment replaced
/// that. If a connection was opened before (by code outside the store), SQLite refuses
/// the change and keeps its default, which is harmless.
fn configure_sqlite_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int. sqlite3_config only changes
        // global configuration before sqlite3_initialize and returns SQLITE_MISUSE
        // afterwards; every connection the store opens is opened after this call.
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
        }
    });
}

/// Opens a connection to `path`, after the process-wide settings.
pub(crate) fn open_connection(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    configure_sqlite_once();
    Connection::open_with_flags(path, flags)
}
