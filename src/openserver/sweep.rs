//! Sweeping: expired codes, sessions, long-expired access tokens and
//! authCodes go, and the memory they held is given back.
//!
//! Sweeping is off the request path: the first call that issues something
//! on a tokio runtime starts a background task that sweeps every
//! `sweep_interval` and ends when the server is dropped (or its runtime
//! shuts down; the next issue starts another). A request never sweeps.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::clock::millis;
use super::codes::CodeKind;
use super::config::SweepReport;
use super::store::lock;
use super::{Inner, OpenServer};

impl OpenServer {
    /// Removes expired codes, sessions, access tokens expired for longer
    /// than their lifetime and expired authCodes, and gives back the memory
    /// they held. The background sweeper calls it every
    /// [`sweep_interval`](super::config::OpenServerConfig::sweep_interval);
    /// call it yourself to sweep now.
    pub fn sweep(&self) -> SweepReport {
        let now = self.now();
        let (mut login_codes, mut user_codes) = (0, 0);
        self.inner.codes.retain(
            |e| e.expires_at > now,
            |e| {
                e.subject.outstanding_codes.fetch_sub(1, Ordering::Relaxed);
                match e.kind {
                    CodeKind::Login => login_codes += 1,
                    CodeKind::User(_) => user_codes += 1,
                }
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
        let auth_codes = self
            .inner
            .directory
            .memory()
            .map_or(0, |memory| memory.sweep());
        SweepReport {
            login_codes,
            user_codes,
            access_tokens,
            sessions,
            auth_codes,
        }
    }

    /// Starts the background sweeper on the current tokio runtime unless
    /// one runs already. One atomic load when it does.
    pub(super) fn ensure_sweeper(&self) {
        if self.inner.sweeper_running.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.sweeper_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = Running(Arc::downgrade(&self.inner));
        let every = self.inner.config.sweep_interval;
        runtime.spawn(async move {
            let running = running;
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is at once: nothing has expired yet
            loop {
                ticks.tick().await;
                let Some(inner) = running.0.upgrade() else {
                    return;
                };
                let report = OpenServer { inner }.sweep();
                tracing::debug!(
                    login_codes = report.login_codes,
                    user_codes = report.user_codes,
                    access_tokens = report.access_tokens,
                    sessions = report.sessions,
                    auth_codes = report.auth_codes,
                    "swept expired state"
                );
            }
        });
    }
}

/// Clears the running flag when the sweeper ends (its server dropped, or
/// its runtime shut down), so that the next issue starts another.
struct Running(Weak<Inner>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.sweeper_running.store(false, Ordering::Release);
        }
    }
}
