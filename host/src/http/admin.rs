//! The admin API: plugins (upload, list, activate, roll back, deactivate, configure) and the
//! routing directory (import, export).

use super::App;
use super::bytes_body::Body;
use super::reply::{error, json, read_body, read_json, refused};
use crate::access::Role;
use crate::directory::Directory;
use crate::refusal::Refusal;
use crate::registry::MAX_PLUGIN_BYTES;
use crate::registry::health::Threshold;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde::Deserialize;

pub async fn handle(
    app: &App,
    method: &Method,
    rest: &[&str],
    caller: &crate::access::Caller,
    request: Request<Incoming>,
) -> Response<Body> {
    match (method, rest) {
        (&Method::GET, ["plugins"]) => plugins(app, None, caller.role),
        (&Method::GET, ["plugins", name]) => plugins(app, Some(name), caller.role),
        // Read a little past the cap so the registry can say by how much it is over.
        (&Method::POST, ["plugins"]) => match read_body(request, 2 * MAX_PLUGIN_BYTES).await {
            Ok((_, body)) => {
                let registry = app.registry.clone();
                let result = tokio::task::spawn_blocking(move || registry.upload(&body)).await;
                match result {
                    Ok(Ok(record)) => json(201, &record),
                    Ok(Err(e)) => refused(&e),
                    Err(e) => error(500, &format!("upload task failed: {e}")),
                }
            }
            Err(e) => e.response(),
        },
        (&Method::POST, ["plugins", name, "activate"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Activate {
                version: String,
                #[serde(default)]
                position: Option<i64>,
                /// `false` to turn automatic rollback off; or its threshold.
                #[serde(default)]
                auto_rollback: Option<serde_json::Value>,
            }
            match read_json::<Activate>(request).await {
                Ok(a) => {
                    let threshold = match a.auto_rollback {
                        None | Some(serde_json::Value::Bool(true)) => Some(Threshold::default()),
                        Some(serde_json::Value::Bool(false)) => None,
                        Some(custom) => match serde_json::from_value::<Threshold>(custom) {
                            Ok(t) => Some(t),
                            Err(e) => return error(400, &format!("auto_rollback: {e}")),
                        },
                    };
                    outcome(app.registry.activate_watched(name, &a.version, a.position, threshold))
                }
                Err(r) => r,
            }
        }
        (&Method::GET, ["plugins", name, "shadow"]) => match app.registry.list() {
            Ok(list) => match list.into_iter().find(|(a, _)| a.name == *name).and_then(|(a, _)| a.shadow) {
                Some(version) => {
                    match crate::rollout::shadow::report(&app.store, &format!("{name}@{version}")) {
                        Ok(report) => json(200, &report),
                        Err(e) => error(500, &format!("{e:#}")),
                    }
                }
                None => error(404, &format!("{name} runs no shadow version")),
            },
            Err(e) => error(500, &format!("{e:#}")),
        },
        (&Method::POST, ["plugins", name, "shadow"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Start {
                version: String,
            }
            match read_json::<Start>(request).await {
                Ok(s) => outcome(app.registry.start_shadow(name, &s.version)),
                Err(r) => r,
            }
        }
        (&Method::DELETE, ["plugins", name, "shadow"]) => outcome(app.registry.stop_shadow(name)),
        (&Method::POST, ["plugins", name, "replay"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Replay {
                version: String,
                #[serde(default)]
                before: Option<String>,
                #[serde(default)]
                since: Option<u64>,
                #[serde(default)]
                until: Option<u64>,
                #[serde(default)]
                limit: Option<usize>,
            }
            let r = match read_json::<Replay>(request).await {
                Ok(r) => r,
                Err(response) => return response,
            };
            let (candidate, router) = match app.registry.candidate(name, &r.version) {
                Ok(c) => c,
                Err(e) => return refused(&e),
            };
            let (store, runtime, name) =
                (app.store.clone(), app.registry.runtime().clone(), name.to_string());
            let limit = r.limit.unwrap_or(100).clamp(1, 1000);
            let page = tokio::task::spawn_blocking(move || {
                crate::rollout::replay::page(
                    &store,
                    &runtime,
                    &candidate,
                    &name,
                    router,
                    crate::rollout::replay::Range {
                        before: r.before.as_deref(),
                        since: r.since,
                        until: r.until,
                    },
                    limit,
                )
            })
            .await;
            match page {
                Ok(Ok(page)) => json(200, &page),
                Ok(Err(e)) => error(500, &format!("{e:#}")),
                Err(e) => error(500, &format!("the replay failed: {e}")),
            }
        }
        (&Method::POST, ["plugins", name, "rollback"]) => outcome(app.registry.rollback(name)),
        (&Method::POST, ["plugins", name, "deactivate"]) => outcome(app.registry.deactivate(name)),
        (&Method::PUT, ["plugins", name, "config"]) => match read_json::<serde_json::Value>(request).await {
            Ok(config) => outcome(app.registry.configure(name, config)),
            Err(r) => r,
        },
        (&Method::PUT, ["plugins", name, "outbound-hosts"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Hosts {
                hosts: Vec<String>,
            }
            match read_json::<Hosts>(request).await {
                Ok(h) => outcome(app.registry.allow_hosts(name, h.hosts)),
                Err(r) => r,
            }
        }
        (&Method::GET, ["directory"]) => json(200, &*app.store.directory()),
        (&Method::GET, ["directory", "history"]) => match app.store.directory_changes(200) {
            Ok(changes) => json(200, &changes),
            Err(e) => error(500, &format!("{e:#}")),
        },
        (&Method::PUT, ["directory"]) => match read_json::<Directory>(request).await {
            Ok(directory) => match directory.validated() {
                Ok(directory) => match app.store.put_directory_by(directory, &caller.name) {
                    Ok(()) => json(200, &*app.store.directory()),
                    Err(e) => error(500, &format!("{e:#}")),
                },
                Err(problems) => json(
                    400,
                    &serde_json::json!({
                        "error": format!("the directory has {} problem(s): {}", problems.len(), problems.join("; ")),
                        "problems": problems,
                    }),
                ),
            },
            Err(r) => r,
        },
        _ => error(405, "see the README for the admin API"),
    }
}

/// The plugins; configurations (channel secrets) only for admins.
fn plugins(app: &App, only: Option<&str>, role: Role) -> Response<Body> {
    match app.registry.list() {
        Ok(list) => {
            let items: Vec<_> = list
                .into_iter()
                .filter(|(a, _)| only.is_none_or(|n| n == a.name))
                .map(|(activation, versions)| {
                    serde_json::json!({
                        "name": activation.name,
                        "active": activation.active,
                        "previous": activation.previous,
                        "config": if role == Role::Admin { activation.config } else { serde_json::json!("(admins only)") },
                        "position": activation.position,
                        "shadow": activation.shadow,
                        "extra_hosts": activation.extra_hosts,
                        "log": activation.log,
                        "calls": versions.iter().map(|v| {
                            let (calls, errors) = crate::metrics::plugin_counts(&v.label());
                            (v.version.clone(), serde_json::json!({ "calls": calls, "errors": errors }))
                        }).collect::<serde_json::Map<_, _>>(),
                        "versions": versions,
                    })
                })
                .collect();
            match only {
                Some(name) if items.is_empty() => error(404, &format!("no plugin named {name}")),
                Some(_) => json(200, &items[0]),
                None => json(200, &items),
            }
        }
        Err(e) => error(500, &format!("{e:#}")),
    }
}

fn outcome<T: serde::Serialize>(result: Result<T, Refusal>) -> Response<Body> {
    match result {
        Ok(value) => json(200, &value),
        Err(e) => refused(&e),
    }
}
