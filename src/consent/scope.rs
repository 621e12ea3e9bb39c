//! Scope names and what the prompt says about each: the built-in table
//! (from TCMPP's and WeChat's scope lists, sources in docs/consent.md) and
//! the host's own entries over it.

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::ScopeNameError;

/// A consent scope's name, such as `scope.userInfo`: validated once, so a
/// store and a prompt never see a malformed one.
///
/// Allowed: 1 to [`ScopeName::MAX_LEN`] bytes of ASCII letters, digits,
/// `.`, `_` and `-`, starting with a letter. That covers every TCMPP and
/// WeChat scope and keeps a name safe to show, log and store as is.
///
/// ```
/// use superapp_openapi::consent::ScopeName;
///
/// let scope: ScopeName = "scope.userInfo".parse()?;
/// assert_eq!(scope.as_str(), "scope.userInfo");
/// assert!("scope user".parse::<ScopeName>().is_err());
/// # Ok::<(), superapp_openapi::consent::ScopeNameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeName(Cow<'static, str>);

impl ScopeName {
    /// The longest name accepted, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Checks `name` and wraps it.
    ///
    /// # Errors
    ///
    /// [`ScopeNameError`] saying what is wrong and what is allowed.
    pub fn new(name: impl Into<String>) -> Result<Self, ScopeNameError> {
        let name = name.into();
        validate(&name)?;
        Ok(Self(Cow::Owned(name)))
    }

    /// A name known valid at compile time (the built-in table, the
    /// playground's demo API).
    pub(crate) const fn from_static(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// The name as the mini program writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn validate(name: &str) -> Result<(), ScopeNameError> {
    let first = name.chars().next().ok_or(ScopeNameError::Empty)?;
    if name.len() > ScopeName::MAX_LEN {
        return Err(ScopeNameError::TooLong {
            len: name.len(),
            max: ScopeName::MAX_LEN,
        });
    }
    if !first.is_ascii_alphabetic() {
        return Err(ScopeNameError::BadStart { found: first });
    }
    match name
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some((at, found)) => Err(ScopeNameError::BadChar { found, at }),
        None => Ok(()),
    }
}

impl FromStr for ScopeName {
    type Err = ScopeNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ScopeName {
    type Error = ScopeNameError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl fmt::Display for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Borrow<str> for ScopeName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ScopeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What the consent prompt shows for a scope (iOS
/// `createAuthorizeAlertViewWithFrame:scope:title:desc:…`, Android
/// `IScopeInfoProxy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeInfo {
    /// A short title, e.g. "Precise location".
    pub title: Cow<'static, str>,
    /// One sentence saying what the mini program gets.
    pub description: Cow<'static, str>,
}

impl ScopeInfo {
    /// A scope's title and description.
    pub fn new(
        title: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            title: title.into(),
            description: description.into(),
        }
    }
}

const fn row(
    name: &'static str,
    title: &'static str,
    description: &'static str,
) -> (ScopeName, ScopeInfo) {
    (
        ScopeName::from_static(name),
        ScopeInfo {
            title: Cow::Borrowed(title),
            description: Cow::Borrowed(description),
        },
    )
}

/// The scopes TCMPP's base library and WeChat document, with the title and
/// description the prompt shows (docs/consent.md cites the page of each).
pub const BUILTIN_SCOPES: [(ScopeName, ScopeInfo); 14] = [
    row(
        "scope.userInfo",
        "User information",
        "Use your nickname and avatar (wx.getUserInfo).",
    ),
    row(
        "scope.userLocation",
        "Precise location",
        "Use your precise location (wx.getLocation, wx.chooseLocation, wx.startLocationUpdate).",
    ),
    row(
        "scope.userFuzzyLocation",
        "Approximate location",
        "Use your approximate location (wx.getFuzzyLocation).",
    ),
    row(
        "scope.userLocationBackground",
        "Background location",
        "Use your location while the mini program is in the background (wx.startLocationUpdateBackground).",
    ),
    row(
        "scope.record",
        "Microphone",
        "Use your microphone (wx.startRecord, RecorderManager.start, wx.joinVoIPChat).",
    ),
    row(
        "scope.camera",
        "Camera",
        "Use your camera (the camera component, wx.createVKSession).",
    ),
    row(
        "scope.bluetooth",
        "Bluetooth",
        "Use Bluetooth (wx.openBluetoothAdapter, wx.createBLEPeripheralServer).",
    ),
    row(
        "scope.writePhotosAlbum",
        "Save to album",
        "Save images and videos to your photo album (wx.saveImageToPhotosAlbum, wx.saveVideoToPhotosAlbum).",
    ),
    row(
        "scope.addPhoneContact",
        "Add to contacts",
        "Add a contact to your phone (wx.addPhoneContact).",
    ),
    row(
        "scope.addPhoneCalendar",
        "Add to calendar",
        "Add events to your calendar (wx.addPhoneCalendar, wx.addPhoneRepeatCalendar).",
    ),
    row(
        "scope.werun",
        "Step count",
        "Read your step count (wx.getWeRunData).",
    ),
    row(
        "scope.address",
        "Mailing address",
        "Use your mailing address (wx.chooseAddress).",
    ),
    row(
        "scope.invoiceTitle",
        "Invoice title",
        "Use your invoice title (wx.chooseInvoiceTitle).",
    ),
    row(
        "scope.invoice",
        "Invoice",
        "Use your invoices (wx.chooseInvoice).",
    ),
];

/// The scopes a gate knows how to describe: [`BUILTIN_SCOPES`], with the
/// host's own entries added or put over them (`IScopeInfoProxy`).
///
/// ```
/// use superapp_openapi::consent::{ScopeInfo, ScopeTable};
///
/// let table = ScopeTable::builtin()
///     .with("scope.loyaltyCard".parse()?, ScopeInfo::new("Loyalty card", "Use your loyalty card number."));
/// assert_eq!(table.get(&"scope.camera".parse()?).unwrap().title, "Camera");
/// assert_eq!(table.get(&"scope.loyaltyCard".parse()?).unwrap().title, "Loyalty card");
/// # Ok::<(), superapp_openapi::consent::ScopeNameError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScopeTable {
    // Built by the host at start-up, never from a mini program's input.
    rows: HashMap<ScopeName, ScopeInfo, foldhash::fast::RandomState>,
}

impl ScopeTable {
    /// The built-in scopes only.
    pub fn builtin() -> Self {
        Self {
            rows: BUILTIN_SCOPES.into_iter().collect(),
        }
    }

    /// Adds the host's scope, or replaces a built-in's title and description.
    #[must_use]
    pub fn with(mut self, scope: ScopeName, info: ScopeInfo) -> Self {
        self.rows.insert(scope, info);
        self
    }

    /// The scope's title and description, if the table has it.
    pub fn get(&self, scope: &ScopeName) -> Option<&ScopeInfo> {
        self.rows.get(scope)
    }

    /// Every scope the table describes, in no order.
    pub fn names(&self) -> impl Iterator<Item = &ScopeName> {
        self.rows.keys()
    }

    /// What the prompt shows: the table's entry, else the scope's own name
    /// as the title (a scope the host declared but did not describe).
    pub fn describe(&self, scope: &ScopeName) -> ScopeInfo {
        self.get(scope).cloned().unwrap_or_else(|| {
            ScopeInfo::new(
                scope.as_str().to_owned(),
                format!("Allow the use of {scope}."),
            )
        })
    }
}

impl Default for ScopeTable {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_scope_name_is_valid_and_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for (name, info) in &BUILTIN_SCOPES {
            assert_eq!(ScopeName::new(name.as_str()).as_ref(), Ok(name));
            assert!(seen.insert(name.clone()), "{name} listed twice");
            assert!(!info.title.is_empty() && !info.description.is_empty());
        }
    }
}
