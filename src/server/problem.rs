//! Errors as RFC 9457 problem+json bodies, with the `detail` string FastAPI clients
//! read. A store error maps to a status by its variant, never by its text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::domain::escape_control;
use crate::store::StoreError;

/// A problem+json body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` for plain HTTP statuses).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What happened, for people.
    pub detail: String,
    /// The request field at fault (validation errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// More about the problem (e.g. who holds a contact now).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub extra: Option<Value>,
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub detail: String,
    pub field: Option<String>,
    pub extra: Option<Value>,
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            field: None,
            extra: None,
            retry_after: None,
        }
    }

    /// 422: a field of the request is invalid.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail);
        e.field = Some(field.into());
        e
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 503 with `Retry-After`.
    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail);
        e.retry_after = Some(1);
        e
    }

    /// 500: a defect. Logged; the client learns only that it happened.
    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {what}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it was logged on the server",
        )
    }

    pub fn with_extra(mut self, extra: Value) -> ApiError {
        self.extra = Some(extra);
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: if self.kind == "about:blank" {
                "about:blank".into()
            } else {
                format!("https://switchboard.invalid/problems/{}", self.kind)
            },
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: escape_control(&self.detail).into_owned(),
            field: self.field.clone(),
            extra: self.extra.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut r = (self.status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        let detail = e.to_string();
        let conflict = |kind| ApiError::new(StatusCode::CONFLICT, kind, detail.clone());
        match e {
            StoreError::Invalid(d) => {
                let mut a = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail);
                a.field = d.field().map(str::to_string);
                a
            }
            StoreError::NotFound { .. } => ApiError::not_found(detail),
            StoreError::NameTaken { .. } => conflict("name-taken"),
            StoreError::InUse { .. } => conflict("in-use"),
            StoreError::WrongStatus { status, .. } => {
                conflict("wrong-status").with_extra(json!({"status": status.as_str()}))
            }
            StoreError::Unassigned { .. } => {
                conflict("moved").with_extra(json!({"operator": null, "status": "waiting"}))
            }
            StoreError::AlreadyAssigned { ref operator, .. } => {
                conflict("moved").with_extra(json!({"operator": operator}))
            }
            StoreError::NeedsForce { ref why, .. } => {
                conflict("needs-force").with_extra(json!({"why": why}))
            }
            StoreError::Stale { .. } => conflict("stale"),
            StoreError::NotEmpty { .. } | StoreError::DemoClash { .. } => conflict("conflict"),
            StoreError::Busy(_) | StoreError::Cancelled => ApiError::unavailable(detail),
            StoreError::ReadOnly(_) => ApiError::new(StatusCode::FORBIDDEN, "read-only", detail),
            StoreError::Permission(_) => {
                tracing::error!("{detail}");
                ApiError::unavailable(detail)
            }
            _ => ApiError::internal(detail),
        }
    }
}
