//! The HTTP head and body path of a real host: arbitrary bytes as one connection's requests
//! (hyper's parser, the connection deadlines, routing, the webhook and API handlers). Whatever
//! arrives, the connection ends without a panic, and anything answered is an HTTP/1.x response.
#![no_main]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let host = clienthub_fuzz::host();
    host.runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let app = host.running.app.clone();
        // A peer per input, so the lockout of failing addresses does not hide the rest.
        let hash = data.iter().fold(0u32, |h, b| h.rotate_left(5) ^ u32::from(*b));
        let peer = std::net::IpAddr::from(hash.to_be_bytes());
        let serving = tokio::spawn(clienthub::http::serve_connection(app, server, peer));
        client.write_all(data).await.expect("the input fits the pipe");
        client.shutdown().await.expect("the client half closes");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(30), client.read_to_end(&mut answer));
        read.await.expect("the connection ends").expect("the answer is read");
        serving.await.expect("serving the connection does not panic");
        let http = answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 ");
        assert!(answer.is_empty() || http, "{:?}", String::from_utf8_lossy(&answer));
    });
});
