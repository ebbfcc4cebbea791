//! Files at rest are the host's own: bot tokens, channel secrets, password hashes and TOTP seeds
//! live in the data directory and in backups. The process creates files 0600 and directories
//! 0700 (umask 077, set before anything is written), and `serve` warns when it finds its data
//! directory open to others (made by an older version, or by hand).

use std::path::Path;

/// Makes every file and directory this process creates private to its user.
pub fn by_default() {
    umask::private();
}

/// What is wrong with `dir`'s permissions, if others may read or enter it.
#[cfg(unix)]
pub fn exposed(dir: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} is open to other users (mode {mode:03o}); it holds secrets: chmod -R go-rwx it",
            dir.display()
        )
    })
}

/// Elsewhere permissions are not modes: nothing to say.
#[cfg(not(unix))]
pub fn exposed(_: &Path) -> Option<String> {
    None
}

#[cfg(unix)]
#[expect(unsafe_code, reason = "one libc call that takes and returns a plain value")]
mod umask {
    pub fn private() {
        // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
        unsafe { libc::umask(0o077) };
    }
}

#[cfg(not(unix))]
mod umask {
    pub fn private() {}
}
