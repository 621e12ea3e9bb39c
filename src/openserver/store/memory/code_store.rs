//! The in-memory store's codes: a sharded map from 128-bit random codes to
//! entries, under exact per-app caps.
//!
//! Keys are the code's raw bytes and entries are 11 bytes with no heap data
//! of their own (`codes.rs`): a code names its subject by the subject's
//! number in the store's subject table, not by a reference. So a million
//! outstanding codes cost one table allocation per shard (about 59 MB in
//! all, a bucket being 27 bytes and a control byte), and a sweep that
//! shrinks the tables hands that memory back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use arc_swap::ArcSwap;

use crate::openserver::codes::{CodeKey, CodeKind, StoredCode};
use crate::openserver::registry::Subject;
use crate::sync::{BuildKeyHasher, FastMap, Padded, SHARDS, lock};

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
