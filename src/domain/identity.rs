//! Lead identifiers and their normalization: the rules that decide whether two contacts
//! come from the same person.

use super::DomainError;

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
        return Err(DomainError::new(format!(
            "phone is longer than {MAX_PHONE} characters"
        )));
    }
    let mut out = String::with_capacity(t.len());
    for (i, c) in t.chars().enumerate() {
        match c {
            '0'..='9' => out.push(c),
            '+' if i == 0 => out.push('+'),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(DomainError::new(format!(
                    "phone '{t}' has '{c}': only digits, a leading +, spaces, dashes, dots and brackets are allowed"
                )));
            }
        }
    }
    let digits = out.trim_start_matches('+').len();
    if !(3..=20).contains(&digits) {
        return Err(DomainError::new(format!(
            "phone '{t}' must have 3 to 20 digits"
        )));
    }
    Ok(out)
}

/// Trimmed and lower-cased; must look like `local@domain`.
pub fn normalize_email(raw: &str) -> Result<String, DomainError> {
    let t = raw.trim();
    if t.chars().count() > MAX_EMAIL {
        return Err(DomainError::new(format!(
            "email is longer than {MAX_EMAIL} characters"
        )));
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
        return Err(DomainError::new(format!(
            "email '{t}' is not an address like name@example.com"
        )));
    }
    Ok(lower)
}

/// Trimmed; at most [`MAX_EXTERNAL_ID`] characters, no control characters.
pub fn normalize_external_id(raw: &str) -> Result<String, DomainError> {
    let t = raw.trim();
    if t.chars().count() > MAX_EXTERNAL_ID {
        return Err(DomainError::new(format!(
            "external_id is longer than {MAX_EXTERNAL_ID} characters"
        )));
    }
    if t.chars().any(char::is_control) {
        return Err(DomainError::new(
            "external_id must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

fn limited(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, DomainError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => Err(DomainError::new(format!(
            "{field} is longer than {max} characters"
        ))),
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
            name: limited("name", name, MAX_PERSON_NAME)?,
        };
        if identity.external_id.is_none() && identity.phone.is_none() && identity.email.is_none() {
            return Err(DomainError::new(
                "a contact needs at least one of external_id, phone or email",
            ));
        }
        Ok(identity)
    }
}

/// Validates a message (may be empty) against [`MAX_MESSAGE`].
pub fn validate_message(raw: Option<&str>) -> Result<String, DomainError> {
    let m = raw.unwrap_or("").trim();
    if m.chars().count() > MAX_MESSAGE {
        return Err(DomainError::new(format!(
            "message is longer than {MAX_MESSAGE} characters"
        )));
    }
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
}
