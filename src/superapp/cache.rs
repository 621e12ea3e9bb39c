//! The optional, bounded cache of nicknames and avatar URLs
//! ([`HttpDirectoryBuilder::profile_cache`](super::HttpDirectoryBuilder::profile_cache)).
//! Phone numbers and emails never come here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::paths::UserEndpoint;

/// Nicknames and avatar URLs for a short while (see
/// [`HttpDirectoryBuilder::profile_cache`]).
pub(crate) struct ProfileCache {
    entries: Mutex<HashMap<(UserEndpoint, String), (String, Instant)>>,
    capacity: usize,
    ttl: Duration,
}

impl ProfileCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        ProfileCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
            ttl,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn get(&self, endpoint: UserEndpoint, user_id: &str) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        let (value, at) = entries.get(&(endpoint, user_id.to_owned()))?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub(crate) fn put(&self, endpoint: UserEndpoint, user_id: &str, value: &str) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            (endpoint, user_id.to_owned()),
            (value.to_owned(), Instant::now()),
        );
    }
}
