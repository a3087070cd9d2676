//! The handlers of `/api/v1` (also mounted at `/api` and at the root, where the
//! older services had them), one module per resource. Each checks the caller's role,
//! runs one store call off the async runtime and maps typed store errors to statuses.

mod compat;
mod contacts;
mod leads;
mod operators;
mod sources;
mod weights;

pub use compat::*;
pub use contacts::*;
pub use leads::*;
pub use operators::*;
pub use sources::*;
pub use weights::*;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::problem::ApiError;
use crate::domain::{ContactStatus, EntityRef};

type ApiResult<T> = Result<T, ApiError>;

/// Default and largest page of a list.
const PAGE: usize = 100;
const MAX_PAGE: usize = 1000;
/// Contacts in one batch request at most.
pub const MAX_BATCH: usize = 1000;

fn page_size(limit: Option<usize>) -> ApiResult<usize> {
    match limit {
        None => Ok(PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("limit {n} is out of range: 1 to {MAX_PAGE}"),
        )),
    }
}

/// A path segment naming an operator or source: digits are an id, else a name.
fn entity(segment: &str) -> EntityRef {
    EntityRef::parse(segment)
}

fn contact_id(segment: &str) -> ApiResult<i64> {
    segment
        .trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("contact {segment} not found")))
}

/// A JSON list with the keyset of its next page in `X-Next-Before` and `Link`
/// (the body stays a plain list, as the older services' clients expect).
fn page<T: serde::Serialize>(items: Vec<T>, last_id: Option<i64>, full: bool) -> Response {
    let mut r = Json(items).into_response();
    if let (true, Some(id)) = (full, last_id) {
        if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
            r.headers_mut().insert("x-next-before", v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("<?before={id}>; rel=\"next\"")) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    r
}

/// Maps the words of the older services onto ours: `new` is waiting (or, with an
/// operator, active), `in_progress` is active, `completed` is closed.
pub fn parse_status(word: &str) -> ApiResult<ContactStatus> {
    match word.trim().to_ascii_lowercase().as_str() {
        "waiting" | "new" | "unassigned" => Ok(ContactStatus::Waiting),
        "active" | "in_progress" | "assigned" | "open" => Ok(ContactStatus::Active),
        "closed" | "completed" | "done" => Ok(ContactStatus::Closed),
        other => Err(ApiError::invalid(
            "status",
            format!(
                "unknown status '{other}': expected waiting, active or closed (or new, in_progress, completed)"
            ),
        )),
    }
}
