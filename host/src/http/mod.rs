//! The HTTP face of the host: webhooks (`/hooks/{channel}`), the admin and appeals API
//! (`/api/...`, bearer token), `/healthz` and `/metrics`, on hyper's HTTP/1 server.
//!
//! [`serve`] accepts connections until its shutdown future resolves; [`App`] holds what the
//! handlers share.

mod admin;
mod api;
mod appeals;
mod call;
mod channels;
mod console;
mod data;
mod error;
mod events;
mod files;
mod history;
mod hooks;
pub mod limits;
mod lockout;
mod people;
mod reply;
mod reports;
mod routing;
mod session;
mod system;
mod views;
mod workspace;

use crate::registry::Registry;
use crate::registry::verification::Verification;
use crate::store::Store;
pub use api::routes;
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

/// The response body type of every handler: a complete body ([`bytes_body::full`]), or a
/// stream (the live events of [`events`]).
mod bytes_body {
    use http_body_util::BodyExt;
    use hyper::body::Bytes;

    /// A response body.
    pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::convert::Infallible>;

    /// A complete response body.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        http_body_util::Full::new(bytes.into()).boxed_unsync()
    }
}

/// What every handler shares.
pub struct App {
    /// The database.
    pub store: Store,
    /// Plugins and the live pipeline.
    pub registry: Arc<Registry>,
    /// Operators' replies on their way to the customers.
    pub outbox: Arc<crate::replies::Outbox>,
    /// The clock an admin may advance through the API (a host started with `--clock-control`).
    pub test_clock: Option<Arc<crate::clock::TestClock>>,
    /// The admin bearer token.
    pub admin_token: String,
    /// Where webhook requests go once received.
    pub intake: crate::pipeline::intake::Sink,
    /// Connection slots, timeouts and their counts.
    pub gate: limits::Gate,
    /// The process's open-file limit after raising it, when it could be read.
    pub open_files: Option<u64>,
    /// The URL the platforms reach this host at (`--public-url`), for the webhook addresses
    /// `GET /api/channels` shows.
    pub public_url: String,
    /// Reverse proxies whose `X-Forwarded-For` names the real source (`--trust-forwarded-from`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Source addresses locked out after failing verification.
    pub lockout: lockout::Lockout,
    /// Password checks: one per core at a time, one per login.
    pub password_checks: crate::access::checks::Checks,
    /// Live event streams open now, by credential and address.
    pub streams: events::Streams,
    /// The full-text index of appeals.
    pub search: Arc<crate::search::Search>,
    /// Attachments' files.
    pub files: Arc<crate::store::files::Files>,
}

/// The address a request came from: the connection's peer, or, behind a trusted reverse
/// proxy, the nearest untrusted address of its `X-Forwarded-For`.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::IpAddr);

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
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, say: rest instead of spinning on the error.
                    app.gate.accept_failed(&e);
                    tokio::time::sleep(limits::ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let Some(slot) = app.gate.admit(peer.ip(), app.trusted_proxies.contains(&peer.ip())) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            serve_connection(app, stream, peer.ip()).await;
            drop(slot);
        });
    }
}

/// Serves one connection from `peer` (its requests, kept alive) until it closes or a
/// deadline passes: the head and body path every request takes (the HTTP fuzz target drives
/// it over an in-memory stream).
pub async fn serve_connection<I>(app: Arc<App>, io: I, peer: std::net::IpAddr)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let limits = app.gate.limits();
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(reply::BodyDeadline(limits.body_timeout));
        request.extensions_mut().insert(Peer(peer));
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(route(app, request).await) }
    });
    let served = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), service)
        .await;
    if let Err(e) = served {
        tracing::debug!("connection ended: {e}");
    }
}

async fn route(app: Arc<App>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method(), segments.as_slice()) {
        (&Method::GET, ["healthz"]) => json(200, &health(&app)),
        (&Method::GET, ["metrics"]) => match crate::metrics::render(&app.store) {
            Ok(text) => hyper::Response::builder()
                .header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
                .body(bytes_body::full(text))
                // A constant header.
                .expect("a valid response"),
            Err(e) => error(500, &format!("{e:#}")),
        },
        // Sub-paths reach the channel's adapter too (`/hooks/mango/events/summary`).
        (&Method::GET | &Method::POST, ["hooks", channel, ..]) => {
            let channel = channel.to_string();
            hooks::handle(&app, channel, request).await
        }
        (_, ["hooks", ..]) => error(405, "webhooks take GET or POST"),
        (&Method::GET, [""]) => console::redirect(),
        (&Method::GET, ["console", ..]) => console::asset(&segments[1..]),
        (_, ["api", rest @ ..]) => {
            let rest = rest.iter().map(|s| s.to_string()).collect();
            api::dispatch(app, rest, request).await
        }
        _ => error(404, &format!("nothing at {path}")),
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
        "unverified_channels": channels_in(&pipeline, |v| matches!(v, Verification::Unverified)),
        "unconfigured_channels": channels_in(&pipeline, |v| matches!(v, Verification::NotConfigured { .. })),
        "filters": pipeline.filters.iter().map(|f| &f.label).collect::<Vec<_>>(),
        "router": pipeline.router.as_ref().map(|r| &r.label),
        "appeals": app.store.appeal_count(),
        "search_caught_up": app.store.search_pending(1).is_ok_and(|p| p.is_empty()),
        "crm": pipeline.crm.as_ref().map(|c| &c.label),
        "crm_outbox": app.store.crm_queue_len(),
        "plugins_compiled": stats.compiled.load(std::sync::atomic::Ordering::Relaxed),
        "plugins_loaded_from_cache": stats.from_cache.load(std::sync::atomic::Ordering::Relaxed),
        "cluster": app.store.backend_status(),
        "limits": app.gate.status(app.open_files),
        "streams": app.streams.status(),
    })
}

/// The channels whose verification state satisfies `which`, sorted.
fn channels_in(pipeline: &crate::registry::Pipeline, which: impl Fn(&Verification) -> bool) -> Vec<&str> {
    let mut names: Vec<&str> =
        pipeline.verification.iter().filter(|(_, v)| which(v)).map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names
}
