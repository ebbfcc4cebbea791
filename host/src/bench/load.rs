//! The load the throughput runs send: a realistic mix of signed webhooks (Telegram, VK post
//! comments, WhatsApp, site forms) offered closed-loop over parallel connections or open-loop
//! at a fixed rate, and the channel secrets the bench host is configured with.

use crate::client::Client;
use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;

/// The directory, and the channel secrets real deployments set (so checks run as in production).
pub(super) async fn configure(client: &Client) -> Result<()> {
    let directory: serde_json::Value = serde_json::from_str(super::SAMPLE_DIRECTORY)?;
    client.send_json("PUT", "/api/directory", &directory).await?;
    for (plugin, config) in [
        ("vk", serde_json::json!({"secret": VK_SECRET, "group_id": VK_GROUP})),
        ("whatsapp", serde_json::json!({"app_secret": WHATSAPP_SECRET})),
        ("telegram", serde_json::json!({"secret_token": TELEGRAM_SECRET})),
        ("webform", serde_json::json!({"api_key": FORM_KEY})),
    ] {
        let answer = client.send_json("PUT", &format!("/api/plugins/{plugin}/config"), &config).await?;
        anyhow::ensure!(answer["active"].is_string(), "configuring {plugin}: {answer}");
    }
    Ok(())
}

/// Sends `count` mixed webhooks over `connections` parallel keep-alive connections, spread
/// over `clients` (the nodes of a cluster) in turn.
pub(super) async fn offer(
    clients: &[Client],
    first_id: usize,
    count: usize,
    connections: usize,
) -> Result<(usize, usize)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for connection in 0..connections {
        let client = clients[connection % clients.len()].clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0, 0);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    break;
                }
                match send_mixed(&client, first_id + i).await {
                    Ok(200) => ok += 1,
                    _ => failed += 1,
                }
            }
            (ok, failed)
        }));
    }
    let mut totals = (0, 0);
    for worker in workers {
        let (ok, failed) = worker.await?;
        totals.0 += ok;
        totals.1 += failed;
    }
    Ok(totals)
}

/// Offers requests at a fixed rate (open loop: latency counts from the scheduled send time).
pub(super) async fn fixed_rate(
    client: &Client,
    first_id: usize,
    rate: u32,
    seconds: u32,
) -> Result<Vec<Duration>> {
    let total = (rate * seconds) as usize;
    let interval = Duration::from_secs(1) / rate;
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval * i as u32;
        tokio::time::sleep_until(scheduled).await;
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let status = send_mixed(&client, first_id + i).await;
            status.ok().filter(|s| *s == 200).map(|_| scheduled.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.push(task.await?.context("a request failed during the latency run")?);
    }
    latencies.sort();
    Ok(latencies)
}

/// Sends webhook number `i` of the mix; returns the HTTP status.
pub(super) async fn send_mixed(client: &Client, i: usize) -> Result<u16> {
    let (channel, headers, content_type, body) = mixed_request(i);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let answer =
        client.request("POST", &format!("/hooks/{channel}"), &headers, Some((content_type, body))).await?;
    Ok(answer.status)
}

const VK_SECRET: &str = "bench-vk-secret";
const VK_GROUP: u64 = 218765432;
const WHATSAPP_SECRET: &str = "bench-meta-app-secret";
pub(super) const TELEGRAM_SECRET: &str = "bench-telegram-secret";
const FORM_KEY: &str = "bench-form-key";

/// A realistic mix per 10 requests: 3 Telegram messages, 3 VK post comments (one of them
/// contest noise the filter drops), 2 WhatsApp messages signed as Meta signs them, a JSON form
/// and a Tilda (urlencoded) form.
fn mixed_request(i: usize) -> (&'static str, Vec<(&'static str, String)>, &'static str, Vec<u8>) {
    const JSON: &str = "application/json";
    match i % 10 {
        0..=2 => (
            "telegram",
            vec![("x-telegram-bot-api-secret-token", TELEGRAM_SECRET.into())],
            JSON,
            telegram(i, "Хочу вернуть заказ, магазин 112"),
        ),
        3 | 4 => ("vk", vec![], JSON, vk_comment(i, "Где мой заказ? Доставка опаздывает, Казань")),
        5 => ("vk", vec![], JSON, vk_comment(i, "Участвую! #конкурс #розыгрыш")),
        6 | 7 => {
            let body = whatsapp(i, "Здравствуйте, хочу вернуть товар, магазин 101");
            let signature = format!(
                "sha256={}",
                hex::encode(clienthub_sdk::auth::hmac_sha256(WHATSAPP_SECRET.as_bytes(), &body))
            );
            ("whatsapp", vec![("x-hub-signature-256", signature)], JSON, body)
        }
        8 => (
            "webform",
            vec![("x-api-key", FORM_KEY.into())],
            JSON,
            serde_json::json!({"tranid": format!("b{i}"), "name": "Олег", "phone": "8 916 123 45 67",
                "email": "Oleg@Example.com", "message": "Где курьер? Доставка опаздывает", "city": "Москва"})
            .to_string()
            .into_bytes(),
        ),
        _ => (
            "webform",
            vec![("x-api-key", FORM_KEY.into())],
            "application/x-www-form-urlencoded",
            format!("Name=Ivan&Phone=%2B7+916+000-00-00&Comments=refund+please&store=101&tranid=t{i}")
                .into_bytes(),
        ),
    }
}

/// A Telegram `message` update from a private chat.
pub(super) fn telegram(i: usize, text: &str) -> Vec<u8> {
    serde_json::json!({
        "update_id": i,
        "message": {"message_id": i, "date": 1763900000, "text": text,
            "from": {"id": i, "is_bot": false, "first_name": "Bench"},
            "chat": {"id": i, "type": "private"}}
    })
    .to_string()
    .into_bytes()
}

/// A VK Callback API `wall_reply_new` event (a comment under the community's post).
fn vk_comment(i: usize, text: &str) -> Vec<u8> {
    serde_json::json!({
        "group_id": VK_GROUP, "type": "wall_reply_new", "event_id": format!("{i:040x}"), "v": "5.199",
        "object": {"id": i, "from_id": 640000000 + i, "date": 1763901200, "text": text,
            "post_owner_id": -(VK_GROUP as i64), "post_id": 4471, "owner_id": -(VK_GROUP as i64),
            "parents_stack": [], "thread": {"count": 0}},
        "secret": VK_SECRET
    })
    .to_string()
    .into_bytes()
}

/// A WhatsApp Cloud API `messages` notification with one text message.
fn whatsapp(i: usize, text: &str) -> Vec<u8> {
    let from = format!("7916{:07}", i % 10_000_000);
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Bench"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.bench{i}"), "timestamp": "1763901200",
                "type": "text", "text": {"body": text}}]}}]}]
    })
    .to_string()
    .into_bytes()
}
