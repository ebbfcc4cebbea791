//! A stateful Bitrix24 stand-in on loopback, speaking the REST shapes of the inbound webhook
//! (`/rest/<user>/<token>/<method>.json`, `{"result": …}`, errors as `{"error", "error_description"}`):
//! deals, leads' updates, contacts with multi-fields, timeline comments with files, `batch`
//! (commands as PHP query strings, `$result[name]` references, `halt`), and the portal's leaky
//! bucket (2 requests a second, 50 at once; past it 503 `QUERY_LIMIT_EXCEEDED`).

use crate::platform::{Platform, Received, Scripted};
use crate::support::*;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const HOOK_PATH: &str = "/rest/1/abc123def/";
pub const TOKEN: &str = "b24-app-token-51f0";

/// A fault the stand-in answers with instead of serving a call.
#[derive(Clone, Copy)]
pub enum Fault {
    /// 503 `QUERY_LIMIT_EXCEEDED`.
    QueryLimit,
    /// Serves the call, then answers 500 (the portal did it; the caller never learns).
    ServeThen500,
}

/// The portal's leaky bucket: each request adds one, 2 drain away a second.
struct Bucket {
    level: f64,
    at: Instant,
}

/// The stand-in portal's state.
#[derive(Default)]
pub struct Portal {
    pub deals: Vec<Value>,
    /// Deal positions by `ORIGIN_ID`, for `crm.deal.list` lookups at load.
    origins: HashMap<String, Vec<usize>>,
    pub contacts: Vec<Value>,
    pub comments: Vec<Value>,
    pub faults: VecDeque<Fault>,
    pub down: bool,
    /// Calls answered with an outage.
    pub refused: usize,
    /// Requests refused by the leaky bucket.
    pub limited: usize,
    /// Requests served, by method (a `batch` counts once, as `batch`).
    pub calls: HashMap<String, usize>,
    bucket: Option<Bucket>,
    /// The application's tokens: the refresh token it accepts, the access token it issued.
    refresh_token: String,
    access_token: Option<String>,
    /// Open Lines: connectors registered and activated, events bound, messages put into the
    /// lines, delivery receipts.
    pub open_lines: Vec<(String, Value)>,
}

fn ok(result: Value) -> Scripted {
    (200, vec![], json!({ "result": result, "time": { "start": 1763901000.1, "finish": 1763901000.2 } }))
}

fn error(status: u16, code: &str, description: &str) -> Scripted {
    (status, vec![], json!({ "error": code, "error_description": description }))
}

/// `a[b][0][c]=v&…` as nested JSON (objects whose keys are all numbers become arrays).
fn php_query(query: &str) -> Value {
    fn insert(node: &mut Value, path: &[String], value: String) {
        let Value::Object(map) = node else { return };
        match path {
            [last] => {
                map.insert(last.clone(), Value::String(value));
            }
            [first, rest @ ..] => insert(map.entry(first.clone()).or_insert_with(|| json!({})), rest, value),
            [] => {}
        }
    }
    fn arrays(node: Value) -> Value {
        match node {
            Value::Object(map) if !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok()) => {
                let mut items: Vec<(usize, Value)> =
                    map.into_iter().map(|(k, v)| (k.parse().unwrap(), arrays(v))).collect();
                items.sort_by_key(|(k, _)| *k);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            }
            Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect()),
            other => other,
        }
    }
    let mut root = json!({});
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let (base, rest) = key.split_once('[').map_or((key.as_ref(), ""), |(b, r)| (b, r));
        let mut path = vec![base.to_string()];
        path.extend(rest.split('[').filter(|s| !s.is_empty()).map(|s| s.trim_end_matches(']').to_string()));
        insert(&mut root, &path, value.into_owned());
    }
    arrays(root)
}

/// An id as the API takes it: a number or a string.
fn id_of(value: &Value) -> String {
    value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())
}

impl Portal {
    /// Enforces the leaky bucket (2 a second, 50 at once) from now on.
    pub fn limit_rate(&mut self) {
        self.bucket = Some(Bucket { level: 0.0, at: Instant::now() });
    }

    /// Whether the bucket refuses a request now; else it counts it.
    fn over_limit(&mut self) -> bool {
        let Some(bucket) = &mut self.bucket else { return false };
        let now = Instant::now();
        bucket.level = (bucket.level - 2.0 * now.duration_since(bucket.at).as_secs_f64()).max(0.0);
        bucket.at = now;
        if bucket.level + 1.0 > 50.0 + 1e-6 {
            return true;
        }
        bucket.level += 1.0;
        false
    }

    fn answer(&mut self, call: &Received) -> Scripted {
        if self.down {
            self.refused += 1;
            return (502, vec![], json!({ "error": "Bad Gateway" }));
        }
        if self.over_limit() {
            self.limited += 1;
            return error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
        }
        if call.path == "/oauth/token/" {
            return self.oauth(call);
        }
        let params: Value = serde_json::from_slice(&call.body).unwrap_or_default();
        let Some(method) = call.path.strip_prefix(HOOK_PATH) else {
            // An application's call: `/rest/<method>.json` with its access token as `auth`.
            let method = call.path.strip_prefix("/rest/").unwrap_or("").trim_end_matches(".json").to_string();
            if self.access_token.is_none() || params["auth"].as_str() != self.access_token.as_deref() {
                return error(401, "expired_token", "The access token provided has expired.");
            }
            *self.calls.entry(method.clone()).or_default() += 1;
            return self.application(&method, params);
        };
        let method = method.trim_end_matches(".json").to_string();
        *self.calls.entry(method.clone()).or_default() += 1;
        if let Some(Fault::QueryLimit) = self.faults.front() {
            self.faults.pop_front();
            return error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
        }
        let answer = if method == "batch" { self.batch(&params) } else { self.method(&method, &params) };
        if let Some(Fault::ServeThen500) = self.faults.front() {
            self.faults.pop_front();
            return error(500, "INTERNAL_SERVER_ERROR", "Internal server error");
        }
        answer
    }

    /// `/oauth/token/?grant_type=refresh_token&…`: a new pair of tokens for a valid refresh
    /// token of the application `local.app` / `app-secret`.
    fn oauth(&mut self, call: &Received) -> Scripted {
        let query: HashMap<String, String> =
            form_urlencoded::parse(call.query.as_bytes()).into_owned().collect();
        let valid = query.get("grant_type").map(String::as_str) == Some("refresh_token")
            && query.get("client_id").map(String::as_str) == Some("local.app")
            && query.get("client_secret").map(String::as_str) == Some("app-secret")
            && query.get("refresh_token") == Some(&self.refresh_token);
        if !valid {
            return (
                400,
                vec![],
                json!({"error": "invalid_grant", "error_description": "Invalid refresh token"}),
            );
        }
        let n = self.calls.entry("oauth".into()).or_default();
        *n += 1;
        let (access, refresh) = (format!("access-{n}"), format!("refresh-{n}"));
        self.access_token = Some(access.clone());
        self.refresh_token = refresh.clone();
        (
            200,
            vec![],
            json!({"access_token": access, "expires": 1773762761, "expires_in": 3600, "scope": "imopenlines,imconnector",
            "domain": "oauth.bitrix.info", "server_endpoint": "https://oauth.bitrix.info/rest/", "status": "L",
            "client_endpoint": "https://shop.bitrix24.ru/rest/", "member_id": "a223c6b3710f85df22e9377d6c4f7553",
            "user_id": 1, "refresh_token": refresh}),
        )
    }

    /// The `imconnector` and `event.bind` methods, as an application calls them.
    fn application(&mut self, method: &str, params: Value) -> Scripted {
        match method {
            "imconnector.register" | "imconnector.activate" | "event.bind" => {
                self.open_lines.push((method.to_string(), params));
                ok(json!(true))
            }
            "imconnector.send.messages" | "imconnector.send.status.delivery" => {
                self.open_lines.push((method.to_string(), params));
                ok(json!({"SUCCESS": true, "DATA": {"RESULT": [{"SUCCESS": true}]}}))
            }
            _ => error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
        }
    }

    /// `batch`: each command in turn, `$result[name]` replaced by an earlier result.
    fn batch(&mut self, params: &Value) -> Scripted {
        let mut results = Map::new();
        let mut errors = Map::new();
        for (name, command) in params["cmd"].as_object().cloned().unwrap_or_default() {
            let command = command.as_str().unwrap_or("");
            let (method, query) = command.split_once('?').unwrap_or((command, ""));
            let mut query = query.to_string();
            for (earlier, result) in &results {
                query = query.replace(&format!("$result[{earlier}]"), &id_of(result));
            }
            let (status, _, body) = self.method(method, &php_query(&query));
            if status == 200 {
                results.insert(name, body["result"].clone());
            } else {
                errors.insert(name, body);
                if params["halt"] == 1 || params["halt"] == true {
                    break;
                }
            }
        }
        ok(
            json!({ "result": results, "result_error": if errors.is_empty() { json!([]) } else { Value::Object(errors) },
            "result_total": [], "result_next": [], "result_time": {} }),
        )
    }

    fn method(&mut self, method: &str, params: &Value) -> Scripted {
        match method {
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
            "crm.contact.list" => {
                let filter = &params["filter"];
                let found: Vec<Value> = self
                    .contacts
                    .iter()
                    .filter(|c| {
                        c["ORIGIN_ID"] == filter["ORIGIN_ID"] && c["ORIGINATOR_ID"] == filter["ORIGINATOR_ID"]
                    })
                    .map(|c| json!({ "ID": c["ID"] }))
                    .collect();
                ok(json!(found))
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
                ok(json!(id))
            }
            "crm.deal.update" => {
                let id = id_of(&params["id"]);
                let Some(deal) = self.deals.iter_mut().find(|d| d["ID"] == json!(id)) else {
                    return error(400, "", "Not found");
                };
                for (field, value) in params["fields"].as_object().cloned().unwrap_or_default() {
                    deal[field] = value;
                }
                ok(json!(true))
            }
            "crm.deal.get" => {
                let id = id_of(&params["id"]);
                match self.deals.iter().find(|d| d["ID"] == json!(id)) {
                    Some(deal) => ok(deal.clone()),
                    None => error(400, "", "Not found"),
                }
            }
            "crm.timeline.comment.add" => {
                let fields = &params["fields"];
                if fields["ENTITY_ID"].is_null() || fields["COMMENT"].as_str().is_none_or(str::is_empty) {
                    return error(400, "ERROR_CORE", "ENTITY_ID and COMMENT are required");
                }
                let id = 300 + self.comments.len();
                let mut comment = fields.clone();
                comment["ENTITY_ID"] = json!(id_of(&fields["ENTITY_ID"]));
                comment["ID"] = json!(id.to_string());
                self.comments.push(comment);
                ok(json!(id))
            }
            "crm.timeline.comment.list" => {
                let filter = &params["filter"];
                let entity = id_of(&filter["ENTITY_ID"]);
                let mut found: Vec<Value> = self
                    .comments
                    .iter()
                    .filter(|c| c["ENTITY_ID"] == json!(entity) && c["ENTITY_TYPE"] == filter["ENTITY_TYPE"])
                    .map(|c| json!({ "ID": c["ID"], "COMMENT": c["COMMENT"] }))
                    .collect();
                found.reverse();
                ok(json!(found))
            }
            "crm.timeline.comment.get" => {
                let id = id_of(&params["id"]);
                match self.comments.iter().find(|c| c["ID"] == json!(id)) {
                    Some(comment) => ok(comment.clone()),
                    None => error(400, "", "Not found"),
                }
            }
            _ => error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
        }
    }

    /// The comments on deal `deal`'s timeline, their text without ClientHub's marker line.
    pub fn timeline(&self, deal: &str) -> Vec<String> {
        self.comments
            .iter()
            .filter(|c| c["ENTITY_ID"] == json!(deal))
            .map(|c| {
                let text = c["COMMENT"].as_str().unwrap_or("");
                text.split("\n\nClientHub · ").next().unwrap_or(text).to_string()
            })
            .collect()
    }
}

/// A stand-in portal, with the host's bitrix24 connector configured to use it (`extra`
/// settings added to the connector's configuration, `{portal}` in them replaced by the
/// stand-in's address) and the directory's employees mapped to
/// CRM users (e-1 → 17, e-2 → 23, anyone else → 31).
pub async fn portal_for(host: &Host, directory: Value, extra: Value) -> (Platform, Arc<Mutex<Portal>>) {
    let portal = Arc::new(Mutex::new(Portal { refresh_token: "refresh-0".into(), ..Portal::default() }));
    let state = portal.clone();
    let api = Platform::serve(Arc::new(move |call: &Received| state.lock().unwrap().answer(call))).await;
    let mut directory = directory;
    for employee in directory["employees"].as_array_mut().unwrap() {
        let crm_user = match employee["id"].as_str().unwrap() {
            "e-1" => "17",
            "e-2" => "23",
            _ => "31",
        };
        employee["crm_user_id"] = json!(crm_user);
    }
    host.api.send_json("PUT", "/api/directory", &directory).await.unwrap();
    let mut config = json!({"webhook_url": format!("{}{HOOK_PATH}", api.base), "category_id": 2, "stage_id": "C2:NEW",
        "source_ids": {"telegram": "TELEGRAM", "*": "OTHER"}, "fields": {"UF_CRM_QUEUE": "route_queue"},
        "application_token": TOKEN, "stage_statuses": {"C2:WON": "resolved", "C2:EXECUTING": "in_work"}});
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        config[key] = value;
    }
    let config: Value = serde_json::from_str(&config.to_string().replace("{portal}", &api.base)).unwrap();
    let hosts = json!({"hosts": [api.base]});
    host.api.send_json("PUT", "/api/plugins/bitrix24/outbound-hosts", &hosts).await.unwrap();
    let configured = host.api.send_json("PUT", "/api/plugins/bitrix24/config", &config).await.unwrap();
    assert_eq!(configured["active"], CONNECTOR_VERSION, "{configured}");
    assert_eq!(host.api.get_json("/healthz").await.unwrap()["crm"], format!("bitrix24@{CONNECTOR_VERSION}"));
    (api, portal)
}

/// The bitrix24 connector's version.
pub const CONNECTOR_VERSION: &str = "0.2.0";

/// [`portal_for`] with the sample directory and the default configuration.
pub async fn bitrix(host: &Host) -> (Platform, Arc<Mutex<Portal>>) {
    portal_for(host, sample_directory(), json!({})).await
}
