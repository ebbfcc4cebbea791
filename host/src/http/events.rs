//! Live updates: `GET /api/events` is a server-sent event stream of the appeals the caller may
//! see as they change — `event: appeal` with `{"id", "status"}` — so a console refreshes the
//! page it shows when something in it moved, instead of polling whole lists. `event: reload`
//! says the listener fell behind (refresh everything); a comment every 15 s keeps proxies from
//! closing the connection. The stream ends when the client goes away.

use super::bytes_body::Body;
use super::call::{Answer, Call};
use crate::access::Scope;
use crate::store::changes::Change;
use futures_util::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::{Bytes, Frame};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// How often an idle stream says it is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /api/events`.
pub async fn stream(call: Call) -> Answer {
    let changes = call.app.store.appeal_changes();
    let hello = Bytes::from_static(b"retry: 2000\n: connected\n\n");
    let first = stream::once(async move { Ok::<_, Infallible>(Frame::data(hello)) });
    let rest = stream::unfold((changes, call.caller.scope.clone()), |(mut changes, scope)| async move {
        let frame = next(&mut changes, &scope).await?;
        Some((Ok(Frame::data(frame)), (changes, scope)))
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

/// The next event for a viewer of `scope`; none once the store is gone.
async fn next(changes: &mut Receiver<Arc<Change>>, scope: &Scope) -> Option<Bytes> {
    loop {
        match tokio::time::timeout(KEEP_ALIVE, changes.recv()).await {
            Err(_) => return Some(Bytes::from_static(b": alive\n\n")),
            Ok(Ok(change)) if scope.admits_terms(&change.terms) => {
                let data = serde_json::json!({ "id": change.id, "status": change.status });
                return Some(Bytes::from(format!("event: appeal\ndata: {data}\n\n")));
            }
            Ok(Ok(_)) => {}
            Ok(Err(RecvError::Lagged(_))) => return Some(Bytes::from_static(b"event: reload\ndata: {}\n\n")),
            Ok(Err(RecvError::Closed)) => return None,
        }
    }
}
