//! The small synchronisation helpers the crate's shared state is built
//! from: a fast hash map and set, a cache-line padding, a lock that shrugs
//! off poisoning, a hasher for keys that already are random, and a
//! string-keyed map split over independently locked shards. Used by the
//! platform's registry and stores and by the HTTP server's state.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard};

/// A map keyed by app ids, user ids, openids and tokens. foldhash (seeded
/// per process) instead of SipHash: these lookups are on every login and
/// check, and their keys are ours or registered, not chosen by a caller.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A set of keys like [`FastMap`]'s (the HTTP server's SDK-key scopes).
#[cfg(feature = "http")]
pub(crate) type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// How many shards a sharded table has.
pub(crate) const SHARDS: usize = 16;

/// Keeps each shard's lock word on a cache line of its own (128 bytes: two
/// 64-byte lines, for CPUs that fetch them in pairs), so that threads
/// working in different shards do not invalidate each other's lines.
#[repr(align(128))]
#[derive(Default, Debug)]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A hasher for keys that are uniformly random and chosen by us, never by
/// a caller (codes): their `Hash` writes one word of their own bytes, which
/// is the hash, so SipHash would only cost time.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Builds [`KeyHasher`]s.
#[derive(Default, Clone, Copy)]
pub(crate) struct BuildKeyHasher;

impl BuildHasher for BuildKeyHasher {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

/// Locks a mutex; a poisoned one is used as is, since every critical section
/// here leaves its map consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type MapShard<V> = Padded<std::sync::RwLock<FastMap<String, V>>>;

/// A string-keyed map split over independently locked shards, so that
/// threads serving different users do not write the same lock word.
pub(crate) struct ShardedMap<V> {
    picker: foldhash::fast::RandomState,
    shards: Box<[MapShard<V>]>,
}

impl<V: Clone> ShardedMap<V> {
    pub(crate) fn new() -> Self {
        ShardedMap {
            picker: foldhash::fast::RandomState::default(),
            shards: (0..SHARDS).map(|_| Default::default()).collect(),
        }
    }

    fn shard(&self, key: &str) -> &std::sync::RwLock<FastMap<String, V>> {
        let hash = self.picker.hash_one(key);
        &self.shards[(hash >> 32) as usize % SHARDS]
    }

    pub(crate) fn get(&self, key: &str) -> Option<V> {
        read(self.shard(key)).get(key).cloned()
    }

    /// `f` of the value under `key`, under the shard's read lock, without
    /// a clone of it (for an `Arc`, no reference count to bump).
    pub(crate) fn with<R>(&self, key: &str, f: impl FnOnce(Option<&V>) -> R) -> R {
        f(read(self.shard(key)).get(key))
    }

    /// The value under `key`, made by `make` (under the shard's write lock)
    /// when there is none; `made` is told when it was.
    pub(crate) fn get_or_insert_with(
        &self,
        key: &str,
        make: impl FnOnce() -> V,
        made: impl FnOnce(&V),
    ) -> V {
        let shard = self.shard(key);
        if let Some(value) = read(shard).get(key) {
            return value.clone();
        }
        let mut map = write(shard);
        if let Some(value) = map.get(key) {
            return value.clone();
        }
        let value = make();
        made(&value);
        map.insert(key.to_owned(), value.clone());
        value
    }

    pub(crate) fn insert(&self, key: String, value: V) {
        write(self.shard(&key)).insert(key, value);
    }

    /// Changes the value under `key` in place; `false` when there is none.
    pub(crate) fn update(&self, key: &str, change: impl FnOnce(&mut V)) -> bool {
        match write(self.shard(key)).get_mut(key) {
            Some(value) => {
                change(value);
                true
            }
            None => false,
        }
    }

    pub(crate) fn for_each(&self, mut visit: impl FnMut(&V)) {
        for shard in self.shards.iter() {
            read(shard).values().for_each(&mut visit);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }
}

fn read<T>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
