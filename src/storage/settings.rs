//! The `shared_imapc_*` settings of `plugin {}`: parsing, validation, and the
//! per-namespace groups.
//!
//! Unnumbered keys are the defaults for every `shared_imapc` namespace.
//! Numbered keys form groups, Dovecot style (`acl_ignore_namespace2`, …):
//! `shared_imapc_namespace2 = other/*` names the namespace prefixes group 2
//! applies to, and `shared_imapc_host2`, `shared_imapc_password2`, … override
//! the defaults there. The first group (lowest number) whose pattern matches a
//! namespace prefix wins; a prefix no group matches uses the defaults.
//!
//! ```text
//! plugin {
//!   shared_imapc_host = proxy.example.net
//!   shared_imapc_master_user = %u
//!   shared_imapc_password_file = /etc/dovecot/shared-imapc.secret
//!
//!   shared_imapc_namespace2 = partner/*
//!   shared_imapc_host2 = proxy.partner.example.net
//!   shared_imapc_ssl2 = imaps
//! }
//! ```
//!
//! Pure Rust: the shim hands over the key/value pairs, this module decides.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Every setting of this plugin starts with this.
pub const PREFIX: &str = "shared_imapc_";

/// The setting names after [`PREFIX`], without a group number.
const KEYS: &[&str] = &[
    "namespace",
    "host",
    "port",
    "ssl",
    "ssl_ca_file",
    "ssl_ca_dir",
    "ssl_verify",
    "master_user",
    "master_user_separator",
    "password",
    "password_file",
    "connect_timeout",
    "command_timeout",
    "idle_timeout",
    "max_idle_time",
    "max_connections",
    "max_literal_size",
    "max_line_length",
    "list_cache_time",
];

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// RFC 2177: a server may end an IDLE after 30 minutes without a command.
const DEFAULT_MAX_IDLE_TIME: Duration = Duration::from_secs(25 * 60);
const DEFAULT_MAX_CONNECTIONS: u32 = 8;
const MAX_MAX_CONNECTIONS: u32 = 1000;
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_MAX_LITERAL_SIZE: u64 = 256 * 1024 * 1024;
const DEFAULT_MAX_LINE_LENGTH: u64 = 64 * 1024;
/// As the acl plugin's `acl_cache_secs`: rights changed on the owner's
/// server show in LIST at most this much later.
const DEFAULT_LIST_CACHE_TIME: Duration = Duration::from_secs(30);

/// How the connection to the remote is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SslMode {
    /// Plain IMAP (a trusted cluster network).
    No,
    /// TLS from the first byte (port 993 by default).
    Imaps,
    /// Plain connect, then `STARTTLS` before login.
    Starttls,
}

impl SslMode {
    fn name(self) -> &'static str {
        match self {
            SslMode::No => "no",
            SslMode::Imaps => "imaps",
            SslMode::Starttls => "starttls",
        }
    }
}

/// A password: compared and used, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(password: impl Into<String>) -> Secret {
        Secret(password.into())
    }

    /// The password itself, for the login command only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(hidden)")
    }
}

/// Where a namespace's folders live and how to log in there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The cluster's proxy or director; required once a namespace is used.
    pub host: Option<String>,
    pub port: u16,
    pub ssl: SslMode,
    pub ssl_ca_file: Option<PathBuf>,
    pub ssl_ca_dir: Option<PathBuf>,
    pub ssl_verify: bool,
    /// Who logs in as master user (usually `%u`, the logged-in user).
    pub master_user: Option<String>,
    /// When set, log in with `LOGIN owner<sep>master` instead of SASL PLAIN.
    pub master_user_separator: Option<String>,
    pub password: Option<Secret>,
    /// Where the password came from, when it came from a file.
    pub password_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// A remote connection unused this long is replaced before its next use
    /// (servers drop idle clients; Dovecot after 30 minutes).
    pub idle_timeout: Duration,
    /// How long one IDLE on the owner's server lasts before it is renewed
    /// (DONE, a NOOP, IDLE again), before servers' own IDLE timeouts.
    pub max_idle_time: Duration,
    /// Remote logins one session may run at once (e.g. for `LIST shared/*`).
    pub max_connections: u32,
    /// Largest literal (message body) the remote may announce.
    pub max_literal_size: u64,
    /// Longest response line the remote may send.
    pub max_line_length: u64,
    /// How long an owner's listing serves the user's later sessions
    /// without a login (zero: every session asks).
    pub list_cache_time: Duration,
}

/// A numbered group: the namespaces it applies to and its endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub number: u32,
    /// Wildcard pattern (`*`, `?`) matched against a namespace prefix.
    pub namespace: String,
    pub endpoint: Endpoint,
}

/// All `shared_imapc_*` settings of one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub defaults: Endpoint,
    /// Ordered by number.
    pub groups: Vec<Group>,
}

/// A setting that cannot be used, with the key and value as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    pub key: String,
    /// Already masked for secrets.
    pub value: String,
    pub reason: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}: {}", self.key, self.value, self.reason)
    }
}

impl std::error::Error for SettingsError {}

/// One raw setting as the administrator wrote it.
#[derive(Clone, Debug)]
struct Raw {
    key: String,
    value: String,
}

/// The raw settings of one layer (defaults = 0, or a group), by name.
type Layer = BTreeMap<&'static str, Raw>;

impl Settings {
    /// Parses the `shared_imapc_*` key/value pairs of `plugin {}`. Empty
    /// values count as unset, as in Dovecot. Keys without the prefix are
    /// ignored.
    pub fn parse<'a, I>(pairs: I) -> Result<Settings, SettingsError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let layers = collect_layers(pairs)?;
        let empty = Layer::new();
        let base = layers.get(&0).unwrap_or(&empty);
        let defaults = Endpoint::from_layers(base, &empty)?;
        let mut groups = Vec::new();
        for (&number, layer) in layers.iter().filter(|(n, _)| **n != 0) {
            let namespace = layer.get("namespace").ok_or_else(|| {
                let any = layer.values().next().expect("a layer has at least one key");
                SettingsError {
                    key: any.key.clone(),
                    value: shown_value(any),
                    reason: format!("{PREFIX}namespace{number} is not set, so group {number} applies to no namespace"),
                }
            })?;
            groups.push(Group {
                number,
                namespace: namespace.value.clone(),
                endpoint: Endpoint::from_layers(base, layer)?,
            });
        }
        Ok(Settings { defaults, groups })
    }

    /// The group whose pattern matches `namespace_prefix` first, if any.
    pub fn group_for(&self, namespace_prefix: &str) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| wildcard_match(&g.namespace, namespace_prefix))
    }

    /// The endpoint that applies to `namespace_prefix`.
    pub fn endpoint_for(&self, namespace_prefix: &str) -> &Endpoint {
        self.group_for(namespace_prefix)
            .map_or(&self.defaults, |g| &g.endpoint)
    }

    /// One line for `mail_debug`, secrets masked.
    pub fn describe(&self) -> String {
        let mut out = self.defaults.describe();
        for g in &self.groups {
            out.push_str(&format!(
                "; group {} (namespace={}): {}",
                g.number,
                g.namespace,
                g.endpoint.describe()
            ));
        }
        out
    }
}

impl Endpoint {
    /// The endpoint of `group` on top of the `defaults` layer.
    fn from_layers(defaults: &Layer, group: &Layer) -> Result<Endpoint, SettingsError> {
        let get = |name: &str| group.get(name).or_else(|| defaults.get(name));
        let ssl = get("ssl")
            .map(parse_ssl)
            .transpose()?
            .unwrap_or(SslMode::No);
        let default_port = if ssl == SslMode::Imaps { 993 } else { 143 };
        // password and password_file are one choice: the more specific layer wins.
        let secret_layer = if group.contains_key("password") || group.contains_key("password_file")
        {
            group
        } else {
            defaults
        };
        let (password, password_file) = match (
            secret_layer.get("password"),
            secret_layer.get("password_file"),
        ) {
            (Some(p), Some(f)) => {
                return Err(SettingsError {
                    key: f.key.clone(),
                    value: f.value.clone(),
                    reason: format!("{} is set too; set only one of them", p.key),
                })
            }
            (Some(p), None) => (Some(Secret(p.value.clone())), None),
            (None, Some(f)) => {
                let (secret, path) = read_password_file(f)?;
                (Some(secret), Some(path))
            }
            (None, None) => (None, None),
        };
        Ok(Endpoint {
            host: get("host").map(parse_host).transpose()?,
            port: get("port")
                .map(parse_port)
                .transpose()?
                .unwrap_or(default_port),
            ssl,
            ssl_ca_file: get("ssl_ca_file").map(parse_absolute_path).transpose()?,
            ssl_ca_dir: get("ssl_ca_dir").map(parse_absolute_path).transpose()?,
            ssl_verify: get("ssl_verify")
                .map(parse_bool)
                .transpose()?
                .unwrap_or(true),
            master_user: get("master_user").map(parse_user_name).transpose()?,
            master_user_separator: get("master_user_separator")
                .map(parse_user_name)
                .transpose()?,
            password,
            password_file,
            connect_timeout: get("connect_timeout")
                .map(parse_timeout)
                .transpose()?
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            command_timeout: get("command_timeout")
                .map(parse_timeout)
                .transpose()?
                .unwrap_or(DEFAULT_COMMAND_TIMEOUT),
            idle_timeout: get("idle_timeout")
                .map(parse_timeout)
                .transpose()?
                .unwrap_or(DEFAULT_IDLE_TIMEOUT),
            max_idle_time: get("max_idle_time")
                .map(parse_timeout)
                .transpose()?
                .unwrap_or(DEFAULT_MAX_IDLE_TIME),
            max_literal_size: get("max_literal_size")
                .map(|raw| parse_size(raw, 1024, 1 << 40))
                .transpose()?
                .unwrap_or(DEFAULT_MAX_LITERAL_SIZE),
            max_line_length: get("max_line_length")
                .map(|raw| parse_size(raw, 1024, 1 << 30))
                .transpose()?
                .unwrap_or(DEFAULT_MAX_LINE_LENGTH),
            max_connections: get("max_connections")
                .map(parse_max_connections)
                .transpose()?
                .unwrap_or(DEFAULT_MAX_CONNECTIONS),
            list_cache_time: get("list_cache_time")
                .map(parse_cache_time)
                .transpose()?
                .unwrap_or(DEFAULT_LIST_CACHE_TIME),
        })
    }

    fn describe(&self) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
        let path = |v: &Option<PathBuf>| {
            v.as_ref()
                .map_or("(unset)".into(), |p| p.display().to_string())
        };
        let password = match (&self.password, &self.password_file) {
            (None, _) => "(unset)".to_string(),
            (Some(_), None) => "(hidden)".to_string(),
            (Some(_), Some(f)) => format!("(hidden, from {})", f.display()),
        };
        format!(
            "host={} port={} ssl={} ssl_ca_file={} ssl_ca_dir={} ssl_verify={} master_user={} \
             master_user_separator={} password={} connect_timeout={} command_timeout={} idle_timeout={} max_idle_time={} max_connections={} \
             max_literal_size={} max_line_length={} list_cache_time={}",
            opt(&self.host),
            self.port,
            self.ssl.name(),
            path(&self.ssl_ca_file),
            path(&self.ssl_ca_dir),
            if self.ssl_verify { "yes" } else { "no" },
            opt(&self.master_user),
            opt(&self.master_user_separator),
            password,
            format_duration(self.connect_timeout),
            format_duration(self.command_timeout),
            format_duration(self.idle_timeout),
            format_duration(self.max_idle_time),
            self.max_connections,
            self.max_literal_size,
            self.max_line_length,
            format_duration(self.list_cache_time),
        )
    }
}

/// Sorts the pairs into layers by group number (0 = unnumbered defaults),
/// rejecting unknown names and misplaced numbers.
fn collect_layers<'a, I>(pairs: I) -> Result<BTreeMap<u32, Layer>, SettingsError>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut layers: BTreeMap<u32, Layer> = BTreeMap::new();
    for (key, value) in pairs {
        let Some(rest) = key.strip_prefix(PREFIX) else {
            continue;
        };
        let raw = Raw {
            key: key.to_string(),
            value: value.to_string(),
        };
        let (name, number) = split_group_number(rest);
        let Some(name) = KEYS.iter().copied().find(|k| *k == name) else {
            return Err(unknown_key(&raw, name));
        };
        let number = match number {
            None | Some(0) | Some(1) if name == "namespace" => {
                return Err(invalid(&raw, format!("groups are numbered from 2 ({PREFIX}namespace2, {PREFIX}namespace3, …); unnumbered settings apply to every namespace")))
            }
            None => 0,
            Some(n) if n >= 2 => n,
            Some(_) => return Err(invalid(&raw, format!("groups are numbered from 2 (write {PREFIX}{name} for the defaults)"))),
        };
        if value.is_empty() {
            continue;
        }
        layers.entry(number).or_default().insert(name, raw);
    }
    Ok(layers)
}

/// `host2` → (`host`, Some(2)); `host` → (`host`, None).
fn split_group_number(name: &str) -> (&str, Option<u32>) {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits == name.len() {
        return (name, None);
    }
    let (base, number) = name.split_at(name.len() - digits);
    match number.parse() {
        Ok(n) => (base, Some(n)),
        Err(_) => (name, None),
    }
}

fn unknown_key(raw: &Raw, name: &str) -> SettingsError {
    let closest = KEYS
        .iter()
        .min_by_key(|k| edit_distance(k, name))
        .filter(|k| edit_distance(k, name) <= 3);
    let hint = closest.map_or(String::new(), |k| format!(" (did you mean {PREFIX}{k}?)"));
    SettingsError {
        key: raw.key.clone(),
        value: shown_value(raw),
        reason: format!("unknown setting{hint}"),
    }
}

fn invalid(raw: &Raw, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        key: raw.key.clone(),
        value: shown_value(raw),
        reason: reason.into(),
    }
}

/// The value as it may appear in a log line: passwords never do.
fn shown_value(raw: &Raw) -> String {
    let name = raw
        .key
        .strip_prefix(PREFIX)
        .map(|r| split_group_number(r).0);
    if name == Some("password") {
        "(hidden)".into()
    } else {
        raw.value.clone()
    }
}

fn parse_ssl(raw: &Raw) -> Result<SslMode, SettingsError> {
    match raw.value.as_str() {
        "no" => Ok(SslMode::No),
        "imaps" => Ok(SslMode::Imaps),
        "starttls" => Ok(SslMode::Starttls),
        _ => Err(invalid(raw, "must be one of: no, imaps, starttls")),
    }
}

fn parse_host(raw: &Raw) -> Result<String, SettingsError> {
    let host = raw.value.as_str();
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let is_ip = unbracketed.parse::<IpAddr>().is_ok();
    let is_name = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if is_ip || is_name {
        Ok(unbracketed.to_string())
    } else {
        Err(invalid(raw, "must be a host name or an IP address"))
    }
}

fn parse_port(raw: &Raw) -> Result<u16, SettingsError> {
    match raw.value.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(invalid(raw, "must be a port number 1-65535")),
    }
}

fn parse_bool(raw: &Raw) -> Result<bool, SettingsError> {
    match raw.value.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(invalid(raw, "must be yes or no")),
    }
}

fn parse_absolute_path(raw: &Raw) -> Result<PathBuf, SettingsError> {
    if raw.value.starts_with('/') {
        Ok(PathBuf::from(&raw.value))
    } else {
        Err(invalid(raw, "must be an absolute path"))
    }
}

fn parse_user_name(raw: &Raw) -> Result<String, SettingsError> {
    if raw
        .value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        Err(invalid(
            raw,
            "must not contain spaces or control characters",
        ))
    } else {
        Ok(raw.value.clone())
    }
}

fn parse_max_connections(raw: &Raw) -> Result<u32, SettingsError> {
    match raw.value.parse::<u32>() {
        Ok(n) if (1..=MAX_MAX_CONNECTIONS).contains(&n) => Ok(n),
        _ => Err(invalid(
            raw,
            format!("must be a number 1-{MAX_MAX_CONNECTIONS}"),
        )),
    }
}

fn parse_timeout(raw: &Raw) -> Result<Duration, SettingsError> {
    match parse_dovecot_time(&raw.value) {
        Some(d) if !d.is_zero() && d <= MAX_TIMEOUT => Ok(d),
        Some(_) => Err(invalid(raw, "must be more than 0 and at most 1 day")),
        None => Err(invalid(raw, "must be a time such as 30s, 500ms or 2 mins")),
    }
}

fn parse_cache_time(raw: &Raw) -> Result<Duration, SettingsError> {
    match parse_dovecot_time(&raw.value) {
        Some(d) if d <= MAX_TIMEOUT => Ok(d),
        Some(_) => Err(invalid(raw, "must be at most 1 day")),
        None => Err(invalid(
            raw,
            "must be a time such as 30s or 5 mins (0 to keep none)",
        )),
    }
}

fn parse_size(raw: &Raw, min: u64, max: u64) -> Result<u64, SettingsError> {
    match parse_dovecot_size(&raw.value) {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(_) => Err(invalid(
            raw,
            format!("must be between {min} bytes and {max} bytes"),
        )),
        None => Err(invalid(raw, "must be a size such as 64k, 10M or 1G")),
    }
}

fn read_password_file(raw: &Raw) -> Result<(Secret, PathBuf), SettingsError> {
    let path = parse_absolute_path(raw)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| invalid(raw, format!("cannot read the password file: {e}")))?;
    let password = text.trim_end_matches(['\r', '\n']);
    if password.is_empty() || password.contains(['\r', '\n']) {
        return Err(invalid(
            raw,
            "the password file must hold the password on one line",
        ));
    }
    Ok((Secret(password.to_string()), path))
}

/// Dovecot's time syntax: a number, optionally followed by a unit
/// (`ms`, `s`, `secs`, `m`, `mins`, `h`, `d`, `w`, …); no unit means seconds.
pub fn parse_dovecot_time(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let ms_per_unit: u64 = match text[digits..].trim().to_ascii_lowercase().as_str() {
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" | "millisec" | "millisecs" => 1,
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        "w" | "week" | "weeks" => 604_800_000,
        _ => return None,
    };
    number.checked_mul(ms_per_unit).map(Duration::from_millis)
}

/// Dovecot's size syntax: a number, optionally followed by `B`, `k`, `M`,
/// `G` or `T` (powers of 1024; `kB`, `MB`, … too).
pub fn parse_dovecot_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let shift = match text[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" => 10,
        "m" | "mb" => 20,
        "g" | "gb" => 30,
        "t" | "tb" => 40,
        _ => return None,
    };
    number.checked_mul(1u64 << shift)
}

fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Dovecot's `wildcard_match()` semantics: `*` any run, `?` any one char.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::parse(pairs.iter().copied())
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        parse(pairs)
            .expect_err("settings must be refused")
            .to_string()
    }

    #[test]
    fn defaults_without_any_setting() {
        let s = parse(&[]).unwrap();
        assert_eq!(s.defaults.host, None);
        assert_eq!(s.defaults.port, 143);
        assert_eq!(s.defaults.ssl, SslMode::No);
        assert!(s.defaults.ssl_verify);
        assert_eq!(s.defaults.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert!(s.groups.is_empty());
    }

    #[test]
    fn full_default_group() {
        let s = parse(&[
            ("shared_imapc_host", "proxy.example.net"),
            ("shared_imapc_ssl", "imaps"),
            ("shared_imapc_master_user", "bob"),
            ("shared_imapc_password", "s3cret"),
            ("shared_imapc_command_timeout", "2 mins"),
            ("shared_imapc_max_connections", "16"),
            ("other_plugin_setting", "ignored"),
        ])
        .unwrap();
        let d = &s.defaults;
        assert_eq!(d.host.as_deref(), Some("proxy.example.net"));
        assert_eq!(d.port, 993, "imaps defaults to port 993");
        assert_eq!(d.master_user.as_deref(), Some("bob"));
        assert_eq!(d.password.as_ref().map(Secret::expose), Some("s3cret"));
        assert_eq!(d.command_timeout, Duration::from_secs(120));
        assert_eq!(d.max_connections, 16);
    }

    #[test]
    fn an_idle_is_renewed_within_rfc_2177s_30_minutes_unless_set() {
        let base = [("shared_imapc_host", "proxy")];
        assert_eq!(
            parse(&base).unwrap().defaults.max_idle_time,
            Duration::from_secs(25 * 60)
        );
        let set = parse(&[base[0], ("shared_imapc_max_idle_time", "10 mins")]).unwrap();
        assert_eq!(set.defaults.max_idle_time, Duration::from_secs(600));
        assert!(error(&[("shared_imapc_max_idle_time", "0")])
            .starts_with("shared_imapc_max_idle_time=0:"));
    }

    #[test]
    fn list_cache_time_defaults_to_acl_cache_secs_and_zero_turns_it_off() {
        let base = [("shared_imapc_host", "proxy")];
        assert_eq!(
            parse(&base).unwrap().defaults.list_cache_time,
            Duration::from_secs(30)
        );
        let off = parse(&[base[0], ("shared_imapc_list_cache_time", "0")]).unwrap();
        assert!(off.defaults.list_cache_time.is_zero());
        assert!(error(&[("shared_imapc_list_cache_time", "soon")])
            .starts_with("shared_imapc_list_cache_time=soon:"));
    }

    #[test]
    fn groups_override_defaults_for_matching_prefixes() {
        let s = parse(&[
            ("shared_imapc_host", "proxy-a"),
            ("shared_imapc_password", "a-secret"),
            ("shared_imapc_namespace2", "partner/*"),
            ("shared_imapc_host2", "proxy-b"),
            ("shared_imapc_port2", "10143"),
            ("shared_imapc_namespace3", "partner/*"),
            ("shared_imapc_host3", "never-used"),
        ])
        .unwrap();
        assert_eq!(s.groups.len(), 2);
        let partner = s.endpoint_for("partner/alice/");
        assert_eq!(partner.host.as_deref(), Some("proxy-b"));
        assert_eq!(partner.port, 10143);
        assert_eq!(
            partner.password.as_ref().map(Secret::expose),
            Some("a-secret"),
            "inherited"
        );
        assert_eq!(
            s.group_for("partner/alice/").map(|g| g.number),
            Some(2),
            "lowest number wins"
        );
        assert_eq!(
            s.endpoint_for("shared/alice/").host.as_deref(),
            Some("proxy-a")
        );
        assert!(s.group_for("shared/alice/").is_none());
    }

    #[test]
    fn misspelled_key_is_named_with_a_hint() {
        let e = error(&[("shared_imapc_hots", "proxy")]);
        assert_eq!(
            e,
            "shared_imapc_hots=proxy: unknown setting (did you mean shared_imapc_host?)"
        );
        assert!(error(&[("shared_imapc_zzzzzzzzzz2", "x")]).contains("unknown setting"));
    }

    #[test]
    fn invalid_values_name_key_and_value() {
        assert_eq!(
            error(&[("shared_imapc_port", "99999")]),
            "shared_imapc_port=99999: must be a port number 1-65535"
        );
        assert!(error(&[("shared_imapc_ssl", "tls")])
            .starts_with("shared_imapc_ssl=tls: must be one of"));
        assert!(error(&[("shared_imapc_ssl_verify", "maybe")])
            .starts_with("shared_imapc_ssl_verify=maybe:"));
        assert!(error(&[("shared_imapc_connect_timeout", "soon")])
            .starts_with("shared_imapc_connect_timeout=soon:"));
        assert!(error(&[("shared_imapc_connect_timeout", "0")]).contains("more than 0"));
        assert!(
            error(&[("shared_imapc_host", "bad host")]).starts_with("shared_imapc_host=bad host:")
        );
        assert!(error(&[("shared_imapc_max_connections", "0")])
            .starts_with("shared_imapc_max_connections=0:"));
        assert!(error(&[("shared_imapc_ssl_ca_file", "relative.pem")]).contains("absolute path"));
    }

    #[test]
    fn errors_in_groups_name_the_numbered_key() {
        let e = error(&[
            ("shared_imapc_namespace2", "x/*"),
            ("shared_imapc_port2", "http"),
        ]);
        assert!(e.starts_with("shared_imapc_port2=http:"), "{e}");
    }

    #[test]
    fn group_without_namespace_is_refused() {
        let e = error(&[("shared_imapc_host2", "proxy-b")]);
        assert!(e.contains("shared_imapc_namespace2 is not set"), "{e}");
    }

    #[test]
    fn group_numbers_start_at_two() {
        assert!(error(&[("shared_imapc_host1", "x")]).contains("numbered from 2"));
        assert!(error(&[("shared_imapc_namespace", "shared/*")]).contains("numbered from 2"));
    }

    #[test]
    fn passwords_never_appear_in_errors_or_descriptions() {
        let e = error(&[
            ("shared_imapc_password", "topsecret"),
            ("shared_imapc_password_file", "/nonexistent"),
        ]);
        assert!(!e.contains("topsecret"), "{e}");
        let e = error(&[("shared_imapc_password2", "topsecret")]);
        assert!(!e.contains("topsecret"), "{e}");
        let s = parse(&[
            ("shared_imapc_password", "topsecret"),
            ("shared_imapc_namespace2", "p/*"),
        ])
        .unwrap();
        let d = s.describe();
        assert!(
            !d.contains("topsecret") && d.contains("password=(hidden)"),
            "{d}"
        );
        assert!(!format!("{s:?}").contains("topsecret"));
    }

    #[test]
    fn password_from_file() {
        let dir = std::env::temp_dir().join(format!("sic-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let s = parse(&[("shared_imapc_password_file", file.to_str().unwrap())]).unwrap();
        assert_eq!(
            s.defaults.password.as_ref().map(Secret::expose),
            Some("from-file")
        );
        assert!(s.describe().contains("(hidden, from "));
        let missing = dir.join("missing");
        let e = error(&[("shared_imapc_password_file", missing.to_str().unwrap())]);
        assert!(e.contains("cannot read the password file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn group_password_replaces_default_password_file() {
        let s = parse(&[
            (
                "shared_imapc_password_file",
                "/nonexistent/never-read-for-group",
            ),
            ("shared_imapc_namespace2", "p/*"),
            ("shared_imapc_password2", "group-secret"),
        ]);
        // The defaults still need their file, so this is refused for the defaults …
        assert!(s.is_err());
        // … while a group's own password does not inherit the default file.
        let s = parse(&[
            ("shared_imapc_password", "default"),
            ("shared_imapc_namespace2", "p/*"),
            ("shared_imapc_password2", "group-secret"),
        ])
        .unwrap();
        assert_eq!(
            s.endpoint_for("p/x/").password.as_ref().map(Secret::expose),
            Some("group-secret")
        );
    }

    #[test]
    fn empty_values_are_unset() {
        let s = parse(&[("shared_imapc_host", ""), ("shared_imapc_port", "")]).unwrap();
        assert_eq!(s.defaults.host, None);
        assert_eq!(s.defaults.port, 143);
    }

    #[test]
    fn ipv6_hosts() {
        assert_eq!(
            parse(&[("shared_imapc_host", "[::1]")])
                .unwrap()
                .defaults
                .host
                .as_deref(),
            Some("::1")
        );
        assert_eq!(
            parse(&[("shared_imapc_host", "::1")])
                .unwrap()
                .defaults
                .host
                .as_deref(),
            Some("::1")
        );
    }

    #[test]
    fn dovecot_time_syntax() {
        assert_eq!(parse_dovecot_time("30"), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_dovecot_time("500ms"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_dovecot_time("2 mins"), Some(Duration::from_secs(120)));
        assert_eq!(parse_dovecot_time("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_dovecot_time("ten"), None);
        assert_eq!(parse_dovecot_time("5 fortnights"), None);
        assert_eq!(parse_dovecot_time("99999999999999999999w"), None);
    }

    #[test]
    fn dovecot_size_syntax() {
        assert_eq!(parse_dovecot_size("123"), Some(123));
        assert_eq!(parse_dovecot_size("64k"), Some(65536));
        assert_eq!(parse_dovecot_size("10 MB"), Some(10 << 20));
        assert_eq!(parse_dovecot_size("1G"), Some(1 << 30));
        assert_eq!(parse_dovecot_size("1 parsec"), None);
        assert!(error(&[("shared_imapc_max_literal_size", "100")])
            .contains("must be between 1024 bytes"));
        assert!(error(&[("shared_imapc_max_line_length", "huge")])
            .starts_with("shared_imapc_max_line_length=huge:"));
        let s = parse(&[("shared_imapc_max_literal_size", "10M")]).unwrap();
        assert_eq!(s.defaults.max_literal_size, 10 << 20);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("shared/*", "shared/alice/"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("s?ared/*/", "shared/bob/"));
        assert!(!wildcard_match("shared/*", "partner/alice/"));
        assert!(!wildcard_match("shared/", "shared/alice/"));
        assert!(wildcard_match("*a*b*", "xxaxxbxx"));
        assert!(!wildcard_match("*a*b", "xxaxxbxx"));
    }
}
