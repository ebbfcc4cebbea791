//! Attachments' files (issue 18): each channel's fetch against a stand-in speaking its
//! documented API, the attachment store, serving with ranges and scope, the cap, erasure.

use crate::platform::{Platform, Received, Scripted, file_body};
use crate::support::{Host, appeal_id, eventually, fixture};
use clienthub::client::Client;
use serde_json::{Value, json};
use std::sync::Arc;

/// Polls the appeal until attachment `n`'s file is no longer pending; its record.
async fn file_settled(host: &Host, id: &str, n: u64) -> Value {
    eventually(&format!("file {n} of {id} settles"), async || {
        let appeal = host.appeal_json(id).await;
        let file = appeal["files"].as_array().and_then(|f| f.iter().find(|f| f["n"] == n).cloned());
        file.filter(|f| f["state"] != "pending")
    })
    .await
}

/// Bytes that look like nothing but themselves.
fn pseudo_file(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn directory() -> Value {
    json!({
        "regions": [{"id": "kzn", "name": "Казань", "cities": ["Казань"]}, {"id": "msk", "name": "Москва", "cities": ["Москва"]}],
        "departments": [{"id": "service", "name": "Сервис", "queue": "service"}, {"id": "returns", "name": "Возвраты", "queue": "returns"}],
        "employees": [
            {"id": "rustam", "name": "Рустам", "department": "service", "regions": ["kzn"]},
            {"id": "olga", "name": "Ольга", "department": "returns", "regions": ["msk"]}
        ],
        "topics": [{"id": "repair", "name": "Ремонт", "keywords": ["кран"], "department": "service"}]
    })
}

async fn person(host: &Host, employee: &str) -> Client {
    let body = json!({"role": "operator", "employee": employee});
    let issued = host.api.send_json("POST", "/api/tokens", &body).await.unwrap();
    Client::new(&host.base, Some(issued["token"].as_str().unwrap().to_string()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_telegram_photo_is_fetched_kept_served_in_ranges_to_its_scope_and_erased() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let photo = pseudo_file(70_000, 7);
    let served = photo.clone();
    let bot_api = Platform::serve(Arc::new(move |r: &Received| -> Scripted {
        match r.path.as_str() {
            "/bot123456:ABC-def/getFile" => (
                200,
                vec![],
                json!({"ok": true, "result": {
                "file_id": "AgACAgIAAxkBAAIBZ2VhLWlarge", "file_unique_id": "AQADs2", "file_size": 70000,
                "file_path": "photos/file_7.jpg"}}),
            ),
            "/file/bot123456:ABC-def/photos/file_7.jpg" => {
                (200, vec![("content-type", "image/jpeg".into())], file_body(&served))
            }
            _ => (404, vec![], json!({"ok": false, "error_code": 404, "description": "Not Found"})),
        }
    }))
    .await;
    crate::platform::telegram_through(&host, &bot_api).await;
    let update = json!({"update_id": 9101, "message": {"message_id": 77, "date": 1763900000,
        "from": {"id": 5501, "is_bot": false, "first_name": "Мария"}, "chat": {"id": 5501, "type": "private"},
        "caption": "Казань: течёт кран, фото приложила, телефон +7 912 555-01-01",
        "photo": [{"file_id": "AgACAgIAAxkBAAIBZ2VhLWsmall", "file_unique_id": "AQADs1", "file_size": 1254, "width": 90, "height": 67},
                  {"file_id": "AgACAgIAAxkBAAIBZ2VhLWlarge", "file_unique_id": "AQADs2", "file_size": 70000, "width": 1280, "height": 960}]}});
    let id = appeal_id(&host.telegram(update.to_string().as_bytes()).await);
    let file = file_settled(&host, &id, 1).await;
    assert_eq!(
        (&file["state"], &file["size"], &file["mime_type"]),
        (&json!("stored"), &json!(70000), &json!("image/jpeg")),
        "{file}"
    );
    let calls = bot_api.received();
    let get_file = calls.iter().find(|r| r.path.ends_with("/getFile")).expect("a getFile call");
    assert_eq!(get_file.method, "GET");
    let appeal = host.appeal_json(&id).await;
    assert!(appeal["history"].as_array().unwrap().iter().any(|e| e["stage"] == "file_stored"), "{appeal}");

    let whole = host.api.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap();
    assert_eq!(whole.status, 200);
    assert_eq!(&whole.body[..], &photo[..], "the very bytes Telegram served");
    assert_eq!(whole.header("content-type"), Some("image/jpeg"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        whole.header("content-disposition"),
        Some("inline; filename=\"photo-1.jpg\"; filename*=UTF-8''photo-1.jpg")
    );
    let part = host
        .api
        .request("GET", &format!("/api/appeals/{id}/attachments/1"), &[("range", "bytes=100-199")], None)
        .await
        .unwrap();
    assert_eq!((part.status, part.header("content-range")), (206, Some("bytes 100-199/70000")));
    assert_eq!(&part.body[..], &photo[100..200]);
    let tail = host
        .api
        .request("GET", &format!("/api/appeals/{id}/attachments/1"), &[("range", "bytes=-10")], None)
        .await
        .unwrap();
    assert_eq!((tail.status, &tail.body[..]), (206, &photo[69_990..]));
    let beyond = host
        .api
        .request("GET", &format!("/api/appeals/{id}/attachments/1"), &[("range", "bytes=70000-")], None)
        .await
        .unwrap();
    assert_eq!((beyond.status, beyond.header("content-range")), (416, Some("bytes */70000")));
    assert_eq!(
        host.api.send("GET", &format!("/api/appeals/{id}/attachments/2"), None).await.unwrap().status,
        404
    );

    // Scope: the Kazan service operator sees it, the Moscow returns operator is refused.
    let (rustam, olga) = (person(&host, "rustam").await, person(&host, "olga").await);
    assert_eq!(
        rustam.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap().status,
        200
    );
    assert_eq!(
        olga.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap().status,
        403
    );
    assert_eq!(
        host.anonymous.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap().status,
        401
    );

    // Erasure of the person deletes the file from the store.
    assert_eq!(kept_files(&host.dir), 1);
    let erase = json!({"contact": "telegram:5501"});
    host.api.send_json("POST", "/api/contacts/erase", &erase).await.unwrap();
    assert_eq!(kept_files(&host.dir), 0, "the photo is gone from disk");
    let after = host.api.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap();
    assert_eq!(after.status, 404);
}

/// Files in the attachment store of the data dir `dir` (its `tmp/` aside).
fn kept_files(dir: &std::path::Path) -> usize {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            match entry.path().is_dir() {
                true => walk(&entry.path(), out),
                false => out.push(entry.path()),
            }
        }
    }
    let store = dir.join("attachments");
    let mut files = Vec::new();
    walk(&store, &mut files);
    files.iter().filter(|p| !p.strip_prefix(&store).unwrap().starts_with("tmp")).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn whatsapp_media_goes_id_then_url_with_the_bearer_token() {
    use hmac::Mac;
    let host = Host::start();
    let image = pseudo_file(30_000, 3);
    let (served, base) = (image.clone(), Arc::new(std::sync::Mutex::new(String::new())));
    let url_base = base.clone();
    let graph = Platform::serve(Arc::new(move |r: &Received| -> Scripted {
        match r.path.as_str() {
            // The media URL names the stand-in (a real one is on lookaside.fbsbx.com).
            "/v21.0/1003383421387256" => (200, vec![], json!({"messaging_product": "whatsapp",
                "url": format!("{}/whatsapp_business/attachments/?mid=1003383421387256", url_base.lock().unwrap()),
                "mime_type": "image/jpeg", "sha256": "O9YbwfE5yRYYLy4Lhk0mOIYvCIcbsc5ZBgrl4VYYvxE=",
                "file_size": "30000", "id": "1003383421387256"})),
            "/whatsapp_business/attachments/" => (200, vec![("content-type", "image/jpeg".into())], file_body(&served)),
            _ => (400, vec![], json!({"error": {"message": "Unsupported get request", "code": 100}})),
        }
    }))
    .await;
    *base.lock().unwrap() = graph.base.clone();
    let config =
        json!({"app_secret": "app-secret-3c9d", "access_token": "EAAG-token", "api_base": graph.base});
    host.api.send_json("PUT", "/api/plugins/whatsapp/config", &config).await.unwrap();
    host.api
        .send_json("PUT", "/api/plugins/whatsapp/outbound-hosts", &json!({"hosts": [graph.base]}))
        .await
        .unwrap();
    let body = fixture("plugins/whatsapp/fixtures/image_reply.json");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"app-secret-3c9d").unwrap();
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let answer =
        host.hook("whatsapp", &[("x-hub-signature-256", &signature)], "application/json", &body).await;
    let id = appeal_id(&answer);
    let file = file_settled(&host, &id, 1).await;
    assert_eq!((&file["state"], &file["size"]), (&json!("stored"), &json!(30000)), "{file}");
    let calls = graph.received();
    assert_eq!(calls.len(), 2, "the media id, then its URL: {calls:?}");
    assert_eq!((calls[0].method.as_str(), calls[0].path.as_str()), ("GET", "/v21.0/1003383421387256"));
    assert!(
        calls.iter().all(|c| c.header("authorization") == Some("Bearer EAAG-token")),
        "both with the bearer token"
    );
    let served = host.api.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap();
    assert_eq!(&served.body[..], &image[..]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zadarma_recording_not_ready_yet_is_asked_again_later() {
    let host = Host::builder().args(&["--clock-control", "--attachment-max-mib", "1"]).start();
    let recording = pseudo_file(200_000, 11);
    let (served, asked, base) = (
        recording.clone(),
        Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        Arc::new(std::sync::Mutex::new(String::new())),
    );
    let (count, link_base) = (asked.clone(), base.clone());
    let api = Platform::serve(Arc::new(move |r: &Received| -> Scripted {
        match r.path.as_str() {
            "/v1/pbx/record/request/" if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => {
                (200, vec![], json!({"status": "error", "message": "Record not found"}))
            }
            "/v1/pbx/record/request/" => (200, vec![], json!({"status": "success",
                "link": format!("{}/v1/pbx/record/download/NjM0/1763881200.123456.mp3", link_base.lock().unwrap()),
                "lifetime_till": "2026-11-23 12:00:00"})),
            "/v1/pbx/record/download/NjM0/1763881200.123456.mp3" => (200, vec![("content-type", "audio/mpeg".into())], file_body(&served)),
            _ => (404, vec![], json!({"status": "error", "message": "not found"})),
        }
    }))
    .await;
    *base.lock().unwrap() = api.base.clone();
    let config = json!({"secret": "test-secret", "api_key": "a1b2c3", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/zadarma/config", &config).await.unwrap();
    host.api
        .send_json("PUT", "/api/plugins/zadarma/outbound-hosts", &json!({"hosts": [api.base]}))
        .await
        .unwrap();
    let body = fixture("plugins/zadarma/fixtures/notify_end.txt");
    let signature = String::from_utf8(fixture("plugins/zadarma/fixtures/notify_end.sig")).unwrap();
    let form = "application/x-www-form-urlencoded";
    let id = appeal_id(&host.hook("zadarma", &[("Signature", signature.trim())], form, &body).await);
    // The first answer is "not found": the file stays pending, with the reason, and is asked
    // again once the adapter's wait has passed.
    eventually("a pbx/record/request call", async || asked.load(std::sync::atomic::Ordering::SeqCst) > 0)
        .await;
    let pending = eventually("the refusal is recorded", async || {
        let file = host.appeal_json(&id).await["files"][0].clone();
        file["error"].is_string().then_some(file)
    })
    .await;
    assert_eq!(pending["state"], "pending", "{pending}");
    assert!(pending["error"].as_str().unwrap().contains("not ready"), "{pending}");
    host.advance_minutes(1).await;
    let file = file_settled(&host, &id, 1).await;
    assert_eq!((&file["state"], &file["mime_type"]), (&json!("stored"), &json!("audio/mpeg")), "{file}");
    let calls = api.received();
    let request = &calls[0];
    assert!(request.header("authorization").unwrap().starts_with("a1b2c3:"), "signed with the key");
    let served = host.api.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap();
    assert_eq!(&served.body[..], &recording[..]);
    assert!(served.header("content-disposition").unwrap().starts_with("inline;"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_over_the_cap_is_refused_and_the_refusal_recorded() {
    let host = Host::builder().args(&["--attachment-max-mib", "1"]).start();
    let big = pseudo_file(1_500_000, 5);
    let bot_api = Platform::serve(Arc::new(move |r: &Received| -> Scripted {
        match r.path.ends_with("/getFile") {
            true => (200, vec![], json!({"ok": true, "result": {"file_id": "BQACAgIAAxkBAAIB", "file_path": "documents/file_9.pdf"}})),
            false => (200, vec![("content-type", "application/pdf".into())], file_body(&big)),
        }
    }))
    .await;
    crate::platform::telegram_through(&host, &bot_api).await;
    let update = json!({"update_id": 9201, "message": {"message_id": 78, "date": 1763900000,
        "from": {"id": 5502, "is_bot": false, "first_name": "Пётр"}, "chat": {"id": 5502, "type": "private"},
        "caption": "Чек во вложении",
        "document": {"file_id": "BQACAgIAAxkBAAIB", "file_unique_id": "AgAD9", "file_name": "Чек №5.pdf", "mime_type": "application/pdf", "file_size": 1500000}}});
    let id = appeal_id(&host.telegram(update.to_string().as_bytes()).await);
    let file = file_settled(&host, &id, 1).await;
    assert_eq!((&file["state"], &file["cap"]), (&json!("too_large"), &json!(1_048_576)), "{file}");
    let appeal = host.appeal_json(&id).await;
    let failed = appeal["history"].as_array().unwrap().iter().find(|e| e["stage"] == "file_failed").cloned();
    assert!(
        failed.is_some_and(|e| e["detail"].as_str().unwrap().contains("документ 1: больше 1.0 MiB")),
        "{appeal}"
    );
    let served = host.api.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap();
    assert_eq!(served.status, 404);
    assert!(String::from_utf8_lossy(&served.body).contains("file_unavailable"));
    assert_eq!(kept_files(&host.dir), 0, "nothing of it kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn e_mail_parts_come_from_the_kept_message_and_mango_recordings_through_the_redirect() {
    let host = Host::start();
    // An e-mail with a PDF part.
    let pdf = b"%PDF-1.4 contract body";
    let mail = format!(
        "From: Ivan <ivan@example.ru>\r\nTo: support@shop.example\r\nSubject: =?UTF-8?B?0JTQvtCz0L7QstC+0YA=?=\r\n\
         Message-ID: <m1@example.ru>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nДоговор во вложении\r\n\
         --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80.pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(pdf)
        }
    );
    let id = appeal_id(&host.hook_with_key("email", "message/rfc822", mail.as_bytes()).await);
    let file = file_settled(&host, &id, 1).await;
    assert_eq!((&file["state"], &file["file_name"]), (&json!("stored"), &json!("Договор.pdf")), "{file}");
    let served = host.api.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap();
    assert_eq!(&served.body[..], pdf);
    assert_eq!(served.header("content-type"), Some("application/pdf"));
    assert_eq!(
        served.header("content-disposition"),
        Some(
            "attachment; filename=\"_______.pdf\"; filename*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80.pdf"
        )
    );

    // Erased on request: the file, its name in the appeal and its record, and so in a backup
    // made afterwards (finding 7 of issue 37).
    let erased =
        host.api.send_json("POST", "/api/contacts/erase", &json!({"contact": "ivan@example.ru"})).await;
    assert_eq!(erased.unwrap()["appeals"], 1);
    let shown = host.appeal_json(&id).await.to_string();
    assert!(!shown.contains("Договор"), "{shown}");
    let backup = host.dir.join("after-erasure.chb");
    let path = backup.to_str().unwrap().to_string();
    tokio::task::block_in_place(|| crate::cli::cli(&host, &["backup", "--to", &path]));
    let archive = std::fs::read(&backup).unwrap();
    let name = "Договор".as_bytes();
    assert!(!archive.windows(name.len()).any(|w| w == name), "the file name is in the backup");

    // Mango: queries/recording/post answers a redirect to the file.
    let recording = pseudo_file(50_000, 9);
    let (served, base) = (recording.clone(), Arc::new(std::sync::Mutex::new(String::new())));
    let location = base.clone();
    let api = Platform::serve(Arc::new(move |r: &Received| -> Scripted {
        match r.path.as_str() {
            "/vpbx/queries/recording/post" => (
                302,
                vec![("location", format!("{}/records/MToxMDE0.mp3", location.lock().unwrap()))],
                json!({}),
            ),
            "/records/MToxMDE0.mp3" => (200, vec![("content-type", "audio/mpeg".into())], file_body(&served)),
            _ => (404, vec![], json!({"result": 3105})),
        }
    }))
    .await;
    *base.lock().unwrap() = api.base.clone();
    let config = json!({"api_key": "vpbx-key-1a2b", "api_salt": "vpbx-salt-3c4d", "api_base": api.base});
    host.api.send_json("PUT", "/api/plugins/mango/config", &config).await.unwrap();
    host.api
        .send_json("PUT", "/api/plugins/mango/outbound-hosts", &json!({"hosts": [api.base]}))
        .await
        .unwrap();
    let mut call = None;
    for (kind, name) in [("summary", "summary"), ("recording", "recording")] {
        let body = fixture(&format!("plugins/mango/fixtures/{name}.txt"));
        let answer =
            host.hook(&format!("mango/events/{kind}"), &[], "application/x-www-form-urlencoded", &body).await;
        call.get_or_insert(appeal_id(&answer));
    }
    let id = call.unwrap();
    let file = file_settled(&host, &id, 1).await;
    assert_eq!(file["state"], "stored", "{file}");
    let calls = api.received();
    let post = &calls[0];
    assert_eq!(post.method, "POST");
    let json_field: Value = serde_json::from_str(&post.form("json").unwrap()).unwrap();
    assert_eq!(json_field, json!({"recording_id": "MToxMDE0ODc3OTo0NDI2OTQ3NjQ6MA==", "action": "download"}));
    use sha2::Digest;
    let expected = hex::encode(sha2::Sha256::digest(format!(
        "vpbx-key-1a2b{}vpbx-salt-3c4d",
        post.form("json").unwrap()
    )));
    assert_eq!(post.form("sign").unwrap(), expected, "signed as Mango documents");
    let got = host.api.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap();
    assert_eq!(&got.body[..], &recording[..]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vk_photo_is_downloaded_from_the_url_in_the_payload_largest_size_first() {
    let host = Host::start();
    let config = json!({"confirmation": "a1b2c3d4", "secret": "vk-secret-7f3a", "group_id": 218765432});
    host.api.send_json("PUT", "/api/plugins/vk/config", &config).await.unwrap();
    let photo = pseudo_file(40_000, 21);
    let served = photo.clone();
    let cdn = Platform::serve(Arc::new(move |r: &Received| -> Scripted {
        match r.path.as_str() {
            "/s/v1/ig2/large.jpg" => (200, vec![("content-type", "image/jpeg".into())], file_body(&served)),
            _ => (404, vec![], json!({})),
        }
    }))
    .await;
    host.api.send_json("PUT", "/api/plugins/vk/outbound-hosts", &json!({"hosts": [cdn.base]})).await.unwrap();
    let body = String::from_utf8(fixture("plugins/vk/fixtures/message_new.json"))
        .unwrap()
        .replace("https://sun9-1.userapi.com", &cdn.base);
    let id = appeal_id(&host.hook("vk", &[], "application/json", body.as_bytes()).await);
    let file = file_settled(&host, &id, 1).await;
    assert_eq!(file["state"], "stored", "{file}");
    assert_eq!(cdn.received().iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), ["/s/v1/ig2/large.jpg"]);
    let got = host.api.send("GET", &format!("/api/appeals/{id}/attachments/1"), None).await.unwrap();
    assert_eq!(&got.body[..], &photo[..]);
}

/// A 4×4 PNG (red), made here: the browser must decode it.
fn png() -> Vec<u8> {
    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut crc = crc32(kind);
        crc = crc32_continue(crc, data);
        [&(data.len() as u32).to_be_bytes()[..], kind, data, &crc.to_be_bytes()].concat()
    }
    let ihdr = [&4u32.to_be_bytes()[..], &4u32.to_be_bytes(), &[8, 2, 0, 0, 0]].concat();
    let raw: Vec<u8> = (0..4).flat_map(|_| [0u8].into_iter().chain([255u8, 0, 0].repeat(4))).collect();
    // Stored (uncompressed) deflate block in a zlib stream, with its Adler-32.
    let (mut a, mut b) = (1u32, 0u32);
    for byte in &raw {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    let len = raw.len() as u16;
    let zlib = [
        &[0x78, 0x01, 0x01][..],
        &len.to_le_bytes(),
        &(!len).to_le_bytes(),
        &raw,
        &((b << 16) | a).to_be_bytes(),
    ]
    .concat();
    [&b"\x89PNG\r\n\x1a\n"[..], &chunk(b"IHDR", &ihdr), &chunk(b"IDAT", &zlib), &chunk(b"IEND", &[])].concat()
}

fn crc32(data: &[u8]) -> u32 {
    crc32_continue(0, data)
}

fn crc32_continue(crc: u32, data: &[u8]) -> u32 {
    let mut crc = !crc;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// One second of silence as a WAV file (8 kHz, mono, 16 bits).
fn wav() -> Vec<u8> {
    let data = vec![0u8; 16_000];
    let format = [
        &1u16.to_le_bytes()[..],
        &1u16.to_le_bytes(),
        &8000u32.to_le_bytes(),
        &16_000u32.to_le_bytes(),
        &2u16.to_le_bytes(),
        &16u16.to_le_bytes(),
    ]
    .concat();
    let body = [
        &b"WAVE"[..],
        b"fmt ",
        &16u32.to_le_bytes(),
        &format,
        b"data",
        &(data.len() as u32).to_le_bytes(),
        &data,
    ]
    .concat();
    [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat()
}

#[tokio::test(flavor = "multi_thread")]
async fn in_the_browser_the_photo_shows_and_the_voice_message_plays() {
    let host = Host::start();
    let (photo, voice) = (png(), wav());
    let bot_api = Platform::serve(Arc::new(move |r: &Received| -> Scripted {
        let file = |p: &str| (200, vec![], json!({"ok": true, "result": {"file_id": "x", "file_path": p}}));
        match (r.path.rsplit('/').next().unwrap_or_default(), r.query.as_str()) {
            ("getFile", "file_id=AgACAgIAAxkBAAIPhoto") => file("photos/file_1.png"),
            ("getFile", "file_id=AwACAgIAAxkBAAIVoice") => file("voice/file_2.wav"),
            ("file_1.png", _) => (200, vec![("content-type", "image/png".into())], file_body(&photo)),
            ("file_2.wav", _) => (200, vec![("content-type", "audio/wav".into())], file_body(&voice)),
            _ => (
                400,
                vec![],
                json!({"ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"}),
            ),
        }
    }))
    .await;
    crate::platform::telegram_through(&host, &bot_api).await;
    let message = |update: u64, body: Value| {
        let mut message = json!({"message_id": update, "date": 1763900000,
            "from": {"id": 5601, "is_bot": false, "first_name": "Мария"}, "chat": {"id": 5601, "type": "private"}});
        message.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        json!({"update_id": update, "message": message}).to_string()
    };
    let photo_update = message(
        9301,
        json!({"caption": "Сломан автомат 4521, фото",
        "photo": [{"file_id": "AgACAgIAAxkBAAIPhoto", "file_unique_id": "p1", "width": 4, "height": 4}]}),
    );
    let id = appeal_id(&host.telegram(photo_update.as_bytes()).await);
    // The voice message follows in the same chat: it joins the appeal, and its file is fetched too.
    let voice_update = message(
        9302,
        json!({"voice": {"file_id": "AwACAgIAAxkBAAIVoice", "file_unique_id": "v1",
        "duration": 1, "mime_type": "audio/ogg", "file_size": 16044}}),
    );
    assert_eq!(appeal_id(&host.telegram(voice_update.as_bytes()).await), id);
    for n in [1, 2] {
        let file = file_settled(&host, &id, n).await;
        assert_eq!(file["state"], "stored", "{file}");
    }
    let env =
        [("CLIENTHUB_ADMIN_TOKEN", crate::support::TOKEN.to_string()), ("CLIENTHUB_APPEAL", id.clone())];
    let shots = crate::console::run_browser(&host, "media.mjs", &env).await;
    crate::console::assert_screenshots(&shots, &["attachments", "photo-viewer"]);
}
