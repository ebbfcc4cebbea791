//! Delivery to Bitrix24 through the real host and the bitrix24 connector, against the stand-in
//! portal ([`crate::bitrix`]): the appeal arrives as one deal with its funnel, stage and a
//! contact; an outage and a crash between the CRM's answer and the record make no duplicate; a
//! reply written in the CRM leaves through Telegram; a won stage resolves.

use crate::bitrix::{CONNECTOR_VERSION, Fault, TOKEN, bitrix};
use crate::platform::{Platform, wait_for_reply};
use crate::support::*;
use serde_json::{Value, json};

pub async fn delivered(host: &Host, id: &str) -> Appeal {
    let mut appeal = Appeal::default();
    eventually("the appeal is delivered to the CRM", async || {
        appeal = host.appeal(id).await;
        appeal.crm.is_some()
    })
    .await;
    appeal
}

#[tokio::test(flavor = "multi_thread")]
async fn a_routed_appeal_becomes_one_deal_with_funnel_stage_and_responsible_despite_a_rate_limit() {
    let host = Host::start();
    let (_api, portal) = bitrix(&host).await;
    portal.lock().unwrap().faults.push_back(Fault::QueryLimit);
    let update = json!({"update_id": 9601, "message": {"message_id": 9601, "date": 1763900000,
        "from": {"id": 501, "is_bot": false, "first_name": "Анна"}, "chat": {"id": 501, "type": "private"},
        "text": "Хочу вернуть чайник, магазин 101"}});
    let id = appeal_id(&host.telegram(update.to_string().as_bytes()).await);
    let appeal = delivered(&host, &id).await;
    assert_eq!(appeal.crm.as_ref().unwrap().entity, "deal");
    let label = format!("bitrix24@{CONNECTOR_VERSION}");
    assert_eq!(appeal.crm.as_ref().unwrap().connector, label);
    let stages: Vec<String> = stages(&appeal).into_iter().filter(|s| s.starts_with("crm_")).collect();
    assert!(stages.contains(&format!("crm_retry {label}")), "{stages:?}");
    assert_eq!(stages.last().unwrap(), &format!("crm_delivered {label}"));

    let portal = portal.lock().unwrap();
    assert_eq!(portal.deals.len(), 1);
    let deal = &portal.deals[0];
    assert_eq!(appeal.crm.as_ref().unwrap().id, deal["ID"]);
    assert_eq!(deal["CATEGORY_ID"], "2", "a batch command sends values as text");
    assert_eq!(deal["STAGE_ID"], "C2:NEW");
    assert_eq!(deal["SOURCE_ID"], "TELEGRAM");
    assert_eq!(deal["ORIGINATOR_ID"], "clienthub");
    assert_eq!(deal["ORIGIN_ID"], id.as_str());
    assert_eq!(deal["UF_CRM_QUEUE"], appeal.decision.as_ref().unwrap().queue);
    let contact = portal.contacts.iter().find(|c| c["ID"] == deal["CONTACT_ID"]).expect("the deal's contact");
    assert_eq!(contact["IM"], json!([{"VALUE": "501", "VALUE_TYPE": "TELEGRAM"}]), "{contact}");
    assert_eq!(contact["NAME"], "Анна");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_holds_everything_and_a_crash_after_the_crm_answered_makes_no_duplicate() {
    let host = Host::start();
    let (_api, portal) = bitrix(&host).await;
    portal.lock().unwrap().down = true;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(appeal_id(&host.telegram(&telegram_update(9700 + n, 700 + n, "Где мой заказ?")).await));
    }
    eventually("the CRM is tried while it is down", async || portal.lock().unwrap().refused > 0).await;
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["crm_outbox"], 3, "held while the CRM is down");
    assert!(portal.lock().unwrap().deals.is_empty());
    portal.lock().unwrap().down = false;
    for id in &ids {
        delivered(&host, id).await;
    }

    // The CRM creates the deal but the answer is lost (a 500 here, a crash of the host in
    // real life): the next attempt finds the deal by ORIGIN_ID instead of creating another.
    portal.lock().unwrap().faults.push_back(Fault::ServeThen500);
    let lost = appeal_id(&host.telegram(&telegram_update(9710, 710, "Где мой заказ?")).await);
    let appeal = delivered(&host, &lost).await;
    let portal = portal.lock().unwrap();
    let deals: Vec<&Value> = portal.deals.iter().filter(|d| d["ORIGIN_ID"] == json!(lost)).collect();
    assert_eq!(deals.len(), 1, "exactly one deal");
    assert_eq!(appeal.crm.as_ref().unwrap().id, deals[0]["ID"]);
    assert_eq!(portal.deals.len(), 4, "one deal per appeal");
    assert_eq!(
        portal.contacts.len(),
        4,
        "a contact per Telegram customer, none twice: {:?}",
        portal.contacts
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_written_in_bitrix24_leaves_through_telegram_and_a_won_stage_resolves() {
    let telegram = Platform::start(vec![], json!({"ok": true, "result": {"message_id": 42}})).await;
    let host = Host::start();
    crate::platform::telegram_through(&host, &telegram).await;
    let (_api, portal) = bitrix(&host).await;
    let id = appeal_id(&host.telegram(&telegram_update(9801, 801, "Хочу вернуть товар")).await);
    let appeal = delivered(&host, &id).await;
    let deal = appeal.crm.as_ref().unwrap().id.as_str().to_string();
    assert_eq!(deal, "7", "the fixtures' events name deal 7 and comment 311");
    // A later message of the customer goes onto the deal's timeline.
    assert_eq!(appeal_id(&host.telegram(&telegram_update(9802, 801, "Чек приложу вечером")).await), id);
    eventually("the follow-up is on the deal's timeline", async || {
        portal.lock().unwrap().comments.iter().any(|c| {
            c["ENTITY_ID"] == json!(deal)
                && c["COMMENT"]
                    .as_str()
                    .unwrap()
                    .starts_with("Клиент (telegram): Чек приложу вечером\n\nClientHub · ")
        })
    })
    .await;
    {
        let mut portal = portal.lock().unwrap();
        portal.comments.push(json!({"ID": "311", "ENTITY_ID": deal, "ENTITY_TYPE": "deal",
            "COMMENT": "/reply Замену привезём завтра", "AUTHOR_ID": "17"}));
    }
    let form = "application/x-www-form-urlencoded";
    let h = &host;
    let event = move |file: &'static str| async move { h.hook("bitrix24", &[], form, &fixture(file)).await };
    let answer = event("plugins/bitrix24/fixtures/timeline_comment_add.txt").await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let sent = wait_for_reply(&host, &id, "sent").await;
    assert_eq!(sent.replies[0].author.as_deref(), Some("Bitrix24 user 17"));
    let call = &telegram.received()[0];
    assert_eq!(call.json()["text"], "Замену привезём завтра");
    assert_eq!(call.json()["chat_id"], 801);

    portal.lock().unwrap().deals[0]["STAGE_ID"] = json!("C2:WON");
    assert_eq!(event("plugins/bitrix24/fixtures/deal_update.txt").await.status, 200);
    let resolved = host.appeal(&id).await;
    assert_eq!(resolved.status.name(), "resolved");
    let last = last_event(&resolved);
    assert_eq!(
        (Some(last.stage()), Some(words(&last).as_str())),
        (Some("resolved"), Some(format!("resolved by bitrix24@{CONNECTOR_VERSION}").as_str()))
    );

    let forged = String::from_utf8(fixture("plugins/bitrix24/fixtures/deal_update.txt"))
        .unwrap()
        .replace(TOKEN, "guess");
    let refused = host.hook("bitrix24", &[], form, forged.as_bytes()).await;
    assert_eq!(refused.status, 401);
}
