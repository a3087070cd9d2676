//! What can go wrong in the store, as variants a front end matches (never by text);
//! each message is written for the person who reads it.

use std::time::Duration;

use super::Result;
use crate::domain::{ContactStatus, DomainError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Invalid(#[from] DomainError),
    #[error("{kind} {key} not found")]
    NotFound { kind: &'static str, key: String },
    /// A name (or a code: kind `source code`) another entity of the kind has.
    #[error("{}", name_taken_message(kind, name))]
    NameTaken { kind: &'static str, name: String },
    /// Refused deletion: the operator holds open contacts, the source has contacts.
    #[error("{}", in_use_message(kind, name, *count))]
    InUse {
        kind: &'static str,
        name: String,
        count: u64,
    },
    /// The contact is in a status the action does not apply to.
    #[error("{}", wrong_status_message(*contact, *status, *action))]
    WrongStatus {
        contact: i64,
        status: ContactStatus,
        action: ContactAction,
    },
    /// Compare-and-set lost: the contact was expected with an operator and is waiting.
    #[error("contact #{contact} was unassigned meanwhile and is waiting again")]
    Unassigned { contact: i64 },
    /// The database's backstop refused intake past a limit (a defect if ever seen).
    #[error(
        "routing refused: operator #{operator_id} cannot take {count} more contact(s); nothing was stored"
    )]
    LimitRefused { operator_id: i64, count: u32 },
    /// Intake could not update a source's counters (a defect if ever seen).
    #[error("the counters of source #{source_id} could not be updated; nothing was stored")]
    CountersRefused { source_id: i64 },
    /// `demo` on a file that is not empty, without --force.
    #[error("{path} is not empty; use --force to add the demo data anyway")]
    NotEmpty { path: String },
    /// `demo --force` where names of the demo exist already.
    #[error(
        "the demo data cannot be added: {} already exist(s) in {path}; nothing was changed",
        names.join(", ")
    )]
    DemoClash { path: String, names: Vec<String> },
    #[error("contact #{contact} was already assigned to {operator}")]
    AlreadyAssigned { contact: i64, operator: String },
    /// Assigning by hand to an operator routing would not pick; `why` names the limit.
    #[error("operator '{operator}' is {why}; assigning to it needs force")]
    NeedsForce { operator: String, why: String },
    /// A change made from a screen found other values than the person saw: nothing
    /// was written.
    #[error("{}", stale_message(entity, changes))]
    Stale {
        entity: String,
        changes: Vec<StaleField>,
    },
    #[error("refusing {path}: {why}; the file was left untouched")]
    NotADatabase { path: String, why: String },
    #[error(
        "refusing {path}: it was written by a newer switchboard (schema version {found}, this build knows up to {known}); the file was left untouched"
    )]
    NewerSchema {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "the database stayed locked by other processes for {0:?}; nothing was changed, try again"
    )]
    Busy(Duration),
    #[error("{0}")]
    Io(String),
    #[error(
        "{path} needs a migration (schema version {found} -> {latest}), which --read-only cannot do; run `switchboard --db {path} init` as a user who may write it first"
    )]
    NeedsMigration {
        path: String,
        found: i64,
        latest: i64,
    },
    /// A file or folder of the database keeps this user out: which, its owner and
    /// mode, why, and the command that fixes it.
    #[error("{0}")]
    Permission(Box<Denied>),
    #[error("{0} is open read-only (--read-only): nothing can be changed")]
    ReadOnly(String),
    #[error("cancelled while waiting for the file; nothing was changed")]
    Cancelled,
    /// Intake stepped back for a person's write (internal; retried, never returned).
    #[error("yielded to a person's write")]
    Yielded,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// What was asked of a contact, for [`StoreError::WrongStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactAction {
    Assign,
    Close,
    Reopen,
}

fn with_article(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

fn name_taken_message(kind: &str, name: &str) -> String {
    if kind.ends_with(" code") {
        format!("{kind} '{name}' is already in use")
    } else {
        format!("{} named '{name}' already exists", with_article(kind))
    }
}

fn in_use_message(kind: &str, name: &str, count: u64) -> String {
    if kind == "operator" {
        format!(
            "operator '{name}' holds {count} open contact(s) and cannot be deleted; deactivate it instead"
        )
    } else {
        format!("{kind} '{name}' has {count} contact(s) and cannot be deleted")
    }
}

fn wrong_status_message(contact: i64, status: ContactStatus, action: ContactAction) -> String {
    match action {
        ContactAction::Assign => format!("contact #{contact} is {status}; reopen it first"),
        ContactAction::Close => format!("contact #{contact} is already closed"),
        ContactAction::Reopen => format!("contact #{contact} is {status}, not closed"),
    }
}

/// One field another writer changed since the person's screen showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleField {
    pub field: &'static str,
    /// The value the person saw.
    pub seen: String,
    /// The value in the file now.
    pub now: String,
}

impl StaleField {
    /// "max load is now 8 (you saw 7)", "name is now 'Ann' (you saw 'Anna')".
    pub fn describe(&self) -> String {
        let show = |v: &str| {
            if v.parse::<f64>().is_ok() {
                v.to_string()
            } else {
                format!("'{v}'")
            }
        };
        format!(
            "{} is now {} (you saw {})",
            self.field,
            show(&self.now),
            show(&self.seen)
        )
    }
}

/// Collects the fields a person saw with other values than the file holds now.
#[derive(Default)]
pub(crate) struct StaleCheck(Vec<StaleField>);

impl StaleCheck {
    /// Notes `field` when the person saw `seen` (`None`: they did not change it) and
    /// the file holds `now`.
    pub(crate) fn field<T: PartialEq + std::fmt::Display>(
        mut self,
        field: &'static str,
        seen: Option<&T>,
        now: &T,
    ) -> StaleCheck {
        if let Some(seen) = seen
            && seen != now
        {
            self.0.push(StaleField {
                field,
                seen: seen.to_string(),
                now: now.to_string(),
            });
        }
        self
    }

    /// `Err(Stale)` naming `entity` if any field changed.
    pub(crate) fn result(self, entity: impl FnOnce() -> String) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Stale {
                entity: entity(),
                changes: self.0,
            })
        }
    }
}

fn stale_message(entity: &str, changes: &[StaleField]) -> String {
    let list: Vec<String> = changes.iter().map(StaleField::describe).collect();
    format!(
        "{entity} was changed meanwhile: {}; nothing was saved",
        list.join(", ")
    )
}

/// What keeps this user from a file of the database ([`StoreError::Permission`]): the
/// file or folder in the way, its owner and mode, why, and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// `read`, `write` or `create`.
    pub action: &'static str,
    /// The file that could not be read, written or created.
    pub target: String,
    /// What is in the way: `target` itself, or the folder it is in or reached through.
    pub path: String,
    pub owner: String,
    pub group: String,
    /// Permission bits, with setuid, setgid and sticky.
    pub mode: u32,
    /// Why that keeps this user out: "not writable by you (u1)".
    pub why: String,
    /// The command that lets the user in, and who may run it.
    pub fix: String,
}

impl Denied {
    /// The message without its fix.
    pub fn problem(&self) -> String {
        let place = if self.path == self.target {
            String::new()
        } else {
            format!("folder {} ", self.path)
        };
        format!(
            "cannot {} {}: {place}owned by {}:{} mode {:04o}, {}",
            self.action, self.target, self.owner, self.group, self.mode, self.why
        )
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; fix: {}", self.problem(), self.fix)
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;
    use crate::domain::EntityRef;

    /// Typed errors keep the words people read.
    #[test]
    fn typed_errors_keep_their_messages() {
        let cases: Vec<(StoreError, &str)> = vec![
            (
                StoreError::NameTaken {
                    kind: "operator",
                    name: "Ann".into(),
                },
                "an operator named 'Ann' already exists",
            ),
            (
                StoreError::NameTaken {
                    kind: "source",
                    name: "web".into(),
                },
                "a source named 'web' already exists",
            ),
            (
                StoreError::NameTaken {
                    kind: "token",
                    name: "form".into(),
                },
                "a token named 'form' already exists",
            ),
            (
                StoreError::NameTaken {
                    kind: "source code",
                    name: "L1".into(),
                },
                "source code 'L1' is already in use",
            ),
            (
                StoreError::NotFound {
                    kind: "token",
                    key: EntityRef::Name("form".into()).to_string(),
                },
                "token 'form' not found",
            ),
            (
                StoreError::InUse {
                    kind: "operator",
                    name: "Ann".into(),
                    count: 2,
                },
                "operator 'Ann' holds 2 open contact(s) and cannot be deleted; deactivate it instead",
            ),
            (
                StoreError::InUse {
                    kind: "source",
                    name: "web".into(),
                    count: 1,
                },
                "source 'web' has 1 contact(s) and cannot be deleted",
            ),
            (
                StoreError::WrongStatus {
                    contact: 7,
                    status: ContactStatus::Closed,
                    action: ContactAction::Assign,
                },
                "contact #7 is closed; reopen it first",
            ),
            (
                StoreError::WrongStatus {
                    contact: 7,
                    status: ContactStatus::Closed,
                    action: ContactAction::Close,
                },
                "contact #7 is already closed",
            ),
            (
                StoreError::WrongStatus {
                    contact: 7,
                    status: ContactStatus::Active,
                    action: ContactAction::Reopen,
                },
                "contact #7 is active, not closed",
            ),
            (
                StoreError::Unassigned { contact: 7 },
                "contact #7 was unassigned meanwhile and is waiting again",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }
}
