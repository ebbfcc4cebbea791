//! What checking passwords may cost the host. Each Argon2id check takes 19 MiB and a core for
//! tens of milliseconds, so at most one runs per core at a time; the rest wait a moment for a
//! turn, then are refused ([`Unchecked::Busy`]) rather than queued without end. One check at a
//! time per login ([`Checks::claim`]): parallel guesses at one account wait for the failure
//! counter instead of racing it. And the logins that have no account
//! ([`super::accounts::UnknownLogins`]), which lock the same way as real ones.

use super::accounts::UnknownLogins;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a check waits for a core before it is refused.
const WAIT: Duration = Duration::from_secs(2);

/// Why a password was not checked.
#[derive(Debug, thiserror::Error)]
pub enum Unchecked {
    /// Every core is checking passwords and none came free in time.
    #[error("too many password checks at once: retry in a second")]
    Busy,
    /// The check itself failed (a storage failure, a task that died).
    #[error("checking the password failed: {0}")]
    Failed(String),
}

/// The host's password checks.
pub struct Checks {
    permits: Semaphore,
    in_flight: Mutex<HashSet<String>>,
    /// Logins with no account, and their failures.
    pub unknown: Arc<UnknownLogins>,
}

impl Default for Checks {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self { permits: Semaphore::new(cores), in_flight: Mutex::default(), unknown: Arc::default() }
    }
}

/// A login's turn to be checked, released when dropped.
pub struct Claim<'a> {
    checks: &'a Checks,
    login: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.checks.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.login);
    }
}

impl Checks {
    /// `login`'s turn, unless a check of it is under way.
    pub fn claim(&self, login: &str) -> Option<Claim<'_>> {
        let fresh = self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).insert(login.to_string());
        fresh.then(|| Claim { checks: self, login: login.to_string() })
    }

    /// Runs `check` (which hashes) on a blocking thread once a core is free.
    ///
    /// # Errors
    /// [`Unchecked::Busy`] when no core came free in time; [`Unchecked::Failed`] when the
    /// check's thread died.
    pub async fn verify<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Unchecked> {
        let permit = tokio::time::timeout(WAIT, self.permits.acquire()).await;
        let Ok(Ok(_permit)) = permit else { return Err(Unchecked::Busy) };
        tokio::task::spawn_blocking(check).await.map_err(|e| Unchecked::Failed(e.to_string()))
    }
}
