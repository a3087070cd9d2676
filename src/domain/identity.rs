//! Lead identifiers and their normalization: the rules that decide whether two contacts
//! come from the same person.

use super::DomainError;
use super::text::escape_control;
use super::types::{checked_name, refuse_chars, refuse_control_chars};

pub const MAX_EXTERNAL_ID: usize = 128;
/// Longest phone as typed (with spaces, dashes, brackets), in characters.
pub const MAX_PHONE: usize = 40;
pub const MAX_EMAIL: usize = 254;
pub const MAX_PERSON_NAME: usize = 200;
pub const MAX_MESSAGE: usize = 4000;
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// Digits with an optional leading `+`: `+7 (900) 111-22-33` becomes `+79001112233`.
/// Spaces, dashes, dots and brackets are separators; anything else is an error.
pub fn normalize_phone(raw: &str) -> Result<String, DomainError> {
    let t = raw.trim();
    if t.chars().count() > MAX_PHONE {
        return Err(DomainError::invalid(
            "phone",
            format!("phone is longer than {MAX_PHONE} characters"),
        ));
    }
    let mut out = String::with_capacity(t.len());
    for (i, c) in t.chars().enumerate() {
        match c {
            '0'..='9' => out.push(c),
            '+' if i == 0 => out.push('+'),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(DomainError::invalid(
                    "phone",
                    format!(
                        "phone '{}' has '{}': only digits, a leading +, spaces, dashes, dots and brackets are allowed",
                        escape_control(t),
                        c.escape_debug()
                    ),
                ));
            }
        }
    }
    let digits = out.trim_start_matches('+').len();
    if !(3..=20).contains(&digits) {
        return Err(DomainError::invalid(
            "phone",
            format!("phone '{}' must have 3 to 20 digits", escape_control(t)),
        ));
    }
    Ok(out)
}

/// Trimmed and lower-cased; must look like `local@domain`.
pub fn normalize_email(raw: &str) -> Result<String, DomainError> {
    let t = raw.trim();
    if t.chars().count() > MAX_EMAIL {
        return Err(DomainError::invalid(
            "email",
            format!("email is longer than {MAX_EMAIL} characters"),
        ));
    }
    let lower = t.to_lowercase();
    let valid = match lower.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !lower.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if !valid {
        return Err(DomainError::invalid(
            "email",
            format!(
                "email '{}' is not an address like name@example.com",
                escape_control(t)
            ),
        ));
    }
    Ok(lower)
}

/// Trimmed; at most [`MAX_EXTERNAL_ID`] characters, no control characters (see
/// [`refuse_control_chars`]).
pub fn normalize_external_id(raw: &str) -> Result<String, DomainError> {
    let t = raw.trim();
    if t.chars().count() > MAX_EXTERNAL_ID {
        return Err(DomainError::invalid(
            "external_id",
            format!("external_id is longer than {MAX_EXTERNAL_ID} characters"),
        ));
    }
    refuse_control_chars("external_id", raw, &[])?;
    Ok(t.to_string())
}

fn limited(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, DomainError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => Err(DomainError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        )),
        Some(t) => Ok(Some(t.to_string())),
    }
}

/// The validated, normalized identity and payload of an incoming contact.
/// Blank fields count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadIdentity {
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl LeadIdentity {
    /// Validates raw fields. At least one of external_id, phone, email must remain.
    pub fn parse(
        external_id: Option<&str>,
        phone: Option<&str>,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<LeadIdentity, DomainError> {
        fn blank(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        let identity = LeadIdentity {
            external_id: blank(external_id).map(normalize_external_id).transpose()?,
            phone: blank(phone).map(normalize_phone).transpose()?,
            email: blank(email).map(normalize_email).transpose()?,
            name: person_name(name)?,
        };
        if identity.external_id.is_none() && identity.phone.is_none() && identity.email.is_none() {
            return Err(DomainError::invalid(
                "external_id",
                "a contact needs at least one of external_id, phone or email",
            ));
        }
        Ok(identity)
    }
}

/// A lead's name: blank is absent; otherwise at most [`MAX_PERSON_NAME`] characters, no
/// control characters (C0, DEL, C1), not only invisible characters. Unlike an operator's
/// name it may hold bidirectional formatting: names in right-to-left scripts arrive with
/// it from messengers, and it is escaped wherever it is printed.
fn person_name(raw: Option<&str>) -> Result<Option<String>, DomainError> {
    match raw {
        Some(r) if !r.trim().is_empty() => {
            checked_name("lead name", r, char::is_control)?;
            limited("lead name", raw, MAX_PERSON_NAME)
        }
        _ => Ok(None),
    }
}

/// Validates a message (may be empty) against [`MAX_MESSAGE`]. Line feeds, tabs and
/// carriage returns are kept (a web form sends CRLF line ends); any other control
/// character (NUL, ESC, DEL, the C1 controls) is refused. Bidirectional formatting and
/// line separators are ordinary in text written in right-to-left scripts and are kept;
/// they are escaped wherever a message is printed.
pub fn validate_message(raw: Option<&str>) -> Result<String, DomainError> {
    let raw = raw.unwrap_or("");
    let m = raw.trim();
    if m.chars().count() > MAX_MESSAGE {
        return Err(DomainError::invalid(
            "message",
            format!("message is longer than {MAX_MESSAGE} characters"),
        ));
    }
    refuse_chars("message", raw, |c| {
        c.is_control() && !matches!(c, '\n' | '\t' | '\r')
    })?;
    Ok(m.to_string())
}

/// Validates an idempotency key; blank counts as absent.
pub fn validate_idempotency_key(raw: Option<&str>) -> Result<Option<String>, DomainError> {
    limited("idempotency_key", raw, MAX_IDEMPOTENCY_KEY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize_to_digits_with_leading_plus() {
        assert_eq!(
            normalize_phone("+7 (900) 111-22-33").unwrap(),
            "+79001112233"
        );
        assert_eq!(normalize_phone("+79001112233").unwrap(), "+79001112233");
        assert_eq!(normalize_phone(" 8 900 111.22.33 ").unwrap(), "89001112233");
        assert!(normalize_phone("7+900").is_err());
        assert!(normalize_phone("call me").is_err());
        assert!(normalize_phone("12").is_err());
        assert!(normalize_phone(&"1".repeat(41)).is_err());
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        assert!(normalize_email("ann").is_err());
        assert!(normalize_email("@example.com").is_err());
        assert!(normalize_email("a@b@c").is_err());
        assert!(normalize_email("a b@c").is_err());
    }

    #[test]
    fn identity_needs_one_identifier() {
        assert!(LeadIdentity::parse(None, None, None, Some("Ann")).is_err());
        assert!(LeadIdentity::parse(Some("  "), Some(""), None, None).is_err());
        let id = LeadIdentity::parse(Some(" tg-1 "), None, Some("A@B.c"), Some(" Ann ")).unwrap();
        assert_eq!(id.external_id.as_deref(), Some("tg-1"));
        assert_eq!(id.email.as_deref(), Some("a@b.c"));
        assert_eq!(id.name.as_deref(), Some("Ann"));
        assert_eq!(id.phone, None);
    }

    #[test]
    fn size_limits() {
        assert!(LeadIdentity::parse(Some(&"x".repeat(129)), None, None, None).is_err());
        assert!(LeadIdentity::parse(Some("x"), None, None, Some(&"n".repeat(201))).is_err());
        assert!(validate_message(Some(&"m".repeat(4001))).is_err());
        assert_eq!(validate_message(None).unwrap(), "");
        assert!(validate_idempotency_key(Some(&"k".repeat(129))).is_err());
    }

    #[test]
    fn lead_names_refuse_control_and_invisible_characters() {
        let e =
            LeadIdentity::parse(Some("x"), None, None, Some("\u{1b}]2;pwned\u{7}M")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lead name contains a control character (U+001B at position 1)"
        );
        let e = LeadIdentity::parse(Some("x"), None, None, Some("\u{200b}\u{feff}")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("lead name has no visible characters"),
            "{e}"
        );
        let e = LeadIdentity::parse(Some("x"), None, None, Some("I\u{9b}van")).unwrap_err();
        assert!(e.to_string().contains("U+009B at position 2"), "{e}");
        let e = LeadIdentity::parse(Some("x"), None, None, Some("\u{2067}\u{2069}")).unwrap_err();
        assert!(e.to_string().contains("no visible characters"), "{e}");
        let rtl = LeadIdentity::parse(Some("x"), None, None, Some("\u{2067}محمد\u{2069}")).unwrap();
        assert_eq!(rtl.name.as_deref(), Some("\u{2067}محمد\u{2069}"));
        // Blank is absent; whitespace around a name is trimmed; other scripts are fine.
        assert_eq!(
            LeadIdentity::parse(Some("x"), None, None, Some(" \t "))
                .unwrap()
                .name,
            None
        );
        let id = LeadIdentity::parse(Some("x"), None, None, Some("李小龙\r\n")).unwrap();
        assert_eq!(id.name.as_deref(), Some("李小龙"));
        assert!(LeadIdentity::parse(Some("a\u{1b}b"), None, None, None).is_err());
    }

    #[test]
    fn messages_keep_line_breaks_and_refuse_other_controls() {
        assert_eq!(
            validate_message(Some("Hello,\r\n\twhere is my order?\n")).unwrap(),
            "Hello,\r\n\twhere is my order?"
        );
        assert_eq!(
            validate_message(Some("ab\0c")).unwrap_err().to_string(),
            "message contains a control character (U+0000 at position 3)"
        );
        for bad in [
            "\u{1b}[2J",
            "a\u{7}",
            "a\u{7f}",
            "a\u{9b}1m",
            "a\u{b}b",
            "a\u{c}b",
        ] {
            assert!(validate_message(Some(bad)).is_err(), "{bad:?}");
        }
        assert!(validate_message(Some("مرحبا \u{2066}abc\u{2069}")).is_ok());
    }

    #[test]
    fn errors_quote_input_escaped() {
        let e = normalize_phone("12\u{1b}[2J").unwrap_err().to_string();
        assert!(!e.contains('\u{1b}'), "{e}");
        let e = normalize_email("a\u{1b}b").unwrap_err().to_string();
        assert!(!e.contains('\u{1b}') && e.contains("a\\eb"), "{e}");
    }
}
