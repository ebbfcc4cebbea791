//! Employees' accounts. An admin (or a supervisor, for their departments) invites an employee
//! of the directory: the invitation is a one-time link, valid for [`INVITATION_TTL_MS`]. The
//! employee opens it and sets a password, hashed with Argon2id (OWASP's parameters: 19 MiB,
//! two passes); a new invitation resets it. Signing in checks the password — and the TOTP code
//! when the account has a second factor — and locks the account out with growing back-off
//! after [`FREE_FAILURES`] failures in a row.

use super::{Role, digest, random_token};
use crate::store::Store;
use anyhow::Result;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

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

/// A pending invitation, stored under its key's digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    /// Who is invited.
    pub employee: String,
    /// The role they get.
    pub role: Role,
    /// The departments they see (see [`Account::departments`]).
    #[serde(default)]
    pub departments: Vec<String>,
    /// Who invited them.
    pub by: String,
    /// Valid until (ms since the epoch).
    pub expires_at: u64,
}

fn account_key(employee: &str) -> String {
    format!("account/{employee}")
}

fn invitation_key(token: &str) -> String {
    format!("invitation/{}", digest(token))
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

/// Makes an invitation for `invitation.employee`; the link's key, shown once.
///
/// # Errors
/// On storage failure.
pub fn invite(store: &Store, invitation: &Invitation) -> Result<String> {
    let token = random_token("chi_")?;
    store.put_people(vec![(invitation_key(&token), Some(serde_json::to_value(invitation)?))])?;
    Ok(token)
}

/// Why a password or an invitation was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The invitation is unknown, used or expired.
    #[error("the invitation link is unknown, used or expired: ask for a new one")]
    Invitation,
    /// The password breaks the policy.
    #[error("{0}")]
    Password(String),
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
/// which also ends its sessions); the account.
///
/// # Errors
/// See [`Refused`].
pub fn accept(store: &Store, token: &str, password: &str) -> Result<Account, Refused> {
    let key = invitation_key(token);
    let invitation: Invitation = store.person(&key)?.ok_or(Refused::Invitation)?;
    let now = store.now_ms();
    if invitation.expires_at <= now {
        store.put_people(vec![(key, None)])?;
        return Err(Refused::Invitation);
    }
    check_password(&invitation.employee, password)?;
    let hash = hash_password(password)?;
    let previous = account(store, &invitation.employee)?;
    let account = Account {
        employee: invitation.employee.clone(),
        role: invitation.role,
        departments: invitation.departments,
        password_hash: hash,
        created_at: previous.as_ref().map_or(now, |a| a.created_at),
        password_set_at: now,
        failures: 0,
        locked_until: 0,
        totp_secret: previous.and_then(|a| a.totp_secret),
        totp_pending: None,
    };
    store.put_people(vec![
        (key, None),
        (account_key(&account.employee), Some(serde_json::to_value(&account).map_err(anyhow::Error::from)?)),
    ])?;
    super::sessions::revoke_employee(store, &account.employee)?;
    Ok(account)
}

/// How a sign-in went.
#[derive(Debug)]
pub enum SignIn {
    /// Password (and code) right: the account.
    Passed(Account),
    /// Wrong login, password or code (one answer for all three).
    Failed,
    /// The password was right but the account has a second factor and no code was given.
    CodeNeeded,
    /// Too many failures: locked until then (ms since the epoch).
    Locked(u64),
}

/// Checks a sign-in; counts failures and locks the account out after [`FREE_FAILURES`] in a
/// row, for 1, 2, 4, … minutes up to an hour. An unknown login costs the same hashing time as
/// a known one, so timing does not tell which logins exist.
///
/// # Errors
/// On storage failure.
pub fn sign_in(store: &Store, login: &str, password: &str, code: Option<&str>) -> Result<SignIn> {
    let now = store.now_ms();
    let Some(mut account) = account(store, login.trim())?.filter(|a| !a.password_hash.is_empty()) else {
        // Spend the time a real check would.
        let _ = password_matches(DUMMY_HASH, password);
        return Ok(SignIn::Failed);
    };
    if account.locked_until > now {
        return Ok(SignIn::Locked(account.locked_until));
    }
    let password_ok = password_matches(&account.password_hash, password);
    let code_ok = match (&account.totp_secret, code) {
        (None, _) => true,
        (Some(secret), Some(code)) => super::totp::check(secret, code, now)?,
        (Some(_), None) if password_ok => return Ok(SignIn::CodeNeeded),
        (Some(_), None) => false,
    };
    let key = account_key(&account.employee);
    if password_ok && code_ok {
        if account.failures > 0 || account.locked_until > 0 {
            store.change_person(&key, |a: &mut Account| {
                (a.failures, a.locked_until) = (0, 0);
                true
            })?;
            (account.failures, account.locked_until) = (0, 0);
        }
        return Ok(SignIn::Passed(account));
    }
    // Counted in a transaction: parallel failures each count.
    store.change_person(&key, |a: &mut Account| {
        a.failures += 1;
        if a.failures >= FREE_FAILURES {
            let doublings = (a.failures - FREE_FAILURES).min(6);
            a.locked_until = now + (60_000u64 << doublings).min(MAX_LOCK_MS);
        }
        true
    })?;
    Ok(SignIn::Failed)
}

/// Changes a signed-in person's password after checking the current one.
///
/// # Errors
/// See [`Refused`]; a wrong current password is a [`Refused::Password`].
pub fn change_password(store: &Store, employee: &str, current: &str, new: &str) -> Result<(), Refused> {
    let mut account = account(store, employee)?.ok_or(Refused::Invitation)?;
    if !password_matches(&account.password_hash, current) {
        return Err(Refused::Password("текущий пароль неверен (the current password is wrong)".into()));
    }
    check_password(employee, new)?;
    account.password_hash = hash_password(new)?;
    account.password_set_at = store.now_ms();
    save(store, &account)?;
    Ok(())
}

/// Starts TOTP enrolment: a fresh secret, kept pending until [`confirm_totp`]; the secret in
/// base32 and the `otpauth://` URI an authenticator app reads.
///
/// # Errors
/// When the person has no account, or on storage failure.
pub fn start_totp(store: &Store, employee: &str) -> Result<(String, String)> {
    let mut account = account(store, employee)?.ok_or_else(|| anyhow::anyhow!("no account"))?;
    let secret = super::totp::new_secret()?;
    let encoded = super::totp::base32(&secret);
    account.totp_pending = Some(secret);
    save(store, &account)?;
    let uri =
        format!("otpauth://totp/ClientHub:{employee}?secret={encoded}&issuer=ClientHub&digits=6&period=30");
    Ok((encoded, uri))
}

/// Turns the second factor on once a code from the pending secret checks; whether it did.
///
/// # Errors
/// On storage failure.
pub fn confirm_totp(store: &Store, employee: &str, code: &str) -> Result<bool> {
    let Some(mut account) = account(store, employee)? else { return Ok(false) };
    let Some(pending) = account.totp_pending.clone() else { return Ok(false) };
    if !super::totp::check(&pending, code, store.now_ms())? {
        return Ok(false);
    }
    account.totp_secret = Some(pending);
    account.totp_pending = None;
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
