//! VK and WhatsApp webhooks through the real host: handshakes answered as each platform
//! expects, signatures enforced, contest comments dropped.

use crate::support::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn vk_confirmation_messages_and_contest_comments() {
    let host = Host::start();
    let config = json!({"confirmation": "a1b2c3d4", "secret": "vk-secret-7f3a", "group_id": 218765432});
    host.api.send_json("PUT", "/api/plugins/vk/config", &config).await.unwrap();
    let confirm =
        host.hook("vk", &[], "application/json", &fixture("plugins/vk/fixtures/confirmation.json")).await;
    assert_eq!((confirm.status, &confirm.body[..]), (200, &b"a1b2c3d4"[..]));

    let message =
        host.hook("vk", &[], "application/json", &fixture("plugins/vk/fixtures/message_new.json")).await;
    assert_eq!((message.status, &message.body[..]), (200, &b"ok"[..]));
    let appeal = host.appeal(&appeal_id(&message)).await;
    assert_eq!(appeal.status.name(), "routed");
    assert_eq!(appeal.channel, "vk");
    // VK retries the same event_id: still one appeal.
    let again =
        host.hook("vk", &[], "application/json", &fixture("plugins/vk/fixtures/message_new.json")).await;
    assert_eq!(appeal_id(&again), appeal_id(&message));

    let comment =
        host.hook("vk", &[], "application/json", &fixture("plugins/vk/fixtures/wall_reply_new.json")).await;
    let dropped = host.appeal(&appeal_id(&comment)).await;
    assert_eq!(dropped.status.name(), "dropped");
    assert_eq!(words(&last_event(&dropped)), "contest hashtag #конкурс");

    let forged = String::from_utf8(fixture("plugins/vk/fixtures/message_new.json"))
        .unwrap()
        .replace("vk-secret-7f3a", "x");
    assert_eq!(host.hook("vk", &[], "application/json", forged.as_bytes()).await.status, 401);
    assert_eq!(host.appeals("&channel=vk").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn whatsapp_verification_signature_and_messages() {
    use hmac::Mac;
    let host = Host::start();
    let config = json!({"verify_token": "verify-me", "app_secret": "app-secret-3c9d"});
    host.api.send_json("PUT", "/api/plugins/whatsapp/config", &config).await.unwrap();

    let check = host
        .anonymous
        .send(
            "GET",
            "/hooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me",
            None,
        )
        .await
        .unwrap();
    assert_eq!((check.status, &check.body[..]), (200, &b"1158201444"[..]));
    let wrong = host.anonymous.send(
        "GET",
        "/hooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=no",
        None,
    );
    assert_eq!(wrong.await.unwrap().status, 403);

    let body = fixture("plugins/whatsapp/fixtures/image_reply.json");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"app-secret-3c9d").unwrap();
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let unsigned = host.hook("whatsapp", &[], "application/json", &body).await;
    assert_eq!(unsigned.status, 401);
    let answer =
        host.hook("whatsapp", &[("x-hub-signature-256", &signature)], "application/json", &body).await;
    assert_eq!(answer.status, 200);
    let appeal = host.appeal(&appeal_id(&answer)).await;
    assert_eq!(appeal.contact.phone.as_deref(), Some("+79161234567"));
    assert_eq!(appeal.contact.name.as_deref(), Some("Иван"));
    assert_eq!(appeal.attachments[0].kind.name(), "photo");
    assert_eq!(host.appeals("&channel=whatsapp").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn email_in_windows_1251_then_a_koi8r_reply_joins_its_thread() {
    let host = Host::start();
    host.import_directory().await;
    let first = host
        .hook_with_key("email", "message/rfc822", &fixture("plugins/email/fixtures/multipart_1251.eml"))
        .await;
    assert_eq!(first.status, 200);
    let id = appeal_id(&first);
    let appeal = host.appeal(&id).await;
    assert_eq!(appeal.status.name(), "routed");
    assert_eq!(appeal.decision.as_ref().unwrap().topic.as_deref(), Some("refund"), "{appeal:?}");
    assert_eq!(appeal.contact.email.as_deref(), Some("maria.ivanova@example.ru"));
    assert_eq!(appeal.subject.as_deref(), Some("Возврат заказа 55120"));
    assert_eq!(appeal.attachments[0].file_name.as_deref(), Some("Чек №55120.pdf"));

    let reply = host
        .hook_with_key("email", "message/rfc822", &fixture("plugins/email/fixtures/koi8r_reply.eml"))
        .await;
    assert_eq!(appeal_id(&reply), id, "the reply joins the thread's appeal");
    let appeal = host.appeal(&id).await;
    let last = last_event(&appeal);
    assert_eq!(
        (Some(last.stage()), Some(words(&last).as_str())),
        (Some("message"), Some("Добрый день, есть новости по возврату?"))
    );
    assert_eq!(host.appeals("&channel=email").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn postmark_inbound_json_becomes_an_appeal_only_with_its_basic_credentials() {
    use base64::Engine;
    let host = Host::start();
    host.api
        .send_json("PUT", "/api/plugins/email/config", &json!({"inbound_basic_auth": "postmark:s3cret"}))
        .await
        .unwrap();
    let body = fixture("plugins/email/fixtures/postmark_inbound.json");
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("postmark:s3cret"));
    let unsigned = host.hook("email", &[], "application/json", &body).await;
    assert_eq!(unsigned.status, 401);
    let accepted = host.hook("email", &[("authorization", &basic)], "application/json", &body).await;
    let appeal = host.appeal(&appeal_id(&accepted)).await;
    assert_eq!(appeal.contact.email.as_deref(), Some("irina.volkova@example.ru"));
    assert_eq!(appeal.text, "Фото упаковки во вложении.");
    assert_eq!(appeal.attachments[0].file_name.as_deref(), Some("упаковка.jpg"));
    let again = host.hook("email", &[("authorization", &basic)], "application/json", &body).await;
    assert_eq!(appeal_id(&again), appeal.id.as_str(), "Postmark's retry is the same appeal");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_person_on_two_channels_is_one_contact() {
    let host = Host::start();
    // A site form with the phone written the Russian way…
    let form = host
        .hook_with_key(
            "webform",
            "application/x-www-form-urlencoded",
            "Name=Иван&Phone=8+(916)+123-45-67&Comments=Где+заказ?&tranid=77".as_bytes(),
        )
        .await;
    let form_appeal = host.appeal(&appeal_id(&form)).await;
    // …and a WhatsApp message from the same number (wa_id 79161234567).
    let config = json!({"app_secret": "app-secret-3c9d"});
    host.api.send_json("PUT", "/api/plugins/whatsapp/config", &config).await.unwrap();
    let body = fixture("plugins/whatsapp/fixtures/image_reply.json");
    let signature = whatsapp_signature("app-secret-3c9d", &body);
    let whatsapp =
        host.hook("whatsapp", &[("x-hub-signature-256", &signature)], "application/json", &body).await;
    let wa_appeal = host.appeal(&appeal_id(&whatsapp)).await;
    assert_eq!(form_appeal.contact.phone.as_deref(), Some("+79161234567"));
    assert_eq!(wa_appeal.contact_id, form_appeal.contact_id);
    // The API shows the contact's other appeals beside the appeal.
    let shown = host.appeal_json(&wa_appeal.id).await;
    assert_eq!(shown["contact_appeals"][0]["id"], form_appeal.id.as_str());
    assert_eq!(shown["contact_appeals"][0]["channel"], "webform");
    // Someone else is another contact.
    let other = host.telegram(&telegram_update(1, 1, "привет")).await;
    let other = host.appeal(&appeal_id(&other)).await;
    assert_ne!(other.contact_id, form_appeal.contact_id);
    assert_eq!(host.appeal_json(&other.id).await["contact_appeals"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_becomes_an_appeal_its_recording_joins_and_a_missed_call_is_kept() {
    let host = Host::start();
    host.api
        .send_json("PUT", "/api/plugins/zadarma/config", &json!({"secret": "test-secret"}))
        .await
        .unwrap();
    let form = "application/x-www-form-urlencoded";
    let notify = |name: &str| {
        let body = fixture(&format!("plugins/zadarma/fixtures/{name}.txt"));
        let signature = String::from_utf8(fixture(&format!("plugins/zadarma/fixtures/{name}.sig"))).unwrap();
        (body, signature)
    };
    let (end, signature) = notify("notify_end");
    let call = host.hook("zadarma", &[("Signature", &signature)], form, &end).await;
    assert_eq!(call.status, 200);
    let id = appeal_id(&call);
    let (record, signature) = notify("notify_record");
    let recording = host.hook("zadarma", &[("Signature", &signature)], form, &record).await;
    assert_eq!(appeal_id(&recording), id);
    let appeal = host.appeal(&id).await;
    assert_eq!(appeal.contact.phone.as_deref(), Some("+79161234567"));
    assert_eq!(appeal.attachments[0].kind.name(), "call-recording");
    assert_eq!(appeal.attachments.len(), 1, "the recording announced twice is kept once");
    assert_eq!(last_event(&appeal).stage(), "message");

    let (missed, signature) = notify("notify_end_missed");
    let missed = host
        .appeal(&appeal_id(&host.hook("zadarma", &[("Signature", &signature)], form, &missed).await))
        .await;
    assert_eq!(missed.status.name(), "routed", "a missed call is never dropped");
    assert!(missed.metadata.contains(&("missed".to_string(), "true".to_string())));
    assert_eq!(host.hook("zadarma", &[("Signature", "Zm9yZ2Vk")], form, &end).await.status, 401);
    let echo = host.anonymous.send("GET", "/hooks/zadarma?zd_echo=5f1c", None).await.unwrap();
    assert_eq!(&echo.body[..], b"5f1c");
}

#[tokio::test(flavor = "multi_thread")]
async fn mango_summary_on_its_sub_path_then_the_recording() {
    let host = Host::start();
    let config = json!({"api_key": "vpbx-key-1a2b", "api_salt": "vpbx-salt-3c4d"});
    host.api.send_json("PUT", "/api/plugins/mango/config", &config).await.unwrap();
    let form = "application/x-www-form-urlencoded";
    let post = |kind: &'static str, name: &'static str| {
        let body = fixture(&format!("plugins/mango/fixtures/{name}.txt"));
        let path = format!("/hooks/mango/events/{kind}");
        let client = host.anonymous.clone();
        async move { client.request("POST", &path, &[], Some((form, body))).await.unwrap() }
    };
    let call = post("call", "call").await;
    assert_eq!((call.status, call.header("x-clienthub-appeal")), (200, None));
    let summary = post("summary", "summary").await;
    let id = appeal_id(&summary);
    let recording = post("recording", "recording").await;
    assert_eq!(appeal_id(&recording), id);
    let appeal = host.appeal(&id).await;
    assert_eq!(appeal.contact.phone.as_deref(), Some("+79161234567"));
    assert_eq!(last_event(&appeal).stage(), "message");
    assert_eq!(appeal.attachments[0].reference, "mango:MToxMDE0ODc3OTo0NDI2OTQ3NjQ6MA==", "{appeal:?}");
    let missed = host.appeal(&appeal_id(&post("summary", "summary_missed").await)).await;
    assert_eq!(missed.status.name(), "routed");
    assert_eq!(missed.contact_id, appeal.contact_id, "same caller, same contact");
}
