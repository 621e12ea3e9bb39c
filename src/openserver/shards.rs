//! A sharded map from 128-bit random codes to entries.
//!
//! Keys are the code's raw bytes and entries are 11 bytes with no heap data
//! of their own (`codes.rs`): a code names its subject by the subject's
//! number in the store's subject table, not by a reference. So a million
//! outstanding codes cost one table allocation per shard (about 59 MB in
//! all, a bucket being 27 bytes and a control byte), and a sweep that
//! shrinks the tables hands that memory back.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use arc_swap::ArcSwap;

use super::codes::{CodeKind, StoredCode};
use super::registry::Subject;

/// A map keyed by app ids, user ids, openids and tokens. foldhash (seeded
/// per process) instead of SipHash: these lookups are on every login and
/// check, and their keys are ours or registered, not chosen by a caller.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

pub(crate) const SHARDS: usize = 16;

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

    /// Parses the 32-hex-character form (either case, as `hex` reads it);
    /// anything else is not a code we issued.
    pub(crate) fn parse(text: &str) -> Option<CodeKey> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        let text = text.as_bytes();
        if text.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(CodeKey(bytes))
    }

    /// The 32-hex-character form.
    pub(crate) fn to_hex(self) -> String {
        crate::digest::to_hex(&self.0)
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

/// What a stored code counts against, for the per-app cap: its app
/// record's address (records live as long as any subject that points to
/// them, and a shard holds the subjects of its codes).
fn owner(subject: &Subject) -> usize {
    Arc::as_ptr(&subject.app) as usize
}

/// One app's codes in one shard, and the part of the app's cap this shard
/// may admit on its own: `cap / SHARDS + extra`.
#[derive(Default, Clone, Copy)]
struct Quota {
    count: usize,
    extra: isize,
}

impl Quota {
    fn has_room(self, base: usize) -> bool {
        (self.count as isize) < base as isize + self.extra
    }
}

/// A shard's quotas by owner. The owner used last is kept inline, beside
/// the shard's lock, and the others in a map: with one app issuing (the
/// common case) an insert touches no table of quotas, only lines the lock
/// already brought in.
#[derive(Default)]
struct Quotas {
    hot: Option<(usize, Quota)>,
    rest: FastMap<usize, Quota>,
}

impl Quotas {
    fn get(&self, owner: usize) -> Quota {
        match self.hot {
            Some((hot, quota)) if hot == owner => quota,
            _ => self.rest.get(&owner).copied().unwrap_or_default(),
        }
    }

    /// The owner's quota, made the inline one.
    fn get_mut(&mut self, owner: usize) -> &mut Quota {
        if let Some((hot, quota)) = self.hot.take_if(|(hot, _)| *hot != owner) {
            self.rest.insert(hot, quota);
        }
        let rest = &mut self.rest;
        let (_, quota) = self
            .hot
            .get_or_insert_with(|| (owner, rest.remove(&owner).unwrap_or_default()));
        quota
    }
}

/// Every subject that was ever issued a code here, by number: append-only
/// (subjects live as long as their server), read without a lock or a
/// shared write (an `ArcSwap` of chunks, each slot set once), so that a
/// code needs only the 4-byte number of its subject.
struct Subjects {
    chunks: ArcSwap<Vec<Arc<Chunk>>>,
    /// The next number, under the lock that hands numbers out (once per
    /// subject).
    next: Mutex<u32>,
}

type Chunk = [OnceLock<Arc<Subject>>; CHUNK];

/// Subjects per chunk (16 KiB).
const CHUNK: usize = 1024;

impl Subjects {
    fn new() -> Self {
        Subjects {
            chunks: ArcSwap::default(),
            next: Mutex::new(0),
        }
    }

    /// The subject's number, given it on first use; `None` once 2^32 − 1
    /// subjects have numbers.
    fn number(&self, subject: &Arc<Subject>) -> Option<u32> {
        let number = *subject.code_number.get_or_init(|| {
            let mut next = lock(&self.next);
            let number = *next;
            if number == u32::MAX {
                return u32::MAX;
            }
            let (chunk, slot) = (number as usize / CHUNK, number as usize % CHUNK);
            if slot == 0 {
                let mut chunks = Vec::clone(&self.chunks.load());
                chunks.push(Arc::new(std::array::from_fn(|_| OnceLock::new())));
                self.chunks.store(Arc::new(chunks));
            }
            if let Some(chunk) = self.chunks.load().get(chunk) {
                let _ = chunk[slot].set(Arc::clone(subject));
            }
            *next += 1;
            number
        });
        (number != u32::MAX).then_some(number)
    }

    fn get(&self, number: u32) -> Option<Arc<Subject>> {
        let chunks = self.chunks.load();
        let chunk = chunks.get(number as usize / CHUNK)?;
        chunk[number as usize % CHUNK].get().cloned()
    }
}

/// One shard: its codes, and per app how many of them it holds and how
/// much of the app's cap it may use. Both under the shard's lock, so
/// counting costs no shared write of its own.
pub(crate) struct Shard {
    codes: HashMap<CodeKey, StoredCode, BuildKeyHasher>,
    quotas: Quotas,
}

impl Shard {
    fn quota(&self, owner: usize) -> Quota {
        self.quotas.get(owner)
    }

    /// Stores a code if the owner's quota here has room (one lookup of
    /// the quota, under the lock already held); `false` when it has none.
    fn insert_within_quota(
        &mut self,
        key: CodeKey,
        code: StoredCode,
        owner: usize,
        base: usize,
        subjects: &Subjects,
    ) -> bool {
        let quota = self.quotas.get_mut(owner);
        if !quota.has_room(base) {
            return false;
        }
        quota.count += 1;
        self.store(key, code, subjects);
        true
    }

    fn insert(&mut self, key: CodeKey, code: StoredCode, owner: usize, subjects: &Subjects) {
        self.quotas.get_mut(owner).count += 1;
        self.store(key, code, subjects);
    }

    /// Puts a counted code in the table.
    fn store(&mut self, key: CodeKey, code: StoredCode, subjects: &Subjects) {
        if let Some(replaced) = self.codes.insert(key, code) {
            // A key drawn twice (2^-128): the older code is gone.
            if let Some(subject) = subjects.get(replaced.subject()) {
                self.quotas.get_mut(self::owner(&subject)).count -= 1;
            }
        }
    }
}

/// A shard, locked, with the subject table to name its codes' subjects.
pub(crate) struct LockedShard<'a> {
    shard: MutexGuard<'a, Shard>,
    subjects: &'a Subjects,
}

impl LockedShard<'_> {
    /// The code under `key`, and the subject it was issued to.
    pub(crate) fn get_mut(&mut self, key: &CodeKey) -> Option<(&mut StoredCode, Arc<Subject>)> {
        let code = self.shard.codes.get_mut(key)?;
        let subject = self.subjects.get(code.subject())?;
        Some((code, subject))
    }
}

/// Each shard's table starts with room for this many codes (8,192
/// buckets, 216 KiB, of which only the control bytes are written until
/// codes arrive). Smaller tables would come from the allocator's heap
/// rather than their own mapping, and the holes they leave as the table
/// grows would stay resident after a sweep.
const INITIAL_CODES: usize = 4096;

pub(crate) struct CodeStore {
    shards: Box<[Padded<Mutex<Shard>>]>,
    subjects: Subjects,
}

impl CodeStore {
    pub(crate) fn new() -> Self {
        CodeStore {
            shards: (0..SHARDS)
                .map(|_| {
                    Padded(Mutex::new(Shard {
                        codes: HashMap::with_capacity_and_hasher(INITIAL_CODES, BuildKeyHasher),
                        quotas: Quotas::default(),
                    }))
                })
                .collect(),
            subjects: Subjects::new(),
        }
    }

    fn index(key: &CodeKey) -> usize {
        // The last byte picks the shard, independent of the bytes the hash uses.
        usize::from(key.0[15]) % SHARDS
    }

    /// The shard holding `key`, locked.
    pub(crate) fn shard(&self, key: &CodeKey) -> LockedShard<'_> {
        LockedShard {
            shard: lock(&self.shards[Self::index(key)]),
            subjects: &self.subjects,
        }
    }

    /// Stores a code for `subject` unless its app already has `cap` codes
    /// here; `false` when it has (or, past all reach, when 2^32 − 1 subjects
    /// already have numbers).
    ///
    /// The cap is split into per-shard quotas that always add up to it, so
    /// the count is exact however many threads issue codes. A shard admits
    /// within its quota holding only its own lock; a shard whose quota is
    /// used locks every shard (in order, holding none before) and moves one
    /// unit of quota to itself from a shard with room, or from what
    /// `cap / SHARDS` leaves over. Below `SHARDS` every admission takes that
    /// path; above, only those that find their shard's quota used.
    pub(crate) fn insert_capped(
        &self,
        key: CodeKey,
        subject: &Arc<Subject>,
        expires_at: u64,
        kind: CodeKind,
        cap: usize,
    ) -> bool {
        let Some(number) = self.subjects.number(subject) else {
            return false;
        };
        let code = StoredCode::new(number, expires_at, kind);
        let owner = owner(subject);
        let base = cap / SHARDS;
        let index = Self::index(&key);
        {
            let mut shard = lock(&self.shards[index]);
            if shard.insert_within_quota(key, code, owner, base, &self.subjects) {
                return true;
            }
        }
        let mut shards: Vec<MutexGuard<'_, Shard>> = self.shards.iter().map(|s| lock(s)).collect();
        let quotas: Vec<Quota> = shards.iter().map(|s| s.quota(owner)).collect();
        if quotas.iter().map(|q| q.count).sum::<usize>() >= cap {
            return false;
        }
        if !quotas[index].has_room(base) {
            let leftover = (cap - base * SHARDS) as isize;
            if quotas.iter().map(|q| q.extra).sum::<isize>() >= leftover {
                // Every unit is handed out: take one from a shard with room
                // (there is one, since fewer than `cap` codes are held).
                let donor = (0..SHARDS).find(|&i| quotas[i].has_room(base));
                if let Some(donor) = donor {
                    shards[donor].quotas.get_mut(owner).extra -= 1;
                }
            }
            shards[index].quotas.get_mut(owner).extra += 1;
        }
        shards[index].insert(key, code, owner, &self.subjects);
        true
    }

    /// Keeps the codes `keep` says to keep, shard by shard, and shrinks
    /// tables left mostly empty. `removed` sees each code dropped, with its
    /// subject.
    pub(crate) fn retain(
        &self,
        mut keep: impl FnMut(StoredCode) -> bool,
        mut removed: impl FnMut(&Subject, StoredCode),
    ) {
        let subjects = self.subjects.chunks.load();
        let subject = |number: u32| {
            subjects
                .get(number as usize / CHUNK)
                .and_then(|chunk| chunk[number as usize % CHUNK].get())
        };
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let Shard { codes, quotas } = &mut *shard;
            codes.retain(|_, code| {
                let kept = keep(*code);
                if !kept {
                    if let Some(subject) = subject(code.subject()) {
                        removed(subject, *code);
                        quotas.get_mut(owner(subject)).count -= 1;
                    }
                }
                kept
            });
            let len = codes.len();
            if codes.capacity() > 4 * len + 64 {
                codes.shrink_to(2 * len);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::CodeKey;

    #[test]
    fn a_code_parses_as_the_hex_crate_reads_it() {
        for text in [
            "00112233445566778899aabbccddeeff",
            "00112233445566778899AABBCCDDEEFF",
            "0011223344556677889900aabbccddee",
            "00112233445566778899aabbccddeef",
            "00112233445566778899aabbccddeeff0",
            "0011223344556677889 aabbccddeeff",
            "g0112233445566778899aabbccddeeff",
            "",
            "é0112233445566778899aabbccddeef",
        ] {
            let mut expected = [0u8; 16];
            let expected = hex::decode_to_slice(text, &mut expected)
                .ok()
                .map(|()| expected);
            assert_eq!(CodeKey::parse(text).map(|k| k.0), expected, "{text}");
        }
        let key = CodeKey::random();
        assert_eq!(CodeKey::parse(&key.to_hex()).map(|k| k.0), Some(key.0));
    }
}
