//! The webhook ingress of a real host: the raw request stored, then the active adapter, filters
//! and router (as WebAssembly) and the appeal writes. Whatever arrives, the pipeline answers
//! with an HTTP status and never panics. Input: `channel[/subpath][?query]`, headers, a blank
//! line, the body (see `clienthub_fuzz::request`).
#![no_main]

use clienthub::store::RawRequest;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let app = &clienthub_fuzz::host().running.app;
    let pipeline = app.registry.pipeline();
    let first_line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let named = String::from_utf8_lossy(first_line);
    let channel = named.split(['/', '?']).next().unwrap_or_default().to_string();
    if !pipeline.has_channel(&channel) {
        return;
    }
    let request = clienthub_fuzz::request(&channel, &data[channel.len()..]);
    let raw = RawRequest {
        id: ulid::Ulid::new().to_string(),
        channel,
        received_at: 0,
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        outcome: String::new(),
        body: request.body,
    };
    let reply = pipeline.ingest(&app.store, app.registry.runtime(), raw).expect("the pipeline answers");
    assert!((100..600).contains(&reply.status), "an HTTP status: {}", reply.status);
});
