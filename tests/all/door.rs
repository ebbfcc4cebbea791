//! The second round at the door (issue 37), findings 1–3 and 6 as an attacker tried them: stale and
//! upward invitations, a second factor replayed or replaced from a session, and sign-ins that
//! exhausted memory, flooded the log, revealed which logins exist or let a password be guessed
//! from a session; no route answers an oversized key with a panic. Finding 4: nothing unproven
//! kept from a hook, whatever its method. Finding 5: one client holding streams and
//! connections. Finding 6: secrets at rest and in the directory.

use crate::people::{PASSWORD, accept, body, directory, invite, session_key, sign_in, signed_in, token_for};
use crate::support::*;
use clienthub::client::{Answer, Client};
use serde_json::{Value, json};

fn code_of(answer: &Answer) -> String {
    let value: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    value["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_invitation_dies_with_a_newer_and_nobody_invites_at_or_above_their_own_role() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    // Two links for Вера: an admin's by mistake, then the right one. The first dies with the second.
    let mistaken = invite(&host, "viewer", "admin").await;
    let right = invite(&host, "viewer", "viewer").await;
    assert_eq!(accept(&host, &right, PASSWORD).await.status, 200);
    let stale = accept(&host, &mistaken, "другой длинный пароль").await;
    assert_eq!((stale.status, code_of(&stale).as_str()), (400, "invitation_invalid"));
    let vera = Client::new(&host.base, Some(session_key(&sign_in(&host, "viewer", PASSWORD, None).await)));
    assert_eq!(vera.get_json("/api/whoami").await.unwrap()["role"], "viewer");

    // Марина supervises the department where Рустам is an admin: she can neither reset him nor
    // raise anyone to her own role or above.
    let rustam = signed_in(&host, "rustam", "admin").await;
    let marina = signed_in(&host, "sup", "supervisor").await;
    for (employee, role) in
        [("rustam", "viewer"), ("rustam", "admin"), ("viewer", "supervisor"), ("viewer", "admin")]
    {
        let path = format!("/api/employees/{employee}/invite");
        let refused = marina.send("POST", &path, body(&json!({"role": role}))).await.unwrap();
        assert_eq!(
            (refused.status, code_of(&refused).as_str()),
            (403, "role_too_weak"),
            "{employee} as {role}"
        );
    }
    assert_eq!(rustam.get_json("/api/whoami").await.unwrap()["role"], "admin", "his session stands");
    assert_eq!(sign_in(&host, "rustam", PASSWORD, None).await.status, 200, "his password stands");
    // Below her own role, in her department, she may.
    let operator =
        marina.send("POST", "/api/employees/viewer/invite", body(&json!({"role": "operator"}))).await;
    assert_eq!(operator.unwrap().status, 201);
    assert_eq!(
        vera.send("GET", "/api/whoami", None).await.unwrap().status,
        401,
        "a new role ends old sessions"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_alone_cannot_replace_the_second_factor() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let olga = signed_in(&host, "olga", "operator").await;
    let bare = olga.send("POST", "/api/totp", body(&json!({}))).await.unwrap();
    assert_eq!(bare.status, 400, "{}", String::from_utf8_lossy(&bare.body));
    let wrong =
        olga.send("POST", "/api/totp", body(&json!({"password": "чужой длинный пароль"}))).await.unwrap();
    assert_eq!((wrong.status, code_of(&wrong).as_str()), (400, "password_refused"));
    let right = olga.send("POST", "/api/totp", body(&json!({"password": PASSWORD}))).await.unwrap();
    assert_eq!(right.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_parallel_sign_ins_cost_a_few_checks_and_an_oversized_login_a_plain_400() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    assert_eq!(accept(&host, &invite(&host, "olga", "operator").await, PASSWORD).await.status, 200);
    // A login over 64 KiB: refused for its size before any work, with no panic.
    let long = sign_in(&host, &"я".repeat(35_000), PASSWORD, None).await;
    assert_eq!((long.status, code_of(&long).as_str()), (400, "too_long"));
    let before = host.peak_rss_kib();
    let guesses = (0..200).map(|n| {
        let host = &host;
        // Every third at Ольга, the rest sprayed over logins that may or may not exist.
        let login = if n % 3 == 0 { "olga".to_string() } else { format!("login-{n}") };
        async move { sign_in(host, &login, &format!("угадываю пароль {n}"), None).await.status }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 200, "{statuses:?}");
    assert!(checked <= 30, "at most the address's 30 attempts a minute are checked: {checked}");
    let peak = host.peak_rss_kib();
    println!("200 parallel sign-ins: {checked} checked, {refused} refused; peak RSS {} MiB", peak / 1024);
    assert!(peak < before + 256 * 1024, "memory grew from {before} KiB to {peak} KiB");
    assert!(host.metric("clienthub_sign_ins_total", &[]).await >= 200.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_login_locks_as_a_known_one_and_a_lock_is_audited_once() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    assert_eq!(accept(&host, &invite(&host, "olga", "operator").await, PASSWORD).await.status, 200);
    for login in ["olga", "nobody-here"] {
        for _ in 0..5 {
            assert_eq!(sign_in(&host, login, "угадываю пароль", None).await.status, 401, "{login}");
        }
        let locked = sign_in(&host, login, PASSWORD, None).await;
        assert_eq!((locked.status, code_of(&locked).as_str()), (429, "locked_out"), "{login}");
    }
    for _ in 0..10 {
        assert_eq!(sign_in(&host, "olga", PASSWORD, None).await.status, 429);
    }
    let audit = host.api.get_json("/api/audit?limit=1000").await.unwrap();
    let count = |action: &str| {
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action && e["target"] == "olga")
            .count()
    };
    assert_eq!((count("sign_in_failed"), count("sign_in_locked")), (5, 1), "{audit}");
    assert!(host.metric("clienthub_sign_ins_total", &["outcome=\"locked\""]).await >= 12.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_current_password_cannot_be_guessed_from_a_session_and_a_new_one_ends_bound_tokens() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let olga = signed_in(&host, "olga", "operator").await;
    let bound = token_for(&host, "olga", "operator").await;
    assert_eq!(bound.send("GET", "/api/whoami", None).await.unwrap().status, 200);
    let change = |current: &str| json!({"current": current, "new": "совсем новый пароль 2027"});
    for _ in 0..5 {
        let wrong = olga.send("POST", "/api/password", body(&change("угадываю пароль"))).await.unwrap();
        assert_eq!((wrong.status, code_of(&wrong).as_str()), (400, "password_refused"));
    }
    let locked = olga.send("POST", "/api/password", body(&change(PASSWORD))).await.unwrap();
    assert_eq!((locked.status, code_of(&locked).as_str()), (429, "locked_out"), "even the right one waits");

    let vera = signed_in(&host, "viewer", "viewer").await;
    let vera_bound = token_for(&host, "viewer", "viewer").await;
    vera.send_json("POST", "/api/password", &change(PASSWORD)).await.unwrap();
    assert_eq!(vera_bound.send("GET", "/api/whoami", None).await.unwrap().status, 401, "bound tokens end");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_route_answers_an_oversized_key_with_a_panic() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    // As long as a request line may carry (a URI is at most 64 KiB).
    let key = "k".repeat(60_000);
    let mut tried = 0;
    for (method, pattern, _) in clienthub::http::routes() {
        if pattern == "events" || !pattern.contains('{') {
            continue;
        }
        let long = &key[..key.len() / pattern.matches('{').count()];
        let path: Vec<&str> =
            pattern.split('/').map(|part| if part.starts_with('{') { long } else { part }).collect();
        let path = format!("/api/{}", path.join("/"));
        let payload = (method != "GET" && method != "DELETE").then(|| body(&json!({}))).flatten();
        let answer = host.api.send(method, &path, payload).await.unwrap();
        let text = String::from_utf8_lossy(&answer.body);
        assert!(
            answer.status < 500 && !text.contains("panicked"),
            "{method} /api/{pattern}: {} {text}",
            answer.status
        );
        tried += 1;
    }
    for field in ["login", "token"] {
        let given = match field {
            "login" => json!({"login": "k".repeat(70_000), "password": PASSWORD}),
            _ => json!({"token": "k".repeat(70_000)}),
        };
        let answer = host.anonymous.send("POST", "/api/session", body(&given)).await.unwrap();
        assert!((400..500).contains(&answer.status), "{field}: {}", answer.status);
    }
    let hook = host.anonymous.send("POST", &format!("/hooks/{key}"), body(&json!({}))).await.unwrap();
    assert!(hook.status < 500, "{}", hook.status);
    assert!(tried > 20, "{tried} routes with a key");
}

/// Every file and directory under `dir` that others may read or enter.
fn exposed_under(dir: &std::path::Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut open = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let mode = std::fs::symlink_metadata(&path).unwrap().permissions().mode();
            if mode & 0o077 != 0 {
                open.push(format!("{} {:03o}", path.display(), mode & 0o777));
            }
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    open
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_at_rest_are_the_host_s_own_and_a_webhook_s_token_only_an_admin_s_to_read() {
    let host = Host::start();
    let mut with_webhook = directory();
    with_webhook["notices"] = json!([{"events": ["new"], "to": {"channel": "webhook", "to": "https://hooks.example.ru/n?token=s3cr3t-n0tice"}}]);
    host.api.send_json("PUT", "/api/directory", &with_webhook).await.unwrap();
    host.api
        .send_json("PUT", "/api/plugins/telegram/config", &json!({"bot_token": "777:AT-REST"}))
        .await
        .unwrap();
    crate::people::appeal(&host, 37_601, "Казань: хочу вернуть товар").await;
    // The data directory, its journal and records, and a backup: nobody else's to read.
    let backup = host.dir.join("backup.chb");
    let path = backup.to_str().unwrap().to_string();
    tokio::task::block_in_place(|| crate::cli::cli(&host, &["backup", "--to", &path]));
    let open = exposed_under(&host.dir);
    assert!(open.is_empty(), "readable by others: {open:?}");
    // The directory's webhook token: an admin reads it, an operator sees the address masked,
    // a viewer not even that (names only).
    let operator = token_for(&host, "olga", "operator").await;
    let seen = operator.get_json("/api/directory").await.unwrap().to_string();
    assert!(!seen.contains("s3cr3t-n0tice") && seen.contains("https://hooks.example.ru/n?…"), "{seen}");
    let viewer = token_for(&host, "viewer", "viewer").await;
    let seen = viewer.get_json("/api/directory").await.unwrap().to_string();
    assert!(!seen.contains("s3cr3t-n0tice") && !seen.contains("hooks.example.ru"), "{seen}");
    let admin = host.api.get_json("/api/directory").await.unwrap().to_string();
    assert!(admin.contains("s3cr3t-n0tice"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_directory_open_to_others_is_named_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("host.log");
    let host = Host::builder().dir(&data).log(&log, "warn").start();
    host.api.get_json("/healthz").await.unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("open to other users (mode 755)"), "{logged}");
}

/// A live stream of `/api/events` opened with `credential` from `source` (a loopback address):
/// its status and the socket, kept open.
async fn open_stream(host: &Host, credential: &str, source: &str) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address: std::net::SocketAddr = host.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    let request =
        format!("GET /api/events HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {credential}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    (String::from_utf8_lossy(&head[9..12]).parse().unwrap(), stream)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_client_holds_a_few_streams_and_connections_and_the_host_answers_everyone_else() {
    let host = Host::builder().args(&["--max-connections-per-address", "40"]).start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    // One viewer's token: four streams, the fifth refused.
    let viewer = token_for(&host, "viewer", "viewer").await;
    let token = viewer.token().unwrap().to_string();
    let mut held = Vec::new();
    for _ in 0..4 {
        let (status, stream) = open_stream(&host, &token, "127.0.0.2").await;
        assert_eq!(status, 200);
        held.push(stream);
    }
    assert_eq!(open_stream(&host, &token, "127.0.0.2").await.0, 429, "a fifth stream of one token");
    // Tokens of one address: 32 streams between them, then none.
    for n in 0..7 {
        let other = token_for(&host, "viewer", "viewer").await.token().unwrap().to_string();
        for _ in 0..4 {
            let (status, stream) = open_stream(&host, &other, "127.0.0.3").await;
            assert_eq!(status, 200, "token {n}");
            held.push(stream);
        }
    }
    let fresh = token_for(&host, "viewer", "viewer").await.token().unwrap().to_string();
    let mut more = Vec::new();
    for _ in 0..4 {
        let (status, stream) = open_stream(&host, &fresh, "127.0.0.3").await;
        more.push((status, stream));
    }
    let refused = more.iter().filter(|(status, _)| *status == 429).count();
    assert_eq!(refused, 4 - (32 - 28), "the address's 32 streams are taken");
    // An address holding its 40 connections idle: its next one is closed, everyone else served.
    let address: std::net::SocketAddr = host.base.trim_start_matches("http://").parse().unwrap();
    let mut idle = Vec::new();
    for _ in 0..40 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.4:0".parse().unwrap()).unwrap();
        idle.push(socket.connect(address).await.unwrap());
    }
    let health = host.api.get_json("/healthz").await.unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["streams"]["open"].as_u64().unwrap() >= 32, "{health}");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.4:0".parse().unwrap()).unwrap();
    let mut extra = socket.connect(address).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), extra.read_to_end(&mut answer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the 41st connection of one address is closed: {answer:?}"
    );
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["status"], "ok", "others are still served");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_session_s_stream_ends_at_once() {
    use tokio::io::AsyncReadExt;
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    assert_eq!(accept(&host, &invite(&host, "olga", "operator").await, PASSWORD).await.status, 200);
    let key = session_key(&sign_in(&host, "olga", PASSWORD, None).await);
    let (status, mut stream) = open_stream(&host, &key, "127.0.0.1").await;
    assert_eq!(status, 200);
    host.api.send("DELETE", "/api/employees/olga/sessions", None).await.unwrap().json().unwrap();
    let revoked = std::time::Instant::now();
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        // The chunked body's last chunk, then the end of the connection or a quiet socket.
        loop {
            let mut buffer = [0u8; 1024];
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    rest.extend_from_slice(&buffer[..n]);
                    if rest.ends_with(b"0\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream still runs: {}", String::from_utf8_lossy(&rest));
    println!("a revoked session's stream ended {} ms after the revocation", revoked.elapsed().as_millis());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmation_or_a_get_proves_itself_before_anything_is_kept() {
    // Finding 4: VK `confirmation` posts without the secret or the community's id, and GETs
    // with large queries and headers on a POST-only hook, each grew the data directory.
    let host = Host::builder().args(&["--trust-forwarded-from", "127.0.0.1"]).start();
    let config = json!({"confirmation": "a1b2c3d4", "secret": "vk-secret-7f3a", "group_id": 218765432});
    host.api.send_json("PUT", "/api/plugins/vk/config", &config).await.unwrap();
    let before = crate::abuse::size_of(&host.dir);
    let padding = "x".repeat(100 << 10);
    for n in 0..200 {
        let from = [("x-forwarded-for", format!("198.51.100.{}", n % 200 + 1))];
        let from = [(from[0].0, from[0].1.as_str())];
        let forged = format!(r#"{{"type":"confirmation","group_id":{n},"pad":"{padding}"}}"#);
        let answer = host.hook("vk", &from, "application/json", forged.as_bytes()).await;
        assert_eq!(answer.status, 401, "a confirmation for community {n}");
        let path = format!("/hooks/webform?Name=A&Phone=79161234567&comments={}", &padding[..4 << 10]);
        let mut headers = from.to_vec();
        headers.push(("x-padding", &padding[..8 << 10]));
        let get = host.anonymous.request("GET", &path, &headers, None).await.unwrap();
        assert_eq!((get.status, get.header("allow")), (405, Some("POST")));
    }
    assert!(host.all_appeals().await.is_empty(), "no appeal, not even in triage");
    let grown = crate::abuse::size_of(&host.dir).saturating_sub(before);
    assert!(grown < 1 << 20, "400 unproven requests grew the data dir by {grown} bytes");
    // A forged confirmation counts towards the address's lock-out like any refusal.
    let attacker = [("x-forwarded-for", "203.0.113.9")];
    let forged = br#"{"type":"confirmation","group_id":1}"#;
    for _ in 0..30 {
        host.hook("vk", &attacker, "application/json", forged).await;
    }
    assert_eq!(host.hook("vk", &attacker, "application/json", forged).await.status, 429);
    // VK's own confirmation (its community's id) and the platforms' GET handshakes still work.
    let vk =
        host.hook("vk", &[], "application/json", br#"{"type":"confirmation","group_id":218765432}"#).await;
    assert_eq!((vk.status, &vk.body[..]), (200, &b"a1b2c3d4"[..]));
    let config = json!({"verify_token": "verify-me", "app_secret": "app-secret-3c9d"});
    host.api.send_json("PUT", "/api/plugins/whatsapp/config", &config).await.unwrap();
    let check = "/hooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me";
    let check = host.anonymous.send("GET", check, None).await.unwrap();
    assert_eq!((check.status, &check.body[..]), (200, &b"1158201444"[..]));
    assert!(host.all_appeals().await.is_empty());
}
