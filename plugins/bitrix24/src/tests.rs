use super::*;
use clienthub_sdk::testing::{Harness, answer, appeal, post};
use clienthub_sdk::{Contact, CrmStatus, MetaEntry};
use serde_json::json;

const CONFIG: &str = r#"{"webhook_url":"https://shop.bitrix24.ru/rest/1/abc123def/","category_id":2,
    "stage_id":"C2:NEW","source_ids":{"telegram":"TELEGRAM","*":"OTHER"},"fields":{"UF_CRM_STORE":"store"},
    "application_token":"b24-app-token-51f0","stage_statuses":{"C2:WON":"resolved"}}"#;

fn customer_appeal() -> Appeal {
    let mut a = appeal("telegram", "Хочу вернуть чайник");
    a.contact = Contact {
        name: Some("Анна".into()),
        phone: Some("+79161234567".into()),
        email: None,
        platform_user_id: None,
    };
    a.metadata = vec![MetaEntry::new("store", "101")];
    a
}

fn assignee() -> CrmAssignee {
    CrmAssignee { employee_id: "e-1".into(), name: "Ольга".into(), crm_user_id: Some("17".into()) }
}

fn bodies(h: &Harness) -> Vec<(String, serde_json::Value)> {
    h.http_requests
        .iter()
        .map(|r| (r.url.rsplit('/').next().unwrap().to_string(), serde_json::from_slice(&r.body).unwrap()))
        .collect()
}

#[test]
fn a_new_appeal_becomes_a_deal_with_its_contact_responsible_source_and_fields() {
    let mut h = Harness::new()
        .with_config(CONFIG)
        .with_http_answer(Ok(answer(200, &json!({"result": [], "total": 0}))))
        .with_http_answer(Ok(answer(200, &json!({"result": []}))))
        .with_http_answer(Ok(answer(200, &json!({"result": 55}))))
        .with_http_answer(Ok(answer(200, &json!({"result": 7}))));
    let record = h.run(|| Bitrix24::deliver(customer_appeal(), Some(assignee()))).unwrap();
    assert_eq!((record.entity.as_str(), record.id.as_str()), ("deal", "7"));
    assert_eq!(record.url.as_deref(), Some("https://shop.bitrix24.ru/crm/deal/details/7/"));
    let calls = bodies(&h);
    let methods: Vec<&str> = calls.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        ["crm.deal.list.json", "crm.duplicate.findbycomm.json", "crm.contact.add.json", "crm.deal.add.json"]
    );
    assert_eq!(calls[0].1["filter"], json!({"ORIGINATOR_ID": "clienthub", "ORIGIN_ID": "01TEST"}));
    assert_eq!(calls[2].1["fields"]["PHONE"], json!([{"VALUE": "+79161234567", "VALUE_TYPE": "WORK"}]));
    let deal = &calls[3].1["fields"];
    assert_eq!(deal["CATEGORY_ID"], 2);
    assert_eq!(deal["STAGE_ID"], "C2:NEW");
    assert_eq!(deal["ASSIGNED_BY_ID"], "17");
    assert_eq!(deal["SOURCE_ID"], "TELEGRAM");
    assert_eq!(deal["CONTACT_ID"], "55");
    assert_eq!(deal["UF_CRM_STORE"], "101");
    assert_eq!(deal["ORIGIN_ID"], "01TEST");
    assert_eq!(h.http_requests[3].url, "https://shop.bitrix24.ru/rest/1/abc123def/crm.deal.add.json");
}

#[test]
fn an_appeal_already_in_the_crm_is_not_created_again() {
    let mut h = Harness::new()
        .with_config(CONFIG)
        .with_http_answer(Ok(answer(200, &json!({"result": [{"ID": "7"}], "total": 1}))));
    let record = h.run(|| Bitrix24::deliver(customer_appeal(), None)).unwrap();
    assert_eq!(record.id, "7");
    assert_eq!(h.http_requests.len(), 1, "only the lookup");
}

#[test]
fn query_limit_exceeded_is_a_retry_and_bad_credentials_a_failure() {
    let limited = json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"});
    let mut h = Harness::new().with_config(CONFIG).with_http_answer(Ok(answer(503, &limited)));
    match h.run(|| Bitrix24::deliver(customer_appeal(), None)) {
        Err(CrmError::Retry(later)) => assert_eq!(later.after_ms, Some(1000)),
        other => panic!("{other:?}"),
    }
    let expired =
        json!({"error": "expired_token", "error_description": "The access token provided has expired."});
    let mut h = Harness::new().with_config(CONFIG).with_http_answer(Ok(answer(401, &expired)));
    assert!(matches!(h.run(|| Bitrix24::deliver(customer_appeal(), None)), Err(CrmError::Failed(_))));
    let mut h = Harness::new().with_config(CONFIG).with_http_answer(Err("connection refused".into()));
    assert!(matches!(h.run(|| Bitrix24::deliver(customer_appeal(), None)), Err(CrmError::Retry(_))));
}

fn event(body: &[u8]) -> HttpRequest {
    post("/hooks/bitrix24", &[("content-type", "application/x-www-form-urlencoded")], body)
}

#[test]
fn a_prefixed_timeline_comment_is_a_reply_and_a_won_stage_resolves() {
    let mut h = Harness::new()
        .with_config(CONFIG)
        .with_http_answer(Ok(answer(200, &json!({"result": {"ID": "311", "ENTITY_ID": "7", "ENTITY_TYPE": "deal",
            "COMMENT": "/reply Чайник заменим, приходите в магазин", "AUTHOR_ID": "17", "CREATED": "2026-11-23T15:10:00+03:00"}}))))
        .with_http_answer(Ok(answer(200, &json!({"result": {"ID": "7", "STAGE_ID": "C2:NEW", "ORIGINATOR_ID": "clienthub", "ORIGIN_ID": "01APPEAL"}}))));
    let out = h
        .run(|| Bitrix24::handle_event(event(include_bytes!("../fixtures/timeline_comment_add.txt"))))
        .unwrap();
    assert_eq!(out.replies.len(), 1);
    assert_eq!(out.replies[0].appeal_id, "01APPEAL");
    assert_eq!(out.replies[0].text, "Чайник заменим, приходите в магазин");
    assert_eq!(out.replies[0].author.as_deref(), Some("Bitrix24 user 17"));

    let mut h = Harness::new()
        .with_config(CONFIG)
        .with_http_answer(Ok(answer(200, &json!({"result": {"ID": "7", "STAGE_ID": "C2:WON", "ORIGINATOR_ID": "clienthub", "ORIGIN_ID": "01APPEAL"}}))));
    let out = h.run(|| Bitrix24::handle_event(event(include_bytes!("../fixtures/deal_update.txt")))).unwrap();
    assert_eq!(out.status_changes.len(), 1);
    assert_eq!(out.status_changes[0].status, CrmStatus::Resolved);
}

#[test]
fn events_without_the_application_token_are_refused() {
    let forged = String::from_utf8(include_bytes!("../fixtures/deal_update.txt").to_vec())
        .unwrap()
        .replace("b24-app-token-51f0", "guess");
    let out = Harness::new().with_config(CONFIG).run(|| Bitrix24::handle_event(event(forged.as_bytes())));
    assert!(matches!(out, Err(AdapterError::Unauthorized(_))));
}

#[test]
fn unconfigured_it_is_no_crm_connector() {
    assert_eq!(Harness::new().run(Bitrix24::crm_name), None);
    assert_eq!(Harness::new().with_config(CONFIG).run(Bitrix24::crm_name).as_deref(), Some("bitrix24"));
}

#[test]
fn a_note_is_a_timeline_comment_on_the_record() {
    let mut h = Harness::new().with_config(CONFIG).with_http_answer(Ok(answer(200, &json!({"result": 312}))));
    let record = CrmRecord { entity: "deal".into(), id: "7".into(), url: None };
    h.run(|| Bitrix24::add_note(record, customer_appeal(), "Customer (telegram): ещё вопрос".into()))
        .unwrap();
    let calls = bodies(&h);
    assert_eq!(calls[0].0, "crm.timeline.comment.add.json");
    assert_eq!(
        calls[0].1,
        json!({"fields": {"ENTITY_ID": "7", "ENTITY_TYPE": "deal", "COMMENT": "Customer (telegram): ещё вопрос"}})
    );
}
