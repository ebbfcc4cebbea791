//! Who may do what, and who is asking. A request is made by a **person** (an employee of the
//! directory, signed in with a password — [`accounts`], [`sessions`] — or holding a token bound
//! to them) or by a **service** (a named machine token, or the admin token from the
//! environment). Each has a [`Role`] and a [`Scope`]: admins see everything; supervisors,
//! operators, external masters and viewers see their departments and regions
//! ([`scope`]). Every action is recorded under the caller's own name ([`Caller::author`]),
//! and security events go to the append-only [`audit`] log. [`presence`] says who is at work.
//!
//! Tokens and session keys are stored as sha256 digests only, so the database never holds a
//! usable credential.

pub mod accounts;
pub mod audit;
pub mod checks;
pub mod presence;
pub mod scope;
pub mod sessions;
pub mod totp;

use crate::store::Store;
use anyhow::Result;
pub use scope::Scope;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads appeals, reports and the plugin list within a scope.
    Viewer,
    /// An external service master: works the appeals handed to their group, in their regions;
    /// sees only the contact fields the job needs; replies to customers only where the
    /// department allows it.
    Master,
    /// Also acts on appeals: replies, take, hand off, pause, resolve, reprocess.
    Operator,
    /// Also reassigns within their departments and regions, invites people there, sees the
    /// team's presence and load.
    Supervisor,
    /// Everything: plugins, the directory, tokens, accounts, the audit log.
    Admin,
}

impl Role {
    /// The API's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Master => "master",
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// How much the role may do: a route needing `operator` admits masters too (their scope
    /// and the reply rule limit them further).
    pub fn rank(self) -> u8 {
        match self {
            Role::Viewer => 0,
            Role::Master | Role::Operator => 1,
            Role::Supervisor => 2,
            Role::Admin => 3,
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self.rank() >= needed.rank()
    }

    /// Whether assignment gives this role work: operators and external masters. Supervisors
    /// and admins take an appeal by hand when they choose to; viewers never.
    pub fn takes_work(self) -> bool {
        matches!(self, Role::Operator | Role::Master)
    }
}

/// An issued token, as stored (without the token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    /// The first 12 hex digits of the token's sha256: how it is listed and revoked.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// Who it is for: the service's name, or the employee's id.
    pub name: String,
    /// The employee it acts for (their scope and name), when bound to a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee: Option<String>,
    /// When it was issued (ms since the epoch).
    pub created_at: u64,
}

/// The hex sha256 of a credential: how it is stored and looked up.
pub(crate) fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random credential: `prefix` and 32 random bytes in hex.
pub(crate) fn random_token(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// Issues a token for a service (`employee` none) or a person; the token itself is returned
/// once and never stored.
///
/// # Errors
/// On storage failure.
pub fn issue(store: &Store, role: Role, name: &str, employee: Option<&str>) -> Result<(String, Issued)> {
    let token = random_token(&format!("cht_{}_", role.name()))?;
    let hash = digest(&token);
    let issued = Issued {
        id: hash[..12].to_string(),
        role,
        name: name.to_string(),
        employee: employee.map(str::to_string),
        created_at: store.now_ms(),
    };
    store.put_token(&hash, &issued)?;
    Ok((token, issued))
}

/// Revokes every API token bound to `employee` (their password changed or was reset); how
/// many.
///
/// # Errors
/// On storage failure.
pub fn revoke_bound_tokens(store: &Store, employee: &str) -> Result<usize> {
    let bound: Vec<Issued> = store.tokens::<Issued>()?;
    let mut revoked = 0;
    for issued in bound.iter().filter(|i| i.employee.as_deref() == Some(employee)) {
        revoked += store.revoke_token(&issued.id)?;
    }
    Ok(revoked)
}

/// Who holds a credential: the admin token, a signed-in person's session key, or an issued
/// token. A person no longer in the directory holds nothing.
///
/// # Errors
/// On storage failure.
pub fn caller_of(store: &Store, admin_token: &str, given: &str) -> Result<Option<Caller>> {
    if given.is_empty() {
        return Ok(None);
    }
    if subtle::ConstantTimeEq::ct_eq(given.as_bytes(), admin_token.as_bytes()).into() {
        return Ok(Some(Caller::service(Role::Admin, "admin")));
    }
    if given.starts_with(sessions::PREFIX) {
        return sessions::caller(store, given);
    }
    // Looked up by digest: comparing digests leaks nothing useful about the token.
    let Some(issued) = store.token::<Issued>(&digest(given))? else { return Ok(None) };
    Ok(match &issued.employee {
        None => Some(Caller::service(issued.role, &issued.name)),
        Some(employee) => Caller::person(store, employee, issued.role, None)?,
    })
}

/// Who makes a request.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// The role.
    pub role: Role,
    /// The person's display name, or the service's name (`admin` for the admin token).
    pub name: String,
    /// The employee's id, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee: Option<String>,
    /// The session's id, when signed in with a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// What the caller sees.
    pub scope: Scope,
}

impl Caller {
    /// A service (machine token or the admin token): no person, no limit of scope.
    pub fn service(role: Role, name: &str) -> Self {
        Caller { role, name: name.to_string(), employee: None, session: None, scope: Scope::everything() }
    }

    /// The employee `id` in `role`, with their account's departments; none when they are not
    /// in the directory.
    ///
    /// # Errors
    /// On storage failure.
    pub fn person(store: &Store, id: &str, role: Role, session: Option<String>) -> Result<Option<Self>> {
        let directory = store.directory();
        let Some(employee) = directory.employees.iter().find(|e| e.id == id) else { return Ok(None) };
        let departments = accounts::account(store, id)?.map(|a| a.departments).unwrap_or_default();
        let name = if employee.name.is_empty() { employee.id.clone() } else { employee.name.clone() };
        Ok(Some(Caller {
            role,
            name,
            employee: Some(employee.id.clone()),
            session,
            scope: Scope::of(role, employee, &departments),
        }))
    }

    /// How the caller is named in histories, replies and the audit log: `Ольга (olga)` for
    /// a person, the service's name otherwise.
    pub fn author(&self) -> String {
        match &self.employee {
            Some(id) if *id != self.name => format!("{} ({id})", self.name),
            Some(id) => id.clone(),
            None => self.name.clone(),
        }
    }

    /// Who the caller is in an appeal's history: the employee, else the service.
    pub fn actor(&self) -> crate::event::Actor {
        match &self.employee {
            Some(id) => crate::event::Actor::Employee(id.clone()),
            None => crate::event::Actor::Service(self.name.clone()),
        }
    }

    /// Whether `named` (a body's `author` or `by`) is the caller: their id, name or author
    /// string. Anything else would put words in someone else's mouth.
    pub fn is(&self, named: &str) -> bool {
        let named = named.trim();
        named == self.name || named == self.author() || self.employee.as_deref() == Some(named)
    }
}
