//! Presence: whether an employee is available, away or off — Bitrix24's operator clock-in.
//! The console marks its user available on sign-in and off on sign-out; the person changes it
//! in between. An employee with an account takes new appeals only while available (on top
//! of working hours); employees without an account (who work only in the CRM) are judged by
//! working hours alone.

use crate::store::Store;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A presence state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// At work, takes appeals.
    Available,
    /// At work but not taking new appeals (a break, a meeting).
    Away,
    /// Not at work.
    Off,
}

/// An employee's presence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Presence {
    /// The state.
    pub state: State,
    /// Since when (ms since the epoch).
    pub since: u64,
}

fn key(employee: &str) -> String {
    format!("presence/{employee}")
}

/// Sets `employee`'s presence.
///
/// # Errors
/// On storage failure.
pub fn set(store: &Store, employee: &str, state: State) -> Result<Presence> {
    let presence = Presence { state, since: store.now_ms() };
    store.put_people(vec![(key(employee), Some(serde_json::to_value(&presence)?))])?;
    Ok(presence)
}

/// `employee`'s presence, if ever set.
///
/// # Errors
/// On storage failure.
pub fn of(store: &Store, employee: &str) -> Result<Option<Presence>> {
    store.person(&key(employee))
}

/// Everyone's presence, by employee id.
///
/// # Errors
/// On storage failure.
pub fn all(store: &Store) -> Result<HashMap<String, Presence>> {
    Ok(store
        .people::<Presence>("presence/")?
        .into_iter()
        .map(|(k, p)| (k["presence/".len()..].to_string(), p))
        .collect())
}

/// Who is not to be given work now, from the accounts and their presence: those with an
/// account (a password set: an invitation not yet accepted is not one) who are not available,
/// and those whose role takes no work ([`super::Role::takes_work`]). Assignment passes them by.
///
/// # Errors
/// On storage failure.
pub fn not_at_work(store: &Store) -> Result<NotAtWork> {
    let presence = all(store)?;
    let mut out = NotAtWork::default();
    for account in super::accounts::accounts(store)?.into_iter().filter(|a| !a.password_hash.is_empty()) {
        if !account.role.takes_work() {
            out.takes_no_work.insert(account.employee.clone());
        }
        let state = presence.get(&account.employee).map_or(State::Off, |p| p.state);
        if let Some(p) = presence.get(&account.employee).filter(|p| p.state == State::Off) {
            out.off_since.insert(account.employee.clone(), p.since);
        }
        if state != State::Available {
            out.absent.insert(account.employee, state);
        }
    }
    Ok(out)
}

/// Who assignment passes by ([`not_at_work`]).
#[derive(Debug, Default)]
pub struct NotAtWork {
    /// Employees away or off.
    pub absent: HashMap<String, State>,
    /// Employees whose role takes no work.
    pub takes_no_work: std::collections::HashSet<String>,
    /// Since when each employee who signed out (or said «не на работе») has been off.
    pub off_since: HashMap<String, u64>,
}
