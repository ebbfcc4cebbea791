//! The admin API: plugins (upload, list, activate, shadow, replay, roll back, deactivate,
//! configure) and the routing directory (export, import, history). One function per route of
//! [`super::api`].

use super::call::{Answer, Call};
use super::error::ApiError;
use super::reply::{json, query_pairs, read_body};
use crate::access::Role;
use crate::directory::Directory;
use crate::registry::MAX_PLUGIN_BYTES;
use crate::registry::health::Threshold;
use crate::work::notices::NOTICE_HOSTS;
use serde::Deserialize;

/// `GET /api/plugins`: every plugin with its versions.
pub async fn plugins(call: Call) -> Answer {
    Ok(json(200, &plugin_list(&call, None)?))
}

/// `GET /api/plugins/{name}`.
pub async fn plugin(call: Call) -> Answer {
    let name = call.param(0);
    let mut items = plugin_list(&call, Some(name))?;
    match items.is_empty() {
        true => Err(ApiError::not_found(format!("no plugin named {name}"))),
        false => Ok(json(200, &items.swap_remove(0))),
    }
}

/// The plugins as the API shows them; configurations (channel secrets) only for admins.
fn plugin_list(call: &Call, only: Option<&str>) -> Result<Vec<serde_json::Value>, ApiError> {
    let admin = call.caller.role == Role::Admin;
    Ok(call
        .app
        .registry
        .list()?
        .into_iter()
        .filter(|(a, _)| only.is_none_or(|n| n == a.name))
        .map(|(activation, versions)| {
            serde_json::json!({
                "name": activation.name,
                "active": activation.active,
                "previous": activation.previous,
                "config": if admin { activation.config } else { serde_json::json!("(admins only)") },
                "position": activation.position,
                "shadow": activation.shadow,
                "extra_hosts": activation.extra_hosts,
                "log": activation.log,
                "calls": versions.iter().map(|v| {
                    let (calls, errors) = crate::runtime::figures::counts(&v.label());
                    (v.version.clone(), serde_json::json!({ "calls": calls, "errors": errors }))
                }).collect::<serde_json::Map<_, _>>(),
                "versions": versions,
            })
        })
        .collect())
}

/// `POST /api/plugins[?dev=true]` with the component's bytes (`dev`: replace the version's
/// content, on a host started with `serve --dev`).
pub async fn upload(mut call: Call) -> Answer {
    let development = query_pairs(call.query()).iter().any(|(k, v)| k == "dev" && (v == "true" || v == "1"));
    // Read a little past the cap so the registry can say by how much it is over.
    let (_, body) = read_body(call.take_request(), 2 * MAX_PLUGIN_BYTES).await?;
    let registry = call.app.registry.clone();
    let record = tokio::task::spawn_blocking(move || registry.upload(&body, development))
        .await
        .map_err(|e| ApiError::internal(format!("upload task failed: {e}")))??;
    let event = if development { "plugin_replaced_in_development" } else { "plugin_uploaded" };
    call.audit(event, &format!("{}@{}", record.name, record.version), Vec::new())?;
    Ok(json(201, &record))
}

/// `POST /api/plugins/{name}/activate {"version", "position", "replace", "auto_rollback"}`.
pub async fn activate(mut call: Call) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Activate {
        version: String,
        #[serde(default)]
        position: Option<i64>,
        /// Replace the active router of another name.
        #[serde(default)]
        replace: bool,
        /// `false` to turn automatic rollback off; or its threshold.
        #[serde(default)]
        auto_rollback: Option<serde_json::Value>,
    }
    let a: Activate = call.json().await?;
    let threshold = match a.auto_rollback {
        None | Some(serde_json::Value::Bool(true)) => Some(Threshold::default()),
        Some(serde_json::Value::Bool(false)) => None,
        Some(custom) => Some(
            serde_json::from_value::<Threshold>(custom)
                .map_err(|e| ApiError::invalid(format!("auto_rollback: {e}")))?,
        ),
    };
    let registry = &call.app.registry;
    let activation =
        registry.activate_watched(call.param(0), &a.version, a.position, a.replace, threshold)?;
    call.audit("plugin_activated", &format!("{}@{}", call.param(0), a.version), Vec::new())?;
    Ok(json(200, &activation))
}

/// `GET /api/plugins/{name}/shadow`: how the shadow version's outcomes compare.
pub async fn shadow_report(call: Call) -> Answer {
    let name = call.param(0);
    let list = call.app.registry.list()?;
    let version = list
        .into_iter()
        .find(|(a, _)| a.name == name)
        .and_then(|(a, _)| a.shadow)
        .ok_or_else(|| ApiError::not_found(format!("{name} runs no shadow version")))?;
    Ok(json(200, &crate::rollout::shadow::report(&call.app.store, &format!("{name}@{version}"))?))
}

/// `POST /api/plugins/{name}/shadow {"version"}`.
pub async fn start_shadow(mut call: Call) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Start {
        version: String,
    }
    let start: Start = call.json().await?;
    let shadow = call.app.registry.start_shadow(call.param(0), &start.version)?;
    call.audit("shadow_started", &format!("{}@{}", call.param(0), start.version), Vec::new())?;
    Ok(json(200, &shadow))
}

/// `DELETE /api/plugins/{name}/shadow`.
pub async fn stop_shadow(call: Call) -> Answer {
    let stopped = call.app.registry.stop_shadow(call.param(0))?;
    call.audit("shadow_stopped", call.param(0), Vec::new())?;
    Ok(json(200, &stopped))
}

/// `POST /api/plugins/{name}/replay {"version", "before", "since", "until", "limit"}`: one page
/// of stored appeals through a candidate version, compared with what the pipeline did.
pub async fn replay(mut call: Call) -> Answer {
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
    let r: Replay = call.json().await?;
    let candidate = call.app.registry.candidate(call.param(0), &r.version)?;
    let (store, runtime, name) =
        (call.app.store.clone(), call.app.registry.runtime().clone(), call.param(0).to_string());
    let limit = r.limit.unwrap_or(100).clamp(1, 1000);
    let page = tokio::task::spawn_blocking(move || {
        let range =
            crate::rollout::replay::Range { before: r.before.as_deref(), since: r.since, until: r.until };
        crate::rollout::replay::page(&store, &runtime, &candidate, &name, range, limit)
    })
    .await
    .map_err(|e| ApiError::internal(format!("the replay failed: {e}")))??;
    Ok(json(200, &page))
}

/// `POST /api/plugins/{name}/rollback`.
pub async fn rollback(call: Call) -> Answer {
    let activation = call.app.registry.rollback(call.param(0))?;
    call.audit("plugin_rolled_back", call.param(0), Vec::new())?;
    Ok(json(200, &activation))
}

/// `POST /api/plugins/{name}/deactivate`.
pub async fn deactivate(call: Call) -> Answer {
    let activation = call.app.registry.deactivate(call.param(0))?;
    call.audit("plugin_deactivated", call.param(0), Vec::new())?;
    Ok(json(200, &activation))
}

/// `PUT /api/plugins/{name}/config` with the configuration as JSON; the audit log names the
/// fields that changed, never their values (they hold channel secrets).
pub async fn configure(mut call: Call) -> Answer {
    let config: serde_json::Value = call.json().await?;
    let name = call.param(0).to_string();
    let before = call.app.registry.list()?.into_iter().find(|(a, _)| a.name == name).map(|(a, _)| a.config);
    let activation = call.app.registry.configure(&name, config)?;
    let changed = crate::access::audit::changed_fields(&before.unwrap_or_default(), &activation.config);
    call.audit("plugin_configured", &name, changed)?;
    Ok(json(200, &activation))
}

/// The body of the outbound-host lists.
#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Hosts {
    hosts: Vec<String>,
}

/// `PUT /api/plugins/{name}/outbound-hosts {"hosts": […]}`.
pub async fn allow_hosts(mut call: Call) -> Answer {
    let hosts: Hosts = call.json().await?;
    let activation = call.app.registry.allow_hosts(call.param(0), hosts.hosts.clone())?;
    call.audit("outbound_hosts_changed", call.param(0), hosts.hosts)?;
    Ok(json(200, &activation))
}

/// `GET /api/notice-hosts`: the hosts notice webhooks may call.
pub async fn notice_hosts(call: Call) -> Answer {
    let hosts: Vec<String> = call.app.store.setting(NOTICE_HOSTS)?.unwrap_or_default();
    Ok(json(200, &Hosts { hosts }))
}

/// `PUT /api/notice-hosts {"hosts": […]}`: replaces them (the same grammar as a plugin's).
pub async fn allow_notice_hosts(mut call: Call) -> Answer {
    let hosts: Hosts = call.json().await?;
    call.app.registry.runtime().check_outbound_hosts(&hosts.hosts).map_err(ApiError::invalid)?;
    call.app.store.put_setting(NOTICE_HOSTS, &hosts.hosts)?;
    call.audit("notice_hosts_changed", "", hosts.hosts.clone())?;
    Ok(json(200, &hosts))
}

/// `GET /api/directory`.
pub async fn directory(call: Call) -> Answer {
    let directory = call.app.store.directory();
    if call.caller.role == Role::Admin {
        return Ok(json(200, &*directory));
    }
    if !call.caller.role.allows(Role::Supervisor) && call.caller.role != Role::Operator {
        return Ok(json(200, &names_only(&directory, &call.caller.scope)));
    }
    Ok(json(200, &masked(&directory)))
}

/// The directory as a viewer or an external master reads it: the names the console shows
/// (regions, departments, topics, and the employees of their scope), no staff records, CRM
/// ids, hours or notice targets.
fn names_only(directory: &Directory, scope: &crate::access::Scope) -> serde_json::Value {
    let named = |id: &str, name: &str| serde_json::json!({"id": id, "name": name});
    serde_json::json!({
        "regions": directory.regions.iter().map(|r| named(&r.id, &r.name)).collect::<Vec<_>>(),
        "departments": directory.departments.iter().map(|d| serde_json::json!({
            "id": d.id, "name": d.name, "external": d.external, "masters_may_reply": d.masters_may_reply,
        })).collect::<Vec<_>>(),
        "topics": directory.topics.iter().map(|t| named(&t.id, &t.name)).collect::<Vec<_>>(),
        "employees": directory.employees.iter().filter(|e| scope.covers(e))
            .map(|e| serde_json::json!({"id": e.id, "name": e.name, "department": e.department}))
            .collect::<Vec<_>>(),
        "utc_offset_minutes": directory.utc_offset_minutes,
    })
}

/// The directory as anyone but an admin reads it: where notices go is a secret when it is a
/// webhook's URL (its query and credentials carry tokens), as plugin configs' secrets are.
fn masked(directory: &Directory) -> Directory {
    let mut directory = directory.clone();
    let mask = |notify: &mut crate::directory::Notify| {
        if notify.channel == "webhook" {
            let end = notify.to.find(['?', '#']).unwrap_or(notify.to.len());
            let address = &notify.to[..end];
            let address = match address.split_once("://") {
                Some((scheme, rest)) => {
                    format!("{scheme}://{}", rest.rsplit_once('@').map_or(rest, |(_, host)| host))
                }
                None => address.to_string(),
            };
            let hidden = if end < notify.to.len() { "?…" } else { "" };
            notify.to = format!("{address}{hidden}");
        }
    };
    for rule in &mut directory.notices {
        mask(&mut rule.to);
    }
    for department in &mut directory.departments {
        department.notify.iter_mut().for_each(mask);
        department.notify_regions.values_mut().for_each(mask);
    }
    for employee in &mut directory.employees {
        employee.notify.iter_mut().for_each(mask);
    }
    directory
}

/// `GET /api/directory/history`: the latest 200 savings, newest first.
pub async fn directory_history(call: Call) -> Answer {
    Ok(json(200, &call.app.store.directory_changes(200)?))
}

/// `directory` validated as a save validates it; a 400 lists every problem.
pub(super) fn validated(directory: Directory) -> Result<Directory, ApiError> {
    directory.validated().map_err(|problems| {
        ApiError::invalid(format!("the directory has {} problem(s): {}", problems.len(), problems.join("; ")))
            .with("problems", &problems)
    })
}

/// `PUT /api/directory`: the whole directory, validated; every problem is listed.
pub async fn put_directory(mut call: Call) -> Answer {
    let directory = validated(call.json().await?)?;
    let changes = call.app.store.directory().changes(&directory);
    call.app.store.put_directory_by(directory, &call.caller.author())?;
    call.audit("directory_changed", "", changes)?;
    Ok(json(200, &*call.app.store.directory()))
}
