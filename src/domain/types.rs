//! Operators, sources, strategies and contact statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest operator or source name, in characters.
pub const MAX_ENTITY_NAME: usize = 64;
/// Longest source description, in characters.
pub const MAX_DESCRIPTION: usize = 500;

/// A rule broken by input: always says what was wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DomainError(pub String);

impl DomainError {
    pub fn new(msg: impl Into<String>) -> Self {
        DomainError(msg.into())
    }
}

/// How a source picks among its eligible operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// P(operator) = weight / sum of eligible weights.
    #[default]
    Weighted,
    /// P(operator) proportional to weight x free slots.
    Capacity,
}

impl Strategy {
    pub const ALL: [Strategy; 2] = [Strategy::Weighted, Strategy::Capacity];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Weighted => "weighted",
            Strategy::Capacity => "capacity",
        }
    }

    /// The next strategy in a fixed cycle (the TUI's `t` key).
    pub fn next(self) -> Strategy {
        match self {
            Strategy::Weighted => Strategy::Capacity,
            Strategy::Capacity => Strategy::Weighted,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "weighted" => Ok(Strategy::Weighted),
            "capacity" => Ok(Strategy::Capacity),
            other => Err(DomainError::new(format!(
                "unknown strategy '{other}': expected weighted or capacity"
            ))),
        }
    }
}

/// Where a contact stands. `Active` contacts count toward their operator's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ContactStatus {
    /// Nobody could take it yet; no operator.
    Waiting,
    /// Assigned to an operator and open.
    Active,
    /// Done; keeps its operator (if it had one) for history and reopening.
    Closed,
}

impl ContactStatus {
    pub const ALL: [ContactStatus; 3] = [
        ContactStatus::Waiting,
        ContactStatus::Active,
        ContactStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactStatus::Waiting => "waiting",
            ContactStatus::Active => "active",
            ContactStatus::Closed => "closed",
        }
    }

    /// Whether a contact in this status can be closed.
    pub fn can_close(self) -> bool {
        self != ContactStatus::Closed
    }

    /// Whether a contact in this status can be reopened.
    pub fn can_reopen(self) -> bool {
        self == ContactStatus::Closed
    }

    /// Whether a person may (re)assign a contact in this status.
    pub fn can_assign(self) -> bool {
        self != ContactStatus::Closed
    }
}

impl fmt::Display for ContactStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContactStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "waiting" => Ok(ContactStatus::Waiting),
            "active" => Ok(ContactStatus::Active),
            "closed" => Ok(ContactStatus::Closed),
            other => Err(DomainError::new(format!(
                "unknown status '{other}': expected waiting, active or closed"
            ))),
        }
    }
}

/// An operator or source named on a command line: by id (all digits) or by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityRef {
    Id(i64),
    Name(String),
}

impl EntityRef {
    pub fn parse(s: &str) -> EntityRef {
        let t = s.trim();
        match t.parse::<i64>() {
            Ok(id) if !t.starts_with('+') && !t.starts_with('-') => EntityRef::Id(id),
            _ => EntityRef::Name(t.to_string()),
        }
    }
}

impl From<&str> for EntityRef {
    fn from(s: &str) -> Self {
        EntityRef::parse(s)
    }
}

impl From<i64> for EntityRef {
    fn from(id: i64) -> Self {
        EntityRef::Id(id)
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityRef::Id(id) => write!(f, "#{id}"),
            EntityRef::Name(n) => write!(f, "'{n}'"),
        }
    }
}

/// Trims an operator or source name and checks it: non-empty, not all digits (digits
/// name an id on the command line), at most [`MAX_ENTITY_NAME`] characters, no control
/// characters.
pub fn validate_entity_name(kind: &str, raw: &str) -> Result<String, DomainError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DomainError::new(format!("{kind} name must not be empty")));
    }
    if name.chars().count() > MAX_ENTITY_NAME {
        return Err(DomainError::new(format!(
            "{kind} name is longer than {MAX_ENTITY_NAME} characters"
        )));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::new(format!(
            "{kind} name '{name}' is all digits, which would read as an id"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::new(format!(
            "{kind} name must not contain control characters"
        )));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_round_trips_and_cycles() {
        for s in Strategy::ALL {
            assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
        }
        assert_eq!(Strategy::Weighted.next(), Strategy::Capacity);
        assert_eq!(Strategy::Capacity.next(), Strategy::Weighted);
        assert!("roundrobin".parse::<Strategy>().is_err());
    }

    #[test]
    fn status_transitions() {
        assert!(ContactStatus::Waiting.can_close());
        assert!(ContactStatus::Active.can_close());
        assert!(!ContactStatus::Closed.can_close());
        assert!(ContactStatus::Closed.can_reopen());
        assert!(!ContactStatus::Active.can_reopen());
        assert!(!ContactStatus::Closed.can_assign());
        assert_eq!(
            "Active".parse::<ContactStatus>().unwrap(),
            ContactStatus::Active
        );
    }

    #[test]
    fn entity_refs() {
        assert_eq!(EntityRef::parse("12"), EntityRef::Id(12));
        assert_eq!(EntityRef::parse(" Alice "), EntityRef::Name("Alice".into()));
        assert_eq!(EntityRef::parse("+12"), EntityRef::Name("+12".into()));
    }

    #[test]
    fn entity_names() {
        assert_eq!(validate_entity_name("operator", "  Ann ").unwrap(), "Ann");
        assert!(validate_entity_name("operator", "   ").is_err());
        assert!(validate_entity_name("operator", "123").is_err());
        assert!(validate_entity_name("operator", &"x".repeat(65)).is_err());
        assert!(validate_entity_name("operator", "a\tb").is_err());
    }
}
