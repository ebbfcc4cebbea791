//! People and access through the real host (issue 16): invitation → password → sign-in →
//! sign-out, lock-out, expiry, revocation and TOTP; an external master of Kazan who cannot
//! reach a Moscow appeal by any route; authors taken from the caller whatever the body says;
//! presence deciding assignment; the audit log (the route × role matrix is access_matrix.rs).

use crate::support::*;
use clienthub::client::{Answer, Client};
use serde_json::{Value, json};

pub(crate) const PASSWORD: &str = "длинный пароль 2026";

/// Two regions; returns (in-house) and grohe (an external service's masters); one supervisor,
/// two operators, a master in Kazan, a viewer.
pub(crate) fn directory() -> Value {
    json!({
        "regions": [
            {"id": "msk", "name": "Москва", "cities": ["Москва"]},
            {"id": "kzn", "name": "Казань", "cities": ["Казань"]}
        ],
        "departments": [
            {"id": "returns", "name": "Возвраты", "queue": "returns"},
            {"id": "grohe", "name": "Сервис GROHE", "queue": "grohe", "external": true}
        ],
        "employees": [
            {"id": "sup", "name": "Марина", "department": "returns", "regions": ["kzn"]},
            {"id": "olga", "name": "Ольга", "department": "returns", "regions": ["msk"]},
            {"id": "rustam", "name": "Рустам", "department": "returns", "regions": ["kzn"]},
            {"id": "master", "name": "Ильдар", "department": "grohe", "regions": ["kzn"]},
            {"id": "viewer", "name": "Вера", "department": "returns", "regions": ["kzn"]}
        ],
        "topics": [
            {"id": "refund", "name": "Возврат", "keywords": ["вернуть"], "department": "returns"},
            {"id": "repair", "name": "Ремонт", "keywords": ["кран"], "department": "grohe"}
        ]
    })
}

pub(crate) fn body(value: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", value.to_string().into_bytes()))
}

/// An invitation's key for `employee` in `role`, made by the admin.
pub(crate) async fn invite(host: &Host, employee: &str, role: &str) -> String {
    let invited = host
        .api
        .send_json("POST", &format!("/api/employees/{employee}/invite"), &json!({"role": role}))
        .await
        .unwrap();
    assert!(invited["link"].as_str().unwrap().contains("/console/#invite=chi_"), "{invited}");
    invited["token"].as_str().unwrap().to_string()
}

pub(crate) async fn accept(host: &Host, token: &str, password: &str) -> Answer {
    let accept = json!({"token": token, "password": password});
    host.anonymous.send("POST", "/api/invitations/accept", body(&accept)).await.unwrap()
}

pub(crate) async fn sign_in(host: &Host, login: &str, password: &str, code: Option<&str>) -> Answer {
    let mut given = json!({"login": login, "password": password});
    if let Some(code) = code {
        given["code"] = code.into();
    }
    host.anonymous.send("POST", "/api/session", body(&given)).await.unwrap()
}

/// The session key a sign-in put in its cookie.
pub(crate) fn session_key(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let cookie = answer.header("set-cookie").expect("a session cookie");
    let key = cookie.strip_prefix("clienthub_session=").unwrap().split(';').next().unwrap();
    assert!(key.starts_with("chs_"), "{cookie}");
    key.to_string()
}

/// A person invited, with a password set, signed in: a client carrying their session key.
pub(crate) async fn signed_in(host: &Host, employee: &str, role: &str) -> Client {
    let token = invite(host, employee, role).await;
    assert_eq!(accept(host, &token, PASSWORD).await.status, 200);
    Client::new(&host.base, Some(session_key(&sign_in(host, employee, PASSWORD, None).await)))
}

/// A token bound to an employee (their scope and name), issued by the admin.
pub(crate) async fn token_for(host: &Host, employee: &str, role: &str) -> Client {
    let issued = host
        .api
        .send_json("POST", "/api/tokens", &json!({"role": role, "employee": employee}))
        .await
        .unwrap();
    Client::new(&host.base, Some(issued["token"].as_str().unwrap().to_string()))
}

/// A Telegram appeal; its id once routed.
pub(crate) async fn appeal(host: &Host, update: i64, text: &str) -> String {
    let id = appeal_id(&host.telegram(&telegram_update(update, update + 100_000, text)).await);
    let stored = host.appeal(&id).await;
    assert!(stored.work.department.is_some(), "routed: {stored:#?}");
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn invitation_password_sign_in_sign_out_lock_out_expiry_revocation_and_totp() {
    let host = Host::builder().clock().start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let token = invite(&host, "rustam", "operator").await;
    let short = accept(&host, &token, "короткий").await;
    assert_eq!(short.status, 400);
    assert!(String::from_utf8_lossy(&short.body).contains("не меньше 12 символов"));
    assert_eq!(accept(&host, &token, PASSWORD).await.status, 200);
    assert_eq!(accept(&host, &token, PASSWORD).await.status, 400, "an invitation is used once");

    // Wrong password, then right: a session in an HttpOnly cookie, and who it is.
    let wrong = sign_in(&host, "rustam", "не тот пароль!!", None).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(serde_json::from_slice::<Value>(&wrong.body).unwrap()["code"], "wrong_credentials");
    assert_eq!(sign_in(&host, "nobody", PASSWORD, None).await.status, 401, "the same answer");
    let signed = sign_in(&host, "rustam", PASSWORD, None).await;
    assert!(signed.header("set-cookie").unwrap().contains("HttpOnly"));
    let key = session_key(&signed);
    let rustam = Client::new(&host.base, Some(key.clone()));
    let me = rustam.get_json("/api/whoami").await.unwrap();
    assert_eq!((me["employee"].as_str(), me["role"].as_str()), (Some("rustam"), Some("operator")), "{me}");
    assert_eq!(me["scope"]["regions"], json!(["kzn"]));
    let cookie = format!("clienthub_session={key}");
    let out = host.anonymous.request("DELETE", "/api/session", &[("cookie", &cookie)], None).await.unwrap();
    assert_eq!(out.status, 200);
    assert_eq!(rustam.send("GET", "/api/whoami", None).await.unwrap().status, 401, "signed out");

    // Five failures lock the account: even the right password waits, then works again.
    for _ in 0..5 {
        assert_eq!(sign_in(&host, "rustam", "угадываю пароль", None).await.status, 401);
    }
    let locked = sign_in(&host, "rustam", PASSWORD, None).await;
    assert_eq!(locked.status, 429, "{}", String::from_utf8_lossy(&locked.body));
    host.advance_minutes(2).await;
    let key = session_key(&sign_in(&host, "rustam", PASSWORD, None).await);

    // Idle sessions end; admins list and revoke sessions.
    host.advance_minutes(121).await;
    let idle = Client::new(&host.base, Some(key));
    assert_eq!(idle.send("GET", "/api/whoami", None).await.unwrap().status, 401, "idle too long");
    let again = Client::new(&host.base, Some(session_key(&sign_in(&host, "rustam", PASSWORD, None).await)));
    let listed = host.api.get_json("/api/sessions?employee=rustam").await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    host.api.send("DELETE", "/api/employees/rustam/sessions", None).await.unwrap().json().unwrap();
    assert_eq!(again.send("GET", "/api/whoami", None).await.unwrap().status, 401, "revoked");

    // A new invitation resets the password.
    let reset = invite(&host, "rustam", "operator").await;
    assert_eq!(accept(&host, &reset, "новый длинный пароль").await.status, 200);
    assert_eq!(sign_in(&host, "rustam", PASSWORD, None).await.status, 401);
    assert_eq!(sign_in(&host, "rustam", "новый длинный пароль", None).await.status, 200);

    // An admin turns on the second factor; from then on a sign-in needs the code.
    let admin = signed_in(&host, "sup", "admin").await;
    let enrol = admin.send_json("POST", "/api/totp", &json!({"password": PASSWORD})).await.unwrap();
    assert!(enrol["otpauth"].as_str().unwrap().starts_with("otpauth://totp/ClientHub:sup?secret="));
    let secret = clienthub::access::totp::decode(enrol["secret"].as_str().unwrap()).unwrap();
    let now = || async {
        host.api.send_json("POST", "/api/clock/advance", &json!({"minutes": 0})).await.unwrap()["now"]
            .as_u64()
            .unwrap()
    };
    let code = clienthub::access::totp::code_at(&secret, now().await).unwrap();
    admin.send_json("POST", "/api/totp/confirm", &json!({"code": code})).await.unwrap();
    let without = sign_in(&host, "sup", PASSWORD, None).await;
    assert_eq!(without.status, 401);
    assert_eq!(serde_json::from_slice::<Value>(&without.body).unwrap()["second_factor"], true);
    assert_eq!(sign_in(&host, "sup", PASSWORD, Some("000000")).await.status, 401);
    // The code that confirmed the factor is used up; the next step's works, once.
    assert_eq!(sign_in(&host, "sup", PASSWORD, Some(&code)).await.status, 401, "a code is good once");
    host.advance_minutes(1).await;
    let code = clienthub::access::totp::code_at(&secret, now().await).unwrap();
    assert_eq!(sign_in(&host, "sup", PASSWORD, Some(&code)).await.status, 200);
    assert_eq!(sign_in(&host, "sup", PASSWORD, Some(&code)).await.status, 401, "a code is good once");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_read_in_the_caller_s_language_with_the_host_s_words_beside() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let token = invite(&host, "olga", "operator").await;
    assert_eq!(accept(&host, &token, PASSWORD).await.status, 200);
    let wrong = json!({"login": "olga", "password": "не тот пароль 2026"});
    let (_, body) = body(&wrong).unwrap();
    for (path, headers, words) in [
        ("/api/session", vec![], "неверный логин или пароль"),
        ("/api/session", vec![("accept-language", "en-GB,en;q=0.9,ru;q=0.5")], "wrong login or password"),
        ("/api/session?lang=ru", vec![("accept-language", "en")], "неверный логин или пароль"),
    ] {
        let answer = host
            .anonymous
            .request("POST", path, &headers, Some(("application/json", body.clone())))
            .await
            .unwrap();
        assert_eq!(answer.status, 401);
        let refusal: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(refusal["code"], "wrong_credentials", "{refusal}");
        assert_eq!(refusal["error"], words, "{refusal}");
        assert!(refusal["detail"].as_str().is_some_and(|d| !d.is_empty()), "{refusal}");
    }
    // Where the message says what exactly is wrong, it stays the message.
    let unknown = host.api.send("GET", "/api/appeals/01NOSUCHAPPEAL", None).await.unwrap();
    let refusal: Value = serde_json::from_slice(&unknown.body).unwrap();
    assert_eq!((unknown.status, refusal["code"].as_str()), (404, Some("not_found")), "{refusal}");
    assert!(refusal["error"].as_str().unwrap().contains("01NOSUCHAPPEAL"), "{refusal}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_trying_many_logins_is_locked_out_too() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let token = invite(&host, "olga", "operator").await;
    assert_eq!(accept(&host, &token, PASSWORD).await.status, 200);
    // Password spraying: one guess for each of many logins, none locking any one account.
    for n in 0..30 {
        assert_eq!(sign_in(&host, &format!("login-{n}"), "Summer2026!!", None).await.status, 401);
    }
    let locked = sign_in(&host, "olga", PASSWORD, None).await;
    assert_eq!(locked.status, 429, "{}", String::from_utf8_lossy(&locked.body));
    assert_eq!(serde_json::from_slice::<Value>(&locked.body).unwrap()["code"], "locked_out");
    let account = host.api.get_json("/api/employees").await.unwrap();
    let olga = account.as_array().unwrap().iter().find(|e| e["id"] == "olga").unwrap();
    assert!(olga["account"]["locked_until"].is_null(), "the account itself is not locked: {olga}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_external_master_of_kazan_cannot_reach_a_moscow_appeal_by_any_route() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let kazan = appeal(&host, 16_001, "Казань: течёт кран GROHE, телефон +7 912 345-67-89").await;
    let moscow = appeal(&host, 16_002, "Москва: течёт кран GROHE, телефон +7 912 345-67-80").await;
    let master = signed_in(&host, "master", "master").await;
    search_caught_up(&host).await;

    let listed = master.get_json("/api/appeals").await.unwrap();
    let ids: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![kazan.as_str()]);
    let found = master.get_json("/api/appeals?q=%D0%BA%D1%80%D0%B0%D0%BD").await.unwrap();
    let found: Vec<&str> =
        found["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(found, vec![kazan.as_str()], "search stays in scope");
    let by_phone = master.get_json("/api/appeals?q=%2B79123456780").await.unwrap();
    assert_eq!(by_phone["items"], json!([]), "the Moscow customer's phone finds nothing");
    for path in [format!("/api/appeals/{moscow}"), format!("/api/appeals/{moscow}/replies")] {
        let refused = master.send("GET", &path, None).await.unwrap();
        assert_eq!(refused.status, 404, "{path}: existence is not revealed");
    }
    for verb in ["take", "resolve", "pause", "reprocess"] {
        let refused = master.send("POST", &format!("/api/appeals/{moscow}/{verb}"), None).await.unwrap();
        assert_eq!(refused.status, 404, "{verb}");
    }
    let report = master.get_json("/api/reports/appeals?by=region").await.unwrap();
    assert_eq!(report, json!([{"region": "kzn", "appeals": 1}]), "reports count only the scope");
    let all = host.api.get_json("/api/reports/appeals?by=region").await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);

    // The Kazan appeal: the job's contact fields only, none of the contact's other appeals;
    // notes and actions yes, replies to the customer no (the department does not allow it).
    let seen = master.get_json(&format!("/api/appeals/{kazan}")).await.unwrap();
    assert_eq!(seen["contact_appeals"], json!([]));
    assert!(seen["contact"]["platform_user_id"].is_null() && seen["contact_id"].is_null(), "{seen}");
    assert_eq!(master.send("POST", &format!("/api/appeals/{kazan}/take"), None).await.unwrap().status, 200);
    let reply = master
        .send("POST", &format!("/api/appeals/{kazan}/replies"), body(&json!({"text": "Еду"})))
        .await
        .unwrap();
    assert_eq!(reply.status, 403);
    let taken = host.appeal(&kazan).await;
    assert_eq!(taken.work.assignee.as_deref(), Some("master"));
    let by = taken.history.iter().rev().find(|e| e.stage() == "taken").and_then(|e| e.event.actor().cloned());
    assert_eq!(by, Some(clienthub::event::Actor::Employee("master".into())), "{taken:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn authors_and_actors_are_the_signed_in_person_whatever_the_body_says() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let id = appeal(&host, 16_101, "Москва: хочу вернуть заказ").await;
    let olga = token_for(&host, "olga", "operator").await;
    let path = format!("/api/appeals/{id}/replies");
    let forged =
        olga.send("POST", &path, body(&json!({"text": "Ответ", "author": "Head of Support"}))).await.unwrap();
    assert_eq!(forged.status, 403, "{}", String::from_utf8_lossy(&forged.body));
    let reply = olga.send_json("POST", &path, &json!({"text": "Ответ"})).await.unwrap();
    assert_eq!(reply["author"], "Ольга (olga)");
    let named = olga.send_json("POST", &path, &json!({"text": "Ещё", "author": "olga"})).await.unwrap();
    assert_eq!(named["author"], "Ольга (olga)", "naming oneself is fine");

    let pause = format!("/api/appeals/{id}/pause");
    let fake = olga.send("POST", &pause, body(&json!({"by": "Fake Boss"}))).await.unwrap();
    assert_eq!(fake.status, 403);
    olga.send_json("POST", &pause, &json!({"reason": "ждём фото"})).await.unwrap();
    let paused = host.appeal(&id).await;
    assert_eq!(last_detail(&paused, "paused"), "paused by olga: ждём фото");
    assert!(!serde_json::to_string(&paused).unwrap().contains("Fake Boss"));
    // An operator takes for themself; choosing someone else is a supervisor's.
    let other = olga
        .send("POST", &format!("/api/appeals/{id}/take"), body(&json!({"employee": "rustam"})))
        .await
        .unwrap();
    assert_eq!(other.status, 403);
    olga.send_json("POST", &format!("/api/appeals/{id}/take"), &json!({})).await.unwrap();
    assert_eq!(host.appeal(&id).await.work.assignee.as_deref(), Some("olga"));
}

#[tokio::test(flavor = "multi_thread")]
async fn presence_decides_who_gets_new_appeals_and_the_supervisor_sees_the_team() {
    let host = Host::start();
    let mut directory = directory();
    directory["employees"] = json!([
        {"id": "sup", "name": "Марина", "department": "returns", "active": false},
        {"id": "olga", "name": "Ольга", "department": "returns"},
        {"id": "rustam", "name": "Рустам", "department": "returns"},
        {"id": "vera", "name": "Вера", "department": "returns"}
    ]);
    host.api.send_json("PUT", "/api/directory", &directory).await.unwrap();
    let olga = signed_in(&host, "olga", "operator").await;
    let rustam = signed_in(&host, "rustam", "operator").await;
    let sup = token_for(&host, "sup", "supervisor").await;
    olga.send_json("PUT", "/api/presence", &json!({"state": "available"})).await.unwrap();
    // A viewer who says «available» is still given no work (finding 7 of issue 37).
    let vera = signed_in(&host, "vera", "viewer").await;
    vera.send_json("PUT", "/api/presence", &json!({"state": "available"})).await.unwrap();
    // Rustam never clocked in: off. Everything goes to Olga.
    for n in 0..3 {
        let id = appeal(&host, 16_200 + n, "Москва: хочу вернуть товар").await;
        let assigned = appeal_where(&host, &id, "assigned", |a| a.work.assignee.is_some()).await;
        assert_eq!(assigned.work.assignee.as_deref(), Some("olga"));
    }
    olga.send_json("PUT", "/api/presence", &json!({"state": "away"})).await.unwrap();
    let waiting = appeal(&host, 16_210, "Москва: хочу вернуть товар").await;
    let why = appeal_where(&host, &waiting, "waiting", |a| a.work.waiting_reason.is_some()).await;
    let reason = why.work.waiting_reason.unwrap();
    assert!(reason.contains("Ольга — нет на месте") && reason.contains("Рустам — не на работе"), "{reason}");
    assert!(!reason.contains("Вера"), "{reason}");
    rustam.send_json("PUT", "/api/presence", &json!({"state": "available"})).await.unwrap();
    let assigned = appeal_where(&host, &waiting, "assigned", |a| a.work.assignee.is_some()).await;
    assert_eq!(assigned.work.assignee.as_deref(), Some("rustam"));

    let team = sup.get_json("/api/presence").await.unwrap();
    let row = |id: &str| team.as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap();
    assert_eq!(
        (row("olga")["state"].clone(), row("olga")["open_appeals"].clone()),
        (json!("away"), json!(3))
    );
    assert_eq!(
        (row("rustam")["state"].clone(), row("rustam")["open_appeals"].clone()),
        (json!("available"), json!(1))
    );
    assert_eq!(
        olga.send("GET", "/api/presence", None).await.unwrap().status,
        403,
        "the team is a supervisor's view"
    );
}

/// Waits until the search index holds every stored appeal.
async fn search_caught_up(host: &Host) {
    eventually("the search index catches up", async || {
        host.api.get_json("/healthz").await.unwrap()["search_caught_up"] == true
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_records_each_event_and_never_a_secret() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let invitation = invite(&host, "olga", "operator").await;
    assert_eq!(accept(&host, &invitation, PASSWORD).await.status, 200);
    let key = session_key(&sign_in(&host, "olga", PASSWORD, None).await);
    assert_eq!(sign_in(&host, "olga", "неверный пароль 1", None).await.status, 401);
    let issued =
        host.api.send_json("POST", "/api/tokens", &json!({"role": "viewer", "name": "BI"})).await.unwrap();
    let service_token = issued["token"].as_str().unwrap().to_string();
    host.api
        .send("DELETE", &format!("/api/tokens/{}", issued["issued"]["id"].as_str().unwrap()), None)
        .await
        .unwrap();
    let bot_token = "777000:AUDIT-bot-secret";
    host.api
        .send_json("PUT", "/api/plugins/telegram/config", &json!({"bot_token": bot_token}))
        .await
        .unwrap();
    let id = appeal(&host, 16_301, "Москва: хочу вернуть, мой e-mail secret.person@example.ru").await;
    assert!(!id.is_empty());
    host.api.send_json("POST", "/api/contacts/erase", &json!({"contact": "telegram:116301"})).await.unwrap();
    host.api.get_json("/api/backup").await.unwrap();
    let olga = Client::new(&host.base, Some(key.clone()));
    let cookie = format!("clienthub_session={key}");
    host.anonymous.request("DELETE", "/api/session", &[("cookie", &cookie)], None).await.unwrap();
    assert_eq!(olga.send("GET", "/api/audit", None).await.unwrap().status, 401);

    let export = host.api.send("GET", "/api/audit?format=jsonl", None).await.unwrap();
    assert_eq!(export.status, 200);
    let text = String::from_utf8(export.body.to_vec()).unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in [
        "directory_changed",
        "invited",
        "password_set",
        "signed_in",
        "sign_in_failed",
        "token_issued",
        "token_revoked",
        "plugin_configured",
        "contact_erased",
        "backup_started",
        "signed_out",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let configured = events.iter().find(|e| e["action"] == "plugin_configured").unwrap();
    assert!(configured["changed"].as_array().unwrap().contains(&json!("bot_token")), "{configured}");
    let signed_in = events.iter().find(|e| e["action"] == "signed_in").unwrap();
    assert_eq!(signed_in["actor"], "olga");
    assert_eq!(signed_in["address"], "127.0.0.1");
    for secret in
        [PASSWORD, "неверный пароль", bot_token, &service_token, &invitation, &key, "secret.person", "116301"]
    {
        assert!(!text.contains(secret), "the audit log holds {secret}");
    }
    let after_export = host.api.get_json("/api/audit?limit=10000").await.unwrap();
    assert_eq!(after_export["items"].as_array().unwrap().last().unwrap()["action"], "audit_exported");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_the_browser_an_operator_signs_in_sees_their_region_and_the_supervisor_the_team() {
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let kazan = appeal(&host, 16_501, "Казань: хочу вернуть товар").await;
    let moscow = appeal(&host, 16_502, "Москва: хочу вернуть товар").await;
    let invitation = host
        .api
        .send_json("POST", "/api/employees/rustam/invite", &json!({"role": "operator"}))
        .await
        .unwrap();
    let sup = invite(&host, "sup", "supervisor").await;
    assert_eq!(accept(&host, &sup, PASSWORD).await.status, 200);
    let env = [
        ("CLIENTHUB_INVITE", invitation["link"].as_str().unwrap().to_string()),
        ("CLIENTHUB_LOGIN", "rustam".to_string()),
        ("CLIENTHUB_SUPERVISOR", "sup".to_string()),
        ("CLIENTHUB_SUPERVISOR_PASSWORD", PASSWORD.to_string()),
        ("CLIENTHUB_IN", kazan.clone()),
        ("CLIENTHUB_OUT", moscow.clone()),
    ];
    let shots = crate::console::run_browser(&host, "people.mjs", &env).await;
    assert_eq!(host.appeal(&kazan).await.work.assignee.as_deref(), Some("rustam"));
    let team = host.api.get_json("/api/presence").await.unwrap();
    let rustam = team.as_array().unwrap().iter().find(|r| r["id"] == "rustam").unwrap();
    assert_eq!(rustam["state"], "off", "signed out: {team}");
    crate::console::assert_screenshots(&shots, &["operator-inbox", "team"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_invites_lists_ends_sessions_and_reads_the_audit_log() {
    use crate::cli::cli;
    let host = Host::start();
    host.api.send_json("PUT", "/api/directory", &directory()).await.unwrap();
    let link = cli(&host, &["employees", "invite", "rustam", "--role", "operator"]);
    let key = link.trim().rsplit("#invite=").next().unwrap().to_string();
    assert!(key.starts_with("chi_"), "{link}");
    assert_eq!(accept(&host, &key, PASSWORD).await.status, 200);
    let session = Client::new(&host.base, Some(session_key(&sign_in(&host, "rustam", PASSWORD, None).await)));
    let listed: Value = serde_json::from_str(&cli(&host, &["employees", "list"])).unwrap();
    let rustam = listed.as_array().unwrap().iter().find(|e| e["id"] == "rustam").unwrap();
    assert_eq!(
        (&rustam["account"]["role"], &rustam["account"]["has_password"]),
        (&json!("operator"), &json!(true))
    );
    let revoked: Value =
        serde_json::from_str(&cli(&host, &["employees", "revoke-sessions", "rustam"])).unwrap();
    assert_eq!(revoked["revoked"], 1);
    assert_eq!(session.send("GET", "/api/whoami", None).await.unwrap().status, 401);
    let log = cli(&host, &["audit"]);
    let actions: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["action"].as_str().unwrap().to_string())
        .collect();
    for expected in ["directory_changed", "invited", "password_set", "signed_in", "sessions_revoked"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
    assert_eq!(cli(&host, &["audit", "--limit", "2"]).lines().count(), 2);
}
