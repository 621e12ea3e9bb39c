//! Sweeping: expired codes, sessions and long-expired access tokens go,
//! and the memory they held is given back.

use std::sync::atomic::Ordering;

use super::OpenServer;
use super::clock::millis;
use super::codes::CodeKind;
use super::config::SweepReport;
use super::store::lock;

impl OpenServer {
    /// Removes expired codes, sessions and long-expired access tokens, and
    /// gives back the memory they held. Issuing codes also sweeps now and
    /// then (every [`sweep_interval`](super::config::OpenServerConfig::sweep_interval)).
    pub fn sweep(&self) -> SweepReport {
        let now = self.now();
        let (mut login_codes, mut user_codes) = (0, 0);
        self.inner.codes.retain(
            |e| e.expires_at > now,
            |e| match e.kind {
                CodeKind::Login => login_codes += 1,
                CodeKind::User(_) => user_codes += 1,
            },
        );
        let grace = millis(self.inner.config.access_token_ttl);
        let access_tokens = {
            let mut tokens = lock(&self.inner.tokens);
            let before = tokens.len();
            tokens.retain(|_, t| t.expires_at.saturating_add(grace) > now);
            before - tokens.len()
        };
        let mut sessions = 0;
        for app in self.inner.apps.load().values() {
            app.by_user.for_each(|subject| {
                let mut state = lock(&subject.state);
                if state.session.as_ref().is_some_and(|s| s.expires_at <= now) {
                    state.session = None;
                    sessions += 1;
                }
            });
        }
        SweepReport {
            login_codes,
            user_codes,
            access_tokens,
            sessions,
        }
    }

    pub(super) fn maybe_sweep(&self, now: u64) {
        let next = self.inner.next_sweep_at.load(Ordering::Acquire);
        if now >= next {
            let after = now + millis(self.inner.config.sweep_interval);
            if self
                .inner
                .next_sweep_at
                .compare_exchange(next, after, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                self.sweep();
            }
        }
    }
}
