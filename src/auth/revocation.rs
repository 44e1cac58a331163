//! Whether the API key behind a token is still active, so that revoking a
//! key also ends the tokens issued for it.
//!
//! Answers are cached for a few seconds: a token request then costs no
//! database read, and a revocation by the CLI or another node takes effect
//! within that time.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::store::{Store, StoreResult};

/// How long a key's status is trusted before it is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct KeyStatusCache {
    entries: RwLock<HashMap<i64, (bool, Instant)>>,
}

impl KeyStatusCache {
    pub async fn is_active(&self, store: &dyn Store, key_id: i64) -> StoreResult<bool> {
        if let Some((active, checked)) = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key_id)
            && checked.elapsed() < CACHE_TTL
        {
            return Ok(*active);
        }
        let active = store.api_key_active(key_id).await?;
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key_id, (active, Instant::now()));
        Ok(active)
    }
}
