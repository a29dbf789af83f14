//! Password hashes: PBKDF2-HMAC-SHA256 (`ring::pbkdf2`, no new dependency)
//! with a per-user random 16-byte salt and a configurable iteration count,
//! stored as `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64).

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use std::num::NonZeroU32;

const SCHEME: &str = "pbkdf2-sha256";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD_NO_PAD
}

/// A new hash of `password`: `pbkdf2-sha256$<iterations>$<salt>$<hash>`.
pub fn hash_password(password: &str, iterations: u32) -> String {
    let iterations = NonZeroU32::new(iterations.max(1)).expect("at least 1");
    let mut salt = [0u8; SALT_LEN];
    SystemRandom::new()
        .fill(&mut salt)
        .expect("the system random number generator works");
    let mut hash = [0u8; HASH_LEN];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &mut hash,
    );
    format!(
        "{SCHEME}${iterations}${}${}",
        b64().encode(salt),
        b64().encode(hash)
    )
}

/// Whether `password` matches `stored` (constant-time comparison in ring).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Some((iterations, salt, hash)) = parse_hash(stored) else {
        return false;
    };
    ring::pbkdf2::verify(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok()
}

fn parse_hash(stored: &str) -> Option<(NonZeroU32, Vec<u8>, Vec<u8>)> {
    let mut parts = stored.split('$');
    if parts.next()? != SCHEME {
        return None;
    }
    let iterations = NonZeroU32::new(parts.next()?.parse().ok()?)?;
    let salt = b64().decode(parts.next()?).ok()?;
    let hash = b64().decode(parts.next()?).ok()?;
    (parts.next().is_none() && !salt.is_empty() && hash.len() == HASH_LEN)
        .then_some((iterations, salt, hash))
}

/// Whether a stored hash is well-formed (for settings' `password_hash`).
pub fn is_password_hash(stored: &str) -> bool {
    parse_hash(stored).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash_password("correct horse", 1000);
        assert!(stored.starts_with("pbkdf2-sha256$1000$"));
        assert!(verify_password("correct horse", &stored));
        assert!(!verify_password("correct horsf", &stored));
        assert!(!verify_password("correct horse", "plain text"));
    }

    #[test]
    fn each_hash_has_its_own_salt() {
        assert_ne!(hash_password("same", 1000), hash_password("same", 1000));
    }
}
