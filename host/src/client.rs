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
    /// Where the token came from, for the message of a 401.
    token_source: Option<String>,
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
    /// What to add to the message of a refusal (where the client looked for its token).
    hint: Option<String>,
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
            let detail =
                value.get("detail").and_then(|e| e.as_str()).map(|d| format!(" — {d}")).unwrap_or_default();
            let hint = self.hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
            bail!("HTTP {}: {message}{detail}{hint}", self.status);
        }
        Ok(value)
    }
}

impl Client {
    /// Says where its token came from (named when the host refuses it).
    pub fn token_from(mut self, source: impl Into<String>) -> Self {
        self.token_source = Some(source.into());
        self
    }

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
            token_source: None,
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
        let response = self.http.request(request.body(body)?).await.map_err(|e| {
            // hyper-util's error names only "client error (Connect)"; its source says why
            // (DNS, refused, timed out).
            let mut why = Vec::new();
            let mut cause = std::error::Error::source(&e);
            while let Some(error) = cause {
                why.push(error.to_string());
                cause = error.source();
            }
            let why = if why.is_empty() { e.to_string() } else { why.join(": ") };
            anyhow::anyhow!("cannot reach ClientHub at {} (--server, CLIENTHUB_URL): {why}", self.base)
        })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = response.into_body().collect().await?.to_bytes();
        let hint = (status == 401).then(|| match (&self.token, &self.token_source) {
            (None, Some(looked)) => format!(
                "no token: pass --token, set CLIENTHUB_ADMIN_TOKEN, or point --data-dir \
                 (CLIENTHUB_DATA_DIR) at the host's data directory (looked for {looked})"
            ),
            (None, None) => "no token: pass --token or set CLIENTHUB_ADMIN_TOKEN".to_string(),
            (Some(_), Some(source)) => format!("the token from {source} was refused"),
            (Some(_), None) => "the token was refused".to_string(),
        });
        Ok(Answer { status, headers, body, hint })
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
