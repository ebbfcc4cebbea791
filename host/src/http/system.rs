//! Who am I, API tokens, and the test clock: `GET /api/whoami`, `POST|GET /api/tokens`,
//! `DELETE /api/tokens/{id}`, `POST /api/clock/advance`.

use super::call::{Answer, Call};
use super::error::ApiError;
use super::reply::json;
use crate::access::Role;

/// `GET /api/whoami`: the caller's name and role.
pub async fn whoami(call: Call) -> Answer {
    Ok(json(200, &call.caller))
}

/// `POST /api/clock/advance {"minutes": N}`: only on a host started with `--clock-control`.
pub async fn advance_clock(mut call: Call) -> Answer {
    let Some(clock) = call.app.test_clock.clone() else {
        return Err(ApiError::new(
            403,
            "the clock can be advanced only on a host started with --clock-control",
        ));
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Advance {
        minutes: u64,
    }
    let advance: Advance = call.json().await?;
    // Ten years at a time is plenty for any demo; more would only overflow the SLA arithmetic.
    const MAX_MINUTES: u64 = 10 * 366 * 24 * 60;
    if advance.minutes > MAX_MINUTES {
        return Err(ApiError::invalid(format!("minutes: at most {MAX_MINUTES} (ten years) at a time")));
    }
    let offset = clock.advance(advance.minutes * 60_000);
    Ok(json(200, &serde_json::json!({ "now": call.app.store.now_ms(), "offset_ms": offset })))
}

/// `POST /api/tokens {"role", "name"}` for a named service, or `{"role", "employee"}` for a
/// person (their scope, their name on every action): the token is shown once.
pub async fn issue_token(mut call: Call) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct New {
        role: Role,
        #[serde(default)]
        name: String,
        #[serde(default)]
        employee: Option<String>,
    }
    let new: New = call.json().await?;
    let name = match &new.employee {
        Some(id) if call.app.store.directory().employees.iter().any(|e| &e.id == id) => id.clone(),
        Some(id) => return Err(ApiError::invalid(format!("employee: no employee '{id}' in the directory"))),
        None if new.name.trim().is_empty() => return Err(ApiError::invalid("name the token's holder")),
        None => new.name.trim().to_string(),
    };
    let (token, issued) = crate::access::issue(&call.app.store, new.role, &name, new.employee.as_deref())?;
    call.audit(
        "token_issued",
        &issued.id,
        vec![format!("role={}", new.role.name()), format!("holder={name}")],
    )?;
    Ok(json(201, &serde_json::json!({ "token": token, "issued": issued })))
}

/// `GET /api/tokens`: the issued tokens (never the tokens themselves).
pub async fn tokens(call: Call) -> Answer {
    Ok(json(200, &call.app.store.tokens::<crate::access::Issued>()?))
}

/// `DELETE /api/tokens/{id}`.
pub async fn revoke_token(call: Call) -> Answer {
    let id = call.param(0);
    if id.len() < 8 {
        return Err(ApiError::new(405, "tokens: POST /api/tokens, GET /api/tokens, DELETE /api/tokens/{id}"));
    }
    match call.app.store.revoke_token(id)? {
        0 => Err(ApiError::not_found(format!("no token {id}"))),
        n => {
            call.audit("token_revoked", id, Vec::new())?;
            Ok(json(200, &serde_json::json!({ "revoked": n })))
        }
    }
}
