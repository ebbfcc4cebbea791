//! Delivery to Bitrix24 through the real host and the bitrix24 connector, against a stand-in
//! that keeps deals, contacts and comments and speaks Bitrix24's REST shapes (`{"result": …}`,
//! 503 `QUERY_LIMIT_EXCEEDED`): the appeal arrives as one deal with its funnel, stage and
//! responsible; an outage and a crash between the CRM's answer and the record make no
//! duplicate; a reply written in the CRM leaves through Telegram; a won stage resolves.

use crate::platform::{Platform, Received, Scripted, wait_for_reply};
use crate::support::*;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HOOK_PATH: &str = "/rest/1/abc123def/";
const TOKEN: &str = "b24-app-token-51f0";

/// A fault the stand-in answers with instead of serving a call.
#[derive(Clone, Copy)]
enum Fault {
    /// 503 `QUERY_LIMIT_EXCEEDED`.
    QueryLimit,
    /// Creates the deal, then answers 500 (the CRM did it; the caller never learns).
    AddThen500,
}

/// The stand-in portal's state.
#[derive(Default)]
pub struct Portal {
    pub deals: Vec<Value>,
    /// Deal positions by `ORIGIN_ID`, for `crm.deal.list` lookups at load.
    origins: std::collections::HashMap<String, Vec<usize>>,
    contacts: Vec<Value>,
    comments: Vec<Value>,
    faults: VecDeque<Fault>,
    down: bool,
    /// Calls answered with an outage.
    refused: usize,
}

fn ok(result: Value) -> Scripted {
    (200, vec![], json!({ "result": result, "time": { "start": 1763901000.1, "finish": 1763901000.2 } }))
}

impl Portal {
    fn answer(&mut self, call: &Received) -> Scripted {
        if self.down {
            self.refused += 1;
            return (502, vec![], json!({ "error": "Bad Gateway" }));
        }
        let method = call.path.strip_prefix(HOOK_PATH).unwrap_or("").trim_end_matches(".json").to_string();
        let params: Value = serde_json::from_slice(&call.body).unwrap_or_default();
        let fault = self.faults.front().copied();
        if let Some(Fault::QueryLimit) = fault {
            self.faults.pop_front();
            return (
                503,
                vec![],
                json!({ "error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests" }),
            );
        }
        match method.as_str() {
            "crm.deal.list" => {
                let origin = params["filter"]["ORIGIN_ID"].as_str().unwrap_or("");
                let found: Vec<Value> = self
                    .origins
                    .get(origin)
                    .into_iter()
                    .flatten()
                    .map(|&i| json!({ "ID": self.deals[i]["ID"] }))
                    .collect();
                ok(json!(found))
            }
            "crm.duplicate.findbycomm" => {
                let value = &params["values"][0];
                let kind = params["type"].as_str().unwrap_or("");
                let ids: Vec<Value> = self
                    .contacts
                    .iter()
                    .filter(|c| {
                        c[kind].as_array().is_some_and(|list| list.iter().any(|v| &v["VALUE"] == value))
                    })
                    .map(|c| c["ID"].clone())
                    .collect();
                ok(if ids.is_empty() { json!([]) } else { json!({ "CONTACT": ids }) })
            }
            "crm.contact.add" => {
                let id = 100 + self.contacts.len();
                let mut contact = params["fields"].clone();
                contact["ID"] = json!(id.to_string());
                self.contacts.push(contact);
                ok(json!(id))
            }
            "crm.deal.add" => {
                let id = 7 + self.deals.len();
                let mut deal = params["fields"].clone();
                deal["ID"] = json!(id.to_string());
                let origin = deal["ORIGIN_ID"].as_str().unwrap_or("").to_string();
                self.origins.entry(origin).or_default().push(self.deals.len());
                self.deals.push(deal);
                if let Some(Fault::AddThen500) = fault {
                    self.faults.pop_front();
                    return (
                        500,
                        vec![],
                        json!({ "error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error" }),
                    );
                }
                ok(json!(id))
            }
            "crm.deal.get" => {
                let id =
                    params["id"].as_str().map(str::to_string).unwrap_or_else(|| params["id"].to_string());
                match self.deals.iter().find(|d| d["ID"] == json!(id)) {
                    Some(deal) => ok(deal.clone()),
                    None => (400, vec![], json!({ "error": "", "error_description": "Not found" })),
                }
            }
            "crm.timeline.comment.add" => {
                let id = 300 + self.comments.len();
                let mut comment = params["fields"].clone();
                comment["ID"] = json!(id.to_string());
                self.comments.push(comment);
                ok(json!(id))
            }
            "crm.timeline.comment.get" => {
                let id = params["id"].as_str().unwrap_or("").to_string();
                match self.comments.iter().find(|c| c["ID"] == json!(id)) {
                    Some(comment) => ok(comment.clone()),
                    None => (400, vec![], json!({ "error": "", "error_description": "Not found" })),
                }
            }
            _ => (
                404,
                vec![],
                json!({ "error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!" }),
            ),
        }
    }
}

/// A stand-in portal, with the host's bitrix24 connector configured to use it.
pub async fn bitrix(host: &Host) -> (Platform, Arc<Mutex<Portal>>) {
    let portal = Arc::new(Mutex::new(Portal::default()));
    let state = portal.clone();
    let api = Platform::serve(Arc::new(move |call: &Received| state.lock().unwrap().answer(call))).await;
    let mut directory = sample_directory();
    for employee in directory["employees"].as_array_mut().unwrap() {
        let crm_user = match employee["id"].as_str().unwrap() {
            "e-1" => "17",
            "e-2" => "23",
            _ => "31",
        };
        employee["crm_user_id"] = json!(crm_user);
    }
    host.api.send_json("PUT", "/api/directory", &directory).await.unwrap();
    let config = json!({"webhook_url": format!("{}{HOOK_PATH}", api.base), "category_id": 2, "stage_id": "C2:NEW",
        "source_ids": {"telegram": "TELEGRAM", "*": "OTHER"}, "fields": {"UF_CRM_QUEUE": "route_queue"},
        "application_token": TOKEN, "stage_statuses": {"C2:WON": "resolved", "C2:EXECUTING": "in_work"}});
    let hosts = json!({"hosts": [api.base]});
    host.api.send_json("PUT", "/api/plugins/bitrix24/outbound-hosts", &hosts).await.unwrap();
    let configured = host.api.send_json("PUT", "/api/plugins/bitrix24/config", &config).await.unwrap();
    assert_eq!(configured["active"], "0.1.1", "{configured}");
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["crm"], "bitrix24@0.1.1");
    (api, portal)
}

/// Polls until `check` holds (panics after 30 s).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(30), "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn delivered(host: &Host, id: &str) -> Appeal {
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
    assert_eq!(appeal.crm.as_ref().unwrap().connector, "bitrix24@0.1.1");
    let stages: Vec<String> = stages(&appeal).into_iter().filter(|s| s.starts_with("crm_")).collect();
    assert!(stages.contains(&"crm_retry bitrix24@0.1.1".to_string()), "{stages:?}");
    assert_eq!(stages.last().unwrap(), "crm_delivered bitrix24@0.1.1");

    let portal = portal.lock().unwrap();
    assert_eq!(portal.deals.len(), 1);
    let deal = &portal.deals[0];
    assert_eq!(appeal.crm.as_ref().unwrap().id, deal["ID"]);
    assert_eq!(deal["CATEGORY_ID"], 2);
    assert_eq!(deal["STAGE_ID"], "C2:NEW");
    assert_eq!(deal["SOURCE_ID"], "TELEGRAM");
    assert_eq!(deal["ORIGINATOR_ID"], "clienthub");
    assert_eq!(deal["ORIGIN_ID"], id.as_str());
    assert_eq!(deal["UF_CRM_QUEUE"], appeal.decision.as_ref().unwrap().queue);
    let first = appeal.decision.as_ref().unwrap().candidates[0].as_str();
    let expected_user = match first {
        "e-1" => "17",
        "e-2" => "23",
        _ => "31",
    };
    assert_eq!(
        deal["ASSIGNED_BY_ID"], expected_user,
        "the router's first candidate, mapped by the directory"
    );
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
    portal.lock().unwrap().faults.push_back(Fault::AddThen500);
    let lost = appeal_id(&host.telegram(&telegram_update(9710, 710, "Где мой заказ?")).await);
    let appeal = delivered(&host, &lost).await;
    let portal = portal.lock().unwrap();
    let deals: Vec<&Value> = portal.deals.iter().filter(|d| d["ORIGIN_ID"] == json!(lost)).collect();
    assert_eq!(deals.len(), 1, "exactly one deal");
    assert_eq!(appeal.crm.as_ref().unwrap().id, deals[0]["ID"]);
    assert_eq!(portal.deals.len(), 4, "one deal per appeal");
    assert_eq!(portal.contacts.len(), 0, "Telegram customers without phone or e-mail get no contact");
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
            c["ENTITY_ID"] == json!(deal) && c["COMMENT"] == "Customer (telegram): Чек приложу вечером"
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
        (Some(last.stage.as_str()), Some(last.detail.as_str())),
        (Some("resolved"), Some("resolved by bitrix24@0.1.1"))
    );

    let forged = String::from_utf8(fixture("plugins/bitrix24/fixtures/deal_update.txt"))
        .unwrap()
        .replace(TOKEN, "guess");
    let refused = host.hook("bitrix24", &[], form, forged.as_bytes()).await;
    assert_eq!(refused.status, 401);
}
