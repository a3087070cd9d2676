//! Operators, sources, strategies and contact statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::{escape_control, is_bidi_control, is_invisible, is_terminal_control};

/// Longest operator or source name, in characters.
pub const MAX_ENTITY_NAME: usize = 64;
/// Longest source description, in characters.
pub const MAX_DESCRIPTION: usize = 500;

/// A rule broken by input: always says what was wrong and what is allowed, and,
/// where one field is at fault, which (as the JSON field is named: `phone`, `name`,
/// `max_load`), so an API can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DomainError {
    field: Option<String>,
    message: String,
}

impl DomainError {
    /// A broken rule that is not one field's.
    pub fn new(msg: impl Into<String>) -> Self {
        DomainError {
            field: None,
            message: msg.into(),
        }
    }

    /// `field` (or a description of it, such as "operator name") holds a bad value.
    pub fn invalid(field: &str, msg: impl Into<String>) -> Self {
        DomainError {
            field: Some(api_field(field).to_string()),
            message: msg.into(),
        }
    }

    /// The field at fault, as the JSON field is named.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The JSON name of a field described for people ("lead name" is `name`).
fn api_field(described: &str) -> &str {
    match described {
        "lead name" | "operator name" | "source name" | "token name" => "name",
        "source code" => "code",
        "actor name" => "actor",
        "max load" => "max_load",
        other => other,
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
            other => Err(DomainError::invalid(
                "strategy",
                format!(
                    "unknown strategy '{}': expected weighted or capacity",
                    escape_control(other)
                ),
            )),
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
            other => Err(DomainError::invalid(
                "status",
                format!(
                    "unknown status '{}': expected waiting, active or closed",
                    escape_control(other)
                ),
            )),
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
            // Store errors quote it ("source 'x' not found"): shown escaped wherever
            // they are printed.
            EntityRef::Name(n) => write!(f, "'{}'", escape_control(n)),
        }
    }
}

/// Trims an operator or source name and checks it: non-empty, not all digits (digits
/// name an id on the command line), at most [`MAX_ENTITY_NAME`] characters, no control
/// characters, not only invisible ones.
pub fn validate_entity_name(kind: &str, raw: &str) -> Result<String, DomainError> {
    let field = format!("{kind} name");
    let name = checked_name(&field, raw, is_terminal_control)?;
    if name.chars().count() > MAX_ENTITY_NAME {
        return Err(DomainError::invalid(
            &field,
            format!("{field} is longer than {MAX_ENTITY_NAME} characters"),
        ));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::invalid(
            &field,
            format!("{field} '{name}' is all digits, which would read as an id"),
        ));
    }
    Ok(name.to_string())
}

/// Trims the code an older HTTP service named a source by and checks it like a name
/// (see [`validate_token_name`]).
pub fn validate_source_code(raw: &str) -> Result<String, DomainError> {
    bounded_name("source code", raw)
}

/// Trims an API token's name and checks it: non-empty, at most [`MAX_ENTITY_NAME`]
/// characters, no control characters, not only invisible ones. Digits are fine: a
/// token is only ever named, never given by id.
pub fn validate_token_name(raw: &str) -> Result<String, DomainError> {
    bounded_name("token name", raw)
}

fn bounded_name(field: &str, raw: &str) -> Result<String, DomainError> {
    let name = checked_name(field, raw, is_terminal_control)?;
    if name.chars().count() > MAX_ENTITY_NAME {
        return Err(DomainError::invalid(
            field,
            format!("{field} is longer than {MAX_ENTITY_NAME} characters"),
        ));
    }
    Ok(name.to_string())
}

/// Trims the name of the person making changes (`--actor`, `$USER`) and checks it like
/// an operator name: non-empty, at most [`MAX_ENTITY_NAME`] characters, no control
/// characters, not only invisible ones. (That `auto` is reserved is the store's rule.)
pub fn validate_actor(raw: &str) -> Result<String, DomainError> {
    let name = checked_name("actor name", raw, is_terminal_control)?;
    if name.chars().count() > MAX_ENTITY_NAME {
        return Err(DomainError::invalid(
            "actor",
            format!("actor name is longer than {MAX_ENTITY_NAME} characters"),
        ));
    }
    Ok(name.to_string())
}

/// `raw` trimmed, if it is non-empty, has no character for which `refused` holds and
/// not only invisible ones. Errors name `field`.
pub(crate) fn checked_name<'a>(
    field: &str,
    raw: &'a str,
    refused: impl Fn(char) -> bool,
) -> Result<&'a str, DomainError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DomainError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    refuse_chars(field, raw, refused)?;
    if name.chars().all(is_invisible) {
        return Err(DomainError::invalid(
            field,
            format!(
                "{field} has no visible characters (only {})",
                code_points(name)
            ),
        ));
    }
    Ok(name)
}

/// Refuses a character of `raw` that can act on a terminal ([`is_terminal_control`]: C0 and C1
/// controls, DEL, bidirectional overrides and isolates, line separators) unless it is in
/// `allowed`. Leading and trailing whitespace is not looked at: every validator trims it.
/// The error names `field`, the code point and its position (1-based, in characters of
/// `raw`).
pub fn refuse_control_chars(field: &str, raw: &str, allowed: &[char]) -> Result<(), DomainError> {
    refuse_chars(field, raw, |c| {
        is_terminal_control(c) && !allowed.contains(&c)
    })
}

/// The first character of `raw` (past leading whitespace, before trailing) for which
/// `refused` holds, as an error naming `field`, the code point and its position.
pub(crate) fn refuse_chars(
    field: &str,
    raw: &str,
    refused: impl Fn(char) -> bool,
) -> Result<(), DomainError> {
    let trimmed = raw.trim_start();
    let skipped = raw[..raw.len() - trimmed.len()].chars().count();
    let found = trimmed
        .trim_end()
        .chars()
        .enumerate()
        .find(|&(_, c)| refused(c));
    match found {
        None => Ok(()),
        Some((i, c)) => {
            let what = if is_bidi_control(c) {
                "a bidirectional control character"
            } else if c.is_control() {
                "a control character"
            } else {
                "a line separator"
            };
            Err(DomainError::invalid(
                field,
                format!(
                    "{field} contains {what} (U+{:04X} at position {})",
                    c as u32,
                    skipped + i + 1
                ),
            ))
        }
    }
}

/// `U+200B U+FEFF`, for an error about characters that cannot be seen. At most the
/// first few.
fn code_points(s: &str) -> String {
    let mut points: Vec<String> = s
        .chars()
        .take(4)
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    if s.chars().count() > 4 {
        points.push("...".into());
    }
    points.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_at_fault() {
        use crate::domain::{LeadIdentity, validate_message};
        let field = |e: DomainError| e.field().map(str::to_string);
        assert_eq!(
            field(validate_entity_name("operator", " ").unwrap_err()).as_deref(),
            Some("name")
        );
        assert_eq!(
            field(validate_actor("a\u{1b}").unwrap_err()).as_deref(),
            Some("actor")
        );
        assert_eq!(
            field(LeadIdentity::parse(None, Some("x1"), None, None).unwrap_err()).as_deref(),
            Some("phone")
        );
        assert_eq!(
            field(LeadIdentity::parse(None, None, Some("nope"), None).unwrap_err()).as_deref(),
            Some("email")
        );
        assert_eq!(
            field(LeadIdentity::parse(None, None, None, None).unwrap_err()).as_deref(),
            Some("external_id")
        );
        assert_eq!(
            field(validate_message(Some("a\u{0}b")).unwrap_err()).as_deref(),
            Some("message")
        );
        assert_eq!(
            field("x".parse::<Strategy>().unwrap_err()).as_deref(),
            Some("strategy")
        );
        assert_eq!(field(DomainError::new("whole")), None);
        // The message is unchanged.
        assert_eq!(
            validate_entity_name("operator", " ")
                .unwrap_err()
                .to_string(),
            "operator name must not be empty"
        );
    }

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
        assert_eq!(
            validate_entity_name("source", "李小龙 😀").unwrap(),
            "李小龙 😀"
        );
    }

    #[test]
    fn names_refuse_control_characters_with_their_position() {
        assert_eq!(
            validate_entity_name("operator", "\u{1b}]2;pwned\u{7}M")
                .unwrap_err()
                .to_string(),
            "operator name contains a control character (U+001B at position 1)"
        );
        assert_eq!(
            validate_entity_name("source", "  we\0b")
                .unwrap_err()
                .to_string(),
            "source name contains a control character (U+0000 at position 5)"
        );
        for bad in ["a\u{7f}", "a\u{9b}b", "a\nb", "a\rb"] {
            let e = validate_entity_name("operator", bad)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("contains a control character (U+"),
                "{bad:?}: {e}"
            );
        }
        assert_eq!(
            validate_entity_name("operator", "Anna\u{202e}ecilA")
                .unwrap_err()
                .to_string(),
            "operator name contains a bidirectional control character (U+202E at position 5)"
        );
        assert!(validate_entity_name("source", "a\u{2066}b").is_err());
        assert!(validate_entity_name("source", "a\u{2028}b").is_err());
        // Whitespace around a name is trimmed, not refused.
        assert_eq!(
            validate_entity_name("operator", "\tAnn\r\n").unwrap(),
            "Ann"
        );
    }

    #[test]
    fn names_need_a_visible_character() {
        for bad in [
            "\u{200b}",
            "\u{200b}\u{200d}\u{feff}",
            "\u{2060}",
            "\u{3164}",
            "\u{a0}\u{200c}",
        ] {
            let e = validate_entity_name("operator", bad)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("operator name has no visible characters (only U+"),
                "{bad:?}: {e}"
            );
        }
        assert_eq!(
            validate_entity_name("operator", "a\u{200b}").unwrap(),
            "a\u{200b}"
        );
    }

    #[test]
    fn source_codes() {
        assert_eq!(validate_source_code(" 42 ").unwrap(), "42");
        assert_eq!(validate_source_code("landing-A").unwrap(), "landing-A");
        let empty = validate_source_code("  ").unwrap_err();
        assert_eq!(empty.to_string(), "source code must not be empty");
        assert_eq!(empty.field(), Some("code"));
        assert!(validate_source_code(&"c".repeat(65)).is_err());
        assert!(validate_source_code(&"c".repeat(64)).is_ok());
        assert_eq!(
            validate_source_code("a\u{1b}b").unwrap_err().to_string(),
            "source code contains a control character (U+001B at position 2)"
        );
        assert!(validate_source_code("\u{200b}").is_err());
    }

    #[test]
    fn token_names() {
        assert_eq!(validate_token_name("  form bot ").unwrap(), "form bot");
        assert_eq!(validate_token_name("2024").unwrap(), "2024");
        let empty = validate_token_name("").unwrap_err();
        assert_eq!(empty.to_string(), "token name must not be empty");
        assert_eq!(empty.field(), Some("name"));
        assert!(validate_token_name(&"t".repeat(65)).is_err());
        assert!(validate_token_name("a\u{7}").is_err());
        assert!(validate_token_name("\u{feff}").is_err());
    }

    #[test]
    fn actors() {
        assert_eq!(validate_actor(" alice ").unwrap(), "alice");
        assert!(
            validate_actor("")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert_eq!(
            validate_actor("ev\u{1b}[31mil").unwrap_err().to_string(),
            "actor name contains a control character (U+001B at position 3)"
        );
        assert!(validate_actor("\u{200b}").is_err());
        assert!(validate_actor(&"a".repeat(65)).is_err());
    }

    #[test]
    fn errors_quote_input_escaped() {
        let e = "we\u{1b}[2jb".parse::<Strategy>().unwrap_err().to_string();
        assert!(!e.contains('\u{1b}') && e.contains("we\\e[2jb"), "{e}");
        let r = EntityRef::parse("x\u{7}y");
        assert_eq!(r.to_string(), "'x\\u{7}y'");
    }
}
