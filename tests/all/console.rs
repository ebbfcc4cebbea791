//! The web console in headless Chromium (tests/browser/console.mjs through playwright-core):
//! log in, an appeal arriving after a webhook, a reply that reaches the Telegram stand-in, a
//! directory edit that routes the next appeal, activation and rollback, a viewer without
//! controls. `CLIENTHUB_SCREENSHOTS=DIR` keeps a screenshot of each page there.

use crate::platform::Platform;
use crate::support::*;
use clienthub_artifacts::fixtures;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Installs Debian's chromium and playwright-core once (tests/browser/setup).
fn browser_tools() {
    static SETUP: std::sync::Once = std::sync::Once::new();
    let browser = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    SETUP.call_once(|| {
        let status = Command::new(browser.join("setup")).status().expect("running tests/browser/setup");
        assert!(status.success(), "tests/browser/setup could not install chromium or playwright-core");
    });
}

/// Runs `tests/browser/{script}` in headless Chromium against `host` with `env` (plus
/// `CLIENTHUB_URL` and `CLIENTHUB_SCREENSHOTS`), fails the test when it fails, and answers the
/// directory its screenshots went to (`CLIENTHUB_SCREENSHOTS` of the test run, else the host's).
pub async fn run_browser(host: &Host, script: &str, env: &[(&str, String)]) -> std::path::PathBuf {
    browser_tools();
    let shots = match std::env::var_os("CLIENTHUB_SCREENSHOTS") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => host.dir.join("screenshots"),
    };
    std::fs::create_dir_all(&shots).unwrap();
    let mut node = Command::new("node");
    node.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser").join(script))
        .env("CLIENTHUB_URL", &host.base)
        .env("CLIENTHUB_SCREENSHOTS", &shots)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    // Platform stand-ins answer on this runtime while node runs on a blocking thread.
    let run = tokio::task::spawn_blocking(move || node.output().expect("running node")).await.unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    println!("{stdout}");
    assert!(run.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    shots
}

/// Every page's screenshot is there and a real picture.
pub fn assert_screenshots(shots: &Path, pages: &[&str]) {
    for page in pages {
        let png = std::fs::read(shots.join(format!("{page}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot of {page}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_drives_the_whole_flow_in_a_real_browser() {
    let host = Host::start();
    host.import_directory().await;
    let bot_api = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 4242}})).await;
    crate::platform::telegram_through(&host, &bot_api).await;
    assert_eq!(host.upload(fixtures::ROUTER_V2).await.status, 201);
    let issued = json!({"role": "viewer", "name": "Наблюдатель"});
    let viewer = host.api.send_json("POST", "/api/tokens", &issued).await.unwrap();
    let env = [
        ("CLIENTHUB_ADMIN_TOKEN", TOKEN.to_string()),
        ("CLIENTHUB_VIEWER_TOKEN", viewer["token"].as_str().unwrap().to_string()),
        ("CLIENTHUB_UPLOAD", fixtures::TRAP_ROUTER.to_string()),
        ("CLIENTHUB_TELEGRAM_SECRET", host.telegram_secret().await),
    ];
    let shots = run_browser(&host, "console.mjs", &env).await;

    let sent = bot_api.received();
    let reply = sent.iter().find(|r| r.path.ends_with("/sendMessage")).expect("a sendMessage call");
    assert_eq!(reply.json()["text"], "Оформим возврат сегодня", "the reply typed in the console");
    assert_screenshots(&shots, &["login", "inbox", "appeal", "directory", "plugins", "plugin", "sla"]);
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["router"], "rules-router@0.1.1");
    let uploaded = host.api.get_json("/api/plugins/trap-router").await.unwrap();
    assert!(uploaded["active"].is_null(), "uploaded, not activated: {uploaded}");
}
