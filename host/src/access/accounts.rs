//! Employees' accounts. An admin (or a supervisor, for their departments) invites an employee
//! of the directory: the role and departments go on the account record at once, and the
//! invitation is a one-time link, valid for [`INVITATION_TTL_MS`] and the employee's only live
//! one (a newer link ends an older). The employee opens it and sets a password, hashed with
//! Argon2id (OWASP's parameters: 19 MiB, two passes); a new invitation resets it. Signing in
//! checks the password — and the TOTP code when the account has a second factor, each code
//! once — and locks the account out with growing back-off after [`FREE_FAILURES`] failures in
//! a row; logins with no account lock the same way ([`UnknownLogins`]), so neither the answer,
//! its time nor the lock-out tells which logins exist.

use super::{Role, digest, random_token};
use crate::store::Store;
use anyhow::Result;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long an invitation link stays valid.
pub const INVITATION_TTL_MS: u64 = 72 * 3600 * 1000;
/// Failed sign-ins in a row before the account locks.
pub const FREE_FAILURES: u32 = 5;
/// The longest lock-out.
const MAX_LOCK_MS: u64 = 3600 * 1000;
/// The shortest password (OWASP ASVS 2.1.1); no composition rules.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password (long pass phrases are welcome; Argon2 takes any length).
const MAX_PASSWORD_CHARS: usize = 256;

/// An employee's account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// The employee's id in the directory (the login).
    pub employee: String,
    /// The role.
    pub role: Role,
    /// The departments seen (empty: the employee's own; `*`: all), for supervisors, viewers
    /// and operators working several queues.
    #[serde(default)]
    pub departments: Vec<String>,
    /// The Argon2id hash (PHC string); empty until the invitation is accepted.
    pub password_hash: String,
    /// When the account was made (ms since the epoch).
    pub created_at: u64,
    /// When the password was last set.
    pub password_set_at: u64,
    /// Failed sign-ins in a row.
    #[serde(default)]
    pub failures: u32,
    /// Locked out until then (ms since the epoch).
    #[serde(default)]
    pub locked_until: u64,
    /// The TOTP secret once the second factor is confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<Vec<u8>>,
    /// A TOTP secret waiting for its first code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_pending: Option<Vec<u8>>,
    /// The 30-second step of the last TOTP code accepted: a code is good once.
    #[serde(default)]
    pub totp_last_step: u64,
    /// The digest of the live invitation's key, while one is out: the only link that works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<String>,
}

/// An account as listed: no hash, no secret.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    /// The login.
    pub employee: String,
    /// The role.
    pub role: Role,
    /// The departments seen.
    pub departments: Vec<String>,
    /// Whether a password is set.
    pub has_password: bool,
    /// Whether TOTP is on.
    pub second_factor: bool,
    /// Locked out until then, when locked.
    pub locked_until: Option<u64>,
}

impl Account {
    /// The account as an API answer.
    pub fn view(&self, now: u64) -> AccountView {
        AccountView {
            employee: self.employee.clone(),
            role: self.role,
            departments: self.departments.clone(),
            has_password: !self.password_hash.is_empty(),
            second_factor: self.totp_secret.is_some(),
            locked_until: (self.locked_until > now).then_some(self.locked_until),
        }
    }
}

/// A pending invitation, stored under its key's digest. What the invited person may do is on
/// their account record, never in the link.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    /// Who is invited.
    pub employee: String,
    /// Who invited them.
    pub by: String,
    /// Valid until (ms since the epoch).
    pub expires_at: u64,
}

fn account_key(employee: &str) -> String {
    format!("account/{employee}")
}

/// Where the invitation whose key has digest `live` is stored.
fn invitation_key(live: &str) -> String {
    format!("invitation/{live}")
}

/// The account of `employee`.
///
/// # Errors
/// On storage failure.
pub fn account(store: &Store, employee: &str) -> Result<Option<Account>> {
    store.person(&account_key(employee))
}

/// Every account.
///
/// # Errors
/// On storage failure.
pub fn accounts(store: &Store) -> Result<Vec<Account>> {
    Ok(store.people::<Account>("account/")?.into_iter().map(|(_, a)| a).collect())
}

/// Stores an account durably.
///
/// # Errors
/// On storage failure.
pub fn save(store: &Store, account: &Account) -> Result<()> {
    store.put_people(vec![(account_key(&account.employee), Some(serde_json::to_value(account)?))])
}

/// What an invitation did to the account: the link's key (shown once), when it expires, and
/// whether the role or departments changed.
pub struct Invited {
    /// The link's key.
    pub token: String,
    /// Valid until (ms since the epoch).
    pub expires_at: u64,
    /// Whether the account's role or departments changed.
    pub changed: bool,
}

/// Invites `employee` as `role` seeing `departments`, for `by`: the account record takes the
/// role and departments now (made without a password for someone new), and this invitation
/// becomes its only live one: an earlier link stops working.
///
/// # Errors
/// On storage failure.
pub fn invite(
    store: &Store,
    employee: &str,
    role: Role,
    departments: Vec<String>,
    by: &str,
) -> Result<Invited> {
    let token = random_token("chi_")?;
    let live = digest(&token);
    let now = store.now_ms();
    let expires_at = now + INVITATION_TTL_MS;
    let previous = account(store, employee)?;
    let changed = previous.as_ref().is_some_and(|a| a.role != role || a.departments != departments);
    let earlier = previous.as_ref().and_then(|a| a.invitation.clone());
    let account = match previous {
        Some(account) => Account { role, departments, invitation: Some(live.clone()), ..account },
        None => Account {
            employee: employee.to_string(),
            role,
            departments,
            password_hash: String::new(),
            created_at: now,
            password_set_at: 0,
            failures: 0,
            locked_until: 0,
            totp_secret: None,
            totp_pending: None,
            totp_last_step: 0,
            invitation: Some(live.clone()),
        },
    };
    let invitation = Invitation { employee: employee.to_string(), by: by.to_string(), expires_at };
    let mut writes = vec![
        (invitation_key(&live), Some(serde_json::to_value(&invitation)?)),
        (account_key(employee), Some(serde_json::to_value(&account)?)),
    ];
    if let Some(earlier) = earlier {
        writes.push((invitation_key(&earlier), None));
    }
    store.put_people(writes)?;
    Ok(Invited { token, expires_at, changed })
}

/// Why a password or an invitation was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The invitation is unknown, used or expired.
    #[error("the invitation link is unknown, used or expired: ask for a new one")]
    Invitation,
    /// The password breaks the policy, or (the current one) is wrong.
    #[error("{0}")]
    Password(String),
    /// Too many wrong passwords: locked for this many seconds more.
    #[error("слишком много неверных паролей: повторите позже (too many wrong passwords: retry later)")]
    Locked(u64),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Whether `password` may be set for `employee`: its length, and not the login itself.
pub fn check_password(employee: &str, password: &str) -> Result<(), Refused> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Refused::Password(format!(
            "пароль слишком короткий: не меньше {MIN_PASSWORD_CHARS} символов (the password needs at least {MIN_PASSWORD_CHARS} characters)"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(Refused::Password(format!("at most {MAX_PASSWORD_CHARS} characters")));
    }
    if password.trim().eq_ignore_ascii_case(employee) {
        return Err(Refused::Password("пароль не может совпадать с логином (not the login)".into()));
    }
    Ok(())
}

/// The Argon2id hash of `password` with a fresh salt.
///
/// # Errors
/// When the system has no randomness.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored `hash`.
pub fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Accepts an invitation: sets the password (a new account, or a reset of an existing one,
/// which also ends its sessions and its bound API tokens); the account. Only the employee's
/// live invitation works, once, before it expires.
///
/// # Errors
/// See [`Refused`].
pub fn accept(store: &Store, token: &str, password: &str) -> Result<Account, Refused> {
    let live = digest(token);
    let key = invitation_key(&live);
    let invitation: Invitation = store.person(&key)?.ok_or(Refused::Invitation)?;
    let now = store.now_ms();
    let current =
        account(store, &invitation.employee)?.filter(|a| a.invitation.as_deref() == Some(live.as_str()));
    let Some(current) = current.filter(|_| invitation.expires_at > now) else {
        store.put_people(vec![(key, None)])?;
        return Err(Refused::Invitation);
    };
    check_password(&invitation.employee, password)?;
    let account = Account {
        password_hash: hash_password(password)?,
        password_set_at: now,
        failures: 0,
        locked_until: 0,
        totp_pending: None,
        invitation: None,
        ..current
    };
    store.put_people(vec![
        (key, None),
        (account_key(&account.employee), Some(serde_json::to_value(&account).map_err(anyhow::Error::from)?)),
    ])?;
    super::sessions::revoke_employee(store, &account.employee)?;
    super::revoke_bound_tokens(store, &account.employee)?;
    Ok(account)
}

/// How a sign-in went.
#[derive(Debug)]
pub enum SignIn {
    /// Password (and code) right: the account.
    Passed(Account),
    /// Wrong login, password or code (one answer for all three); `locked` when this failure
    /// locked the login.
    Failed {
        /// Whether this failure locked the login.
        locked: bool,
    },
    /// The password was right but the account has a second factor and no code was given.
    CodeNeeded,
    /// Too many failures: locked until then (ms since the epoch).
    Locked(u64),
}

/// When a login with `failures` failures in a row is locked until: 1, 2, 4, … minutes after
/// [`FREE_FAILURES`], up to an hour; none before.
fn lock_until(failures: u32, now: u64) -> Option<u64> {
    let doublings = failures.checked_sub(FREE_FAILURES)?.min(6);
    Some(now + (60_000u64 << doublings).min(MAX_LOCK_MS))
}

/// Counts a failed password of `employee` in a transaction (parallel failures each count),
/// locking the account as [`lock_until`] says; the account as changed.
fn count_failure(store: &Store, employee: &str, now: u64) -> Result<Option<Account>> {
    store.change_person(&account_key(employee), |a: &mut Account| {
        a.failures += 1;
        if let Some(until) = lock_until(a.failures, now) {
            a.locked_until = until;
        }
        true
    })
}

/// Logins with no account tried since the host started: their failures counted in memory as
/// an account's are, so an unknown login locks as a known one would. Bounded: past
/// [`MAX_UNKNOWN`] logins the table starts again.
#[derive(Default)]
pub struct UnknownLogins(Mutex<HashMap<String, (u32, u64)>>);

/// Unknown logins remembered at most.
const MAX_UNKNOWN: usize = 100_000;

impl UnknownLogins {
    fn locked_until(&self, login: &str) -> u64 {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(login).map_or(0, |(_, until)| *until)
    }

    /// Counts a failure; whether it locked the login.
    fn fail(&self, login: &str, now: u64) -> bool {
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= MAX_UNKNOWN && !table.contains_key(login) {
            table.clear();
        }
        let (failures, until) = table.entry(login.to_string()).or_default();
        *failures += 1;
        match lock_until(*failures, now) {
            Some(at) => {
                *until = at;
                true
            }
            None => false,
        }
    }
}

/// Checks a sign-in; counts failures and locks the login out after [`FREE_FAILURES`] in a
/// row, for 1, 2, 4, … minutes up to an hour. An unknown login costs the same hashing time as
/// a known one and locks the same way ([`UnknownLogins`]); a TOTP code is accepted once.
///
/// # Errors
/// On storage failure.
pub fn sign_in(
    store: &Store,
    unknown: &UnknownLogins,
    login: &str,
    password: &str,
    code: Option<&str>,
) -> Result<SignIn> {
    let now = store.now_ms();
    let login = login.trim();
    let Some(account) = account(store, login)?.filter(|a| !a.password_hash.is_empty()) else {
        let until = unknown.locked_until(login);
        if until > now {
            return Ok(SignIn::Locked(until));
        }
        // Spend the time a real check would.
        let _ = password_matches(DUMMY_HASH, password);
        return Ok(SignIn::Failed { locked: unknown.fail(login, now) });
    };
    if account.locked_until > now {
        return Ok(SignIn::Locked(account.locked_until));
    }
    let password_ok = password_matches(&account.password_hash, password);
    // The code's step (0 without a second factor), when it is a fresh one.
    let step = match (&account.totp_secret, code) {
        (None, _) => Some(0),
        (Some(secret), Some(code)) => {
            super::totp::step_of(secret, code, now)?.filter(|s| *s > account.totp_last_step)
        }
        (Some(_), None) if password_ok => return Ok(SignIn::CodeNeeded),
        (Some(_), None) => None,
    };
    let key = account_key(&account.employee);
    if let (true, Some(step)) = (password_ok, step) {
        // In a transaction: of two sign-ins with one code, one passes.
        let replayed = Cell::new(false);
        let passed = store.change_person(&key, |a: &mut Account| {
            if step > 0 && step <= a.totp_last_step {
                replayed.set(true);
                return false;
            }
            let changed = step > 0 || a.failures > 0 || a.locked_until > 0;
            a.totp_last_step = a.totp_last_step.max(step);
            (a.failures, a.locked_until) = (0, 0);
            changed
        })?;
        if !replayed.get() {
            return Ok(SignIn::Passed(passed.unwrap_or(account)));
        }
    }
    let failed = count_failure(store, &account.employee, now)?;
    Ok(SignIn::Failed { locked: failed.is_some_and(|a| a.failures >= FREE_FAILURES) })
}

/// Changes a signed-in person's password after checking the current one.
///
/// # Errors
/// See [`Refused`]; a wrong current password is a [`Refused::Password`].
pub fn change_password(store: &Store, employee: &str, current: &str, new: &str) -> Result<(), Refused> {
    let mut account = account(store, employee)?.ok_or(Refused::Invitation)?;
    confirm_password(store, &account, current)?;
    check_password(employee, new)?;
    account.password_hash = hash_password(new)?;
    account.password_set_at = store.now_ms();
    save(store, &account)?;
    super::revoke_bound_tokens(store, employee)?;
    Ok(())
}

/// Checks a signed-in person's password before a change that needs it (a new password, a
/// second factor); a wrong one counts as a failed sign-in does, so it cannot be guessed from a
/// stolen session either.
fn confirm_password(store: &Store, account: &Account, password: &str) -> Result<(), Refused> {
    let now = store.now_ms();
    if account.locked_until > now {
        return Err(Refused::Locked((account.locked_until - now).div_ceil(1000)));
    }
    if password_matches(&account.password_hash, password) {
        return Ok(());
    }
    count_failure(store, &account.employee, now)?;
    Err(Refused::Password("текущий пароль неверен (the current password is wrong)".into()))
}

/// Starts TOTP enrolment once `password` is the person's: a fresh secret, kept pending until
/// [`confirm_totp`]; the secret in base32 and the `otpauth://` URI an authenticator app reads.
/// A session alone cannot replace a second factor.
///
/// # Errors
/// A wrong password is a [`Refused::Password`]; no account, or storage failure.
pub fn start_totp(store: &Store, employee: &str, password: &str) -> Result<(String, String), Refused> {
    let mut account = account(store, employee)?
        .ok_or_else(|| anyhow::anyhow!("no account: sign in with a password first"))?;
    confirm_password(store, &account, password)?;
    let secret = super::totp::new_secret()?;
    let encoded = super::totp::base32(&secret);
    account.totp_pending = Some(secret);
    save(store, &account)?;
    let uri =
        format!("otpauth://totp/ClientHub:{employee}?secret={encoded}&issuer=ClientHub&digits=6&period=30");
    Ok((encoded, uri))
}

/// Turns the second factor on once a code from the pending secret checks (that code is then
/// used up); whether it did.
///
/// # Errors
/// On storage failure.
pub fn confirm_totp(store: &Store, employee: &str, code: &str) -> Result<bool> {
    let Some(mut account) = account(store, employee)? else { return Ok(false) };
    let Some(pending) = account.totp_pending.clone() else { return Ok(false) };
    let Some(step) = super::totp::step_of(&pending, code, store.now_ms())? else { return Ok(false) };
    account.totp_secret = Some(pending);
    account.totp_pending = None;
    account.totp_last_step = step;
    save(store, &account)?;
    Ok(true)
}

/// A hash of a random password, checked against for unknown logins.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8t4CrjyZ4dJ2y3GoE1h3oVOeA5YrE7w6z3x2l0b7H5s";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_check() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(password_matches(&hash, "correct horse battery"));
        assert!(!password_matches(&hash, "correct horse battery!"));
        assert!(!password_matches("not a hash", "x"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn the_policy_wants_length_and_not_the_login() {
        assert!(check_password("olga", "short").is_err());
        assert!(check_password("olga", "OLGA").is_err());
        assert!(check_password("olga", "длинная фраза из слов").is_ok());
    }
}
