//! What a login or phone/email code is for and who it was issued to: the
//! entries of the code store.

use std::sync::Arc;

use super::registry::Subject;
use super::shards::Owned;
use crate::platform::UserCodeKind;

/// What a code is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum CodeKind {
    /// A login code (`js_code`), for jscode2session.
    Login,
    /// A phone/email code, for getuserphonenumber / getemailaddress.
    User(UserCodeKind),
}

pub(super) struct CodeEntry {
    pub(super) subject: Arc<Subject>,
    pub(super) expires_at: u64,
    pub(super) kind: CodeKind,
    pub(super) used: bool,
}

impl Owned for CodeEntry {
    fn owner(&self) -> usize {
        Arc::as_ptr(&self.subject.app) as usize
    }
}
