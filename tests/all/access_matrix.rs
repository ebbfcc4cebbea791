//! Every route of the API × every role × an object in and out of scope, generated from the
//! route table (issue 16): a route cannot ship without saying how its access is checked.

use crate::people::{appeal, body, directory, token_for};
use crate::support::*;
use clienthub::access::Role;
use clienthub::client::Client;
use serde_json::{Value, json};

/// What a matrix request looks like for one route: the path with the object in scope or out
/// of it, the body, and whether the route reads or changes an object that a scope can hide
/// (an appeal, an employee).
struct Row {
    path: fn(&Objects, bool) -> String,
    body: Value,
    scoped: bool,
    /// A stream (server-sent events): only the status line is read.
    stream: bool,
}

/// The objects the matrix requests name: for each role, an appeal and an employee in its
/// scope, and the ones outside every scoped role's.
struct Objects {
    in_appeal: String,
    master_appeal: String,
    out_appeal: String,
    master: bool,
}

impl Objects {
    fn appeal(&self, inside: bool) -> &str {
        match (inside, self.master) {
            (false, _) => &self.out_appeal,
            (true, true) => &self.master_appeal,
            (true, false) => &self.in_appeal,
        }
    }
    fn employee(&self, inside: bool) -> &str {
        if inside { "rustam" } else { "olga" }
    }
}

/// One row per route of the API. A route missing here fails the test: it cannot ship
/// without saying how it is checked.
fn row(method: &str, pattern: &str) -> Option<Row> {
    let plain = |path: fn(&Objects, bool) -> String, body: Value| {
        Some(Row { path, body, scoped: false, stream: false })
    };
    let scoped = |path: fn(&Objects, bool) -> String, body: Value| {
        Some(Row { path, body, scoped: true, stream: false })
    };
    let empty = json!({});
    match (method, pattern) {
        ("GET", "whoami") => plain(|_, _| "/api/whoami".into(), empty),
        ("POST", "clock/advance") => plain(|_, _| "/api/clock/advance".into(), json!({"minutes": 0})),
        ("POST", "tokens") => plain(|_, _| "/api/tokens".into(), empty),
        ("GET", "tokens") => plain(|_, _| "/api/tokens".into(), empty),
        ("DELETE", "tokens/{id}") => plain(|_, _| "/api/tokens/0123456789ab".into(), empty),
        ("GET", "events") => {
            Some(Row { path: |_, _| "/api/events".into(), body: empty, scoped: false, stream: true })
        }
        ("GET", "appeals") => plain(|_, _| "/api/appeals".into(), empty),
        ("GET", "views") => plain(|_, _| "/api/views".into(), empty),
        ("POST", "appeals") => plain(
            |_, _| "/api/appeals".into(),
            json!({"channel": "phone", "text": "Казань: хочу вернуть товар", "contact": {"name": "Мария"}}),
        ),
        ("POST", "appeals/{id}/notes") => {
            scoped(|o, i| format!("/api/appeals/{}/notes", o.appeal(i)), json!({"text": "Заметка"}))
        }
        ("POST", "appeals/{id}/reclassify") => {
            scoped(|o, i| format!("/api/appeals/{}/reclassify", o.appeal(i)), json!({"region": "kzn"}))
        }
        ("POST", "appeals/{id}/checklist/{item}") => {
            scoped(|o, i| format!("/api/appeals/{}/checklist/nothing", o.appeal(i)), json!({"done": true}))
        }
        ("GET", "appeals/{id}/templates") => {
            scoped(|o, i| format!("/api/appeals/{}/templates", o.appeal(i)), empty)
        }
        ("GET", "templates") => plain(|_, _| "/api/templates".into(), empty),
        ("PUT", "templates") => plain(|_, _| "/api/templates".into(), json!([])),
        ("POST", "appeals/reprocess") => plain(|_, _| "/api/appeals/reprocess".into(), empty),
        ("GET", "appeals/{id}") => scoped(|o, i| format!("/api/appeals/{}", o.appeal(i)), empty),
        ("GET", "appeals/{id}/replies") => {
            scoped(|o, i| format!("/api/appeals/{}/replies", o.appeal(i)), empty)
        }
        ("GET", "appeals/{id}/attachments/{n}") => {
            scoped(|o, i| format!("/api/appeals/{}/attachments/1", o.appeal(i)), empty)
        }
        ("POST", "appeals/{id}/replies") => {
            scoped(|o, i| format!("/api/appeals/{}/replies", o.appeal(i)), json!({"text": "Ответ"}))
        }
        ("POST", "appeals/{id}/replies/{reply}/retry") => {
            scoped(|o, i| format!("/api/appeals/{}/replies/01NOREPLY/retry", o.appeal(i)), empty)
        }
        ("POST", "appeals/{id}/reprocess") => {
            scoped(|o, i| format!("/api/appeals/{}/reprocess", o.appeal(i)), empty)
        }
        ("POST", "appeals/{id}/take") => scoped(|o, i| format!("/api/appeals/{}/take", o.appeal(i)), empty),
        ("POST", "appeals/{id}/handoff") => {
            scoped(|o, i| format!("/api/appeals/{}/handoff", o.appeal(i)), empty)
        }
        ("POST", "appeals/{id}/pause") => scoped(|o, i| format!("/api/appeals/{}/pause", o.appeal(i)), empty),
        ("POST", "appeals/{id}/resume") => {
            scoped(|o, i| format!("/api/appeals/{}/resume", o.appeal(i)), empty)
        }
        ("POST", "appeals/{id}/resolve") => {
            scoped(|o, i| format!("/api/appeals/{}/resolve", o.appeal(i)), empty)
        }
        ("POST", "appeals/{id}/reopen") => {
            scoped(|o, i| format!("/api/appeals/{}/reopen", o.appeal(i)), empty)
        }
        ("GET", "reports/{kind}") => plain(|_, _| "/api/reports/appeals".into(), empty),
        ("GET", "plugins") => plain(|_, _| "/api/plugins".into(), empty),
        ("POST", "plugins") => plain(|_, _| "/api/plugins".into(), empty),
        ("GET", "plugins/{name}") => plain(|_, _| "/api/plugins/telegram".into(), empty),
        ("POST", "plugins/{name}/activate") => {
            plain(|_, _| "/api/plugins/nonexistent/activate".into(), empty)
        }
        ("GET", "plugins/{name}/shadow") => plain(|_, _| "/api/plugins/telegram/shadow".into(), empty),
        ("POST", "plugins/{name}/shadow") => plain(|_, _| "/api/plugins/nonexistent/shadow".into(), empty),
        ("DELETE", "plugins/{name}/shadow") => plain(|_, _| "/api/plugins/nonexistent/shadow".into(), empty),
        ("POST", "plugins/{name}/replay") => plain(|_, _| "/api/plugins/nonexistent/replay".into(), empty),
        ("POST", "plugins/{name}/rollback") => {
            plain(|_, _| "/api/plugins/nonexistent/rollback".into(), empty)
        }
        ("POST", "plugins/{name}/deactivate") => {
            plain(|_, _| "/api/plugins/nonexistent/deactivate".into(), empty)
        }
        ("PUT", "plugins/{name}/config") => plain(|_, _| "/api/plugins/nonexistent/config".into(), empty),
        ("PUT", "plugins/{name}/outbound-hosts") => {
            plain(|_, _| "/api/plugins/nonexistent/outbound-hosts".into(), json!({"hosts": []}))
        }
        ("GET", "channels") => plain(|_, _| "/api/channels".into(), empty),
        ("PUT", "channels/{name}/verification") => {
            plain(|_, _| "/api/channels/nonexistent/verification".into(), json!({"required": true}))
        }
        ("GET", "notice-hosts") => plain(|_, _| "/api/notice-hosts".into(), empty),
        ("PUT", "notice-hosts") => plain(|_, _| "/api/notice-hosts".into(), json!({"hosts": []})),
        ("GET", "directory") => plain(|_, _| "/api/directory".into(), empty),
        ("PUT", "directory") => plain(|_, _| "/api/directory".into(), directory()),
        ("GET", "directory/history") => plain(|_, _| "/api/directory/history".into(), empty),
        ("POST", "directory/preview") => {
            plain(|_, _| "/api/directory/preview".into(), json!({"directory": directory(), "last": 5}))
        }
        ("POST", "routing/try") => plain(
            |_, _| "/api/routing/try".into(),
            json!({"text": "Казань: хочу вернуть товар", "channel": "vk"}),
        ),
        ("GET", "employees") => plain(|_, _| "/api/employees".into(), empty),
        ("POST", "employees/{id}/invite") => {
            scoped(|o, i| format!("/api/employees/{}/invite", o.employee(i)), json!({"role": "viewer"}))
        }
        ("DELETE", "employees/{id}/sessions") => plain(|_, _| "/api/employees/rustam/sessions".into(), empty),
        ("GET", "sessions") => plain(|_, _| "/api/sessions".into(), empty),
        ("DELETE", "sessions/{id}") => plain(|_, _| "/api/sessions/0123456789ab".into(), empty),
        ("POST", "password") => plain(|_, _| "/api/password".into(), json!({"current": "x", "new": "y"})),
        ("POST", "totp") => plain(|_, _| "/api/totp".into(), empty),
        ("POST", "totp/confirm") => plain(|_, _| "/api/totp/confirm".into(), json!({"code": "000000"})),
        ("GET", "presence") => plain(|_, _| "/api/presence".into(), empty),
        ("PUT", "presence") => plain(|_, _| "/api/presence".into(), json!({"state": "available"})),
        ("GET", "audit") => plain(|_, _| "/api/audit".into(), empty),
        ("POST", "contacts/erase") => {
            plain(|_, _| "/api/contacts/erase".into(), json!({"contact": "+70000000000"}))
        }
        ("GET", "erasures") => plain(|_, _| "/api/erasures".into(), empty),
        ("GET", "backup") => plain(|_, _| "/api/backup".into(), empty),
        ("GET", "backup/{tree}") => plain(|_, _| "/api/backup/nonexistent".into(), empty),
        _ => None,
    }
}

/// The bearer token a client sends.
fn client_token(client: &Client) -> String {
    client.token().unwrap_or_default().to_string()
}

/// The status of a streaming GET (server-sent events), read from the status line alone.
async fn stream_status(host: &Host, token: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = host.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    socket.read_exact(&mut head).await.unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_for_every_role_in_and_out_of_scope() {
    let host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let in_appeal = appeal(&host, 16_401, "Казань: хочу вернуть товар").await;
    let master_appeal = appeal(&host, 16_402, "Казань: течёт кран").await;
    let out_appeal = appeal(&host, 16_403, "Москва: хочу вернуть товар").await;
    let people = [
        (Role::Viewer, "viewer"),
        (Role::Master, "master"),
        (Role::Operator, "rustam"),
        (Role::Supervisor, "sup"),
        (Role::Admin, "admin"),
    ];
    let routes = clienthub::http::routes();
    let missing: Vec<String> =
        routes.iter().filter(|(m, p, _)| row(m, p).is_none()).map(|(m, p, _)| format!("{m} {p}")).collect();
    assert!(missing.is_empty(), "routes without a row in the access matrix: {missing:?}");
    let mut checked = 0;
    for (role, employee) in people {
        let client = match role {
            Role::Admin => Client::new(&host.base, Some(TOKEN.to_string())),
            _ => token_for(&host, employee, role.name()).await,
        };
        let objects = Objects {
            in_appeal: in_appeal.clone(),
            master_appeal: master_appeal.clone(),
            out_appeal: out_appeal.clone(),
            master: role == Role::Master,
        };
        for (method, pattern, needed) in &routes {
            let row = row(method, pattern).unwrap();
            for inside in [true, false] {
                let path = (row.path)(&objects, inside);
                let (status, text) = match row.stream {
                    true => (stream_status(&host, &client_token(&client), &path).await, String::new()),
                    false => {
                        let answer = client.send(method, &path, body(&row.body)).await.unwrap();
                        (answer.status, String::from_utf8_lossy(&answer.body).into_owned())
                    }
                };
                let what = format!(
                    "{} {method} {path} ({})",
                    role.name(),
                    if inside { "in scope" } else { "out of scope" }
                );
                let hidden = row.scoped && !inside && role != Role::Admin;
                // Masters may use operator routes but not reply, create, reclassify, hand off or
                // reopen (the README's list of their verbs).
                let master_reply = role == Role::Master
                    && *method == "POST"
                    && [
                        "appeals/{id}/replies",
                        "appeals",
                        "appeals/{id}/reclassify",
                        "appeals/{id}/handoff",
                        "appeals/{id}/reopen",
                    ]
                    .contains(pattern);
                match () {
                    _ if !role.allows(*needed) => assert_eq!(status, 403, "{what}: {text}"),
                    // A file out of scope is refused outright (its appeal's existence is no secret
                    // to someone holding its link).
                    _ if hidden && *pattern == "appeals/{id}/attachments/{n}" => {
                        assert_eq!(status, 403, "{what}: {text}");
                        assert!(text.contains("out_of_scope"), "{what}: {text}");
                    }
                    _ if hidden => {
                        assert_eq!(status, 404, "{what}: {text}");
                        assert!(text.contains("no appeal") || text.contains("no employee"), "{what}: {text}");
                    }
                    _ if master_reply => assert_eq!(status, 403, "{what}: {text}"),
                    _ => {
                        assert!(![401, 403].contains(&status), "{what}: {status} {text}");
                        assert!(
                            !(status == 404 && (text.contains("no appeal") || text.contains("no employee"))),
                            "{what}: in scope but hidden: {text}"
                        );
                    }
                }
                if *method == "GET" && *pattern == "appeals" && role != Role::Admin {
                    assert!(!text.contains(&out_appeal), "{what}: lists an appeal out of scope");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, routes.len() * 10);
}
