//! The user's consent: which mini program may use which scope
//! (`scope.userInfo`, `scope.userLocation`, …), remembered per host user.
//!
//! The rule TCMPP and WeChat document (docs/consent.md has it as a table):
//! a scope not asked yet shows the host's prompt once and remembers the
//! answer; a granted scope goes on without a prompt; a denied one fails at
//! once (`auth deny`) without a prompt. [`ConsentGate`] applies it over a
//! [`ConsentStore`]: [`MemoryConsentStore`] by default, `SqliteConsentStore`
//! (feature `sqlite`) when consent must survive a restart, or the host's
//! own storage.
//!
//! ```
//! use superapp_openapi::consent::{
//!     ConsentGate, ConsentState, MemoryConsentStore, PromptAnswer, ScopeName,
//! };
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = ConsentGate::new(MemoryConsentStore::new());
//! let scope: ScopeName = "scope.userLocation".parse()?;
//! // Not asked yet: the prompt is shown and its answer remembered.
//! gate.check("user-42", "wx-shop", &scope, |_prompt| async { PromptAnswer::Allow }).await?;
//! // Granted: no prompt this time.
//! gate.check("user-42", "wx-shop", &scope, |_prompt| async { unreachable!() }).await?;
//! assert_eq!(gate.list("user-42", "wx-shop").await?, vec![(scope, ConsentState::Granted)]);
//! # Ok(())
//! # }
//! ```

mod error;
mod gate;
mod memory;
mod scope;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;

pub use error::{ConsentError, ScopeNameError};
pub use gate::{ConsentGate, ConsentPrompt, DEFAULT_MAX_PENDING_PROMPTS};
pub use memory::{DEFAULT_MAX_ENTRIES, MemoryConsentStore};
pub use scope::{BUILTIN_SCOPES, ScopeInfo, ScopeName, ScopeTable};
#[cfg(feature = "sqlite")]
pub use sqlite::{SQLITE_SCHEMA_VERSION, SqliteConsentStore};
pub use store::{
    ConsentState, ConsentStore, MAX_ID_LEN, MAX_SCOPES_PER_APP, PromptAnswer, check_ids,
};
