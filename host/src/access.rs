//! Who may do what. Every API request carries a bearer token with a role: `admin` (plugins,
//! the directory, tokens — and everything below), `operator` (acts on appeals: replies,
//! take/hand off/pause/resolve, reprocess) or `viewer` (reads appeals, reports and the plugin
//! list without configurations, which hold channel secrets). The admin token comes from the
//! environment or the data directory; the others are issued by an admin and stored as sha256
//! digests only, so the database never holds a usable token.

use crate::store::Store;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A role, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads appeals, reports and the plugin list.
    Viewer,
    /// Also acts on appeals.
    Operator,
    /// Also manages plugins, the directory and tokens.
    Admin,
}

impl Role {
    /// The API's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// An issued token, as stored (without the token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    /// The first 12 hex digits of the token's sha256: how it is listed and revoked.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// Who it is for.
    pub name: String,
    /// When it was issued (ms since the epoch).
    pub created_at: u64,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a token; the token itself is returned once and never stored.
///
/// # Errors
/// On storage failure.
pub fn issue(store: &Store, role: Role, name: &str) -> Result<(String, Issued)> {
    let token = format!("cht_{}_{}{}", role.name(), ulid::Ulid::new(), ulid::Ulid::new()).to_lowercase();
    let hash = digest(&token);
    let issued =
        Issued { id: hash[..12].to_string(), role, name: name.to_string(), created_at: store.now_ms() };
    store.put_token(&hash, &issued)?;
    Ok((token, issued))
}

/// Who holds a bearer token: the admin token, or an issued one.
///
/// # Errors
/// On storage failure.
pub fn caller_of(store: &Store, admin_token: &str, given: &str) -> Result<Option<Caller>> {
    if given.is_empty() {
        return Ok(None);
    }
    if subtle::ConstantTimeEq::ct_eq(given.as_bytes(), admin_token.as_bytes()).into() {
        return Ok(Some(Caller { role: Role::Admin, name: "admin".into() }));
    }
    // Looked up by digest: comparing digests leaks nothing useful about the token.
    Ok(store.token::<Issued>(&digest(given))?.map(|issued| Caller { role: issued.role, name: issued.name }))
}

/// Who makes a request: the token's role and holder.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// The token's role.
    pub role: Role,
    /// Its holder (`admin` for the admin token).
    pub name: String,
}
