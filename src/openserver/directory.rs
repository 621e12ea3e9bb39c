//! The super-app server's users and v3 authCodes, as the platform sees them.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::clock::{Clock, SystemClock, millis};
use super::store::{FastMap, ShardedMap};
use crate::api::Scope;
use crate::digest::random_hex;
use crate::platform::errcode::{ErrCode, OpenServerError};
use crate::secret::{AuthCode, EmailAddress, PhoneNumber};

/// How long an authCode issued by [`MemoryDirectory`] stays redeemable.
pub const AUTH_CODE_TTL: Duration = Duration::from_secs(300);

/// The default of [`MemoryDirectory::with_max_auth_codes_per_user`].
const DEFAULT_MAX_AUTH_CODES_PER_USER: usize = 100;

/// A user of the super app.
///
/// ```
/// use superapp_openapi::openserver::SuperappUser;
/// let user = SuperappUser::new("u-1")
///     .with_phone_number("+8613800000000")
///     .with_email("ada@example.com")
///     .with_nickname("Ada")
///     .with_avatar_url("https://example.com/ada.png");
/// assert!(user.active);
/// assert!(!format!("{user:?}").contains("13800000000"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperappUser {
    /// The host's user id (what `app_uid` returns).
    pub id: String,
    /// The phone number, if the user gave one.
    pub phone_number: Option<PhoneNumber>,
    /// The email address, if the user gave one.
    pub email: Option<EmailAddress>,
    /// The nickname.
    pub nickname: String,
    /// The avatar URL.
    pub avatar_url: String,
    /// Whether the account may log in to mini programs.
    pub active: bool,
}

impl SuperappUser {
    /// An active user with no phone, no email, an empty nickname and avatar.
    pub fn new(id: impl Into<String>) -> Self {
        SuperappUser {
            id: id.into(),
            phone_number: None,
            email: None,
            nickname: String::new(),
            avatar_url: String::new(),
            active: true,
        }
    }

    /// Sets the phone number.
    pub fn with_phone_number(mut self, phone: impl Into<String>) -> Self {
        self.phone_number = Some(PhoneNumber::new(phone));
        self
    }

    /// Sets the email address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(EmailAddress::new(email));
        self
    }

    /// Sets the nickname.
    pub fn with_nickname(mut self, nickname: impl Into<String>) -> Self {
        self.nickname = nickname.into();
        self
    }

    /// Sets the avatar URL.
    pub fn with_avatar_url(mut self, url: impl Into<String>) -> Self {
        self.avatar_url = url.into();
        self
    }

    /// Marks the account inactive.
    pub fn inactive(mut self) -> Self {
        self.active = false;
        self
    }
}

/// What a redeemed v3 authCode stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemedGrant {
    /// The user who granted.
    pub user_id: String,
    /// The scopes the user granted.
    pub scopes: Vec<Scope>,
}

/// The super app's own user backend, as the platform asks it about users and
/// v3 authCodes. [`MemoryDirectory`] is the in-memory default.
#[async_trait]
pub trait SuperappDirectory: Send + Sync + fmt::Debug + 'static {
    /// The user with this id, if any.
    async fn user(&self, user_id: &str) -> Result<Option<Arc<SuperappUser>>, OpenServerError>;

    /// Redeems an authCode presented by a host for `app_id`: single use, so a
    /// second redemption answers `None`, as do unknown, expired or other
    /// apps' codes.
    async fn redeem_auth_code(
        &self,
        app_id: &str,
        auth_code: &AuthCode,
    ) -> Result<Option<RedeemedGrant>, OpenServerError>;
}

struct PendingGrant {
    app_id: String,
    grant: RedeemedGrant,
    expires_at: u64,
}

/// An in-memory [`SuperappDirectory`] that also plays the super-app server's
/// part of issuing v3 authCodes.
///
/// ```
/// use superapp_openapi::openserver::{MemoryDirectory, SuperappUser};
/// use superapp_openapi::Scope;
/// let dir = MemoryDirectory::new();
/// dir.upsert_user(SuperappUser::new("u-1"));
/// let code = dir.issue_auth_code("wx-app", "u-1", [Scope::PhoneNumber])?;
/// assert_eq!(code.secret().len(), 32);
/// # Ok::<(), superapp_openapi::openserver::OpenServerError>(())
/// ```
pub struct MemoryDirectory {
    clock: Arc<dyn Clock>,
    users: ShardedMap<Arc<SuperappUser>>,
    grants: Mutex<Grants>,
    max_per_user: usize,
}

/// Outstanding authCodes by code, and how many each user holds. Issue and
/// redeem touch one entry of each; expired codes go in [`MemoryDirectory::sweep`].
#[derive(Default)]
struct Grants {
    by_code: FastMap<String, PendingGrant>,
    per_user: FastMap<String, usize>,
}

impl Grants {
    fn remove(&mut self, code: &str) -> Option<PendingGrant> {
        let grant = self.by_code.remove(code)?;
        self.release(&grant.grant.user_id);
        Some(grant)
    }

    fn release(&mut self, user_id: &str) {
        if let Some(count) = self.per_user.get_mut(user_id) {
            *count -= 1;
            if *count == 0 {
                self.per_user.remove(user_id);
            }
        }
    }
}

impl MemoryDirectory {
    /// An empty directory on the system clock.
    pub fn new() -> Self {
        MemoryDirectory {
            clock: Arc::new(SystemClock),
            users: ShardedMap::new(),
            grants: Mutex::default(),
            max_per_user: DEFAULT_MAX_AUTH_CODES_PER_USER,
        }
    }

    /// The directory, holding at most `max` outstanding authCodes per user
    /// (default 100); past it, issuing answers `45009`.
    pub fn with_max_auth_codes_per_user(mut self, max: usize) -> Self {
        self.max_per_user = max;
        self
    }

    /// The directory, reading the time (authCode expiry) from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds a user, or replaces the one with the same id.
    pub fn upsert_user(&self, user: SuperappUser) {
        self.users.insert(user.id.clone(), Arc::new(user));
    }

    /// The user with this id, if any.
    pub fn get(&self, user_id: &str) -> Option<Arc<SuperappUser>> {
        self.users.get(user_id)
    }

    /// Spends an authCode: the grant it stands for, if it is known, unexpired
    /// and issued for `app_id`. Removed whatever happens: a code shown once
    /// is spent.
    fn redeem(&self, app_id: &str, auth_code: &AuthCode) -> Option<RedeemedGrant> {
        let now = self.clock.now_millis();
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        grants
            .remove(auth_code.secret())
            .filter(|g| g.app_id == app_id && g.expires_at > now)
            .map(|g| g.grant)
    }

    /// Removes expired authCodes; how many went.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now_millis();
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        let expired: Vec<String> = grants
            .by_code
            .iter()
            .filter(|(_, g)| g.expires_at <= now)
            .map(|(code, _)| code.clone())
            .collect();
        for code in &expired {
            grants.remove(code);
        }
        if grants.by_code.capacity() > 4 * grants.by_code.len() + 64 {
            grants.by_code.shrink_to_fit();
            grants.per_user.shrink_to_fit();
        }
        expired.len()
    }

    /// AuthCodes issued and not yet redeemed or swept.
    pub fn outstanding_auth_codes(&self) -> usize {
        self.grants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_code
            .len()
    }

    /// Marks a user active or inactive; `false` if there is no such user.
    pub fn set_active(&self, user_id: &str, active: bool) -> bool {
        self.users
            .update(user_id, |user| Arc::make_mut(user).active = active)
    }

    /// Issues a single-use authCode, valid five minutes, for `user_id` in
    /// `app_id` with the scopes the user granted — what a super-app server's
    /// getAuthCode endpoint does.
    ///
    /// # Errors
    ///
    /// `46001` when the user does not exist, `46002` when it is inactive,
    /// `45009` when the user already holds the most outstanding authCodes
    /// allowed.
    pub fn issue_auth_code(
        &self,
        app_id: &str,
        user_id: &str,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> Result<AuthCode, OpenServerError> {
        let user = self.get(user_id);
        match user {
            None => return Err(OpenServerError::new(ErrCode::UserNotFound)),
            Some(user) if !user.active => return Err(OpenServerError::new(ErrCode::UserInactive)),
            Some(_) => {}
        }
        let code = random_hex::<16>();
        let now = self.clock.now_millis();
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        let held = grants.per_user.get(user_id).copied().unwrap_or(0);
        if held >= self.max_per_user {
            return Err(OpenServerError::new(ErrCode::TooManyCodes).with_message(format!(
                "too many outstanding authCodes for this user: the limit is {}; they are freed as they are redeemed or expire",
                self.max_per_user
            )));
        }
        *grants.per_user.entry(user_id.to_owned()).or_default() += 1;
        grants.by_code.insert(
            code.clone(),
            PendingGrant {
                app_id: app_id.to_owned(),
                grant: RedeemedGrant {
                    user_id: user_id.to_owned(),
                    scopes: scopes.into_iter().collect(),
                },
                expires_at: now + millis(AUTH_CODE_TTL),
            },
        );
        Ok(AuthCode::new(code))
    }
}

impl Default for MemoryDirectory {
    fn default() -> Self {
        MemoryDirectory::new()
    }
}

impl fmt::Debug for MemoryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users = self.users.len();
        f.debug_struct("MemoryDirectory")
            .field("users", &users)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SuperappDirectory for MemoryDirectory {
    async fn user(&self, user_id: &str) -> Result<Option<Arc<SuperappUser>>, OpenServerError> {
        Ok(self.get(user_id))
    }

    async fn redeem_auth_code(
        &self,
        app_id: &str,
        auth_code: &AuthCode,
    ) -> Result<Option<RedeemedGrant>, OpenServerError> {
        Ok(self.redeem(app_id, auth_code))
    }
}

/// The directory an `OpenServer` asks: its in-memory one, called directly
/// (no boxed future per login), or a super-app backend of the host's.
pub(crate) enum DirectoryRef {
    Memory(Arc<MemoryDirectory>),
    Other(Arc<dyn SuperappDirectory>),
}

impl DirectoryRef {
    pub(crate) async fn user(
        &self,
        user_id: &str,
    ) -> Result<Option<Arc<SuperappUser>>, OpenServerError> {
        match self {
            DirectoryRef::Memory(memory) => Ok(memory.get(user_id)),
            DirectoryRef::Other(directory) => directory.user(user_id).await,
        }
    }

    pub(crate) async fn redeem_auth_code(
        &self,
        app_id: &str,
        auth_code: &AuthCode,
    ) -> Result<Option<RedeemedGrant>, OpenServerError> {
        match self {
            DirectoryRef::Memory(memory) => Ok(memory.redeem(app_id, auth_code)),
            DirectoryRef::Other(directory) => directory.redeem_auth_code(app_id, auth_code).await,
        }
    }

    pub(crate) fn memory(&self) -> Option<&MemoryDirectory> {
        match self {
            DirectoryRef::Memory(memory) => Some(memory),
            DirectoryRef::Other(_) => None,
        }
    }
}

impl fmt::Debug for DirectoryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectoryRef::Memory(memory) => memory.fmt(f),
            DirectoryRef::Other(directory) => directory.fmt(f),
        }
    }
}
