//! An operator's shift in one window (issue 38), in headless Chromium at 1366×768
//! (tests/browser/shift.mjs): thirty appeals taken, noted, answered from a ready answer, checked
//! off and resolved, each time the next by deadline; the list shows at least twelve rows, the
//! conversation and the composer stand together without scrolling, nothing scrolls sideways,
//! no English phrase of the host's reaches the page, and the browser logs no error. The three
//! panes are photographed at 1366×768 and 1920×1080; with `CLIENTHUB_UPDATE_SCREENSHOTS=1` the
//! pictures are also written to docs/screenshots/.

use crate::platform::Platform;
use crate::support::*;
use serde_json::json;
use std::path::Path;

/// Appeals in the shift.
const SHIFT: i64 = 30;

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_s_shift_of_thirty_appeals_in_one_window_at_1366x768() {
    let host = Host::start();
    let mut directory = crate::workspace::directory();
    // Repairs are to be taken within half an hour and done within four.
    directory["topics"][1]["reaction_minutes"] = json!(30);
    directory["topics"][1]["resolution_minutes"] = json!(240);
    host.api.send_json("PUT", "/api/directory", &directory).await.unwrap();
    let templates = json!([
        {"id": "hello", "name": "Приветствие", "text": "Здравствуйте, {{customer}}! Обращение {{appeal}}: мастер приедет завтра."}
    ]);
    host.api.send_json("PUT", "/api/templates", &templates).await.unwrap();
    let bot_api = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 4242}})).await;
    crate::platform::telegram_through(&host, &bot_api).await;
    let password = "рабочий пароль 2026";
    let invitation = crate::people::invite(&host, "rustam", "operator").await;
    assert_eq!(crate::people::accept(&host, &invitation, password).await.status, 200);
    // A shift's worth of leaks and breakages in Kazan, arriving before the operator signs in.
    let names =
        ["Мария", "Алексей", "Светлана", "Игорь", "Наталья", "Дмитрий", "Елена", "Сергей", "Ольга", "Павел"];
    let troubles =
        ["течёт кран на кухне", "не закрывается кран в ванной", "капает кран в душе", "сломался кран"];
    for n in 0..SHIFT {
        let (id, name) = (71_000 + n, names[n as usize % names.len()]);
        let text = format!("Казань: {}, ул. Баумана, дом {}", troubles[n as usize % troubles.len()], n + 1);
        let body = json!({"update_id": id, "message": {"message_id": id, "date": 1763900000, "text": text,
            "from": {"id": id, "is_bot": false, "first_name": name}, "chat": {"id": id, "type": "private"}}});
        assert_eq!(host.telegram(body.to_string().as_bytes()).await.status, 200);
    }

    let env = [
        ("CLIENTHUB_TELEGRAM_SECRET", host.telegram_secret().await),
        ("CLIENTHUB_LOGIN", "rustam".to_string()),
        ("CLIENTHUB_PASSWORD", password.to_string()),
        ("CLIENTHUB_SHIFT", SHIFT.to_string()),
    ];
    let shots = crate::console::run_browser(&host, "shift.mjs", &env).await;
    let pages = ["desk-1366-list", "desk-1366", "desk-1920"];
    crate::console::assert_screenshots(&shots, &pages);
    let resolved = host.appeals("&status=resolved").await;
    assert_eq!(resolved.len(), SHIFT as usize, "every appeal of the shift resolved");
    let sent = bot_api.received().iter().filter(|r| r.path.ends_with("/sendMessage")).count();
    assert_eq!(sent, SHIFT as usize, "each answered once");
    if std::env::var_os("CLIENTHUB_UPDATE_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        for page in pages {
            std::fs::copy(shots.join(format!("{page}.png")), docs.join(format!("{page}.png"))).unwrap();
        }
    }
}
