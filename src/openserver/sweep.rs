//! Sweeping: expired codes, sessions, long-expired access tokens and
//! authCodes go from the in-memory store, and the memory they held is given
//! back (a Redis store expires its keys by itself).
//!
//! Sweeping is off the request path: the first call that issues something
//! on a tokio runtime starts a background task that sweeps every
//! `sweep_interval` and ends when the server is dropped (or its runtime
//! shuts down; the next issue starts another). A request never sweeps.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::clock::millis;
use super::config::SweepReport;
use super::{Inner, OpenServer};

impl OpenServer {
    /// Removes expired codes, sessions, access tokens expired for longer
    /// than their lifetime and expired authCodes, and gives back the memory
    /// they held. The background sweeper calls it every
    /// [`sweep_interval`](super::config::OpenServerConfig::sweep_interval);
    /// call it yourself to sweep now.
    pub fn sweep(&self) -> SweepReport {
        let apps: Vec<_> = self.inner.apps.load().values().cloned().collect();
        let grace = millis(self.inner.config.access_token_ttl);
        self.inner.store.sweep(&apps, self.now(), grace)
    }

    /// Starts the background sweeper on the current tokio runtime unless
    /// one runs already. One atomic load when it does. A Redis store
    /// expires its keys by itself: no sweeper.
    pub(super) fn ensure_sweeper(&self) {
        if self.inner.sweeper_running.load(Ordering::Acquire) {
            return;
        }
        if self.inner.store.memory().is_none() {
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
