//! The open internet at the door, as an attacker would try it on loopback, bounded in count and
//! time: idle sockets up to and past the connection cap, headers that never finish, a body that
//! never comes (a lying `Content-Length`) and one that never ends (chunked).

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The host's address as `host:port`.
fn authority(host: &Host) -> String {
    host.base.trim_start_matches("http://").to_string()
}

/// Whether the server closes `stream` within `limit` (reads end); the answer it sent first.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&seen).into_owned());
            }
            Err(_) => return None,
        }
        if started.elapsed() > limit {
            return None;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_sockets_up_to_the_cap_leave_the_server_answering_and_past_it_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("host.log");
    let host =
        Host::builder().args(&["--max-connections", "32", "--header-timeout", "3"]).log(&log, "info").start();
    let address = authority(&host);
    // 30 idle sockets: two slots stay free, and the host keeps answering.
    let idle: Vec<TcpStream> = (0..30).map(|_| TcpStream::connect(&address).unwrap()).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = host.api.get_json("/healthz").await.unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["limits"]["connections"].as_u64().unwrap() >= 30, "{health}");
    assert_eq!(health["limits"]["max_connections"], 32);
    assert!(health["limits"]["open_files_limit"].as_u64().is_some_and(|n| n >= 1024), "{health}");
    // Past the cap, new connections are closed at once, and the log says so once.
    let more: Vec<TcpStream> = (0..40).map(|_| TcpStream::connect(&address).unwrap()).collect();
    let closed = more.into_iter().filter_map(|mut s| closed_within(&mut s, Duration::from_secs(2))).count();
    assert!(closed >= 30, "only {closed} of 40 connections past the cap were closed");
    // The idle ones are closed once the header deadline passes, and the host has room again.
    let mut idle = idle;
    for socket in &mut idle {
        assert!(closed_within(socket, Duration::from_secs(6)).is_some(), "an idle socket stayed open");
    }
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["status"], "ok");
    let text = std::fs::read_to_string(&log).unwrap();
    let cap_lines = text.lines().filter(|l| l.contains("connection cap reached")).count();
    assert_eq!(cap_lines, 1, "one rate-limited line, not one per refused connection");
    assert!(text.len() < 64 << 10, "the log stays quiet: {} bytes", text.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_that_never_finish_are_cut_off_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let host =
        Host::builder().args(&["--header-timeout", "2"]).log(&dir.path().join("host.log"), "info").start();
    let mut slow = TcpStream::connect(authority(&host)).unwrap();
    slow.write_all(b"POST /hooks/telegram HTTP/1.1\r\nHost: clienthub\r\nX-Slow: ").unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(6)).is_some(), "the slow request was left open");
    assert!(started.elapsed() >= Duration::from_millis(1500), "closed before its deadline");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_never_comes_or_never_ends_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let host =
        Host::builder().args(&["--body-timeout", "2"]).log(&dir.path().join("host.log"), "info").start();
    let before = host.all_appeals().await.len();

    // A lying Content-Length: 100 MiB announced, nothing sent.
    let mut lying = TcpStream::connect(authority(&host)).unwrap();
    lying
        .write_all(b"POST /hooks/telegram HTTP/1.1\r\nHost: clienthub\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{")
        .unwrap();
    let answer = closed_within(&mut lying, Duration::from_secs(6)).expect("the lying request was left open");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A chunked body that never ends: a small chunk every 100 ms, for at most 8 s.
    let mut endless = TcpStream::connect(authority(&host)).unwrap();
    endless
        .write_all(b"POST /hooks/telegram HTTP/1.1\r\nHost: clienthub\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let mut writer = endless.try_clone().unwrap();
    let feeding = std::thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(8) {
            if writer.write_all(b"1\r\n \r\n").is_err() {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        started.elapsed()
    });
    let answer = closed_within(&mut endless, Duration::from_secs(8)).expect("the endless body was left open");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let fed = feeding.join().unwrap();
    assert!(fed < Duration::from_secs(8), "the server kept reading for {fed:?}");
    assert_eq!(host.all_appeals().await.len(), before, "neither made an appeal");
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["status"], "ok");
}

/// Bytes under `dir`.
pub(crate) fn size_of(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| match e.metadata().unwrap().is_dir() {
            true => size_of(&e.path()),
            false => e.metadata().unwrap().len(),
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_are_counted_and_never_stored() {
    // Behind a reverse proxy on loopback: each post comes from another address, as a flood
    // from many machines would, so none is locked out and every one meets the adapter.
    let host = Host::builder().args(&["--trust-forwarded-from", "127.0.0.1"]).start();
    host.api
        .send_json("PUT", "/api/plugins/vk/config", &serde_json::json!({ "secret": "vk-s" }))
        .await
        .unwrap();
    let before = size_of(&host.dir);
    let refused = 1_000;
    let garbage = vec![b'x'; 100 << 10];
    for n in 0..refused {
        let (channel, content_type) =
            if n % 2 == 0 { ("webform", "text/plain") } else { ("vk", "application/json") };
        let from = format!("198.51.{}.{}", n / 250, n % 250 + 1);
        let answer = host.hook(channel, &[("x-forwarded-for", &from)], content_type, &garbage).await;
        assert_eq!(answer.status, 401, "{channel} from {from}");
    }
    assert!(host.all_appeals().await.is_empty(), "no appeal, not even in triage");
    let grown = size_of(&host.dir).saturating_sub(before);
    assert!(grown < 1 << 20, "{refused} refused 100 KiB posts grew the data dir by {grown} bytes");
    let metrics = host.metrics().await;
    assert!(metrics.contains("clienthub_refused_total{channel=\"webform\"} 500"), "{metrics}");
    assert!(metrics.contains("clienthub_refused_total{channel=\"vk\"} 500"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_that_keeps_failing_verification_is_locked_out_and_others_are_not() {
    let host = Host::builder().args(&["--trust-forwarded-from", "127.0.0.1"]).start();
    let form = b"Name=A&tranid=1";
    let urlencoded = "application/x-www-form-urlencoded";
    let attacker = [("x-forwarded-for", "203.0.113.9"), ("x-api-key", "guess")];
    for n in 0..30 {
        assert_eq!(host.hook("webform", &attacker, urlencoded, form).await.status, 401, "failure {n}");
    }
    let locked = host.hook("webform", &attacker, urlencoded, form).await;
    assert_eq!((locked.status, locked.header("retry-after")), (429, Some("60")));
    // Locked out even with the right key for the rest of the minute; another address is not.
    let [(_, key)] = host.api_key("webform").await;
    let right = [("x-forwarded-for", "203.0.113.9"), ("x-api-key", key.as_str())];
    assert_eq!(host.hook("webform", &right, urlencoded, form).await.status, 429);
    let site = [("x-forwarded-for", "192.0.2.10"), ("x-api-key", key.as_str())];
    assert_eq!(host.hook("webform", &site, urlencoded, form).await.status, 200);
    // Only a trusted proxy's X-Forwarded-For counts: without the option the peer is the source.
    let direct = Host::start();
    let spoofed = [("x-forwarded-for", "192.0.2.77"), ("x-api-key", "guess")];
    for _ in 0..30 {
        direct.hook("webform", &spoofed, urlencoded, form).await;
    }
    let other = [("x-forwarded-for", "192.0.2.78"), ("x-api-key", "guess")];
    assert_eq!(direct.hook("webform", &other, urlencoded, form).await.status, 429, "the same peer");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_triage_appeal_shows_no_channel_secret() {
    let host = Host::start();
    host.api
        .send_json("PUT", "/api/plugins/vk/config", &serde_json::json!({ "secret": "vk-s3cret-77" }))
        .await
        .unwrap();
    // Verified (the secret matches), but not a message VK's adapter can read: kept in triage.
    let body = br#"{"type":"message_new","group_id":1,"secret":"vk-s3cret-77","object":{"oops":true}}"#;
    let answer = host.hook("vk", &[], "application/json", body).await;
    assert_eq!(answer.status, 200);
    let appeal = host.appeal(&appeal_id(&answer)).await;
    assert_eq!(appeal.status, Status::Triage);
    let shown = host.appeal_json(&appeal.id).await.to_string();
    assert!(!shown.contains("vk-s3cret-77"), "{shown}");
    assert!(appeal.text.contains("[redacted]") && appeal.text.contains("oops"), "{}", appeal.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_install_refuses_forged_posts_and_says_what_to_paste() {
    let host = Host::start();
    let forged = telegram_update(1, 1, "forged");
    let channels =
        ["telegram", "vk", "webform", "email", "reviews", "ok", "whatsapp", "zadarma", "mango", "bitrix24"];
    for channel in channels {
        let status = host.hook(channel, &[], "application/json", &forged).await.status;
        assert!(status == 401 || status == 503, "{channel} answered {status}");
    }
    assert_eq!(host.hook("jivo/guess", &[], "application/json", &forged).await.status, 401);
    let unconfigured = host.hook("zadarma", &[], "application/json", &forged).await;
    assert!(String::from_utf8_lossy(&unconfigured.body).contains("channel not configured: set secret"));
    assert!(host.all_appeals().await.is_empty(), "nothing forged was kept");

    // What to paste on each platform's side, with the generated secrets.
    let secret = host.telegram_secret().await;
    let printed = crate::cli::cli(&host, &["channels"]);
    assert!(
        printed.contains(&format!("setWebhook?url={}/hooks/telegram&secret_token={secret}", host.base)),
        "{printed}"
    );
    let vk = host.channel_secret("vk", "secret").await;
    assert!(printed.contains(&format!("секретный ключ {vk}")), "{printed}");
    assert!(printed.contains("whatsapp") && printed.contains("Verify token"), "{printed}");
    assert_eq!(crate::cli::cli(&host, &["channels", "secret", "telegram"]).trim(), secret);
    let english = crate::cli::cli(&host, &["channels", "show", "--lang", "en"]);
    assert!(english.contains("Call setWebhook with the secret"), "{english}");
    let health = host.api.get_json("/healthz").await.unwrap();
    assert_eq!(
        health["unconfigured_channels"],
        serde_json::json!(["bitrix24", "mango", "whatsapp", "zadarma"])
    );
    assert_eq!(health["unverified_channels"], serde_json::json!([]));

    // Only admins see secrets.
    let issued = serde_json::json!({"role": "operator", "name": "Оля"});
    let operator = host.api.send_json("POST", "/api/tokens", &issued).await.unwrap();
    let operator = clienthub::client::Client::new(&host.base, operator["token"].as_str().map(String::from));
    assert_eq!(operator.send("GET", "/api/channels", None).await.unwrap().status, 403);
    for path in ["/api/plugins", "/api/plugins/telegram", "/api/plugins/vk", "/healthz"] {
        let shown =
            String::from_utf8_lossy(&operator.send("GET", path, None).await.unwrap().body).into_owned();
        assert!(!shown.contains(&secret) && !shown.contains(&vk), "{path}: {shown}");
    }

    // Opening a channel without verification is explicit, and shown.
    crate::cli::cli(&host, &["channels", "open-unverified", "zadarma"]);
    let health = host.api.get_json("/healthz").await.unwrap();
    assert_eq!(health["unverified_channels"], serde_json::json!(["zadarma"]));
    assert_ne!(host.hook("zadarma", &[], "application/json", &forged).await.status, 503);
    crate::cli::cli(&host, &["channels", "require-verification", "zadarma"]);
    assert_eq!(host.hook("zadarma", &[], "application/json", &forged).await.status, 503);
}
