//! The console's session. `POST /api/session {"token": …}` checks the token and puts it in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the console is reached over HTTPS), out
//! of reach of page scripts; the answer carries a CSRF token derived from it, which every
//! state-changing request authenticated by the cookie must echo in `X-CSRF-Token`.
//! `GET /api/session` tells a reloaded page who it is and its CSRF token again;
//! `DELETE /api/session` clears the cookie. API clients keep using `Authorization: Bearer`.

use super::bytes_body::Body;
use super::call::read_json;
use super::error::ApiError;
use super::reply::json;
use super::{App, Peer};
use crate::access::Caller;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const COOKIE: &str = "clienthub_session";

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
                    Err(ApiError::new(403, "the X-CSRF-Token header is missing or wrong: reload the console"))
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

fn answer(caller: &Caller, token: &str) -> serde_json::Value {
    serde_json::json!({ "name": caller.name, "role": caller.role, "csrf": csrf_of(token) })
}

/// `POST /api/session {"token": …}`: signs the console in.
pub async fn sign_in(app: &App, request: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SignIn {
        token: String,
    }
    let secure = over_tls(app, &request);
    let given: SignIn = read_json(request).await?;
    let token = given.token.trim();
    // Cookie-safe tokens only (every issued token is): nothing else could be a valid one.
    let plausible =
        !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let caller = match plausible {
        true => crate::access::caller_of(&app.store, &app.admin_token, token)?,
        false => None,
    };
    let caller = caller.ok_or_else(|| ApiError::new(401, "the token was refused"))?;
    let mut response = json(200, &answer(&caller, token));
    let value = cookie(token, Some(12 * 3600), secure);
    response
        .headers_mut()
        .insert(hyper::header::SET_COOKIE, value.parse().map_err(|_| ApiError::invalid("bad token"))?);
    Ok(response)
}

/// `GET /api/session`: who the cookie's holder is, and its CSRF token.
pub fn current(caller: &Caller, token: &str) -> Response<Body> {
    json(200, &answer(caller, token))
}

/// `DELETE /api/session`: signs the console out (the cookie is cleared).
pub fn sign_out(app: &App, request: &Request<Incoming>) -> Response<Body> {
    let mut response = json(200, &serde_json::json!({ "signed_out": true }));
    let cleared = cookie("", Some(0), over_tls(app, request));
    if let Ok(value) = cleared.parse() {
        response.headers_mut().insert(hyper::header::SET_COOKIE, value);
    }
    response
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
