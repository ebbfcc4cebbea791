//! A stand-in for a platform's API (Telegram Bot API, VK API, WhatsApp Cloud API, Postmark) on
//! loopback: it records every request and answers from a script, then with a default answer.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request the platform received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// The query string, without `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The value of a form field of an urlencoded body.
    pub fn form(&self, key: &str) -> Option<String> {
        form_urlencoded::parse(&self.body).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }
}

/// An answer: status, extra headers, JSON body.
pub type Scripted = (u16, Vec<(&'static str, String)>, Value);

/// An answer body that is a file, not JSON: `{"$base64": …}` is sent as its decoded bytes.
pub fn file_body(bytes: &[u8]) -> Value {
    use base64::Engine;
    serde_json::json!({ "$base64": base64::engine::general_purpose::STANDARD.encode(bytes) })
}

fn bytes_of(body: &Value) -> Vec<u8> {
    use base64::Engine;
    match body.get("$base64").and_then(Value::as_str) {
        Some(encoded) => base64::engine::general_purpose::STANDARD.decode(encoded).unwrap(),
        None => body.to_string().into_bytes(),
    }
}

/// The running stand-in.
pub struct Platform {
    pub base: String,
    pub authority: String,
    received: Arc<Mutex<Vec<Received>>>,
    delay: Arc<Mutex<Duration>>,
}

impl Platform {
    /// Starts on a free loopback port; answers `script` in order, then `default`.
    pub async fn start(script: Vec<Scripted>, default: Value) -> Self {
        let script = Mutex::new(VecDeque::from(script));
        Self::serve(Arc::new(move |_: &Received| {
            script.lock().unwrap().pop_front().unwrap_or((200, vec![], default.clone()))
        }))
        .await
    }

    /// Starts on a free loopback port; `answer` decides each answer (a stateful stand-in).
    pub async fn serve(answer: Arc<dyn Fn(&Received) -> Scripted + Send + Sync>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let (log, pause) = (received.clone(), delay.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (log, answer, pause) = (log.clone(), answer.clone(), pause.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (log, answer) = (log.clone(), answer.clone());
                        let pause = *pause.lock().unwrap();
                        async move {
                            tokio::time::sleep(pause).await;
                            let (parts, body) = request.into_parts();
                            let body =
                                body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                            let received = Received {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_string(),
                                query: parts.uri.query().unwrap_or_default().to_string(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                                    .collect(),
                                body,
                            };
                            let (status, headers, body) = answer(&received);
                            log.lock().unwrap().push(received);
                            let mut response = hyper::Response::builder().status(status);
                            if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
                                response = response.header("content-type", "application/json");
                            }
                            for (name, value) in headers {
                                response = response.header(name, value);
                            }
                            Ok::<_, std::convert::Infallible>(
                                response.body(Full::new(Bytes::from(bytes_of(&body)))).unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Self { base: format!("http://{authority}"), authority, received, delay }
    }

    /// Answers every later request only after `delay`.
    pub fn slow_down(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    /// What it received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Polls the appeal until its first reply reaches `state` (panics after 20 s).
pub async fn wait_for_reply(
    host: &crate::support::Host,
    appeal: &str,
    state: &str,
) -> crate::support::Appeal {
    let became = |a: &crate::support::Appeal| a.replies.first().is_some_and(|r| r.state.name() == state);
    crate::support::appeal_where(host, appeal, &format!("the reply became {state}"), became).await
}

/// Configures the telegram adapter to send through `api` (a Bot API stand-in) and allows its host.
pub async fn telegram_through(host: &crate::support::Host, api: &Platform) {
    let config = serde_json::json!({"bot_token": "123456:ABC-def", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/telegram/config", &config).await.unwrap();
    let hosts = serde_json::json!({"hosts": [api.base]});
    host.api.send_json("PUT", "/api/plugins/telegram/outbound-hosts", &hosts).await.unwrap();
}
