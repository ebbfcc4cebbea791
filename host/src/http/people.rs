//! People over the API: employees and their accounts (`GET /api/employees`, invitations,
//! `POST /api/invitations/accept`), sessions (`GET /api/sessions`, revoking one or all of a
//! person's), the signed-in person's password and second factor, presence
//! (`PUT /api/presence`, and the team's `GET /api/presence`) and the audit log
//! (`GET /api/audit`).

use super::App;
use super::bytes_body::full;
use super::call::{Answer, Call, read_json};
use super::error::ApiError;
use super::reply::{json, query_pairs};
use crate::access::accounts::{self, Refused};
use crate::access::presence::{self, State};
use crate::access::{Role, audit, sessions};
use hyper::Response;
use hyper::body::Incoming;
use std::collections::HashMap;

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        match &refused {
            Refused::Store(e) => ApiError::internal(format!("{e:#}")),
            Refused::Invitation => ApiError::invalid(refused.to_string()).code("invitation_invalid"),
            Refused::Password(_) => ApiError::invalid(refused.to_string()).code("password_refused"),
            Refused::Locked(seconds) => {
                ApiError::new(429, refused.to_string()).code("locked_out").with("retry_after_s", *seconds)
            }
        }
    }
}

/// The signed-in person's employee id, for routes only a person can use.
fn person(call: &Call) -> Result<String, ApiError> {
    call.caller.employee.clone().ok_or_else(|| {
        ApiError::invalid(
            "это действие для сотрудника, а не для служебного токена (only a person can do this)",
        )
    })
}

/// Open appeals each employee holds.
fn loads(app: &App) -> anyhow::Result<HashMap<String, u32>> {
    let mut load = HashMap::new();
    for (employee, _) in app.store.holdings()? {
        *load.entry(employee).or_default() += 1;
    }
    Ok(load)
}

/// `GET /api/employees`: the employees in the caller's scope with their account (if any),
/// presence and load.
pub async fn employees(call: Call) -> Answer {
    let directory = call.app.store.directory();
    let now = call.app.store.now_ms();
    let accounts: HashMap<String, accounts::Account> =
        accounts::accounts(&call.app.store)?.into_iter().map(|a| (a.employee.clone(), a)).collect();
    let presence = presence::all(&call.app.store)?;
    let load = loads(&call.app)?;
    let rows: Vec<serde_json::Value> = directory
        .employees
        .iter()
        .filter(|e| call.caller.scope.covers(e))
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "name": e.name,
                "department": e.department,
                "regions": e.regions,
                "account": accounts.get(&e.id).map(|a| a.view(now)),
                "presence": presence.get(&e.id),
                "open_appeals": load.get(&e.id).copied().unwrap_or(0),
            })
        })
        .collect();
    Ok(json(200, &rows))
}

/// `GET /api/presence`: the team — every employee of the directory in scope, signed up or
/// not: presence (`account` false: works only in the CRM, judged by working hours), role and
/// load.
pub async fn team(call: Call) -> Answer {
    let directory = call.app.store.directory();
    let presence = presence::all(&call.app.store)?;
    let load = loads(&call.app)?;
    let accounts: std::collections::HashMap<String, accounts::Account> = accounts::accounts(&call.app.store)?
        .into_iter()
        .filter(|a| !a.password_hash.is_empty())
        .map(|a| (a.employee.clone(), a))
        .collect();
    let mut rows = Vec::new();
    for e in directory.employees.iter().filter(|e| call.caller.scope.covers(e)) {
        let here = presence.get(&e.id);
        let account = accounts.get(&e.id);
        rows.push(serde_json::json!({
            "id": e.id,
            "name": e.name,
            "department": e.department,
            "account": account.is_some(),
            "role": account.map(|a| a.role),
            "active": e.active,
            "state": here.map_or(State::Off, |p| p.state),
            "since": here.map(|p| p.since),
            "open_appeals": load.get(&e.id).copied().unwrap_or(0),
            "max_open": e.max_open,
        }));
    }
    Ok(json(200, &rows))
}

/// `PUT /api/presence {"state": "available" | "away" | "off"}`: the caller's own presence.
pub async fn set_presence(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Set {
        state: State,
    }
    let employee = person(&call)?;
    let set: Set = call.json().await?;
    Ok(json(200, &presence::set(&call.app.store, &employee, set.state)?))
}

/// `POST /api/employees/{id}/invite {"role", "departments"}`: a one-time link for the
/// employee to set a password (a new account, or a reset). Admins invite anyone with any
/// role; a supervisor invites people of their departments and regions as operators,
/// masters or viewers seeing at most what the supervisor sees.
pub async fn invite(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Invite {
        #[serde(default)]
        role: Option<Role>,
        #[serde(default)]
        departments: Vec<String>,
    }
    let id = call.param(0).to_string();
    let body: Invite = call.json().await?;
    let directory = call.app.store.directory();
    let employee = directory
        .employees
        .iter()
        .find(|e| e.id == id && call.caller.scope.covers(e))
        .ok_or_else(|| ApiError::not_found(format!("no employee {id}")))?;
    let current = accounts::account(&call.app.store, &id)?;
    let role = body.role.or(current.as_ref().map(|a| a.role)).unwrap_or(Role::Operator);
    let departments = match body.departments.is_empty() {
        true => current.as_ref().map(|a| a.departments.clone()).unwrap_or_default(),
        false => body.departments,
    };
    for d in departments.iter().filter(|d| *d != crate::access::scope::ALL_DEPARTMENTS) {
        if !directory.departments.iter().any(|x| &x.id == d) {
            return Err(ApiError::invalid(format!("departments: no department '{d}' in the directory")));
        }
    }
    if call.caller.role != Role::Admin {
        // Nobody invites, resets or changes the role of someone at or above their own role,
        // nor grants such a role; only admins touch admins.
        let above = current.as_ref().is_some_and(|a| a.role.allows(call.caller.role));
        let within = departments.iter().all(|d| call.caller.scope.has_department(&directory, d));
        if above || role.allows(call.caller.role) || !within {
            return Err(ApiError::new(
                403,
                "руководитель приглашает операторов, мастеров и наблюдателей своих отделов \
                 (a supervisor invites operators, masters and viewers within their own departments)",
            )
            .code("role_too_weak"));
        }
    }
    let invited =
        accounts::invite(&call.app.store, &employee.id, role, departments.clone(), &call.caller.author())?;
    if invited.changed {
        // What the sessions were started with is no longer so.
        sessions::revoke_employee(&call.app.store, &id)?;
    }
    let token = invited.token;
    let mut changed = vec![format!("role={}", role.name())];
    if !departments.is_empty() {
        changed.push(format!("departments={}", departments.join(",")));
    }
    call.audit("invited", &id, changed)?;
    let link = format!("{}/console/#invite={token}", call.app.public_url.trim_end_matches('/'));
    Ok(json(
        201,
        &serde_json::json!({ "employee": id, "role": role, "token": token, "link": link, "expires_at": invited.expires_at }),
    ))
}

/// `POST /api/invitations/accept {"token", "password"}` (no credential: the invitation is
/// one): sets the password; the person then signs in.
pub async fn accept(app: &App, request: hyper::Request<Incoming>) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Accept {
        token: String,
        password: String,
    }
    let address = super::hooks::source(app, &request).to_string();
    let body: Accept = read_json(request).await?;
    let store = app.store.clone();
    let account = app
        .password_checks
        .verify(move || accounts::accept(&store, body.token.trim(), &body.password))
        .await??;
    let employee = account.employee.clone();
    audit::record(
        &app.store,
        &employee,
        "password_set",
        &employee,
        vec![format!("role={}", account.role.name())],
        &address,
    )?;
    Ok(json(200, &serde_json::json!({ "employee": employee, "role": account.role })))
}

/// `POST /api/password {"current", "new"}`: the signed-in person's new password; their other
/// sessions end.
pub async fn change_password(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Change {
        current: String,
        new: String,
    }
    let employee = person(&call)?;
    let change: Change = call.json().await?;
    let (store, who) = (call.app.store.clone(), employee.clone());
    call.app
        .password_checks
        .verify(move || accounts::change_password(&store, &who, &change.current, &change.new))
        .await??;
    let current = call.caller.session.clone();
    let ended = sessions::list(&call.app.store, Some(&employee))?
        .into_iter()
        .filter(|s| Some(&s.id) != current.as_ref())
        .map(|s| sessions::revoke(&call.app.store, &s.id, None))
        .sum::<anyhow::Result<usize>>()?;
    call.audit("password_changed", &employee, Vec::new())?;
    Ok(json(200, &serde_json::json!({ "changed": true, "other_sessions_ended": ended })))
}

/// `POST /api/totp {"password"}`: starts the second factor once the password checks (a
/// session alone cannot replace a factor); the secret and `otpauth://` URI for an
/// authenticator app (shown once), confirmed by `POST /api/totp/confirm {"code"}`.
pub async fn start_totp(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Start {
        password: String,
    }
    let employee = person(&call)?;
    let start: Start = call.json().await?;
    let (store, who) = (call.app.store.clone(), employee.clone());
    let (secret, uri) = call
        .app
        .password_checks
        .verify(move || accounts::start_totp(&store, &who, &start.password))
        .await??;
    Ok(json(200, &serde_json::json!({ "secret": secret, "otpauth": uri })))
}

/// `POST /api/totp/confirm {"code"}`: turns the second factor on.
pub async fn confirm_totp(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Confirm {
        code: String,
    }
    let employee = person(&call)?;
    let confirm: Confirm = call.json().await?;
    if !accounts::confirm_totp(&call.app.store, &employee, &confirm.code)? {
        return Err(ApiError::invalid("код не подошёл (the code does not match; start again if needed)"));
    }
    call.audit("second_factor_enabled", &employee, Vec::new())?;
    Ok(json(200, &serde_json::json!({ "second_factor": true })))
}

/// `GET /api/sessions[?employee=]`: live sessions — one's own, or (admins) anyone's.
pub async fn sessions(call: Call) -> Answer {
    let mut employee = call.caller.employee.clone();
    for (key, value) in query_pairs(call.query()) {
        match key.as_str() {
            "employee" if call.caller.role == Role::Admin => employee = Some(value),
            "employee" => return Err(ApiError::new(403, "only admins list other people's sessions")),
            other => return Err(ApiError::invalid(format!("unknown parameter '{other}': use employee"))),
        }
    }
    if employee.is_none() && call.caller.role != Role::Admin {
        return Ok(json(200, &Vec::<sessions::Session>::new()));
    }
    Ok(json(200, &sessions::list(&call.app.store, employee.as_deref())?))
}

/// `DELETE /api/sessions/{id}`: ends one of one's own sessions, or (admins) anyone's.
pub async fn revoke_session(call: Call) -> Answer {
    let id = call.param(0).to_string();
    let own = match call.caller.role {
        Role::Admin => None,
        _ => Some(person(&call)?),
    };
    match sessions::revoke(&call.app.store, &id, own.as_deref())? {
        0 => Err(ApiError::not_found(format!("no session {id}"))),
        n => {
            call.audit("session_revoked", &id, Vec::new())?;
            Ok(json(200, &serde_json::json!({ "revoked": n })))
        }
    }
}

/// `DELETE /api/employees/{id}/sessions`: ends every session of an employee.
pub async fn revoke_employee_sessions(call: Call) -> Answer {
    let id = call.param(0).to_string();
    let ended = sessions::revoke_employee(&call.app.store, &id)?;
    call.audit("sessions_revoked", &id, vec![format!("sessions={ended}")])?;
    Ok(json(200, &serde_json::json!({ "revoked": ended })))
}

/// `GET /api/audit?after=ID&limit=N&format=jsonl`: the audit log, oldest first, a page at a
/// time (`next` continues); as JSON lines it is an export, itself recorded.
pub async fn audit(call: Call) -> Answer {
    let (mut after, mut limit, mut lines) = (None, 200usize, false);
    for (key, value) in query_pairs(call.query()) {
        match key.as_str() {
            "after" => after = Some(value),
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| ApiError::invalid("limit must be 1..=10000"))?
            }
            "format" => lines = value == "jsonl",
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown parameter '{other}': use after, limit, format"
                )));
            }
        }
    }
    let page = audit::page(&call.app.store, after.as_deref(), limit)?;
    if !lines {
        let next = (page.len() == limit).then(|| page.last().map(|(id, _)| id.clone())).flatten();
        let items: Vec<serde_json::Value> = page
            .into_iter()
            .map(|(id, event)| {
                let mut value = serde_json::to_value(event).unwrap_or_default();
                value["id"] = id.into();
                value
            })
            .collect();
        return Ok(json(200, &serde_json::json!({ "items": items, "next": next })));
    }
    call.audit("audit_exported", "", vec![format!("events={}", page.len())])?;
    let mut body = String::new();
    for (id, event) in page {
        let mut value = serde_json::to_value(event).unwrap_or_default();
        value["id"] = id.into();
        body.push_str(&value.to_string());
        body.push('\n');
    }
    Ok(Response::builder()
        .header("content-type", "application/x-ndjson; charset=utf-8")
        .body(full(body))
        // A constant header.
        .expect("a valid response"))
}
