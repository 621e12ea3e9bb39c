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

/// What a stored code belongs to, for the per-app cap: its app record's
/// address (records live as long as any code that points to them).
pub(crate) trait Owned {
    fn owner(&self) -> usize;
}

/// One shard: its codes, and how many of them each app has, kept under the
/// same lock so that counting costs no shared write of its own.
pub(crate) struct Shard<V> {
    codes: HashMap<CodeKey, V, BuildKeyHasher>,
    per_owner: super::FastMap<usize, usize>,
}

impl<V: Owned> Shard<V> {
    pub(crate) fn get_mut(&mut self, key: &CodeKey) -> Option<&mut V> {
        self.codes.get_mut(key)
    }

    fn count(&self, owner: usize) -> usize {
        self.per_owner.get(&owner).copied().unwrap_or(0)
    }

    fn insert(&mut self, key: CodeKey, value: V) {
        *self.per_owner.entry(value.owner()).or_default() += 1;
        if let Some(replaced) = self.codes.insert(key, value) {
            self.forget(replaced.owner());
        }
    }

    fn forget(&mut self, owner: usize) {
        if let Some(count) = self.per_owner.get_mut(&owner) {
            *count -= 1;
            if *count == 0 {
                self.per_owner.remove(&owner);
            }
        }
    }
}

pub(crate) struct CodeStore<V> {
    shards: Box<[Padded<Mutex<Shard<V>>>]>,
}

impl<V: Owned> CodeStore<V> {
    pub(crate) fn new() -> Self {
        CodeStore {
            shards: (0..SHARDS)
                .map(|_| {
                    Padded(Mutex::new(Shard {
                        codes: HashMap::with_hasher(BuildKeyHasher),
                        per_owner: super::FastMap::default(),
                    }))
                })
                .collect(),
        }
    }

    /// The shard holding `key`, locked. The last byte picks it, independent
    /// of the bytes the hash uses.
    pub(crate) fn shard(&self, key: &CodeKey) -> MutexGuard<'_, Shard<V>> {
        lock(&self.shards[usize::from(key.0[15]) % SHARDS])
    }

    /// Stores a code unless its app already has `cap` codes, counting those
    /// of this store and `elsewhere(owner)`. A shard admits up to
    /// `cap / SHARDS` of an app's codes on its own word; past that, the app's
    /// codes are counted across all shards. Threads issuing codes thus touch
    /// only the shard they write, and the count stays exact for small caps
    /// (below `SHARDS`, every code is counted across shards) and within the
    /// cap plus the number of concurrent issuers otherwise, as long as codes
    /// are uniformly random (they are: 16 CSPRNG bytes).
    ///
    /// Hands the value back when the cap is reached.
    pub(crate) fn insert_capped(
        &self,
        key: CodeKey,
        value: V,
        cap: usize,
        elsewhere: impl FnOnce(usize) -> usize,
    ) -> Result<(), V> {
        let owner = value.owner();
        {
            let mut shard = self.shard(&key);
            if shard.count(owner) < cap / SHARDS {
                shard.insert(key, value);
                return Ok(());
            }
        }
        if self.count(owner) + elsewhere(owner) >= cap {
            return Err(value);
        }
        self.shard(&key).insert(key, value);
        Ok(())
    }

    /// How many codes of `owner` this store holds.
    pub(crate) fn count(&self, owner: usize) -> usize {
        self.shards.iter().map(|s| lock(s).count(owner)).sum()
    }

    /// Keeps the entries `keep` says to keep, shard by shard, and shrinks
    /// tables left mostly empty. Returns how many entries were removed.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&V) -> bool) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let before = shard.codes.len();
            let Shard { codes, per_owner } = &mut *shard;
            codes.retain(|_, v| {
                let kept = keep(v);
                if !kept {
                    if let Some(count) = per_owner.get_mut(&v.owner()) {
                        *count -= 1;
                    }
                }
                kept
            });
            per_owner.retain(|_, count| *count > 0);
            let len = shard.codes.len();
            removed += before - len;
            if shard.codes.capacity() > 4 * len + 64 {
                shard.codes.shrink_to(2 * len);
            }
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).codes.len()).sum()
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
