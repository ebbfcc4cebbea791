//! The HTTP head and body path of a real host: arbitrary bytes as one connection's requests
//! (hyper's parser, the connection deadlines, routing, the webhook and API handlers). Whatever
//! arrives, the connection ends without a panic, and anything answered is an HTTP response.
#![no_main]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let host = clienthub_fuzz::host();
    host.runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let app = host.running.app.clone();
        let peer = std::net::IpAddr::from([203, 0, 113, 1]);
        let serving = tokio::spawn(clienthub::http::serve_connection(app, server, peer));
        client.write_all(data).await.expect("the input fits the pipe");
        client.shutdown().await.expect("the client half closes");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(30), client.read_to_end(&mut answer));
        read.await.expect("the connection ends").expect("the answer is read");
        serving.await.expect("serving the connection does not panic");
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    });
});
