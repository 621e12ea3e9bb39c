//! The super-app server's users and v3 authCodes, as the platform sees them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::api::Scope;
use crate::platform::UserCodeKind;
use crate::platform::errcode::{ErrCode, OpenServerError};
use crate::secret::{AuthCode, Code, EmailAddress, PhoneNumber};
use crate::sync::ShardedMap;

/// How long an authCode issued by `OpenServer::issue_auth_code` stays
/// redeemable.
pub const AUTH_CODE_TTL: Duration = Duration::from_secs(300);

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

    /// The nickname (`wx.getNickName`). By default, the user record's.
    async fn nickname(&self, user: &SuperappUser) -> Result<String, OpenServerError> {
        Ok(user.nickname.clone())
    }

    /// The avatar URL (`wx.chooseAvatar`). By default, the user record's.
    async fn avatar_url(&self, user: &SuperappUser) -> Result<String, OpenServerError> {
        Ok(user.avatar_url.clone())
    }

    /// `wx.getPhoneNumber` / `wx.getEmail`: a one-time code of the
    /// super-app server's for the user's phone number or email, which the
    /// platform hands out inside its own code and passes back to
    /// [`redeem_temporary_code`](SuperappDirectory::redeem_temporary_code).
    /// By default there is none (`None`): the value is read from the user
    /// record when the platform's code is redeemed.
    ///
    /// # Errors
    ///
    /// `46005` when the user has no phone number / email.
    async fn issue_temporary_code(
        &self,
        user: &SuperappUser,
        kind: UserCodeKind,
    ) -> Result<Option<Code>, OpenServerError> {
        record_value(user, kind).map(|_| None)
    }

    /// The phone number or email, for the temporary code that
    /// [`issue_temporary_code`](SuperappDirectory::issue_temporary_code)
    /// gave (single use), or from the user record when it gave none.
    ///
    /// # Errors
    ///
    /// `46005` when the user has no such value; the super-app server's
    /// refusal (`40029`) or outage (`-1`).
    async fn redeem_temporary_code(
        &self,
        user: &SuperappUser,
        kind: UserCodeKind,
        code: Option<&Code>,
    ) -> Result<String, OpenServerError> {
        let _ = code;
        record_value(user, kind)
    }
}

/// The user record's phone number or email, or `46005`.
fn record_value(user: &SuperappUser, kind: UserCodeKind) -> Result<String, OpenServerError> {
    let value = match kind {
        UserCodeKind::PhoneNumber => user.phone_number.as_ref().map(PhoneNumber::secret),
        UserCodeKind::Email => user.email.as_ref().map(EmailAddress::secret),
    };
    value.map(str::to_owned).ok_or_else(|| {
        let what = match kind {
            UserCodeKind::PhoneNumber => "phone number",
            UserCodeKind::Email => "email address",
        };
        OpenServerError::new(ErrCode::NoSuchUserData)
            .with_message(format!("the user has no {what}"))
    })
}

/// An in-memory [`SuperappDirectory`]: the super-app server's users, as
/// the platform's config lists them. The super-app server's other part,
/// issuing v3 authCodes, is `OpenServer::issue_auth_code`, whose codes
/// live in the platform's store.
///
/// ```
/// use superapp_openapi::openserver::{MemoryDirectory, SuperappUser};
/// let dir = MemoryDirectory::new();
/// dir.upsert_user(SuperappUser::new("u-1").with_nickname("Ada"));
/// assert_eq!(dir.get("u-1").map(|u| u.nickname.clone()).as_deref(), Some("Ada"));
/// ```
pub struct MemoryDirectory {
    users: ShardedMap<Arc<SuperappUser>>,
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        MemoryDirectory {
            users: ShardedMap::new(),
        }
    }

    /// Adds a user, or replaces the one with the same id.
    pub fn upsert_user(&self, user: SuperappUser) {
        self.users.insert(user.id.clone(), Arc::new(user));
    }

    /// The user with this id, if any.
    pub fn get(&self, user_id: &str) -> Option<Arc<SuperappUser>> {
        self.users.get(user_id)
    }

    /// Marks a user active or inactive; `false` if there is no such user.
    pub fn set_active(&self, user_id: &str, active: bool) -> bool {
        self.users
            .update(user_id, |user| Arc::make_mut(user).active = active)
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

    /// The in-memory directory's authCodes are issued and redeemed by the
    /// platform's store (`OpenServer::issue_auth_code`), which never asks
    /// this: every authCode is unknown here.
    async fn redeem_auth_code(
        &self,
        _app_id: &str,
        _auth_code: &AuthCode,
    ) -> Result<Option<RedeemedGrant>, OpenServerError> {
        Ok(None)
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

    /// The directory as a trait object (the in-memory one keeps the
    /// trait's defaults).
    pub(crate) fn get(&self) -> &dyn SuperappDirectory {
        match self {
            DirectoryRef::Memory(memory) => &**memory,
            DirectoryRef::Other(directory) => &**directory,
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
