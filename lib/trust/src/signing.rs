//! ECDSA P-256 / SHA-256 signatures over exact bytes, and SHA-256 digests.

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};

/// A private key that signs with ECDSA P-256 / SHA-256 (ASN.1 DER signatures).
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM private key: {0}")]
    Pem(String),
    #[error("not an ECDSA P-256 PKCS#8 private key: {0}")]
    Rejected(String),
}

impl SigningKey {
    /// Reads a PKCS#8 DER private key (as `egovctl pki` writes them).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(SigningKey { pair, rng })
    }

    /// Reads a `-----BEGIN PRIVATE KEY-----` PEM block.
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let der = pem_block(pem, "PRIVATE KEY").map_err(KeyError::Pem)?;
        SigningKey::from_pkcs8_der(&der)
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&self.rng, message)
            // ring fails only if the system RNG fails, which is not recoverable.
            .expect("ECDSA signing failed: system random number generator unavailable")
            .as_ref()
            .to_vec()
    }

    /// The uncompressed public point, as it appears in the certificate.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(ECDSA P-256, redacted)")
    }
}

/// Whether `signature` is a valid ECDSA P-256 / SHA-256 signature of
/// `message` by the holder of `public_key` (an uncompressed point).
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
        .verify(message, signature)
        .is_ok()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    digest.as_ref().try_into().expect("SHA-256 is 32 bytes")
}

/// SHA-256 over several parts, as if concatenated.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    ctx.finish()
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

/// Decodes the first PEM block with this label.
pub fn pem_block(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| format!("no {begin} line"))? + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| format!("no {end} line"))?
        + start;
    let body: String = pem[start..stop].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("bad base64 in {label}: {e}"))
}

/// Encodes DER as a PEM block.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
