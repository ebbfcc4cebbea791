//! The CLI subcommands are thin clients of the admin API: drive them against a real host.

use crate::support::*;
use clienthub_artifacts::fixtures;
use std::process::Command;

pub fn cli(host: &Host, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_clienthub"))
        .args(args)
        .args(["--server", &host.base, "--token", TOKEN])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "clienthub {args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_directory_and_appeals_commands() {
    let host = Host::start();
    let directory = format!("{}/../examples/directory.json", env!("CARGO_MANIFEST_DIR"));
    assert_eq!(
        cli(&host, &["directory", "import", &directory]).trim(),
        "imported 2 regions, 2 departments, 3 employees, 2 topics"
    );
    assert!(cli(&host, &["directory", "export"]).contains("\"refund\""));

    let list = cli(&host, &["plugin", "list"]);
    let row = |list: &str, name: &str| {
        list.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_default().to_string()
    };
    assert!(list.starts_with("NAME "), "a header row: {list}");
    let header = list.lines().next().unwrap();
    let column = |name: &str| header.find(name).unwrap();
    let rules = row(&list, "rules-router");
    assert_eq!(rules.get(column("ACTIVE")..column("VERSIONS")).map(str::trim), Some("0.1.1"), "{list}");
    let uploaded = cli(&host, &["plugin", "upload", fixtures::ROUTER_V2, "--activate"]);
    assert_eq!(uploaded, "uploaded rules-router@0.2.0\nactivated\n");
    assert!(row(&cli(&host, &["plugin", "list"]), "rules-router").ends_with("0.1.1, 0.2.0"));
    let listed: serde_json::Value = serde_json::from_str(&cli(&host, &["plugin", "list", "--json"])).unwrap();
    assert!(listed.as_array().unwrap().iter().any(|p| p["name"] == "rules-router" && p["active"] == "0.2.0"));

    let id = appeal_id(&host.telegram(&telegram_update(1, 1, "Хочу вернуть товар")).await);
    let listed = cli(&host, &["appeals", "list", "--status", "routed"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert!(lines[0].starts_with("ID ") && lines[0].contains("QUEUE"), "{listed}");
    assert!(lines[1].starts_with(&id) && lines[1].contains("priority-desk"), "{listed}");
    assert_eq!(cli(&host, &["appeals", "list", "--quiet"]).trim(), id);
    let page: serde_json::Value = serde_json::from_str(&cli(&host, &["appeals", "list", "--json"])).unwrap();
    assert_eq!(page["items"][0]["id"], id.as_str());
    let shown: serde_json::Value = serde_json::from_str(&cli(&host, &["appeals", "show", &id])).unwrap();
    assert_eq!(shown["id"], id.as_str());

    let rolled = cli(&host, &["plugin", "rollback", "rules-router"]);
    assert_eq!(rolled.trim(), "rules-router: rolled back from 0.2.0 to 0.1.1; active 0.1.1");

    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), r#"{"default_queue":"inbox"}"#).unwrap();
    cli(&host, &["plugin", "config", "rules-router", config.path().to_str().unwrap()]);
    let id = appeal_id(&host.telegram(&telegram_update(2, 2, "Просто вопрос")).await);
    assert_eq!(host.appeal(&id).await.decision.unwrap().queue, "inbox");
}

#[tokio::test(flavor = "multi_thread")]
async fn reply_resolve_and_allow_hosts_commands() {
    let api = crate::platform::Platform::start(
        vec![],
        serde_json::json!({"ok": true, "result": {"message_id": 3}}),
    )
    .await;
    let host = Host::start();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), format!(r#"{{"bot_token":"1:tok","api_base":"{}"}}"#, api.base)).unwrap();
    cli(&host, &["plugin", "config", "telegram", config.path().to_str().unwrap()]);
    let allowed: serde_json::Value =
        serde_json::from_str(&cli(&host, &["plugin", "allow-hosts", "telegram", &api.base])).unwrap();
    assert_eq!(allowed["extra_hosts"][0], api.base.as_str());

    let id = appeal_id(&host.telegram(&telegram_update(3, 3, "Вопрос")).await);
    let queued = cli(&host, &["appeals", "reply", &id, "Ответ"]);
    assert!(queued.starts_with("reply ") && queued.trim_end().ends_with(" queued"), "{queued}");
    crate::platform::wait_for_reply(&host, &id, "sent").await;
    assert_eq!(api.received()[0].json()["text"], "Ответ");
    assert!(
        cli(&host, &["appeals", "pause", &id, "--reason", "ждём чек"]).starts_with(&format!("{id} paused "))
    );
    assert!(cli(&host, &["appeals", "resume", &id]).starts_with(&format!("{id} routed ")));
    assert!(cli(&host, &["appeals", "resolve", &id]).starts_with(&format!("{id} resolved ")));
    assert!(cli(&host, &["appeals", "reopen", &id]).starts_with(&format!("{id} routed ")));
}

/// The CLI's stderr and success for `args` run from `dir`, with `env` set.
fn cli_failing(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_clienthub"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("CLIENTHUB_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!output.status.success(), "clienthub {args:?} should fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_one_line_that_say_where_the_cli_looked() {
    let host = Host::start();
    let dir = tempfile::tempdir().unwrap();
    // No token anywhere: the refusal says where to put one, in one line, even when a backtrace
    // is asked of Rust.
    let refused =
        cli_failing(dir.path(), &["plugin", "list", "--server", &host.base], &[("RUST_BACKTRACE", "1")]);
    assert_eq!(refused.lines().count(), 1, "{refused}");
    assert!(refused.starts_with("clienthub: HTTP 401"), "{refused}");
    assert!(refused.contains("--token") && refused.contains("clienthub-data/admin-token"), "{refused}");
    assert!(refused.contains("--data-dir"), "{refused}");
    // A token read from ./clienthub-data/admin-token is named when it is refused.
    std::fs::create_dir(dir.path().join("clienthub-data")).unwrap();
    std::fs::write(dir.path().join("clienthub-data/admin-token"), "not-the-token\n").unwrap();
    let wrong = cli_failing(dir.path(), &["plugin", "list", "--server", &host.base], &[]);
    assert!(wrong.contains("the token from ./clienthub-data/admin-token was refused"), "{wrong}");
    // Nothing listening: it says it cannot reach the host, where it looked, and why.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = format!("http://127.0.0.1:{port}");
    let unreachable = cli_failing(dir.path(), &["plugin", "list", "--server", &server], &[]);
    assert_eq!(unreachable.lines().count(), 1, "{unreachable}");
    assert!(unreachable.contains(&format!("cannot reach ClientHub at {server}")), "{unreachable}");
    assert!(unreachable.to_lowercase().contains("refused"), "{unreachable}");
    let nowhere =
        cli_failing(dir.path(), &["plugin", "list", "--server", "http://no-such-host.invalid:8080"], &[]);
    assert!(nowhere.contains("cannot reach ClientHub") && nowhere.contains("dns"), "{nowhere}");
}
