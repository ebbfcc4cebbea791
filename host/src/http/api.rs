//! The API under `/api/`: a route table in which each route names its method, its path, the
//! weakest role allowed and its handler. A request is authenticated (401), matched (404, or 405
//! when only the method is wrong), checked against the route's role (403), then handled; a
//! handler answers a response or an [`ApiError`], and checks the caller's scope on every
//! object it reads or changes (404 outside it). The credential is a bearer token, or the
//! console's session cookie with its CSRF token ([`super::session`]). Signing in and accepting
//! an invitation are the only routes without one.

use super::bytes_body::Body;
use super::call::{Answer, Call};
use super::error::ApiError;
use super::session::{self, Credential};
use super::{
    App, admin, appeals, channels, data, events, files, people, reports, routing, system, views, workspace,
};
use crate::access::Role;
use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use std::sync::Arc;

type Handler = fn(Call) -> BoxFuture<'static, Answer>;

/// One route: `pattern` is the path after `/api/`, with `{name}` for a segment the handler
/// reads from [`Call::param`].
struct Route {
    method: Method,
    pattern: &'static str,
    role: Role,
    handler: Handler,
}

macro_rules! route {
    ($method:ident $pattern:literal, $role:ident => $handler:path) => {
        Route {
            method: Method::$method,
            pattern: $pattern,
            role: Role::$role,
            handler: |call| Box::pin($handler(call)),
        }
    };
}

/// Every API route. Literal paths come before patterns that would also match them.
const ROUTES: &[Route] = &[
    route!(GET "whoami", Viewer => system::whoami),
    route!(POST "clock/advance", Admin => system::advance_clock),
    route!(POST "tokens", Admin => system::issue_token),
    route!(GET "tokens", Admin => system::tokens),
    route!(DELETE "tokens/{id}", Admin => system::revoke_token),
    route!(GET "events", Viewer => events::stream),
    route!(GET "appeals", Viewer => appeals::list),
    route!(GET "views", Viewer => views::counts),
    route!(POST "appeals", Operator => workspace::create),
    route!(POST "appeals/reprocess", Supervisor => appeals::reprocess_all),
    route!(GET "appeals/{id}", Viewer => appeals::show),
    route!(GET "appeals/{id}/replies", Viewer => appeals::replies),
    route!(GET "appeals/{id}/attachments/{n}", Viewer => files::download),
    route!(POST "appeals/{id}/replies", Operator => appeals::reply),
    route!(POST "appeals/{id}/replies/{reply}/retry", Operator => appeals::retry_reply),
    route!(POST "appeals/{id}/reprocess", Operator => appeals::reprocess_one),
    route!(POST "appeals/{id}/take", Operator => appeals::act),
    route!(POST "appeals/{id}/handoff", Operator => appeals::act),
    route!(POST "appeals/{id}/pause", Operator => appeals::act),
    route!(POST "appeals/{id}/resume", Operator => appeals::act),
    route!(POST "appeals/{id}/resolve", Operator => appeals::act),
    route!(POST "appeals/{id}/reopen", Operator => appeals::act),
    route!(POST "appeals/{id}/notes", Operator => workspace::note),
    route!(POST "appeals/{id}/reclassify", Operator => workspace::reclassify),
    route!(POST "appeals/{id}/checklist/{item}", Operator => workspace::tick),
    route!(GET "appeals/{id}/templates", Operator => workspace::appeal_templates),
    route!(GET "templates", Viewer => workspace::templates),
    route!(PUT "templates", Admin => workspace::put_templates),
    route!(GET "reports/{kind}", Viewer => reports::report),
    route!(GET "plugins", Supervisor => admin::plugins),
    route!(POST "plugins", Admin => admin::upload),
    route!(GET "plugins/{name}", Supervisor => admin::plugin),
    route!(POST "plugins/{name}/activate", Admin => admin::activate),
    route!(GET "plugins/{name}/shadow", Admin => admin::shadow_report),
    route!(POST "plugins/{name}/shadow", Admin => admin::start_shadow),
    route!(DELETE "plugins/{name}/shadow", Admin => admin::stop_shadow),
    route!(POST "plugins/{name}/replay", Admin => admin::replay),
    route!(POST "plugins/{name}/rollback", Admin => admin::rollback),
    route!(POST "plugins/{name}/deactivate", Admin => admin::deactivate),
    route!(PUT "plugins/{name}/config", Admin => admin::configure),
    route!(PUT "plugins/{name}/outbound-hosts", Admin => admin::allow_hosts),
    route!(GET "channels", Admin => channels::list),
    route!(PUT "channels/{name}/verification", Admin => channels::set_verification),
    route!(GET "notice-hosts", Admin => admin::notice_hosts),
    route!(PUT "notice-hosts", Admin => admin::allow_notice_hosts),
    route!(GET "directory", Viewer => admin::directory),
    route!(PUT "directory", Admin => admin::put_directory),
    route!(GET "directory/history", Supervisor => admin::directory_history),
    route!(POST "directory/preview", Admin => routing::preview),
    route!(POST "routing/try", Supervisor => routing::try_text),
    route!(GET "employees", Supervisor => people::employees),
    route!(POST "employees/{id}/invite", Supervisor => people::invite),
    route!(DELETE "employees/{id}/sessions", Admin => people::revoke_employee_sessions),
    route!(GET "sessions", Viewer => people::sessions),
    route!(DELETE "sessions/{id}", Viewer => people::revoke_session),
    route!(POST "password", Viewer => people::change_password),
    route!(POST "totp", Viewer => people::start_totp),
    route!(POST "totp/confirm", Viewer => people::confirm_totp),
    route!(GET "presence", Supervisor => people::team),
    route!(PUT "presence", Viewer => people::set_presence),
    route!(GET "audit", Admin => people::audit),
    route!(POST "contacts/erase", Admin => data::erase),
    route!(GET "erasures", Admin => data::erasures),
    route!(GET "backup", Admin => data::trees),
    route!(GET "backup/{tree}", Admin => data::page),
];

/// Every route as (method, pattern, weakest role), in table order: what the access matrix
/// test walks, so a new route cannot ship without its row.
pub fn routes() -> Vec<(&'static str, &'static str, Role)> {
    ROUTES.iter().map(|r| (r.method.as_str(), r.pattern, r.role)).collect()
}

/// Serves `/api/{rest}`.
pub async fn dispatch(app: Arc<App>, rest: Vec<String>, request: Request<Incoming>) -> Response<Body> {
    let accept = request.headers().get(hyper::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let lang = super::history::lang_of(request.uri().query(), accept);
    answer(app, rest, request).await.unwrap_or_else(|e| e.response_in(lang))
}

async fn answer(app: Arc<App>, rest: Vec<String>, request: Request<Incoming>) -> Answer {
    let session = rest.len() == 1 && rest[0] == "session";
    match *request.method() {
        Method::POST if session => return session::sign_in(&app, request).await,
        Method::DELETE if session => return session::sign_out(&app, &request),
        Method::POST if rest == ["invitations", "accept"] => return people::accept(&app, request).await,
        _ => {}
    }
    let token = Credential::of(&request).token(request.method())?;
    let caller = crate::access::caller_of(&app.store, &app.admin_token, &token)?
        .ok_or_else(|| ApiError::new(401, "missing or wrong bearer token (Authorization: Bearer <token>)"))?;
    if session && request.method() == Method::GET {
        return Ok(session::current(&app, &caller, &token));
    }
    let path: Vec<&str> = rest.iter().map(String::as_str).collect();
    let mut allowed = Vec::new();
    let mut found = None;
    for route in ROUTES {
        if let Some(params) = matches(route.pattern, &path) {
            if route.method == request.method() {
                found = Some((route, params));
                break;
            }
            allowed.push(route.method.as_str());
        }
    }
    let Some((route, params)) = found else {
        return Err(match allowed.is_empty() {
            true => ApiError::not_found(format!("no API at /api/{}", rest.join("/"))),
            false => ApiError::new(405, format!("/api/{} takes {}", rest.join("/"), allowed.join(", "))),
        });
    };
    if !caller.role.allows(route.role) {
        tracing::warn!(caller = %caller.author(), path = %rest.join("/"), "refused: the role is too weak");
        return Err(ApiError::new(
            403,
            format!(
                "нужна роль {} или выше; ваша роль — {} (this needs the {0} role or above; yours is {1})",
                route.role.name(),
                caller.role.name()
            ),
        )
        .code("role_too_weak"));
    }
    (route.handler)(Call::new(app, caller, params, request)).await
}

/// The `{name}` segments of `path` when it fits `pattern`.
fn matches(pattern: &str, path: &[&str]) -> Option<Vec<String>> {
    let parts: Vec<&str> = pattern.split('/').collect();
    if parts.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, segment) in parts.iter().zip(path) {
        match part.starts_with('{') {
            true => params.push(segment.to_string()),
            false if part == segment => {}
            false => return None,
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_capture_their_segments() {
        assert_eq!(
            matches("appeals/{id}/replies/{reply}/retry", &["appeals", "A1", "replies", "R1", "retry"]),
            Some(vec!["A1".to_string(), "R1".to_string()])
        );
        assert_eq!(matches("appeals/{id}", &["appeals"]), None);
        assert_eq!(matches("appeals/reprocess", &["appeals", "A1"]), None);
    }

    #[test]
    fn every_route_is_reachable() {
        for (i, route) in ROUTES.iter().enumerate() {
            let path: Vec<&str> =
                route.pattern.split('/').map(|p| if p.starts_with('{') { "x" } else { p }).collect();
            let first =
                ROUTES.iter().position(|r| r.method == route.method && matches(r.pattern, &path).is_some());
            assert_eq!(first, Some(i), "{} {} is shadowed by an earlier route", route.method, route.pattern);
        }
    }
}
