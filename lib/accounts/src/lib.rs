//! What the systems people log in to share — the portal (citizens, diagram
//! 2 process 1) and the State Corporation's intake (operators, diagram 1
//! process 1): passwords hashed with Argon2id (memory-hard, OWASP's choice)
//! off the async threads, a check that costs the same whether the login
//! exists or not, session tokens of which only the SHA-256 is stored, and
//! the bearer token of a gRPC call. Each system keeps its own tables and
//! lockout rule; this is the part that must not differ between them.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};

#[derive(Debug)]
pub enum AccountError {
    /// The settings' Argon2 parameters are not usable.
    Parameters(String),
    /// The operating system gave no randomness.
    NoRandomness,
    /// Hashing failed or its task was lost.
    Hashing(String),
}

impl std::fmt::Display for AccountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountError::Parameters(e) => write!(f, "Argon2 parameters: {e}"),
            AccountError::NoRandomness => f.write_str("no randomness from the operating system"),
            AccountError::Hashing(e) => write!(f, "password hashing: {e}"),
        }
    }
}

impl std::error::Error for AccountError {}

/// `N` random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], AccountError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AccountError::NoRandomness)?;
    Ok(bytes)
}

/// Password hashing with the system's Argon2id cost.
#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    /// A hash of a password nobody has: checked for an unknown login.
    dummy: String,
}

impl Passwords {
    /// `memory_kib` and `iterations` are the settings' Argon2id cost.
    pub async fn new(memory_kib: u32, iterations: u32) -> Result<Passwords, AccountError> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| AccountError::Parameters(e.to_string()))?;
        let mut passwords = Passwords {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            dummy: String::new(),
        };
        passwords.dummy = passwords.hash(&hex::encode(random::<24>()?)).await?;
        Ok(passwords)
    }

    /// The PHC string of `password` with a fresh salt.
    pub async fn hash(&self, password: &str) -> Result<String, AccountError> {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        let salt = random::<16>()?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))?
        .map_err(AccountError::Hashing)
    }

    /// Whether `password` matches `stored`. With no stored hash (an unknown
    /// login) the same work is done against a hash nobody has, so neither
    /// the answer nor the time tells whether the login exists.
    pub async fn verify(&self, stored: Option<String>, password: &str) -> bool {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy.clone());
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        known && matches
    }

    /// Whether `stored` is a hash this type can check (a PHC string).
    pub fn is_hash(stored: &str) -> bool {
        PasswordHash::new(stored).is_ok()
    }
}

/// A new session token (given to the person once) and the hash that is
/// stored: a leaked sessions table logs no one in.
pub struct NewToken {
    pub token: String,
    pub hash: Vec<u8>,
}

pub fn new_token() -> Result<NewToken, AccountError> {
    let token = hex::encode(random::<32>()?);
    Ok(NewToken {
        hash: token_hash(&token),
        token,
    })
}

/// What the sessions table keeps of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    egov_trust::sha256(token.as_bytes()).to_vec()
}

/// The token of `authorization: Bearer <token>`, if the call has one.
pub fn bearer<T>(request: &tonic::Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_hash_only() {
        let passwords = Passwords::new(1024, 1).await.unwrap();
        let hash = passwords.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(passwords.verify(Some(hash.clone()), "correct horse").await);
        assert!(!passwords.verify(Some(hash), "wrong horse").await);
        // An unknown login never verifies, whatever the password.
        assert!(!passwords.verify(None, "correct horse").await);
    }

    #[test]
    fn only_the_hash_of_a_token_is_kept() {
        let token = new_token().unwrap();
        assert_eq!(token.token.len(), 64);
        assert_eq!(token.hash, token_hash(&token.token));
        assert_ne!(token.hash, token.token.as_bytes());
    }
}
