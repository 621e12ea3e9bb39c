//! A sharded map from 128-bit random codes to entries.
//!
//! Keys are the code's raw bytes, values hold no heap data of their own, so a
//! million outstanding codes cost one table allocation per shard (about 40 MB
//! in all), and a sweep that shrinks the tables hands that memory back.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

const SHARDS: usize = 16;

/// Keeps each shard's lock word on a cache line of its own (128 bytes: two
/// 64-byte lines, for CPUs that fetch them in pairs), so that threads
/// working in different shards do not invalidate each other's lines.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A code's 16 raw bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeKey(pub(crate) [u8; 16]);

impl CodeKey {
    /// A fresh key from the thread's CSPRNG (ChaCha, seeded by the OS).
    pub(crate) fn random() -> CodeKey {
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        CodeKey(bytes)
    }

    /// Parses the 32-hex-character form; anything else is not a code we issued.
    pub(crate) fn parse(text: &str) -> Option<CodeKey> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(CodeKey(bytes))
    }

    /// The 32-hex-character form.
    pub(crate) fn to_hex(self) -> String {
        super::to_hex(&self.0)
    }
}

// Codes are uniformly random and chosen by us, never by a caller, so eight of
// their bytes already are a good hash; SipHash would only cost time.
impl Hash for CodeKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(word));
    }
}

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

#[derive(Default, Clone, Copy)]
pub(crate) struct BuildKeyHasher;

impl BuildHasher for BuildKeyHasher {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

pub(crate) type Shard<V> = HashMap<CodeKey, V, BuildKeyHasher>;

pub(crate) struct CodeStore<V> {
    shards: Box<[Padded<Mutex<Shard<V>>>]>,
}

impl<V> CodeStore<V> {
    pub(crate) fn new() -> Self {
        CodeStore {
            shards: (0..SHARDS)
                .map(|_| Padded(Mutex::new(HashMap::with_hasher(BuildKeyHasher))))
                .collect(),
        }
    }

    /// The shard holding `key`, locked. The last byte picks it, independent
    /// of the bytes the hash uses.
    pub(crate) fn shard(&self, key: &CodeKey) -> MutexGuard<'_, Shard<V>> {
        lock(&self.shards[usize::from(key.0[15]) % SHARDS])
    }

    pub(crate) fn insert(&self, key: CodeKey, value: V) {
        self.shard(&key).insert(key, value);
    }

    /// Keeps the entries `keep` says to keep, shard by shard, and shrinks
    /// tables left mostly empty. Returns how many entries were removed.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&V) -> bool) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let before = shard.len();
            shard.retain(|_, v| keep(v));
            removed += before - shard.len();
            let len = shard.len();
            if shard.capacity() > 4 * len + 64 {
                shard.shrink_to(2 * len);
            }
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }
}

/// Locks a mutex; a poisoned one is used as is, since every critical section
/// here leaves its map consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type MapShard<V> = Padded<std::sync::RwLock<super::FastMap<String, V>>>;

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

    fn shard(&self, key: &str) -> &std::sync::RwLock<super::FastMap<String, V>> {
        let hash = self.picker.hash_one(key);
        &self.shards[(hash >> 32) as usize % SHARDS]
    }

    pub(crate) fn get(&self, key: &str) -> Option<V> {
        read(self.shard(key)).get(key).cloned()
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
