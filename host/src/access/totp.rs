//! The second factor: RFC 6238 time-based codes (SHA-1, six digits, 30-second steps, one
//! step of clock drift either way), what every authenticator app reads from an `otpauth://`
//! URI.

use anyhow::Result;
use totp_rs::{Algorithm, Secret, TOTP};

fn totp(secret: &[u8]) -> Result<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret.to_vec()).map_err(|e| anyhow::anyhow!("TOTP: {e}"))
}

/// A fresh 160-bit secret (RFC 4226's recommendation).
///
/// # Errors
/// When the system has no randomness.
pub fn new_secret() -> Result<Vec<u8>> {
    let mut secret = vec![0u8; 20];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(secret)
}

/// The secret in base32, as authenticator apps take it.
pub fn base32(secret: &[u8]) -> String {
    Secret::Raw(secret.to_vec()).to_encoded().to_string()
}

/// A base32 secret (as [`base32`] wrote it) as bytes.
pub fn decode(encoded: &str) -> Option<Vec<u8>> {
    Secret::Encoded(encoded.trim().to_string()).to_bytes().ok()
}

/// The 30-second step `code` belongs to, at `now_ms` or one step either side; none when it is
/// none of their codes. Compared in constant time.
///
/// # Errors
/// When the secret is too short to be one of ours.
pub fn step_of(secret: &[u8], code: &str, now_ms: u64) -> Result<Option<u64>> {
    let totp = totp(secret)?;
    let now = now_ms / 1000 / 30;
    let code = code.trim().as_bytes();
    Ok([now.saturating_sub(1), now, now + 1]
        .into_iter()
        .find(|step| subtle::ConstantTimeEq::ct_eq(totp.generate(step * 30).as_bytes(), code).into()))
}

/// The code at `now_ms` (what an authenticator app shows).
///
/// # Errors
/// When the secret is too short to be one of ours.
pub fn code_at(secret: &[u8], now_ms: u64) -> Result<String> {
    Ok(totp(secret)?.generate(now_ms / 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", last six digits.
        let secret = b"12345678901234567890";
        for (seconds, code) in [(59, "287082"), (1_111_111_109, "081804"), (2_000_000_000, "279037")] {
            assert_eq!(code_at(secret, seconds * 1000).unwrap(), code);
            let step = seconds / 30;
            assert_eq!(step_of(secret, code, seconds * 1000 + 29_000).unwrap(), Some(step));
        }
        assert_eq!(step_of(secret, "287082", 200_000).unwrap(), None);
        assert_eq!(base32(secret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(), secret);
    }
}
