//! Outbound HTTP for plugins: the allowlist check (a plugin's manifest `outbound-host`
//! entries plus the admin's additions) and the HTTP(S) client that performs the calls —
//! replies the channel adapters render, and the `outbound-http` import. rustls with the
//! Mozilla roots, HTTP/1.1, a time limit per call and a cap on the answer's size. Request URLs
//! often carry secrets (Telegram's bot token is in the path), so nothing here logs or reports
//! more than the host and port.

use crate::runtime::wit;
use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Longest wait for one platform call, connection included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest platform answer read.
const MAX_ANSWER: usize = 1 << 20;

/// Where a rendered call goes.
pub struct Target {
    /// Host name or address, lower-cased.
    pub host: String,
    /// Port, when the URL names one.
    pub port: Option<u16>,
}

impl Target {
    /// The host of an absolute `http`/`https` URL.
    ///
    /// # Errors
    /// When the URL is not absolute or not HTTP(S); the message never repeats the URL (it may
    /// hold a token).
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: hyper::Uri = url.parse().map_err(|_| "the rendered URL is not valid".to_string())?;
        match uri.scheme_str() {
            Some("https" | "http") => {}
            _ => return Err("the rendered URL must be absolute http:// or https://".into()),
        }
        let host = uri.host().ok_or("the rendered URL has no host")?.to_ascii_lowercase();
        Ok(Self { host, port: uri.port_u16() })
    }

    /// `host` or `host:port`.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// Whether an allowlist lets a plugin call this target: an entry equal to the host, to
    /// `host:port`, or a `*.domain` pattern covering the host.
    pub fn allowed_by(&self, allowlist: &[String]) -> bool {
        allowlist.iter().any(|allowed| {
            let allowed = allowed.to_ascii_lowercase();
            if let Some(domain) = allowed.strip_prefix("*.") {
                return self.host.ends_with(&format!(".{domain}"));
            }
            match allowed.rsplit_once(':') {
                Some((host, port)) if port.parse::<u16>().is_ok() => {
                    host == self.host && self.port.map(|p| p.to_string()).as_deref() == Some(port)
                }
                _ => allowed == self.host,
            }
        })
    }
}

/// Checks `url` against a plugin's allowlist.
///
/// # Errors
/// The refusal, worded for the appeal's history or the plugin: it names the host and the
/// allowlist, never the URL.
pub fn check(url: &str, label: &str, allowlist: &[String]) -> Result<Target, String> {
    let target = Target::parse(url)?;
    if target.allowed_by(allowlist) {
        return Ok(target);
    }
    Err(format!(
        "refused: {} is not among {label}'s outbound hosts [{}]; an admin can allow it with \
         `clienthub plugin allow-hosts`",
        target.authority(),
        allowlist.join(", ")
    ))
}

/// A pooled HTTPS/HTTP client.
pub struct Transport {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Transport {
    /// A client trusting the Mozilla root certificates.
    ///
    /// # Errors
    /// When TLS cannot be configured.
    pub fn new() -> Result<Self> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self { client: Client::builder(TokioExecutor::new()).build(connector) })
    }

    /// Performs `request` and reads the answer within `timeout`.
    ///
    /// # Errors
    /// On a connection failure, a timeout or an answer over the size cap: all worth a retry.
    pub async fn send(&self, request: &wit::OutboundRequest, timeout: Duration) -> Result<wit::HttpResponse> {
        let mut builder = hyper::Request::builder().method(request.method.as_str()).uri(request.url.as_str());
        for header in &request.headers {
            builder = builder.header(header.name.as_str(), header.value.as_str());
        }
        let call = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|_| anyhow::anyhow!("the rendered request is not valid HTTP"))?;
        let answer = tokio::time::timeout(timeout, async {
            let response = self.client.request(call).await.context("the call failed")?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| wit::Header {
                    name: name.as_str().to_string(),
                    value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
                })
                .collect();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("reading the answer failed: {e}"))?
                .to_bytes()
                .to_vec();
            anyhow::Ok(wit::HttpResponse { status, headers, body })
        })
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {} s", timeout.as_secs()))??;
        Ok(answer)
    }
}
