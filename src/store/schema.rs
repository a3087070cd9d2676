//! The checks that refuse files switchboard must not touch: what is at a path, and
//! whether a SQLite file has switchboard's mark or shape (migrations are in
//! `migrations.rs`).

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::StoreError;
use super::migrations::{APPLICATION_ID, latest_version, migrations};

/// What is at a path before SQLite opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnDisk {
    /// Nothing there, or an empty file: a new database.
    New,
    /// A SQLite database; `wal` when its header says WAL mode.
    Sqlite { wal: bool },
}

/// A path for messages: on one line, without control characters (a path, like a table
/// name of a foreign file, may hold anything).
pub(crate) fn shown(path: &Path) -> String {
    escape(&path.display().to_string())
}

/// `text` with every control character replaced by a visible escape (the one rule
/// of [`crate::domain::escape_control`]).
pub(crate) fn escape(text: &str) -> String {
    crate::domain::escape_control(text).into_owned()
}

fn refuse(path: &Path, why: impl Into<String>) -> StoreError {
    StoreError::NotADatabase {
        path: shown(path),
        why: why.into(),
    }
}

/// What a path that is not a regular file is, for the refusal; `None` for a regular
/// file. A FIFO or a device is never opened: reading one may block or have effects.
fn special_kind(file_type: std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO");
        }
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    if file_type.is_dir() {
        return Some("a directory");
    }
    if !file_type.is_file() {
        return Some("not a regular file");
    }
    None
}

/// Looks at `path` before SQLite does: a FIFO, device, socket or directory is refused
/// without being opened, and a file that is not a SQLite database is refused.
pub(crate) fn check_file(path: &Path) -> Result<OnDisk, StoreError> {
    use std::io::Read;
    let cannot = |verb: &str, e: std::io::Error| {
        StoreError::Io(format!("cannot {verb} {}: {e}", shown(path)))
    };
    let special = |kind: &str| {
        let what = if kind.starts_with("not ") {
            format!("it is {kind}")
        } else {
            format!("it is {kind}, not a database file")
        };
        refuse(path, what)
    };
    match std::fs::metadata(path) {
        Ok(meta) => {
            if let Some(kind) = special_kind(meta.file_type()) {
                return Err(special(kind));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OnDisk::New),
        Err(e) => return Err(cannot("open", e)),
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Should a FIFO replace the file after the look above, opening it still
        // returns at once; the kind is checked again on what was opened.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OnDisk::New),
        Err(e) => return Err(cannot("open", e)),
    };
    let meta = file.metadata().map_err(|e| cannot("read", e))?;
    if let Some(kind) = special_kind(meta.file_type()) {
        return Err(special(kind));
    }
    let mut header = [0u8; 100];
    let mut n = 0;
    while n < header.len() {
        match file.read(&mut header[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot("read", e)),
        }
    }
    if n == 0 {
        return Ok(OnDisk::New);
    }
    if n < header.len() || &header[..16] != b"SQLite format 3\0" {
        return Err(refuse(path, "it is not a SQLite database"));
    }
    // Bytes 18 and 19: the file format's write and read versions, 2 in WAL mode.
    Ok(OnDisk::Sqlite {
        wal: header[18] == 2 || header[19] == 2,
    })
}

/// An existing SQLite file, judged on a read-only connection of its own before
/// anything writes to it (switching to WAL and setting the page size both write).
///
/// A WAL-mode file without a `-wal` file is complete in itself; it is read as
/// immutable, because an ordinary read-only connection would create `-wal` and `-shm`
/// files beside it and leave them there.
///
/// An immutable read takes no locks, so it is only trusted when nobody wrote while it
/// read: if a `-wal` appeared or the file changed meanwhile (another process creating
/// or checkpointing it), the file is judged again with locks.
pub(crate) fn check_existing(path: &Path, wal: bool) -> Result<FileState, StoreError> {
    let mut wal_path = path.as_os_str().to_owned();
    wal_path.push("-wal");
    let wal_path = std::path::PathBuf::from(wal_path);
    let stamp = || {
        std::fs::metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    let immutable = wal && std::fs::symlink_metadata(&wal_path).is_err();
    let before = stamp();
    let verdict = judge(path, immutable);
    if immutable
        && verdict.is_err()
        && (std::fs::symlink_metadata(&wal_path).is_ok() || stamp() != before)
    {
        return judge(path, false);
    }
    verdict
}

fn judge(path: &Path, immutable: bool) -> Result<FileState, StoreError> {
    let uri = file_uri(path, immutable);
    let conn = super::open_connection(
        Path::new(&uri),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| StoreError::Io(format!("cannot open {}: {e}", shown(path))))?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    inspect(&conn, path)
}

/// A `file:` URI for a read-only look at `path`: every byte outside the unreserved
/// set percent-encoded, so `?`, `#` and `%` in a name stay part of the name.
pub(crate) fn file_uri(path: &Path, immutable: bool) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().into_owned().into_bytes();
    let mut uri = String::from("file:");
    if bytes.starts_with(b"/") {
        uri.push_str("//"); // an empty authority, so a path starting with "//" stays a path
    }
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"/._~-".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro");
    if immutable {
        uri.push_str("&immutable=1");
    }
    uri
}

/// A file switchboard may open: its schema version, and whether it carries the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileState {
    pub version: i64,
    pub marked: bool,
}

/// The tables of a database (creation order) and each one's columns.
type Shape = Vec<(String, Vec<Column>)>;
/// A column as `pragma_table_info` gives it: name, declared type, not null, pk.
type Column = (String, String, bool, i64);

/// Decides, reading only, whether the database on `conn` is switchboard's:
/// - a database with no tables, no version and no mark is new (its schema is created);
/// - one with switchboard's mark is, and one of a newer schema version is refused as
///   such;
/// - one without any mark whose tables and columns are exactly those of its schema
///   version is (a file of a build before the mark; it gets the mark);
/// - anything else belongs to another program and is refused, in one line.
pub(crate) fn inspect(conn: &Connection, path: &Path) -> Result<FileState, StoreError> {
    // One read snapshot for the mark, the version and the tables: read one by one,
    // another process creating the schema in between would look like a foreign file.
    if conn.is_autocommit() {
        // Deferred whatever the connection's default: a read must not wait for the
        // write lock.
        let snapshot =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Deferred)?;
        let state = inspect_in(&snapshot, path);
        snapshot.finish()?;
        return state;
    }
    inspect_in(conn, path)
}

fn inspect_in(conn: &Connection, path: &Path) -> Result<FileState, StoreError> {
    let not_sqlite = |e: rusqlite::Error| {
        if matches!(e.sqlite_error_code(), Some(ErrorCode::NotADatabase)) {
            refuse(path, "it is not a SQLite database")
        } else {
            StoreError::Sqlite(e)
        }
    };
    let application_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(not_sqlite)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(not_sqlite)?;
    if application_id == APPLICATION_ID {
        if version > latest_version() {
            return Err(StoreError::NewerSchema {
                path: shown(path),
                found: version,
                known: latest_version(),
            });
        }
        if version < 0 {
            return Err(refuse(
                path,
                format!("it is marked as a switchboard file but its schema version is {version}"),
            ));
        }
        return Ok(FileState {
            version,
            marked: true,
        });
    }
    let tables = table_names(conn)?;
    if application_id == 0
        && (0..=latest_version()).contains(&version)
        && shape_is(conn, &tables, expected_shape(version)?)
    {
        return Ok(FileState {
            version,
            marked: false,
        });
    }
    Err(refuse(path, foreign(application_id, version, &tables)))
}

/// The description of another program's database: its mark, version and first tables.
fn foreign(application_id: i32, version: i64, tables: &[String]) -> String {
    const SHOWN: usize = 5;
    const LONGEST: usize = 40;
    let mut names: Vec<String> = tables
        .iter()
        .take(SHOWN)
        .map(|t| {
            let mut name: String = t.chars().take(LONGEST).collect();
            if t.chars().count() > LONGEST {
                name.push('…');
            }
            escape(&name)
        })
        .collect();
    if tables.len() > SHOWN {
        names.push(format!("… ({} in all)", tables.len()));
    }
    let tables = if names.is_empty() {
        "no tables".to_string()
    } else {
        format!("tables: {}", names.join(", "))
    };
    format!(
        "it is a SQLite database of another program (application_id 0x{:08x}, user_version {version}, {tables}); expected a switchboard file",
        application_id as u32
    )
}

fn table_names(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         ORDER BY rowid",
    )?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(names)
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Column>> {
    conn.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")?
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect()
}

/// Whether the database holds exactly the tables of `expected`, each with exactly its
/// columns. Columns are read only when the table names already agree (a foreign
/// file's virtual table may not even be readable here).
fn shape_is(conn: &Connection, tables: &[String], expected: &Shape) -> bool {
    let mut have: Vec<&str> = tables.iter().map(String::as_str).collect();
    let mut want: Vec<&str> = expected.iter().map(|(t, _)| t.as_str()).collect();
    have.sort_unstable();
    want.sort_unstable();
    if have != want {
        return false;
    }
    expected
        .iter()
        .all(|(table, want)| columns(conn, table).is_ok_and(|have| &have == want))
}

/// The tables and columns the migrations create up to `version`, built once per
/// process by applying them to an in-memory database, so the check can never drift
/// from the migrations.
fn expected_shape(version: i64) -> Result<&'static Shape, StoreError> {
    static SHAPES: std::sync::OnceLock<Result<Vec<Shape>, String>> = std::sync::OnceLock::new();
    let shapes = SHAPES.get_or_init(|| {
        let build = || -> Result<Vec<Shape>, String> {
            let mut conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
            let migrations = migrations();
            let mut shapes = vec![Shape::new()];
            for v in 1..=latest_version() {
                migrations
                    .to_version(&mut conn, v as usize)
                    .map_err(|e| e.to_string())?;
                let tables = table_names(&conn).map_err(|e| e.to_string())?;
                let shape = tables
                    .into_iter()
                    .map(|t| {
                        let c = columns(&conn, &t)?;
                        Ok((t, c))
                    })
                    .collect::<rusqlite::Result<Shape>>()
                    .map_err(|e| e.to_string())?;
                shapes.push(shape);
            }
            Ok(shapes)
        };
        build()
    });
    let shapes = shapes
        .as_ref()
        .map_err(|e| StoreError::Migration(format!("cannot build the expected schema: {e}")))?;
    usize::try_from(version)
        .ok()
        .and_then(|v| shapes.get(v))
        .ok_or_else(|| StoreError::Migration(format!("no schema version {version}")))
}

#[cfg(test)]
mod tests;
