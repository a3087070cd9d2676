//! `switchboard serve`: the HTTP API on the shared file, beside the supervisors'
//! TUIs and the CLI. Contacts go through the intake writer (group commit); other
//! writes through the store with its busy retry; reads on read-only sessions. Every
//! older service's paths are mounted too (see README, "Serve over HTTP").

mod api;
mod auth;
mod db;
mod dto;
mod extract;
mod metrics;
mod problem;

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router, ServiceExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::Layer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use self::auth::Principal;
use self::db::Db;
use self::problem::ApiError;
use crate::domain::Access;
use crate::intake::{IntakeWriter, Limits, OnError};
use crate::store::{Store, StoreError};

pub use self::api::parse_status;

/// The seeds' port.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";
/// Largest request body.
pub const BODY_LIMIT: usize = 1 << 20;
/// A request that takes longer gets 503 (a write waits at most `db::WRITE_DEADLINE`
/// for the file before that).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections open at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 1024;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    db: Arc<Db>,
    tokens: Arc<auth::Tokens>,
    metrics: Arc<metrics::Metrics>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "switchboard",
        description = "Routes customer contacts from sources to operators by per-source weights and load limits. Errors are RFC 9457 problem+json with a `detail` string. With tokens configured, send `Authorization: Bearer <token>`.",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "operators"), (name = "sources"), (name = "weights"),
        (name = "contacts"), (name = "leads"), (name = "stats"), (name = "audit"),
        (name = "compatibility", description = "Paths of older services, answered by the same handlers"),
        (name = "service"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes of `/api/v1`, with their OpenAPI description.
fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::list_operators, api::create_operator))
        .routes(routes!(
            api::get_operator,
            api::update_operator,
            api::delete_operator
        ))
        .routes(routes!(api::list_sources, api::create_source))
        .routes(routes!(
            api::get_source,
            api::update_source,
            api::delete_source
        ))
        .routes(routes!(api::list_weights, api::set_weight))
        .routes(routes!(
            api::get_source_weights,
            api::put_source_weights,
            api::post_source_weights
        ))
        .routes(routes!(
            api::get_source_operators,
            api::put_source_operators,
            api::post_source_operators
        ))
        .routes(routes!(api::put_weight_cell))
        .routes(routes!(
            api::list_operator_weights,
            api::post_operator_weight
        ))
        .routes(routes!(api::list_contacts, api::create_contact))
        .routes(routes!(api::create_contacts_batch))
        .routes(routes!(api::drain))
        .routes(routes!(api::get_contact))
        .routes(routes!(api::assign_contact))
        .routes(routes!(api::close_contact))
        .routes(routes!(api::reopen_contact))
        .routes(routes!(api::patch_contact_status))
        .routes(routes!(api::list_leads))
        .routes(routes!(api::get_lead))
        .routes(routes!(api::stats))
        .routes(routes!(api::audit))
        .routes(routes!(api::list_requests, api::create_request))
        .routes(routes!(api::get_request))
        .routes(routes!(api::patch_request_status))
        .routes(routes!(api::requests_leads))
        .routes(routes!(api::requests_stats))
}

/// The OpenAPI document (also served at `/api/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1())
        .routes(routes!(health))
        .routes(routes!(metrics_text))
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The whole service: `/api/v1` (documented), the same routes at `/api` and at the
/// root (the older services' paths), `/health`, `/metrics`, `/docs`.
pub fn router(state: AppState) -> Router {
    let doc = openapi();
    let (v1_router, _) = v1().split_for_parts();
    let api = Router::new()
        .nest("/api/v1", v1_router.clone())
        .nest("/api", v1_router.clone())
        .merge(v1_router)
        .route("/metrics", get(metrics_text))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .merge(api)
        .route("/health", get(health))
        .merge(SwaggerUi::new("/docs").url("/api/v1/openapi.json", doc))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .layer(middleware::from_fn(deadline))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// `/operators/` is `/operators` (the older services' clients use both). Applied
/// before routing; `/docs/` keeps its slash (Swagger UI's own page).
pub fn trim_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let new = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = new.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!("no such path: {}", req.uri().path()))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

/// A request still running after [`REQUEST_TIMEOUT`] gets 503 with `Retry-After`.
async fn deadline(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::unavailable(format!(
            "the request took longer than {}s; a contact may have been stored: retry with the same idempotency key",
            REQUEST_TIMEOUT.as_secs()
        ))
        .into_response(),
    }
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("a request handler panicked").into_response()
}

/// One log line per request (method, path, status, duration) and its metrics.
async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    tracing::info!(
        target: "switchboard::http",
        "{method} {} {status} {:.1}ms",
        crate::domain::escape_control(&path),
        took.as_secs_f64() * 1000.0
    );
    st.metrics.request(method.as_str(), &route, status, took);
    response
}

#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, body = dto::Health), (status = 503, body = problem::Problem)))]
async fn health(State(st): State<AppState>) -> Result<Json<dto::Health>, ApiError> {
    st.db.read(|s| s.is_empty()).await?;
    Ok(Json(dto::Health {
        status: "ok".into(),
        schema_version: crate::store::latest_version(),
    }))
}

#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics_text(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, ApiError> {
    p.require(Access::Read)?;
    let (sources, operators) = st.db.read(|s| Ok((s.sources()?, s.operators()?))).await?;
    let sources: Vec<_> = sources
        .into_iter()
        .map(|s| (s.name, s.waiting, s.total))
        .collect();
    let operators: Vec<_> = operators
        .into_iter()
        .map(|o| (o.name, o.load, o.max_load, o.active))
        .collect();
    let body = st.metrics.render(&sources, &operators);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

/// Why `serve` did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("--listen '{0}': expected an address such as 127.0.0.1:8000 or [::1]:8000")]
    BadAddress(String),
    #[error(
        "refusing to listen on {0}: no API token exists, so anyone who can reach it could change everything; add one with `switchboard token add NAME --role supervisor` (or listen on 127.0.0.1)"
    )]
    OpenBeyondLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {why}")]
    Bind { addr: SocketAddr, why: String },
    #[error("{0}")]
    Runtime(String),
}

/// Parses `--listen` (a port alone means 127.0.0.1:PORT).
pub fn parse_listen(s: &str) -> Result<SocketAddr, ServeError> {
    let t = s.trim();
    if let Ok(port) = t.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Some(port) = t
        .strip_prefix("localhost:")
        .and_then(|p| p.parse::<u16>().ok())
    {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    t.parse::<SocketAddr>()
        .map_err(|_| ServeError::BadAddress(s.to_string()))
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// Runs the server on `store` until SIGTERM or Ctrl-C; then stops accepting,
/// finishes the requests in flight, commits what intake holds and returns.
pub fn serve(mut store: Store, listen: SocketAddr) -> Result<(), ServeError> {
    init_logging();
    store.ensure_writable()?;
    if !is_loopback(listen.ip()) && !store.has_tokens()? {
        return Err(ServeError::OpenBeyondLoopback(listen));
    }
    let mut intake_session = store.session(Some("api"))?;
    intake_session.set_busy_deadline(db::WRITE_DEADLINE);
    let writer = IntakeWriter::spawn(
        intake_session,
        Limits {
            on_error: OnError::Continue,
            ..Limits::default()
        },
        None,
    );
    let path = store.path().to_path_buf();
    let state = AppState {
        db: Arc::new(Db::new(store, writer.queue())),
        tokens: Arc::default(),
        metrics: Arc::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve")
        .build()
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    let served = runtime.block_on(async {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| ServeError::Bind {
                addr: listen,
                why: e.to_string(),
            })?;
        let local = listener.local_addr().map_err(|e| ServeError::Bind {
            addr: listen,
            why: e.to_string(),
        })?;
        eprintln!(
            "switchboard: serving {} on http://{local} (API /api/v1, docs http://{local}/docs); Ctrl-C stops",
            crate::domain::escape_control(&path.display().to_string())
        );
        let in_flight = Arc::new(InFlight::default());
        let app = tower::util::MapRequestLayer::new(trim_trailing_slash).layer(
            router(state.clone()).layer(middleware::from_fn_with_state(
                Arc::clone(&in_flight),
                count_in_flight,
            )),
        );
        let listener = Limited {
            inner: listener,
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        };
        let stopping = Arc::new(tokio::sync::Notify::new());
        let signal = {
            let stopping = Arc::clone(&stopping);
            async move {
                shutdown_signal().await;
                stopping.notify_one();
            }
        };
        let graceful = axum::serve(
            listener,
            ServiceExt::<Request>::into_make_service(app),
        )
        .with_graceful_shutdown(signal);
        // Graceful shutdown waits for every connection to close, and one whose client
        // sent part of a request head stays open for ever (hyper has no timer here to
        // bound reading a head): so once the requests in flight are answered, those
        // connections are not waited for.
        tokio::select! {
            served = std::future::IntoFuture::into_future(graceful) => {
                served.map_err(|e| ServeError::Runtime(e.to_string()))
            }
            () = quiet_after(&stopping, &in_flight) => Ok(()),
        }
    });
    // Requests are done: release the sessions and the queue, then let the writer
    // commit and answer what it still holds.
    state.db.close();
    drop(state);
    runtime.shutdown_timeout(Duration::from_secs(5));
    let finished = writer.finish();
    served?;
    finished?;
    eprintln!("switchboard: stopped; everything acknowledged is in the file");
    Ok(())
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("switchboard=info,tower_http=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("switchboard: stopping: finishing the requests in flight");
}

/// Requests being handled now (read in full or in part, not yet answered).
#[derive(Default)]
struct InFlight(std::sync::atomic::AtomicUsize);

async fn count_in_flight(State(n): State<Arc<InFlight>>, req: Request, next: Next) -> Response {
    use std::sync::atomic::Ordering::SeqCst;
    /// Counts down however the request ends (a timeout drops it).
    struct Done<'a>(&'a InFlight);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.0.fetch_sub(1, SeqCst);
        }
    }
    n.0.fetch_add(1, SeqCst);
    let _done = Done(&n);
    next.run(req).await
}

/// How long no request must be in flight after the shutdown signal before the
/// connections still open are dropped: time to write the last answers.
const SHUTDOWN_LINGER: Duration = Duration::from_secs(1);

/// Completes once the shutdown signal has come and no request has been in flight
/// for [`SHUTDOWN_LINGER`].
async fn quiet_after(stopping: &tokio::sync::Notify, in_flight: &InFlight) {
    stopping.notified().await;
    let mut quiet_since: Option<Instant> = None;
    loop {
        if in_flight.0.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            quiet_since = None;
        } else if quiet_since.get_or_insert_with(Instant::now).elapsed() >= SHUTDOWN_LINGER {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A listener that holds at most `slots` connections open; the next waits in the
/// kernel's backlog until one closes.
struct Limited {
    inner: TcpListener,
    slots: Arc<Semaphore>,
}

impl axum::serve::Listener for Limited {
    type Io = LimitedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = loop {
            if let Ok(p) = Arc::clone(&self.slots).acquire_owned().await {
                break p;
            }
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        LimitedStream {
                            stream,
                            _permit: permit,
                        },
                        addr,
                    );
                }
                Err(e) => {
                    // Out of descriptors and the like: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
