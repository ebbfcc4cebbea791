//! Checking that a webhook really comes from its platform: shared secrets compared in constant
//! time, and HMAC signatures (SHA-256 and SHA-1, the two the channels use) computed and
//! compared without leaking where a guess went wrong.
//!
//! ```
//! use clienthub_sdk::auth;
//!
//! assert!(auth::secret_matches("s3cret", "s3cret"));
//! assert!(!auth::secret_matches("s3cre", "s3cret"));
//!
//! let mac = auth::hmac_sha256(b"app-secret", b"{\"object\":\"page\"}");
//! assert!(auth::hmac_sha256_matches(b"app-secret", b"{\"object\":\"page\"}", &mac));
//! ```

use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// Whether `given` equals the configured `expected` secret, in time that does not depend on
/// where they first differ. Strings of different lengths never match.
pub fn secret_matches(given: &str, expected: &str) -> bool {
    bytes_match(given.as_bytes(), expected.as_bytes())
}

/// [`secret_matches`] for bytes (a decoded signature, a digest).
pub fn bytes_match(given: &[u8], expected: &[u8]) -> bool {
    bool::from(given.ct_eq(expected))
}

/// HMAC-SHA-256 of `data` under `key` (WhatsApp's `X-Hub-Signature-256`, Mango's and
/// Bitrix24's signatures).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA-1 of `data` under `key` (Zadarma's `Signature`).
pub fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Whether `signature` is the HMAC-SHA-256 of `data` under `key`, compared in constant time.
pub fn hmac_sha256_matches(key: &[u8], data: &[u8], signature: &[u8]) -> bool {
    bytes_match(&hmac_sha256(key, data), signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(secret_matches("abc", "abc"));
        assert!(!secret_matches("abd", "abc"));
        assert!(!secret_matches("", "abc"));
        assert!(!secret_matches("abcd", "abc"));
    }

    #[test]
    fn hmac_sha256_follows_rfc_4231() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(mac.iter().map(|b| format!("{b:02x}")).collect::<String>(), expected);
        assert!(hmac_sha256_matches(b"Jefe", b"what do ya want for nothing?", &mac));
        assert!(!hmac_sha256_matches(b"Jeff", b"what do ya want for nothing?", &mac));
    }

    #[test]
    fn hmac_sha1_follows_rfc_2202() {
        // RFC 2202, test case 2.
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        let expected = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
        assert_eq!(mac.iter().map(|b| format!("{b:02x}")).collect::<String>(), expected);
    }
}
