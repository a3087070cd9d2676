//! Plain domain types and rules, free of I/O: operators, sources, strategies, contact
//! statuses and their transitions, API token roles, the normalization of lead
//! identifiers, and how text from outside is shown on a terminal.

mod identity;
mod role;
pub mod text;
mod types;

pub use identity::{
    LeadIdentity, MAX_EMAIL, MAX_EXTERNAL_ID, MAX_IDEMPOTENCY_KEY, MAX_MESSAGE, MAX_PERSON_NAME,
    MAX_PHONE, normalize_email, normalize_external_id, normalize_phone, validate_idempotency_key,
    validate_message,
};
pub use role::{Access, Role};
pub use text::{display_width, escape_control, escape_control_lines};
pub use types::{
    ContactStatus, DomainError, EntityRef, MAX_DESCRIPTION, MAX_ENTITY_NAME, Strategy,
    refuse_control_chars, validate_actor, validate_entity_name, validate_source_code,
    validate_token_name,
};
