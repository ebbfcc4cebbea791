//! Signed-in sessions. Signing in with a password makes a random session key (`chs_…`), put
//! in the console's cookie; the store keeps only its digest, with who, since when, from where
//! and when it was last used. A session ends at sign-out, on revocation (by an admin, or by a
//! password reset), after [`IDLE_MS`] unused, and [`LIFETIME_MS`] after sign-in whatever
//! happens (one working shift).

use super::{Caller, Role, digest, random_token};
use crate::store::Store;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// A session key starts with this.
pub const PREFIX: &str = "chs_";
/// The longest a session lives.
pub const LIFETIME_MS: u64 = 12 * 3600 * 1000;
/// A session unused this long ends.
pub const IDLE_MS: u64 = 2 * 3600 * 1000;
/// A session's last use is written at most this often.
const TOUCH_EVERY_MS: u64 = 60_000;

/// A session, as stored under its key's digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The first 12 hex digits of the key's digest: how it is listed and revoked.
    pub id: String,
    /// Whose.
    pub employee: String,
    /// The role at sign-in.
    pub role: Role,
    /// When it began (ms since the epoch).
    pub created_at: u64,
    /// When it was last used.
    pub last_seen: u64,
    /// The address it signed in from.
    pub address: String,
    /// The browser that signed in.
    pub user_agent: String,
}

fn key_of(token: &str) -> String {
    format!("session/{}", digest(token))
}

/// Starts a session for an account; the session key, shown once.
///
/// # Errors
/// On storage failure.
pub fn start(
    store: &Store,
    account: &super::accounts::Account,
    address: &str,
    user_agent: &str,
) -> Result<(String, Session)> {
    let token = random_token(PREFIX)?;
    let now = store.now_ms();
    let key = key_of(&token);
    let session = Session {
        id: digest(&token)[..12].to_string(),
        employee: account.employee.clone(),
        role: account.role,
        created_at: now,
        last_seen: now,
        address: address.to_string(),
        user_agent: user_agent.chars().take(200).collect(),
    };
    store.put_people(vec![(key, Some(serde_json::to_value(&session)?))])?;
    Ok((token, session))
}

/// The caller a session key stands for, if the session is alive; its last use is noted.
///
/// # Errors
/// On storage failure.
pub fn caller(store: &Store, token: &str) -> Result<Option<Caller>> {
    let key = key_of(token);
    let Some(mut session) = store.person::<Session>(&key)? else { return Ok(None) };
    let now = store.now_ms();
    if now >= session.created_at + LIFETIME_MS || now >= session.last_seen + IDLE_MS {
        store.put_people(vec![(key, None)])?;
        return Ok(None);
    }
    if now >= session.last_seen + TOUCH_EVERY_MS {
        session.last_seen = now;
        store.touch_person(&key, &session)?;
    }
    Caller::person(store, &session.employee, session.role, Some(session.id))
}

/// Every live session (of `employee`, or everyone's), newest first.
///
/// # Errors
/// On storage failure.
pub fn list(store: &Store, employee: Option<&str>) -> Result<Vec<Session>> {
    let now = store.now_ms();
    let mut sessions: Vec<Session> = store
        .people::<Session>("session/")?
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| employee.is_none_or(|e| s.employee == e))
        .filter(|s| now < s.created_at + LIFETIME_MS && now < s.last_seen + IDLE_MS)
        .collect();
    sessions.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    Ok(sessions)
}

/// Ends the sessions that `which` picks; how many.
fn revoke_where(store: &Store, which: impl Fn(&Session) -> bool) -> Result<usize> {
    let ended: Vec<(String, Option<serde_json::Value>)> = store
        .people::<Session>("session/")?
        .into_iter()
        .filter(|(_, s)| which(s))
        .map(|(key, _)| (key, None))
        .collect();
    let count = ended.len();
    store.put_people(ended)?;
    Ok(count)
}

/// Ends every session of `employee`; how many.
///
/// # Errors
/// On storage failure.
pub fn revoke_employee(store: &Store, employee: &str) -> Result<usize> {
    revoke_where(store, |s| s.employee == employee)
}

/// Ends the session with this id (when `employee` is given, only if it is theirs); how many.
///
/// # Errors
/// On storage failure.
pub fn revoke(store: &Store, id: &str, employee: Option<&str>) -> Result<usize> {
    revoke_where(store, |s| s.id == id && employee.is_none_or(|e| s.employee == e))
}

/// Ends the session of this key (sign-out).
///
/// # Errors
/// On storage failure.
pub fn end(store: &Store, token: &str) -> Result<()> {
    store.put_people(vec![(key_of(token), None)])
}
