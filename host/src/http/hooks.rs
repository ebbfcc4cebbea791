//! `POST|GET /hooks/{channel}`: the raw request is stored first, the pipeline runs, and the
//! platform is answered only after the resulting writes are flushed. In a cluster the platform
//! is answered once the adapter's output is on the intake stream (acknowledged by JetStream);
//! some node's worker does the rest.

use super::bytes_body::Body;
use super::reply::{error, read_body};
use super::{App, MAX_HOOK_BODY};
use crate::clock::now_ms;
use crate::pipeline::{Adapted, queue};
use crate::store::RawRequest;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

pub async fn handle(app: &App, channel: String, request: Request<Incoming>) -> Response<Body> {
    let pipeline = app.registry.pipeline();
    if !pipeline.has_channel(&channel) {
        return error(
            404,
            &format!("unknown channel '{channel}': no active adapter serves /hooks/{channel}"),
        );
    }
    let (parts, body) = match read_body(request, MAX_HOOK_BODY).await {
        Ok(read) => read,
        Err(e) => return e.response(),
    };
    let raw = RawRequest {
        id: ulid::Ulid::new().to_string(),
        channel,
        received_at: now_ms(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        outcome: String::new(),
        body: body.to_vec(),
    };
    // In a cluster the request travels in the intake and is stored with its outcome.
    if app.store.cluster().is_none()
        && let Err(e) = app.store.put_raw(&raw)
    {
        return error(503, &format!("could not store the request: {e:#}"));
    }
    let runtime = app.registry.runtime().clone();
    let result = {
        let _slot = app.plugin_slots.acquire().await;
        // Plugin calls are synchronous and bounded by their deadline.
        tokio::task::block_in_place(|| match pipeline.adapt(&app.store, &runtime, raw)? {
            Adapted::Events(intake, reply) if app.store.cluster().is_none() => {
                let appeals = pipeline.process(&app.store, &runtime, *intake)?;
                Ok(Adapted::Answered(crate::pipeline::Reply { appeals, ..reply }))
            }
            adapted => anyhow::Ok(adapted),
        })
    };
    let reply = match result {
        Ok(Adapted::Answered(reply)) => reply,
        Ok(Adapted::Events(intake, reply)) => {
            let cluster = app.store.cluster().expect("only a cluster node queues");
            match queue::queue(cluster, &intake).await {
                Ok(()) => reply,
                Err(e) => return error(503, &format!("could not queue the request, retry later: {e:#}")),
            }
        }
        Err(e) => return error(503, &format!("could not store the appeal, retry later: {e:#}")),
    };
    if let Err(e) = app.store.commit().await {
        return error(503, &format!("could not make the appeal durable, retry later: {e:#}"));
    }
    // A newly activated version that keeps failing is rolled back now, before the next request.
    if !pipeline.health.is_quiet() {
        tokio::task::block_in_place(|| app.registry.roll_back_tripped());
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    if let Some(first) = reply.appeals.first() {
        response = response.header("x-clienthub-appeal", first);
    }
    response
        .body(Body::new(Bytes::from(reply.body)))
        .unwrap_or_else(|e| error(500, &format!("the adapter returned an invalid response: {e}")))
}
