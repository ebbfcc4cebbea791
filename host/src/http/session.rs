//! The console's session. `POST /api/session {"login", "password", "code"?}` signs an employee
//! in ([`crate::access::accounts::sign_in`]: Argon2id, lock-out, TOTP) and starts a session
//! ([`crate::access::sessions`]); `{"token"}` signs in with an API token instead. Either way
//! the credential goes into an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the console
//! is reached over HTTPS), out of reach of page scripts; the answer carries a CSRF token
//! derived from it, which every state-changing request authenticated by the cookie must echo
//! in `X-CSRF-Token`. `GET /api/session` tells a reloaded page who it is and its CSRF token
//! again; `DELETE /api/session` ends the session and clears the cookie. API clients keep
//! using `Authorization: Bearer`.

use super::bytes_body::Body;
use super::call::read_json_within;
use super::error::ApiError;
use super::reply::json;
use super::{App, Peer};
use crate::access::accounts::{self, SignIn as Outcome};
use crate::access::{Caller, audit, sessions};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const COOKIE: &str = "clienthub_session";
/// What failed sign-ins count under in the per-address lock-out ([`super::lockout`]).
const SIGN_IN: &str = "sign-in";
/// The largest sign-in body read (a login and password are far smaller).
const MAX_SIGN_IN_BODY: usize = 128 << 10;
/// The longest login taken (a directory id).
const MAX_LOGIN_BYTES: usize = 256;
/// The longest password taken, in bytes (256 characters of any script).
const MAX_PASSWORD_BYTES: usize = 1024;

/// How a request proved who it is.
pub enum Credential {
    /// `Authorization: Bearer` (API clients): no CSRF exposure.
    Bearer(String),
    /// The console's cookie, with the `X-CSRF-Token` it sent (if any).
    Cookie { token: String, csrf: Option<String> },
    /// Nothing.
    None,
}

impl Credential {
    /// The credential of `request`: a bearer token first, else the session cookie.
    pub fn of(request: &Request<Incoming>) -> Self {
        let headers = request.headers();
        let bearer = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            return Credential::Bearer(token.trim().to_string());
        }
        let cookie = headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='));
        match cookie {
            Some(token) => Credential::Cookie {
                token: token.to_string(),
                csrf: headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string),
            },
            None => Credential::None,
        }
    }

    /// The token, once a cookie-borne one has passed the CSRF check for `method`.
    ///
    /// # Errors
    /// 403 when a state-changing request by cookie lacks the right `X-CSRF-Token`.
    pub fn token(self, method: &Method) -> Result<String, ApiError> {
        match self {
            Credential::Bearer(token) => Ok(token),
            Credential::None => Ok(String::new()),
            Credential::Cookie { token, csrf } => {
                let safe = method == Method::GET || method == Method::HEAD;
                let matches = csrf.is_some_and(|given| {
                    subtle::ConstantTimeEq::ct_eq(given.as_bytes(), csrf_of(&token).as_bytes()).into()
                });
                if safe || matches {
                    Ok(token)
                } else {
                    Err(ApiError::new(403, "the X-CSRF-Token header is missing or wrong: reload the console")
                        .code("csrf"))
                }
            }
        }
    }
}

/// The CSRF token of a session: derived from its token, so only a page that was given it (or
/// holds the token) can produce it.
fn csrf_of(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("clienthub-csrf\0{token}"))[..16])
}

/// Whether the console is reached over HTTPS: a public URL on https, or a trusted proxy
/// saying so.
fn over_tls(app: &App, request: &Request<Incoming>) -> bool {
    let proxied = request.extensions().get::<Peer>().is_some_and(|p| app.trusted_proxies.contains(&p.0));
    let forwarded = request.headers().get("x-forwarded-proto").is_some_and(|v| v.as_bytes() == b"https");
    app.public_url.starts_with("https://") || (proxied && forwarded)
}

fn cookie(value: &str, max_age: Option<u32>, secure: bool) -> String {
    let mut cookie = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

fn answer(app: &App, caller: &Caller, token: &str) -> serde_json::Value {
    let presence = caller
        .employee
        .as_ref()
        .and_then(|e| crate::access::presence::of(&app.store, e).ok().flatten())
        .map(|p| p.state);
    serde_json::json!({
        "name": caller.name,
        "employee": caller.employee,
        "role": caller.role,
        "scope": caller.scope,
        "presence": presence,
        "csrf": csrf_of(token),
    })
}

/// `POST /api/session`: signs the console in with a login and password (and code), or a token.
pub async fn sign_in(app: &App, request: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SignIn {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        login: Option<String>,
        #[serde(default)]
        password: Option<String>,
        #[serde(default)]
        code: Option<String>,
    }
    let secure = over_tls(app, &request);
    let peer = super::hooks::source(app, &request);
    let address = peer.to_string();
    let user_agent = request
        .headers()
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let given: SignIn = read_json_within(request, MAX_SIGN_IN_BODY).await?;
    let token = match (given.token, given.login, given.password) {
        (Some(token), None, None) => token.trim().to_string(),
        (None, Some(login), Some(password)) => {
            let login = login.trim().to_string();
            // The fields' sizes before any work.
            if login.len() > MAX_LOGIN_BYTES || password.len() > MAX_PASSWORD_BYTES {
                return Err(ApiError::invalid(format!(
                    "the login is at most {MAX_LOGIN_BYTES} bytes, the password {MAX_PASSWORD_BYTES}"
                ))
                .code("too_long"));
            }
            // The address's attempt is taken before the password is checked (many logins tried
            // from one address, password spraying, lock the address out too), and given back
            // when it passes.
            if !app.lockout.attempt(peer, SIGN_IN) {
                crate::metrics::sign_in("address_locked");
                return Err(ApiError::new(429, "слишком много неудачных попыток с этого адреса (too many failed sign-ins from this address)")
                    .with("retry_after_s", 60)
                    .code("locked_out"));
            }
            // One check at a time per login: parallel guesses wait for the failure counter. An
            // attempt refused unchecked (here or for want of a core) is given back.
            let Some(_turn) = app.password_checks.claim(&login) else {
                app.lockout.forgive(peer, SIGN_IN);
                crate::metrics::sign_in("busy");
                return Err(ApiError::new(429, "a sign-in of this login is under way: retry in a second")
                    .with("retry_after_s", 1)
                    .code("too_many"));
            };
            let (store, unknown) = (app.store.clone(), app.password_checks.unknown.clone());
            let (who, code) = (login.clone(), given.code);
            let outcome = app
                .password_checks
                .verify(move || accounts::sign_in(&store, &unknown, &who, &password, code.as_deref()))
                .await
                .inspect_err(|_| {
                    app.lockout.forgive(peer, SIGN_IN);
                    crate::metrics::sign_in("busy");
                })??;
            match outcome {
                Outcome::Passed(account) => {
                    app.lockout.forgive(peer, SIGN_IN);
                    crate::metrics::sign_in("passed");
                    let (key, session) = sessions::start(&app.store, &account, &address, &user_agent)?;
                    audit::record(
                        &app.store,
                        &account.employee,
                        "signed_in",
                        &session.id,
                        Vec::new(),
                        &address,
                    )?;
                    key
                }
                Outcome::CodeNeeded => {
                    app.lockout.forgive(peer, SIGN_IN);
                    crate::metrics::sign_in("code_needed");
                    return Err(ApiError::new(
                        401,
                        "введите код из приложения (enter the code from your authenticator app)",
                    )
                    .with("second_factor", true)
                    .code("second_factor_needed"));
                }
                Outcome::Locked(until) => {
                    // Counted, not audited one by one: the lock itself was audited once.
                    crate::metrics::sign_in("locked");
                    let minutes = until.saturating_sub(app.store.now_ms()).div_ceil(60_000);
                    return Err(ApiError::new(
                        429,
                        format!("слишком много неудачных попыток: повторите через {minutes} мин (too many failed sign-ins: try again in {minutes} min)"),
                    )
                    .with("retry_after_s", minutes * 60)
                    .code("locked_out"));
                }
                Outcome::Failed { locked } => {
                    crate::metrics::sign_in("failed");
                    audit::record(&app.store, &login, "sign_in_failed", &login, Vec::new(), &address)?;
                    if locked {
                        audit::record(&app.store, &login, "sign_in_locked", &login, Vec::new(), &address)?;
                    }
                    return Err(ApiError::new(401, "неверный логин или пароль (wrong login or password)")
                        .code("wrong_credentials"));
                }
            }
        }
        _ => return Err(ApiError::invalid("sign in with {\"login\", \"password\"} or {\"token\"}")),
    };
    // Cookie-safe credentials only (every issued one is): nothing else could be a valid one.
    let plausible =
        !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let caller = match plausible {
        true => crate::access::caller_of(&app.store, &app.admin_token, &token)?,
        false => None,
    };
    let caller = caller.ok_or_else(|| ApiError::new(401, "the token was refused").code("token_refused"))?;
    let mut response = json(200, &answer(app, &caller, &token));
    let max_age = u32::try_from(sessions::LIFETIME_MS / 1000).unwrap_or(u32::MAX);
    let value = cookie(&token, Some(max_age), secure);
    response
        .headers_mut()
        .insert(hyper::header::SET_COOKIE, value.parse().map_err(|_| ApiError::invalid("bad token"))?);
    Ok(response)
}

/// `GET /api/session`: who the cookie's holder is, and its CSRF token.
pub fn current(app: &App, caller: &Caller, token: &str) -> Response<Body> {
    json(200, &answer(app, caller, token))
}

/// `DELETE /api/session`: signs the console out: a password session ends, the cookie is
/// cleared.
pub fn sign_out(app: &App, request: &Request<Incoming>) -> Result<Response<Body>, ApiError> {
    if let Credential::Cookie { token, .. } = Credential::of(request)
        && token.starts_with(sessions::PREFIX)
    {
        if let Some(caller) = sessions::caller(&app.store, &token)? {
            let address = super::hooks::source(app, request).to_string();
            audit::record(
                &app.store,
                &caller.author(),
                "signed_out",
                caller.session.as_deref().unwrap_or(""),
                Vec::new(),
                &address,
            )?;
        }
        sessions::end(&app.store, &token)?;
    }
    let mut response = json(200, &serde_json::json!({ "signed_out": true }));
    let cleared = cookie("", Some(0), over_tls(app, request));
    if let Ok(value) = cleared.parse() {
        response.headers_mut().insert(hyper::header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_depends_on_the_session() {
        assert_eq!(csrf_of("a"), csrf_of("a"));
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert_eq!(csrf_of("a").len(), 32);
    }

    #[test]
    fn the_cookie_is_out_of_scripts_reach_and_same_site() {
        assert_eq!(
            cookie("t", Some(60), false),
            "clienthub_session=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert!(cookie("t", None, true).ends_with("; Secure"));
    }
}
