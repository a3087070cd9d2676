//! Plain domain types and rules, free of I/O: operators, sources, strategies, contact
//! statuses and their transitions, and the normalization of lead identifiers.

mod identity;
mod types;

pub use identity::{
    LeadIdentity, MAX_EMAIL, MAX_EXTERNAL_ID, MAX_IDEMPOTENCY_KEY, MAX_MESSAGE, MAX_PERSON_NAME,
    MAX_PHONE, normalize_email, normalize_external_id, normalize_phone, validate_idempotency_key,
    validate_message,
};
pub use types::{
    ContactStatus, DomainError, EntityRef, MAX_DESCRIPTION, MAX_ENTITY_NAME, Strategy,
    validate_entity_name,
};
