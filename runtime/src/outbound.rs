//! Outbound HTTP: the one client every call the host makes goes through — replies the channel
//! adapters render, the `outbound-http` import, CRM deliveries and notice webhooks. Each call
//! is checked against its caller's allowlist first, and the client's resolver refuses private
//! addresses after DNS ([`egress`]). rustls with the Mozilla roots, HTTP/1.1, a time limit per
//! call and a cap on the answer's size. A plugin may be held to a rate (the CRM connector: its
//! CRM's request limit), which every call it makes waits for. Request URLs
//! often carry secrets (Telegram's bot token is in the path), so nothing here logs or reports
//! more than the host and port.

use crate::egress::{self, Resolver};
use crate::wit;
use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Longest wait for one platform call, connection included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest platform answer read.
const MAX_ANSWER: usize = 1 << 20;

/// Why a call did not reach its platform.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not one the caller may have the host call (see [`egress`]).
    #[error("{0}")]
    Refused(String),
    /// The answer is larger than the caller's cap (a file over its kind's limit).
    #[error("the answer is larger than {cap} bytes")]
    TooLarge {
        /// The cap, in bytes.
        cap: u64,
    },
    /// The platform could not be reached or did not answer in time (worth a retry).
    #[error("could not reach {authority}: {error}")]
    Unreachable {
        /// The host and port called (never the URL: it may hold a token).
        authority: String,
        /// What went wrong.
        error: String,
    },
}

/// A pooled HTTPS/HTTP client.
pub struct Transport {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector<Resolver>>, Full<Bytes>>,
    allow_private: bool,
    /// Client-side rate limits by plugin name.
    limits: RwLock<HashMap<String, (Rate, Arc<governor::DefaultDirectRateLimiter>)>>,
}

/// A request rate: so many a second, with a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests a second, sustained.
    pub per_second: NonZeroU32,
    /// Requests that may go at once after a quiet spell.
    pub burst: NonZeroU32,
}

impl Transport {
    /// A client trusting the Mozilla root certificates; `allow_private` admits loopback and
    /// private addresses (`--allow-private-outbound`, for tests against local stand-ins).
    ///
    /// # Errors
    /// When TLS cannot be configured.
    pub fn new(allow_private: bool) -> Result<Self> {
        let mut http = HttpConnector::new_with_resolver(Resolver { allow_private });
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { client, allow_private, limits: RwLock::default() })
    }

    /// Whether loopback and private addresses are admitted.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Checks `request` against `allowlist` (the caller `label`'s), performs it and reads the
    /// answer within `timeout`.
    ///
    /// # Errors
    /// [`OutboundError::Refused`] before any connection; [`OutboundError::Unreachable`] on a
    /// connection failure, a timeout or an answer over the size cap: all worth a retry.
    pub async fn send(
        &self,
        request: &wit::OutboundRequest,
        label: &str,
        allowlist: &[String],
        timeout: Duration,
    ) -> Result<wit::HttpResponse, OutboundError> {
        self.fetch(request, label, allowlist, timeout, MAX_ANSWER).await
    }

    /// As [`Transport::send`], with the answer's body capped at `cap` bytes (a file download).
    ///
    /// # Errors
    /// As [`Transport::send`]; [`OutboundError::TooLarge`] when the answer is over `cap`.
    pub async fn fetch(
        &self,
        request: &wit::OutboundRequest,
        label: &str,
        allowlist: &[String],
        timeout: Duration,
        cap: usize,
    ) -> Result<wit::HttpResponse, OutboundError> {
        let target = egress::check(&request.url, label, allowlist, self.allow_private)
            .map_err(OutboundError::Refused)?;
        let plugin = label.split('@').next().unwrap_or(label);
        let limit = self.limits.read().unwrap_or_else(|e| e.into_inner()).get(plugin).map(|(_, l)| l.clone());
        if let Some(limit) = limit {
            limit.until_ready().await;
        }
        self.perform(request, timeout, cap).await.map_err(|e| match e.downcast_ref::<OutboundError>() {
            Some(OutboundError::TooLarge { cap }) => OutboundError::TooLarge { cap: *cap },
            _ => OutboundError::Unreachable { authority: target.authority(), error: format!("{e:#}") },
        })
    }

    /// Holds every call of plugin `name` (any version) to `rate`, from now on; a plugin already
    /// held to the same rate keeps its bucket. A tenth of the burst is kept in reserve: the
    /// portal counts arrivals, which network jitter bunches, and calls made by others.
    pub fn limit(&self, name: &str, rate: Rate) {
        let reserve = rate.burst.get() / 10;
        let burst = NonZeroU32::new(rate.burst.get() - reserve).unwrap_or(NonZeroU32::MIN);
        let quota = governor::Quota::per_second(rate.per_second).allow_burst(burst);
        let mut limits = self.limits.write().unwrap_or_else(|e| e.into_inner());
        if limits.get(name).is_none_or(|(known, _)| *known != rate) {
            limits.insert(name.to_string(), (rate, Arc::new(governor::RateLimiter::direct(quota))));
        }
    }

    async fn perform(
        &self,
        request: &wit::OutboundRequest,
        timeout: Duration,
        cap: usize,
    ) -> Result<wit::HttpResponse> {
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
            let too_large = || anyhow::Error::new(OutboundError::TooLarge { cap: cap as u64 });
            let declared = response.headers().get(hyper::header::CONTENT_LENGTH);
            if declared.and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).is_some_and(|n| n > cap as u64) {
                return Err(too_large());
            }
            let body = Limited::new(response.into_body(), cap)
                .collect()
                .await
                .map_err(|e| match e.is::<http_body_util::LengthLimitError>() {
                    true => too_large(),
                    false => anyhow::anyhow!("reading the answer failed: {e}"),
                })?
                .to_bytes()
                .to_vec();
            anyhow::Ok(wit::HttpResponse { status, headers, body })
        })
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {} s", timeout.as_secs()))??;
        Ok(answer)
    }
}
