//! Who is asking. With no token in the file the API is open (the server refuses to
//! listen beyond loopback then); once a token exists, every request carries
//! `Authorization: Bearer ...` and its role limits what it may do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::problem::ApiError;
use crate::domain::{Access, Role};
use crate::store::Token;

/// How long an answer about tokens is reused: a revoked token stops working within
/// this time, and a busy server does not read the token table per request.
const FRESH: Duration = Duration::from_secs(1);

/// The caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's name; `None` while the API is open.
    pub token: Option<String>,
    pub role: Role,
}

impl Principal {
    /// 403 unless the role allows `access`.
    pub fn require(&self, access: Access) -> Result<(), ApiError> {
        if self.role.allows(access) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "token '{}' has role {}, which may not {}",
                self.token.as_deref().unwrap_or("?"),
                self.role.as_str(),
                match access {
                    Access::CreateContacts => "create contacts",
                    Access::Read => "read",
                    Access::Write => "change anything but contacts it creates",
                }
            ),
        ))
    }

    /// Who the audit log names for this caller's changes.
    pub fn actor(&self) -> String {
        match &self.token {
            None => "api".to_string(),
            Some(name) => {
                let short: String = name.chars().take(58).collect();
                format!("token:{short}")
            }
        }
    }
}

#[derive(Default)]
pub struct Tokens {
    any: Mutex<Option<(bool, Instant)>>,
    known: Mutex<HashMap<String, (Option<Token>, Instant)>>,
}

async fn any_tokens(state: &AppState) -> Result<bool, ApiError> {
    if let Some((any, at)) = *state.tokens.any.lock().unwrap_or_else(|p| p.into_inner())
        && at.elapsed() < FRESH
    {
        return Ok(any);
    }
    let any = state.db.read(|s| s.has_tokens()).await?;
    *state.tokens.any.lock().unwrap_or_else(|p| p.into_inner()) = Some((any, Instant::now()));
    Ok(any)
}

async fn lookup(state: &AppState, secret: &str) -> Result<Option<Token>, ApiError> {
    if let Some((t, at)) = state
        .tokens
        .known
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(secret)
        && at.elapsed() < FRESH
    {
        return Ok(t.clone());
    }
    let s = secret.to_string();
    let found = state.db.read(move |st| st.authenticate(&s)).await?;
    let mut known = state.tokens.known.lock().unwrap_or_else(|p| p.into_inner());
    // Wrong secrets are not remembered (a client guessing would fill the map).
    if found.is_some() {
        if known.len() > 1024 {
            known.clear();
        }
        known.insert(secret.to_string(), (found.clone(), Instant::now()));
    }
    Ok(found)
}

fn unauthorized(detail: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

/// Middleware: puts the request's [`Principal`] into its extensions, or answers 401.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let principal = match any_tokens(&state).await {
        Err(e) => return e.into_response(),
        Ok(false) => Principal {
            token: None,
            role: Role::Supervisor,
        },
        Ok(true) => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim);
            let Some(secret) = given else {
                return unauthorized(
                    "this server needs a token: send `Authorization: Bearer <token>` (see `switchboard token add`)",
                );
            };
            match lookup(&state, secret).await {
                Err(e) => return e.into_response(),
                Ok(None) => return unauthorized("the token is not known (revoked or mistyped)"),
                Ok(Some(t)) => Principal {
                    token: Some(t.name),
                    role: t.role,
                },
            }
        }
    };
    req.extensions_mut().insert(principal);
    next.run(req).await
}
