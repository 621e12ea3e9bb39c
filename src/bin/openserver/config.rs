//! The config file, and the server, router and limits it describes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use superapp_openapi::http::{HttpConfig, Playground, ServerLimits};
use superapp_openapi::openserver::{
    AppRegistration, IdSecret, OpenServerBuilder, OpenServerConfig, SuperappDirectory, SuperappUser,
};
#[cfg(feature = "redis")]
use superapp_openapi::openserver::{RedisConfig, RedisStore, RedisStoreError};
use superapp_openapi::{AppKind, AppSecret, EmailAddress, OpenServer, PhoneNumber, SdkKey};

use crate::directory::{DirectorySection, PlaygroundSection};

/// The config file. Unknown fields are errors, so a typo does not pass
/// silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// Keeps openids and unionids stable across restarts.
    #[serde(default)]
    pub(crate) id_secret: Option<IdSecret>,
    /// The server's limits (timeouts, connection cap, shutdown deadline).
    #[serde(default)]
    pub(crate) server: ServerSection,
    #[serde(default)]
    pub(crate) apps: Vec<AppEntry>,
    #[serde(default)]
    pub(crate) users: Vec<UserEntry>,
    #[serde(default)]
    pub(crate) sdk_keys: Vec<SdkKeyEntry>,
    /// The platform's limits (`docs/openserver.md`); each one optional.
    #[serde(default)]
    pub(crate) limits: LimitsEntry,
    /// HTTPS: the certificate chain and key, PEM files (feature `rustls`).
    #[serde(default)]
    pub(crate) tls: Option<TlsSection>,
    /// The super-app server the platform asks about users, instead of
    /// `users` (docs/superapp-server.md).
    #[serde(default)]
    pub(crate) directory: Option<DirectorySection>,
    /// With a `directory`: the playground's accounts at the super-app
    /// server (docs/http.md, the playground).
    #[serde(default)]
    pub(crate) playground: Option<PlaygroundSection>,
}

/// The `tls` section: where the certificate chain and key are (paths
/// relative to the config file's folder).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsSection {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// Overrides of `OpenServerConfig`'s limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsEntry {
    max_outstanding_codes_per_app: Option<usize>,
    max_outstanding_codes_per_user: Option<usize>,
    max_access_tokens_per_day: Option<u32>,
    max_auth_codes_per_user: Option<usize>,
    rate_limit_per_minute: Option<u32>,
    sweep_interval_secs: Option<u64>,
}

impl LimitsEntry {
    /// The config with these overrides; a zero is refused, naming the key.
    fn apply(&self, mut config: OpenServerConfig) -> Result<OpenServerConfig, String> {
        set(
            "max_outstanding_codes_per_app",
            self.max_outstanding_codes_per_app,
            &mut config.max_outstanding_codes_per_app,
        )?;
        set(
            "max_outstanding_codes_per_user",
            self.max_outstanding_codes_per_user,
            &mut config.max_outstanding_codes_per_user,
        )?;
        set(
            "max_access_tokens_per_day",
            self.max_access_tokens_per_day,
            &mut config.max_access_tokens_per_day,
        )?;
        set(
            "max_auth_codes_per_user",
            self.max_auth_codes_per_user,
            &mut config.max_auth_codes_per_user,
        )?;
        set(
            "rate_limit_per_minute",
            self.rate_limit_per_minute,
            &mut config.rate_limit_per_minute,
        )?;
        let mut sweep_secs = config.sweep_interval.as_secs();
        set(
            "sweep_interval_secs",
            self.sweep_interval_secs,
            &mut sweep_secs,
        )?;
        config.sweep_interval = Duration::from_secs(sweep_secs);
        Ok(config)
    }
}

/// Sets `field` to `value` when given; zero is refused, naming the key.
fn set<T: Copy + Default + PartialEq>(
    name: &str,
    value: Option<T>,
    field: &mut T,
) -> Result<(), String> {
    match value {
        Some(v) if v == T::default() => Err(format!("limits.{name} must be at least 1")),
        Some(v) => {
            *field = v;
            Ok(())
        }
        None => Ok(()),
    }
}

/// An SDK key: a plain string may act for every app (the first form, kept
/// for compatibility); `{"key": …, "apps": [...]}` only for those apps.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum SdkKeyEntry {
    AllApps(SdkKey),
    Scoped(ScopedKey),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScopedKey {
    key: SdkKey,
    apps: Vec<String>,
}

/// The shortest app secret or SDK key the config accepts.
const MIN_SECRET_LEN: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppEntry {
    pub(crate) appid: String,
    pub(crate) secret: AppSecret,
    pub(crate) team: String,
    #[serde(default)]
    pub(crate) kind: AppKind,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserEntry {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) phone: Option<PhoneNumber>,
    #[serde(default)]
    pub(crate) email: Option<EmailAddress>,
    #[serde(default)]
    pub(crate) nickname: String,
    #[serde(default)]
    pub(crate) avatar: String,
    #[serde(default = "yes")]
    pub(crate) active: bool,
}

fn yes() -> bool {
    true
}

/// The `server` section: `ServerLimits` in whole seconds and connections.
/// Every key is optional and keeps its default when absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
    #[serde(default)]
    pub(crate) header_read_timeout_secs: Option<u64>,
    #[serde(default)]
    pub(crate) body_read_timeout_secs: Option<u64>,
    #[serde(default)]
    pub(crate) max_connections: Option<usize>,
    #[serde(default)]
    pub(crate) shutdown_deadline_secs: Option<u64>,
}

/// The longest timeout the `server` section takes, in seconds: a day.
const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

impl ServerSection {
    /// The limits the section describes; a value out of range is refused
    /// with a message naming its key and what is allowed.
    pub(crate) fn limits(&self) -> Result<ServerLimits, String> {
        let seconds = |key: &str, value: Option<u64>| match value {
            None => Ok(None),
            Some(secs @ 1..=MAX_TIMEOUT_SECS) => Ok(Some(Duration::from_secs(secs))),
            Some(secs) => Err(format!(
                "server.{key} is {secs}: use a whole number of seconds from 1 to {MAX_TIMEOUT_SECS}"
            )),
        };
        let mut limits = ServerLimits::new();
        if let Some(timeout) = seconds("header_read_timeout_secs", self.header_read_timeout_secs)? {
            limits = limits.header_read_timeout(timeout);
        }
        if let Some(timeout) = seconds("body_read_timeout_secs", self.body_read_timeout_secs)? {
            limits = limits.body_read_timeout(timeout);
        }
        if let Some(deadline) = seconds("shutdown_deadline_secs", self.shutdown_deadline_secs)? {
            limits = limits.shutdown_deadline(deadline);
        }
        match self.max_connections {
            None => {}
            Some(0) => {
                return Err(
                    "server.max_connections is 0: use a whole number of connections of at least 1"
                        .to_owned(),
                );
            }
            Some(connections) => limits = limits.max_connections(connections),
        }
        Ok(limits)
    }
}

/// What went wrong before serving, and the exit code that says so.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) code: u8,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: format!("{}\n\nrun `openserver --help` for usage", message.into()),
            code: 2,
        }
    }

    pub(crate) fn config(path: &Path, message: impl std::fmt::Display) -> Failure {
        Failure {
            message: format!("config file {}: {message}", path.display()),
            code: 2,
        }
    }
}

/// Where the platform keeps its state (`--store`, else `OPENSERVER_STORE`).
pub(crate) enum StoreChoice {
    Memory,
    #[cfg(feature = "redis")]
    Redis(RedisStore),
}

impl StoreChoice {
    /// Reads `--store` (else `OPENSERVER_STORE`, else `memory`) and connects.
    pub(crate) async fn open(flag: Option<&str>) -> Result<StoreChoice, Failure> {
        let from_env = std::env::var("OPENSERVER_STORE")
            .ok()
            .filter(|v| !v.is_empty());
        let spec = flag.map(str::to_owned).or(from_env);
        let Some(spec) = spec.filter(|s| s != "memory") else {
            return Ok(StoreChoice::Memory);
        };
        // Only the scheme is shown: the rest may hold a password.
        let scheme = spec.split_once("://").map_or("", |(scheme, _)| scheme);
        let (cluster, urls) = match scheme {
            "redis" | "redis+unix" => (false, vec![spec]),
            // redis-cluster://[:PASSWORD@]HOST:PORT[,…]: the cluster's seed nodes.
            "redis-cluster" => (
                true,
                spec["redis-cluster://".len()..]
                    .split(',')
                    .map(|node| format!("redis://{node}"))
                    .collect(),
            ),
            _ => {
                return Err(Failure::usage(format!(
                    "--store: use memory or redis://HOST:PORT/DB, or \
                     redis-cluster://HOST:PORT[,HOST:PORT…] (got a {scheme:?} URL)"
                )));
            }
        };
        Self::redis(cluster, urls).await
    }

    #[cfg(feature = "redis")]
    async fn redis(cluster: bool, urls: Vec<String>) -> Result<StoreChoice, Failure> {
        let config = if cluster {
            RedisConfig::cluster(urls)
        } else {
            RedisConfig::new(urls.into_iter().next().unwrap_or_default())
        };
        match RedisStore::connect(config).await {
            Ok(store) => Ok(StoreChoice::Redis(store)),
            Err(
                e @ (RedisStoreError::InvalidUrl { .. } | RedisStoreError::NoClusterSupport { .. }),
            ) => Err(Failure::usage(format!("--store: {e}"))),
            Err(e) => Err(Failure {
                message: format!("--store: {e}"),
                code: 1,
            }),
        }
    }

    #[cfg(not(feature = "redis"))]
    async fn redis(_cluster: bool, _urls: Vec<String>) -> Result<StoreChoice, Failure> {
        Err(Failure::usage(
            "--store redis://…: this openserver was built without the `redis` feature \
             (cargo build --features redis)",
        ))
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            StoreChoice::Memory => "memory",
            #[cfg(feature = "redis")]
            StoreChoice::Redis(_) => "redis",
        }
    }

    fn apply(self, builder: OpenServerBuilder) -> OpenServerBuilder {
        match self {
            StoreChoice::Memory => builder,
            #[cfg(feature = "redis")]
            StoreChoice::Redis(store) => builder.redis(store),
        }
    }
}

/// Reads the config file and builds the server (on `store`) and router it
/// describes.
///
/// With `playground`, a directory is wrapped to draw the platform's
/// requests in the playground's diagram.
pub(crate) fn load(
    path: Option<&Path>,
    store: StoreChoice,
    playground: bool,
) -> Result<(OpenServer, HttpConfig, ConfigFile), Failure> {
    let file = match path {
        None => ConfigFile::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::config(path, format_args!("cannot be read: {e}")))?;
            serde_json::from_str(&text).map_err(|e| Failure::config(path, e))?
        }
    };
    let shown = path.unwrap_or(Path::new("(none)"));
    let config = file
        .limits
        .apply(OpenServerConfig::default())
        .map_err(|e| Failure::config(shown, e))?;
    if file.id_secret.is_none() && !matches!(store, StoreChoice::Memory) {
        return Err(Failure::config(
            shown,
            "id_secret is required with a shared store: every instance must derive the same openids",
        ));
    }
    let mut builder = store.apply(OpenServer::builder().config(config));
    if let Some(directory) = &file.directory {
        if !file.users.is_empty() {
            return Err(Failure::config(
                shown,
                "users and directory exclude each other: with a directory, the super-app server knows the users",
            ));
        }
        let folder = path.and_then(Path::parent).unwrap_or(Path::new(""));
        let directory = directory
            .build(folder)
            .map_err(|e| Failure::config(shown, e))?;
        let directory: std::sync::Arc<dyn SuperappDirectory> = std::sync::Arc::new(directory);
        builder = builder.directory(if playground {
            Playground::recording_directory(directory)
        } else {
            directory
        });
    }
    if let Some(section) = &file.playground {
        section
            .check(file.directory.as_ref())
            .map_err(|e| Failure::config(shown, e))?;
    }
    if let Some(secret) = &file.id_secret {
        if secret.is_empty() {
            return Err(Failure::config(shown, "id_secret must not be empty"));
        }
        builder = builder.id_secret(secret.secret().as_bytes());
    }
    let server = builder.build();
    for (i, app) in file.apps.iter().enumerate() {
        if app.secret.secret().len() < MIN_SECRET_LEN {
            return Err(Failure::config(
                shown,
                format_args!(
                    "apps[{i}].secret: an app secret must be at least {MIN_SECRET_LEN} characters"
                ),
            ));
        }
        let registration =
            AppRegistration::new(&app.appid, app.secret.clone(), &app.team).with_kind(app.kind);
        server
            .register_app(registration)
            .map_err(|e| Failure::config(shown, format_args!("apps[{i}]: {}", e.errmsg())))?;
    }
    for (i, user) in file.users.iter().enumerate() {
        if user.id.is_empty() {
            return Err(Failure::config(
                shown,
                format_args!("users[{i}]: id must not be empty"),
            ));
        }
        let mut entry = SuperappUser::new(&user.id)
            .with_nickname(&user.nickname)
            .with_avatar_url(&user.avatar);
        if let Some(phone) = &user.phone {
            entry = entry.with_phone_number(phone.secret());
        }
        if let Some(email) = &user.email {
            entry = entry.with_email(email.secret());
        }
        if !user.active {
            entry = entry.inactive();
        }
        server
            .add_user(entry)
            .map_err(|e| Failure::config(shown, format_args!("users[{i}]: {}", e.errmsg())))?;
    }
    let mut http = HttpConfig::new();
    for (i, entry) in file.sdk_keys.iter().enumerate() {
        let key = match entry {
            SdkKeyEntry::AllApps(key) | SdkKeyEntry::Scoped(ScopedKey { key, .. }) => key,
        };
        if key.secret().len() < MIN_SECRET_LEN {
            return Err(Failure::config(
                shown,
                format_args!(
                    "sdk_keys[{i}]: an SDK key must be at least {MIN_SECRET_LEN} characters"
                ),
            ));
        }
        http = match entry {
            SdkKeyEntry::AllApps(key) => http.sdk_key(key.clone()),
            SdkKeyEntry::Scoped(ScopedKey { key, apps }) => {
                if apps.is_empty() {
                    return Err(Failure::config(
                        shown,
                        format_args!(
                            "sdk_keys[{i}].apps: list at least one app (a plain string key acts for all apps)"
                        ),
                    ));
                }
                if let Some(unknown) = apps.iter().find(|a| server.app_info(a).is_none()) {
                    return Err(Failure::config(
                        shown,
                        format_args!("sdk_keys[{i}].apps: {unknown:?} is not one of the apps"),
                    ));
                }
                http.sdk_key_for_apps(key.clone(), apps.iter().cloned())
            }
        };
    }
    Ok((server, http, file))
}

/// The playground's choices: every app of the file (with its secret, for
/// the page's developer server) and every user; with a directory, the
/// `playground` section's accounts at that super-app server.
pub(crate) fn playground(file: &ConfigFile) -> Playground {
    let apps = file.apps.iter().fold(Playground::new(), |playground, app| {
        playground.app(&app.appid, app.secret.clone())
    });
    let users = file
        .users
        .iter()
        .fold(apps, |playground, user| playground.user(&user.id));
    match (&file.directory, &file.playground) {
        (Some(directory), Some(section)) => section.accounts.iter().fold(
            users.superapp_server(
                &directory.url,
                &section.superapp_app_id,
                directory.timeout(),
            ),
            |playground, account| playground.account(&account.user, account.password.text()),
        ),
        _ => users,
    }
}
