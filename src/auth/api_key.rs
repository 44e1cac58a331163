//! API keys: random UUIDs (the AgentOps SDKs reject keys that are not
//! UUIDs), stored only as their SHA-256.
//!
//! A fast hash is enough here because a key carries 122 random bits, so no
//! dictionary or brute-force search can invert the stored hash; a slow
//! password hash would only slow down every authenticated request.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A freshly generated key: the plain text is shown once and never stored.
pub struct NewApiKey {
    pub plain: String,
    pub hash: String,
    pub prefix: String,
}

pub fn generate() -> NewApiKey {
    let plain = Uuid::new_v4().to_string();
    NewApiKey {
        hash: hash(&plain),
        prefix: prefix(&plain),
        plain,
    }
}

/// Hex SHA-256 of the key in its canonical (lowercase, hyphenated) form.
pub fn hash(canonical_key: &str) -> String {
    hex::encode(Sha256::digest(canonical_key.as_bytes()))
}

pub fn prefix(canonical_key: &str) -> String {
    canonical_key.chars().take(8).collect()
}

/// Parses a key as clients send it: any UUID spelling, surrounding blanks
/// ignored. Returns the canonical form, or `None` when it is not a UUID.
pub fn canonicalize(raw: &str) -> Option<String> {
    Uuid::parse_str(raw.trim())
        .ok()
        .map(|uuid| uuid.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalize_accepts_uppercase_uuid() {
        let key = "550E8400-E29B-41D4-A716-446655440000";
        assert_eq!(
            canonicalize(key).as_deref(),
            Some("550e8400-e29b-41d4-a716-446655440000")
        );
    }

    #[test]
    fn canonicalize_rejects_non_uuid() {
        assert_eq!(canonicalize("your_api_key"), None);
    }

    #[test]
    fn generated_key_hashes_to_stored_hash() {
        let key = generate();
        assert_eq!(hash(&key.plain), key.hash);
        assert_ne!(key.hash, key.plain);
        assert_eq!(key.prefix.len(), 8);
    }
}
