//! The HTTP face of the host: webhooks (`/hooks/{channel}`), the admin and appeals API
//! (`/api/...`, bearer token), `/healthz` and `/metrics`, on hyper's HTTP/1 server.
//!
//! [`serve`] accepts connections until its shutdown future resolves; [`App`] holds what the
//! handlers share.

mod admin;
mod appeals;
mod console;
mod hooks;
mod reply;
mod reports;

use crate::access::Role;
use crate::registry::Registry;
use crate::store::Store;
use bytes_body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use reply::{error, json};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The response body type of every handler.
mod bytes_body {
    /// A complete response body.
    pub type Body = http_body_util::Full<hyper::body::Bytes>;
}

/// What every handler shares.
pub struct App {
    /// The database.
    pub store: Store,
    /// Plugins and the live pipeline.
    pub registry: Arc<Registry>,
    /// Operators' replies on their way to the customers.
    pub outbox: Arc<crate::replies::Outbox>,
    /// Whether the clock may be advanced through the API.
    pub clock_control: bool,
    /// The admin bearer token.
    pub admin_token: String,
    /// Where webhook requests go once received.
    pub intake: crate::pipeline::intake::Sink,
}

/// Largest webhook body accepted (larger: 413).
pub const MAX_HOOK_BODY: usize = 1 << 20;

/// Serves HTTP on `listener` until `shutdown` resolves; connections in progress finish.
///
/// # Errors
/// When accepting fails fatally.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(route(&app, request).await) }
            });
            if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}

async fn route(app: &App, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method().clone();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["healthz"]) => json(200, &health(app)),
        (Method::GET, ["metrics"]) => match crate::metrics::render(&app.store) {
            Ok(text) => hyper::Response::builder()
                .header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
                .body(Body::new(text.into()))
                .expect("a valid response"),
            Err(e) => error(500, &format!("{e:#}")),
        },
        // Sub-paths reach the channel's adapter too (`/hooks/mango/events/summary`).
        (Method::GET | Method::POST, ["hooks", channel, ..]) => {
            hooks::handle(app, channel.to_string(), request).await
        }
        (_, ["hooks", ..]) => error(405, "webhooks take GET or POST"),
        (Method::GET, [""]) => console::redirect(),
        (Method::GET, ["console", ..]) => console::asset(&segments[1..]),
        (_, ["api", ..]) => {
            let caller = match caller(app, &request) {
                Ok(Some(caller)) => caller,
                Ok(None) => {
                    return error(401, "missing or wrong bearer token (Authorization: Bearer <token>)");
                }
                Err(e) => return error(500, &format!("{e:#}")),
            };
            let role = caller.role;
            let needed = needed_role(&method, &segments);
            if role < needed {
                return error(
                    403,
                    &format!("this needs the {} role; the token's role is {}", needed.name(), role.name()),
                );
            }
            match segments.as_slice() {
                ["api", "whoami"] => json(200, &caller),
                ["api", "tokens", ..] => tokens(app, &method, &segments[2..], request).await,
                ["api", "appeals", ..] => appeals::handle(app, &method, &segments[2..], request).await,
                ["api", "clock", "advance"] if method == Method::POST => clock(app, request).await,
                ["api", "reports", ..] => {
                    reports::handle(app, &method, &segments[2..], request.uri().query()).await
                }
                ["api", "plugins", ..] | ["api", "directory", ..] => {
                    admin::handle(app, &method, &segments[1..], &caller, request).await
                }
                _ => error(404, &format!("no API at {path}")),
            }
        }
        _ => error(404, &format!("nothing at {path}")),
    }
}

/// `POST /api/clock/advance {"minutes": N}`: only on a host started with `--clock-control`.
async fn clock(app: &App, request: Request<Incoming>) -> Response<Body> {
    if !app.clock_control {
        return error(403, "the clock can be advanced only on a host started with --clock-control");
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Advance {
        minutes: u64,
    }
    match reply::read_json::<Advance>(request).await {
        Ok(a) => {
            let offset = crate::clock::advance(a.minutes * 60_000);
            json(200, &serde_json::json!({ "now": crate::clock::now_ms(), "offset_ms": offset }))
        }
        Err(response) => response,
    }
}

fn health(app: &App) -> serde_json::Value {
    let pipeline = app.registry.pipeline();
    let stats = &app.registry.runtime().stats;
    let mut channels: Vec<&String> = pipeline.channels.keys().collect();
    channels.sort();
    serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "wit": crate::registry::WIT_VERSION.to_string(),
        "channels": channels,
        "filters": pipeline.filters.iter().map(|f| &f.label).collect::<Vec<_>>(),
        "router": pipeline.router.as_ref().map(|r| &r.label),
        "appeals": app.store.appeal_count(),
        "crm": pipeline.crm.as_ref().map(|c| &c.label),
        "crm_outbox": app.store.crm_queue_len(),
        "plugins_compiled": stats.compiled.load(std::sync::atomic::Ordering::Relaxed),
        "plugins_loaded_from_cache": stats.from_cache.load(std::sync::atomic::Ordering::Relaxed),
        "cluster": app.store.backend_status(),
    })
}

fn caller(app: &App, request: &Request<Incoming>) -> anyhow::Result<Option<crate::access::Caller>> {
    let given = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    crate::access::caller_of(&app.store, &app.admin_token, given.trim())
}

/// The weakest role allowed to make a request: reading appeals, reports, the directory and
/// the plugin list is for viewers; acting on appeals for operators; the rest for admins.
fn needed_role(method: &Method, segments: &[&str]) -> Role {
    match (method, segments) {
        (&Method::GET, ["api", "appeals" | "reports" | "directory" | "whoami", ..]) => Role::Viewer,
        (&Method::GET, ["api", "plugins"] | ["api", "plugins", _]) => Role::Viewer,
        (_, ["api", "appeals", ..]) => Role::Operator,
        _ => Role::Admin,
    }
}

/// `POST /api/tokens {"role", "name"}` (the token is shown once), `GET /api/tokens`,
/// `DELETE /api/tokens/{id}`.
async fn tokens(app: &App, method: &Method, rest: &[&str], request: Request<Incoming>) -> Response<Body> {
    match (method, rest) {
        (&Method::POST, []) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct New {
                role: Role,
                name: String,
            }
            match reply::read_json::<New>(request).await {
                Ok(new) if new.name.trim().is_empty() => error(400, "name the token's holder"),
                Ok(new) => match crate::access::issue(&app.store, new.role, new.name.trim()) {
                    Ok((token, issued)) => {
                        json(201, &serde_json::json!({ "token": token, "issued": issued }))
                    }
                    Err(e) => error(500, &format!("{e:#}")),
                },
                Err(response) => response,
            }
        }
        (&Method::GET, []) => match app.store.tokens::<crate::access::Issued>() {
            Ok(list) => json(200, &list),
            Err(e) => error(500, &format!("{e:#}")),
        },
        (&Method::DELETE, [id]) if id.len() >= 8 => match app.store.revoke_token(id) {
            Ok(0) => error(404, &format!("no token {id}")),
            Ok(n) => json(200, &serde_json::json!({ "revoked": n })),
            Err(e) => error(500, &format!("{e:#}")),
        },
        _ => error(405, "tokens: POST /api/tokens, GET /api/tokens, DELETE /api/tokens/{id}"),
    }
}
