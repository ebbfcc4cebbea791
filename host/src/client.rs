//! A small client of the admin API, used by the CLI subcommands (and the benchmark).

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// An admin API client: a base URL and a bearer token.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

/// A response: status and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON, or an error carrying the server's message for a non-2xx status.
    ///
    /// # Errors
    /// For a non-2xx status (the server's `error` text) or a body that is not JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        let value: serde_json::Value = serde_json::from_slice(&self.body)
            .with_context(|| format!("HTTP {}: {}", self.status, String::from_utf8_lossy(&self.body)))?;
        if !(200..300).contains(&self.status) {
            let message = value.get("error").and_then(|e| e.as_str()).unwrap_or("");
            bail!("HTTP {}: {message}", self.status);
        }
        Ok(value)
    }
}

impl Client {
    /// The bearer token it sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A client of the host at `base` (`http://127.0.0.1:8080`), sending `token` as its bearer
    /// token.
    pub fn new(base: &str, token: Option<String>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            http: HyperClient::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Sends a request; `body` is (content type, bytes).
    ///
    /// # Errors
    /// When the host cannot be reached.
    pub async fn send(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Answer> {
        self.request(method, path, &[], body).await
    }

    /// Sends a request with extra headers; `body` is (content type, bytes).
    ///
    /// # Errors
    /// When the host cannot be reached.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer> {
        let mut request = hyper::Request::builder().method(method).uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header("content-type", content_type);
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let response = self
            .http
            .request(request.body(body)?)
            .await
            .with_context(|| format!("cannot reach ClientHub at {}", self.base))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer { status, headers, body })
    }

    /// GET and parse JSON.
    ///
    /// # Errors
    /// See [`Answer::json`].
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.send("GET", path, None).await?.json()
    }

    /// Sends JSON and parses the JSON answer.
    ///
    /// # Errors
    /// See [`Answer::json`].
    pub async fn send_json(
        &self,
        method: &str,
        path: &str,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        self.send(method, path, Some(("application/json", value.to_string().into_bytes()))).await?.json()
    }
}
