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

/// A `batch` command's parameters (`method?fields[A]=1&…`) as (key, value) pairs.
fn command(call: &serde_json::Value, name: &str) -> (String, Vec<(String, String)>) {
    let cmd = call["cmd"][name].as_str().unwrap();
    let (method, query) = cmd.split_once('?').unwrap();
    (method.to_string(), form_urlencoded::parse(query.as_bytes()).into_owned().collect())
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn a_new_appeal_becomes_a_deal_with_its_contact_responsible_source_and_fields_in_one_batch() {
    let mut h = Harness::new()
        .with_config(CONFIG)
        .with_http_answer(Ok(answer(200, &json!({"result": []}))))
        .with_http_answer(Ok(answer(
            200,
            &json!({"result": {"result": {"contact": 55, "deal": 7}, "result_error": []}}),
        )));
    let record = h.run(|| Bitrix24::deliver(customer_appeal(), Some(assignee()))).unwrap();
    assert_eq!((record.entity.as_str(), record.id.as_str()), ("deal", "7"));
    assert_eq!(record.url.as_deref(), Some("https://shop.bitrix24.ru/crm/deal/details/7/"));
    let calls = bodies(&h);
    let methods: Vec<&str> = calls.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["crm.duplicate.findbycomm.json", "batch.json"], "no lookup on a first delivery");
    assert_eq!(calls[1].1["halt"], 1);
    let (method, contact) = command(&calls[1].1, "contact");
    assert_eq!(method, "crm.contact.add");
    assert_eq!(value(&contact, "fields[PHONE][0][VALUE]"), Some("+79161234567"));
    assert_eq!(value(&contact, "fields[NAME]"), Some("Анна"));
    let (method, deal) = command(&calls[1].1, "deal");
    assert_eq!(method, "crm.deal.add");
    for (key, expected) in [
        ("fields[CATEGORY_ID]", "2"),
        ("fields[STAGE_ID]", "C2:NEW"),
        ("fields[ASSIGNED_BY_ID]", "17"),
        ("fields[SOURCE_ID]", "TELEGRAM"),
        ("fields[CONTACT_ID]", "$result[contact]"),
        ("fields[UF_CRM_STORE]", "101"),
        ("fields[ORIGIN_ID]", "01TEST"),
    ] {
        assert_eq!(value(&deal, key), Some(expected), "{key}");
    }
    assert!(calls[1].1["cmd"]["deal"].as_str().unwrap().contains("fields%5BCONTACT_ID%5D=$result[contact]"));
    assert_eq!(h.http_requests[1].url, "https://shop.bitrix24.ru/rest/1/abc123def/batch.json");
}

#[test]
fn an_appeal_handed_over_before_is_looked_up_and_not_created_again() {
    let mut h = Harness::new()
        .with_config(CONFIG)
        .with_http_answer(Ok(answer(200, &json!({"result": [{"ID": "7"}], "total": 1}))));
    let mut retried = customer_appeal();
    retried.metadata.push(MetaEntry::new("crm_retried", "true"));
    let record = h.run(|| Bitrix24::deliver(retried, None)).unwrap();
    assert_eq!(record.id, "7");
    assert_eq!(h.http_requests.len(), 1, "only the lookup");
    assert_eq!(bodies(&h)[0].1["filter"], json!({"ORIGINATOR_ID": "clienthub", "ORIGIN_ID": "01TEST"}));
}

#[test]
fn an_open_lines_answer_is_a_reply_with_its_origin_in_plain_text() {
    let config = CONFIG.replace(
        r#""stage_statuses""#,
        r#""open_lines":{"line":107,"client_id":"local.1","client_secret":"s","refresh_token":"r",
            "event_handler":"https://hub.example.ru/hooks/bitrix24"},"stage_statuses""#,
    );
    let body = "event=ONIMCONNECTORMESSAGEADD&event_handler_id=555&data%5BCONNECTOR%5D=clienthub&data%5BLINE%5D=107\
        &data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bchat_id%5D=1807&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bmessage_id%5D=86497\
        &data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Buser_id%5D=27\
        &data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Btext%5D=%5Bb%5D%D0%9E%D0%BB%D1%8C%D0%B3%D0%B0%3A%5B%2Fb%5D+%5Bbr%5D%D0%97%D0%B4%D1%80%D0%B0%D0%B2%D1%81%D1%82%D0%B2%D1%83%D0%B9%D1%82%D0%B5\
        &data%5BMESSAGES%5D%5B0%5D%5Bchat%5D%5Bid%5D=01APPEAL&ts=1773759161\
        &auth%5Bdomain%5D=shop.bitrix24.ru&auth%5Bapplication_token%5D=b24-app-token-51f0";
    let out =
        Harness::new().with_config(&config).run(|| Bitrix24::read_event(event(body.as_bytes()))).unwrap();
    assert_eq!(out.replies.len(), 1);
    let reply = &out.replies[0];
    assert_eq!((reply.appeal_id.as_str(), reply.text.as_str()), ("01APPEAL", "Ольга:\nЗдравствуйте"));
    assert_eq!(reply.origin.as_deref(), Some("openlines:107:1807:86497:01APPEAL"));
    assert_eq!(reply.author.as_deref(), Some("Bitrix24 user 27"));
    let forged = body.replace("b24-app-token-51f0", "guess");
    let refused = Harness::new().with_config(&config).run(|| Bitrix24::read_event(event(forged.as_bytes())));
    assert!(matches!(refused, Err(AdapterError::Unauthorized(_))));
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
        json!({"fields": {"ENTITY_ID": "7", "ENTITY_TYPE": "deal",
            "COMMENT": "Customer (telegram): ещё вопрос\n\nClientHub · 01TEST:note"}})
    );
}
