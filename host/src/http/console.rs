//! The web console: plain HTML, CSS and JavaScript embedded in the binary and served at
//! `/console/`. It is a client of the same API with the same tokens; the API enforces roles.

use super::bytes_body::Body;
use super::reply::error;
use hyper::Response;
use hyper::body::Bytes;

const ASSETS: [(&str, &str, &str); 6] = [
    ("index.html", "text/html; charset=utf-8", include_str!("../../console/index.html")),
    ("i18n.js", "text/javascript; charset=utf-8", include_str!("../../console/i18n.js")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../console/app.js")),
    ("workspace.js", "text/javascript; charset=utf-8", include_str!("../../console/workspace.js")),
    ("admin.js", "text/javascript; charset=utf-8", include_str!("../../console/admin.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("../../console/style.css")),
];

/// `GET /`: to the console.
pub fn redirect() -> Response<Body> {
    Response::builder()
        .status(302)
        .header("location", "/console/")
        .body(super::bytes_body::full(Bytes::new()))
        // Constant headers.
        .expect("a valid response")
}

/// `GET /console/{file}` (`/console/` is the page).
pub fn asset(rest: &[&str]) -> Response<Body> {
    let name = match rest {
        [] | [""] => "index.html",
        [name] => name,
        _ => return error(404, "no such console file"),
    };
    match ASSETS.iter().find(|(n, ..)| *n == name) {
        Some((_, content_type, text)) => Response::builder()
            .header("content-type", *content_type)
            .header("cache-control", "no-cache")
            .header(
                "content-security-policy",
                "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; \
                 script-src 'self'; frame-ancestors 'none'",
            )
            .header("x-frame-options", "DENY")
            .body(super::bytes_body::full(Bytes::from_static(text.as_bytes())))
            // Constant headers.
            .expect("a valid response"),
        None => error(404, "no such console file"),
    }
}
