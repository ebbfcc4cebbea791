//! Live updates: `GET /api/events` is a server-sent event stream of the appeals the caller may
//! see as they change — `event: appeal` with `{"id", "status"}` — so a console refreshes the
//! page it shows when something in it moved, instead of polling whole lists. `event: reload`
//! says the listener fell behind (refresh everything); a comment every 15 s keeps proxies from
//! closing the connection. The stream ends when the client goes away, and within a second of
//! its credential ending (a session revoked or signed out, a token revoked). One credential
//! holds at most [`PER_CREDENTIAL`] streams and one address [`PER_ADDRESS`] ([`Streams`]), so
//! nobody holds the host's connections with them.

use super::bytes_body::Body;
use super::call::{Answer, Call};
use crate::store::changes::Change;
use futures_util::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::{Bytes, Frame};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// How often an idle stream says it is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a stream checks that its credential still holds.
const RECHECK: Duration = Duration::from_secs(1);
/// Live streams one credential (a session, a token) may hold at once.
pub const PER_CREDENTIAL: usize = 4;
/// Live streams one address may hold at once.
pub const PER_ADDRESS: usize = 32;

/// The live streams open now, by credential and by address.
#[derive(Default)]
pub struct Streams(Arc<Mutex<HashMap<String, usize>>>);

/// A stream's place in the counts, given back when the stream ends.
struct Held {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    keys: [String; 2],
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(n) = counts.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(key);
                }
            }
        }
    }
}

impl Streams {
    /// A place for a stream of `credential` from `address`, unless either holds its share.
    fn hold(&self, credential: &str, address: &str) -> Option<Held> {
        let keys = [format!("c:{}", crate::access::digest(credential)), format!("a:{address}")];
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let full = counts.get(&keys[0]).copied().unwrap_or(0) >= PER_CREDENTIAL
            || counts.get(&keys[1]).copied().unwrap_or(0) >= PER_ADDRESS;
        if full {
            return None;
        }
        for key in &keys {
            *counts.entry(key.clone()).or_default() += 1;
        }
        Some(Held { counts: self.0.clone(), keys })
    }

    /// What `/healthz` reports: the streams open now and the limits.
    pub fn status(&self) -> serde_json::Value {
        let counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let open: usize = counts.iter().filter(|(k, _)| k.starts_with("a:")).map(|(_, n)| n).sum();
        serde_json::json!({ "open": open, "per_credential": PER_CREDENTIAL, "per_address": PER_ADDRESS })
    }
}

/// What a stream carries between frames.
struct Open {
    changes: Receiver<Arc<Change>>,
    scope: crate::access::Scope,
    app: Arc<super::App>,
    credential: String,
    _held: Held,
}

/// `GET /api/events`.
pub async fn stream(call: Call) -> Answer {
    let credential = call.credential().unwrap_or_default();
    let Some(held) = call.app.streams.hold(&credential, &call.address) else {
        return Err(super::error::ApiError::new(429, "too many live streams for this session or address")
            .code("too_many")
            .with("retry_after_s", 5));
    };
    let open = Open {
        changes: call.app.store.appeal_changes(),
        scope: call.caller.scope.clone(),
        app: call.app.clone(),
        credential,
        _held: held,
    };
    let hello = Bytes::from_static(b"retry: 2000\n: connected\n\n");
    let first = stream::once(async move { Ok::<_, Infallible>(Frame::data(hello)) });
    let rest = stream::unfold(open, |mut open| async move {
        let frame = next(&mut open).await?;
        Some((Ok(Frame::data(frame)), open))
    });
    let body: Body = StreamBody::new(futures_util::StreamExt::chain(first, rest)).boxed_unsync();
    Ok(Response::builder()
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("x-accel-buffering", "no")
        .body(body)
        // Constant headers.
        .expect("a valid response"))
}

/// The next event for the stream's viewer; none once the store is gone or the credential has
/// ended.
async fn next(open: &mut Open) -> Option<Bytes> {
    let mut quiet = Duration::ZERO;
    loop {
        match tokio::time::timeout(RECHECK, open.changes.recv()).await {
            Err(_) => {
                let holds =
                    crate::access::caller_of(&open.app.store, &open.app.admin_token, &open.credential);
                if !matches!(holds, Ok(Some(_))) {
                    return None;
                }
                quiet += RECHECK;
                if quiet >= KEEP_ALIVE {
                    return Some(Bytes::from_static(b": alive\n\n"));
                }
            }
            Ok(Ok(change)) if open.scope.admits_terms(&change.terms) => {
                let data = serde_json::json!({ "id": change.id, "status": change.status });
                return Some(Bytes::from(format!("event: appeal\ndata: {data}\n\n")));
            }
            Ok(Ok(_)) => {}
            Ok(Err(RecvError::Lagged(_))) => return Some(Bytes::from_static(b"event: reload\ndata: {}\n\n")),
            Ok(Err(RecvError::Closed)) => return None,
        }
    }
}
