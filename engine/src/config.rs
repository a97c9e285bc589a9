//! The TOML config (`ampsync.toml`): loading, defaults and validation.
//!
//! Secrets never sit in this file: it names the environment variables and
//! key files that hold them. Relative paths are taken from the config file's
//! folder, so a config works from any working directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::Deserialize;

use crate::fields::{Field, LANGUAGES, ROLES};
use crate::fingerprint::Fingerprint;
use crate::learnamp::{ClientOptions, check_base_url, needed_scopes};

/// The commented config `ampsync init` writes.
pub const CONFIG_TEMPLATE: &str = include_str!("config_template.toml");

/// A config that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read the config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has an unknown or mistyped setting. The
    /// message never quotes the file's text: a line may hold a secret
    /// someone put there by mistake.
    #[error("invalid config file {}, line {line}, column {column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid setting `{setting}` in {}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        setting: String,
        reason: String,
    },
}

/// The whole config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    pub source: Option<SourceConfig>,
    pub pgp: Option<PgpConfig>,
    #[serde(default)]
    pub csv: CsvConfig,
    #[serde(default)]
    pub mapping: MappingConfig,
    /// `[[skip]]` rules, in order.
    #[serde(default)]
    pub skip: Vec<SkipRule>,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub learnamp: LearnAmpConfig,
    pub schedule: Option<ScheduleConfig>,
    pub alerts: Option<AlertsConfig>,
    #[serde(default)]
    pub console: ConsoleConfig,
    /// The folder relative paths are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The config file itself, for messages.
    #[serde(skip)]
    pub path: PathBuf,
    /// How this config reads files (see [`Fingerprint`]).
    #[serde(skip)]
    pub fingerprint: Fingerprint,
}

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    #[serde(default = "default_keep_raw_days")]
    pub keep_raw_days: u32,
    /// The environment variable holding the 256-bit key the store is
    /// encrypted with (hex or base64); none: the store is plain.
    #[serde(default)]
    pub encryption_key_env: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
            keep_raw_days: default_keep_raw_days(),
            encryption_key_env: None,
        }
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from("ampsync.redb")
}
fn default_keep_raw_days() -> u32 {
    30
}

/// `[source]`: where the daily file comes from, by `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    /// A folder on an sFTP server.
    Sftp(SftpConfig),
    /// A local folder.
    Dir(DirConfig),
}

impl SourceConfig {
    /// The file name pattern (`*` and `?`).
    pub fn pattern(&self) -> &str {
        match self {
            SourceConfig::Sftp(s) => &s.pattern,
            SourceConfig::Dir(d) => &d.pattern,
        }
    }

    /// How long a file must be unchanged to be taken.
    pub fn settle(&self) -> Duration {
        Duration::from_secs(match self {
            SourceConfig::Sftp(s) => s.settle_seconds,
            SourceConfig::Dir(d) => d.settle_seconds,
        })
    }

    /// What is done with a file once imported.
    pub fn after_import(&self) -> &AfterImport {
        match self {
            SourceConfig::Sftp(s) => &s.after_import,
            SourceConfig::Dir(d) => &d.after_import,
        }
    }
}

/// `[source]` with `kind = "sftp"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpConfig {
    pub host: String,
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    pub user: String,
    /// The SSH private key file to log in with.
    pub private_key: PathBuf,
    /// The environment variable holding the key's passphrase, if it has one.
    pub private_key_passphrase_env: Option<String>,
    /// The server's public key (or a known_hosts line): any other is refused.
    pub known_host_key: String,
    /// The folder on the server.
    pub remote_dir: String,
    #[serde(default = "default_pattern")]
    pub pattern: String,
    #[serde(default = "default_settle_seconds")]
    pub settle_seconds: u64,
    #[serde(default)]
    pub after_import: AfterImport,
}

/// `[source]` with `kind = "dir"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirConfig {
    /// The folder (relative to the config file's folder).
    #[serde(alias = "remote_dir")]
    pub dir: PathBuf,
    #[serde(default = "default_pattern")]
    pub pattern: String,
    #[serde(default = "default_settle_seconds")]
    pub settle_seconds: u64,
    #[serde(default)]
    pub after_import: AfterImport,
}

/// `source.after_import`: what becomes of a file once it is imported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum AfterImport {
    /// Leave it where it is (a rerun finds it already imported).
    #[default]
    Keep,
    /// Remove it.
    Delete,
    /// Move it into this folder under the same name, never over an existing
    /// file (`move:DIR`; for a `dir` source, relative to the config file).
    Move(String),
}

impl TryFrom<String> for AfterImport {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "keep" => Ok(AfterImport::Keep),
            "delete" => Ok(AfterImport::Delete),
            _ => match value.strip_prefix("move:").map(str::trim) {
                Some(dir) if !dir.is_empty() => Ok(AfterImport::Move(dir.to_owned())),
                _ => Err(format!(
                    "invalid setting `source.after_import`: {value:?} is not \"keep\", \"delete\" or \"move:/some/dir\""
                )),
            },
        }
    }
}

fn default_ssh_port() -> u16 {
    22
}
fn default_pattern() -> String {
    "*.csv*".into()
}
fn default_settle_seconds() -> u64 {
    30
}

/// `[pgp]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgpConfig {
    pub secret_key: PathBuf,
    pub passphrase_env: Option<String>,
    pub require_signature_from: Option<PathBuf>,
}

/// `[csv]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    #[serde(default)]
    pub delimiter: Delimiter,
    /// The column that identifies a person; unset: the employee ID column,
    /// or email when the file has none.
    pub key: Option<String>,
    #[serde(default = "default_list_separator")]
    pub list_separator: String,
    #[serde(default)]
    pub encoding: Encoding,
    /// Lines before the header (Entra's `version:v1.0`), skipped unread.
    #[serde(default)]
    pub skip_lines: u32,
    /// `csv.date_formats`: strftime forms tried in order on every date
    /// cell; ISO 8601 (`YYYY-MM-DD`) always works.
    #[serde(default)]
    pub date_formats: Vec<String>,
}

impl Default for CsvConfig {
    fn default() -> Self {
        CsvConfig {
            delimiter: Delimiter::default(),
            key: None,
            list_separator: default_list_separator(),
            encoding: Encoding::default(),
            skip_lines: 0,
            date_formats: Vec::new(),
        }
    }
}

fn default_list_separator() -> String {
    ",".into()
}

/// `csv.delimiter`: the field separator, or `"auto"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Delimiter {
    #[default]
    Comma,
    Semicolon,
    Tab,
    Pipe,
    /// Taken from each file's header line.
    Auto,
}

impl Delimiter {
    /// The separators `"auto"` chooses from, in the order ties are broken.
    pub const CANDIDATES: [Delimiter; 4] = [Delimiter::Comma, Delimiter::Semicolon, Delimiter::Tab, Delimiter::Pipe];

    /// The separator byte; `None` for [`Delimiter::Auto`].
    pub fn byte(self) -> Option<u8> {
        match self {
            Delimiter::Comma => Some(b','),
            Delimiter::Semicolon => Some(b';'),
            Delimiter::Tab => Some(b'\t'),
            Delimiter::Pipe => Some(b'|'),
            Delimiter::Auto => None,
        }
    }

    /// The setting's value as it is written in the config.
    pub fn config_value(self) -> &'static str {
        match self {
            Delimiter::Comma => "\",\"",
            Delimiter::Semicolon => "\";\"",
            Delimiter::Tab => "\"\\t\"",
            Delimiter::Pipe => "\"|\"",
            Delimiter::Auto => "\"auto\"",
        }
    }
}

impl TryFrom<String> for Delimiter {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "," => Ok(Delimiter::Comma),
            ";" => Ok(Delimiter::Semicolon),
            "\t" | "\\t" | "tab" => Ok(Delimiter::Tab),
            "|" => Ok(Delimiter::Pipe),
            "auto" => Ok(Delimiter::Auto),
            _ => Err(format!(
                "invalid setting `csv.delimiter`: must be \",\", \";\", \"|\", \"\\t\" (or \"tab\") or \"auto\", not {value:?}"
            )),
        }
    }
}

/// `csv.encoding`: a WHATWG encoding label (`"utf-8"`, `"windows-1250"`,
/// `"iso-8859-2"`, `"shift_jis"`, …), or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Encoding {
    /// Detected from each file's first bytes (a UTF-8 byte-order mark, or
    /// valid UTF-8, means UTF-8).
    Auto,
    /// This encoding.
    Fixed(&'static encoding_rs::Encoding),
}

impl Default for Encoding {
    fn default() -> Self {
        Encoding::Fixed(encoding_rs::UTF_8)
    }
}

impl TryFrom<String> for Encoding {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.trim().eq_ignore_ascii_case("auto") {
            return Ok(Encoding::Auto);
        }
        let encoding = encoding_rs::Encoding::for_label(value.as_bytes()).ok_or_else(|| {
            format!(
                "invalid setting `csv.encoding`: {value:?} is not an encoding label (e.g. \"utf-8\", \"windows-1252\", \"windows-1250\", \"iso-8859-2\", \"shift_jis\"), nor \"auto\""
            )
        })?;
        // CSV is split into fields byte by byte: the delimiters, quotes and
        // line ends must be the ASCII bytes they look like.
        if !encoding.is_ascii_compatible() {
            return Err(format!(
                "invalid setting `csv.encoding`: {value:?} ({}) cannot be read as CSV: save the file as UTF-8",
                encoding.name()
            ));
        }
        Ok(Encoding::Fixed(encoding))
    }
}

/// `[mapping]`: Learn Amp field = CSV column, plus custom fields, value
/// translations and replaces. Steps, per value: read cell → `replace` →
/// `values` translation → normalise → validate.
#[derive(Debug, Clone, Deserialize)]
pub struct MappingConfig {
    /// `mapping.auto`: recognise headers by name for fields not named here
    /// (false: read only the named columns).
    #[serde(default = "yes")]
    pub auto: bool,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// `[mapping.values.FIELD]`: the file's values (matched ignoring case)
    /// → Learn Amp's, for any field.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// `[mapping.replace.FIELD]`: a regex replace on the read value.
    #[serde(default)]
    pub replace: BTreeMap<String, ReplaceRule>,
    /// Learn Amp field (or one of [`MAPPING_ONLY_KEYS`]) = where it is read.
    #[serde(flatten)]
    pub fields: BTreeMap<String, ColumnSource>,
}

impl Default for MappingConfig {
    fn default() -> Self {
        MappingConfig {
            auto: true,
            custom_fields: BTreeMap::new(),
            values: BTreeMap::new(),
            replace: BTreeMap::new(),
            fields: BTreeMap::new(),
        }
    }
}

/// `[mapping]` keys that are not record fields: they decide who is in the
/// snapshot (`leaveDate`, `startDate`) or are resolved to `managerEmail`
/// from the same file (`managerKey`, `managerName`).
pub const MAPPING_ONLY_KEYS: [&str; 4] = ["leaveDate", "startDate", "managerKey", "managerName"];

/// Where a `[mapping]` key is read from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ColumnSource {
    /// One column.
    Column(String),
    /// Columns tried in order: the first non-empty value wins.
    Columns(Vec<String>),
    /// `false`: never read this field, even where a column has its name.
    /// (`true` is refused at load.)
    Off(bool),
}

impl ColumnSource {
    /// The columns named, in order (none when switched off).
    pub fn columns(&self) -> &[String] {
        match self {
            ColumnSource::Column(c) => std::slice::from_ref(c),
            ColumnSource::Columns(cs) => cs,
            ColumnSource::Off(_) => &[],
        }
    }

    /// The key is `false`.
    pub fn is_off(&self) -> bool {
        matches!(self, ColumnSource::Off(_))
    }
}

/// `[mapping.replace.FIELD]`: every match of `pattern` (a `regex` crate
/// regex) in the read value is replaced by `with` (`$1` names a group).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceRule {
    pub pattern: String,
    #[serde(default)]
    pub with: String,
}

/// `[[skip]]`: rows that are not people to sync, tested on the raw cell of
/// `column` as the file has it (before replace or translation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRule {
    pub column: String,
    /// The cell is one of these (ignoring case and surrounding spaces;
    /// `""` matches an empty cell).
    pub equals: Option<Vec<String>>,
    /// The cell matches this regex.
    pub matches: Option<String>,
}

/// `policy.future_hires`: what to do with a new person whose `startDate`
/// is after the import's day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FutureHires {
    /// Create them now.
    #[default]
    Create,
    /// Create them on their start day (counted as a future hire until then).
    Wait,
}

/// `[policy]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default)]
    pub on_invalid_row: OnInvalidRow,
    #[serde(default = "yes")]
    pub deactivate_missing: bool,
    #[serde(default = "one")]
    pub deactivate_after_missing: u32,
    #[serde(default)]
    pub skip_invitation: bool,
    #[serde(default = "default_max_deactivate_percent")]
    pub max_deactivate_percent: f64,
    #[serde(default = "default_max_change_percent")]
    pub max_change_percent: f64,
    #[serde(default = "one_u64")]
    pub min_rows: u64,
    #[serde(default)]
    pub future_hires: FutureHires,
    /// Forget, at each import, people deactivated more than this many days
    /// before (whole days in `schedule.timezone`); 0: never.
    #[serde(default)]
    pub forget_leavers_after_days: u32,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            on_invalid_row: OnInvalidRow::default(),
            deactivate_missing: true,
            deactivate_after_missing: 1,
            skip_invitation: false,
            max_deactivate_percent: default_max_deactivate_percent(),
            max_change_percent: default_max_change_percent(),
            min_rows: 1,
            future_hires: FutureHires::default(),
            forget_leavers_after_days: 0,
        }
    }
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn one_u64() -> u64 {
    1
}
fn default_max_deactivate_percent() -> f64 {
    10.0
}
fn default_max_change_percent() -> f64 {
    50.0
}

/// `policy.on_invalid_row`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalidRow {
    /// Import nothing when any row is invalid.
    #[default]
    RejectFile,
    /// Import the valid rows and report the rest.
    SkipRow,
}

/// `[learnamp]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnAmpConfig {
    /// The company's own API host; required to deliver (there is no
    /// shared default host).
    pub base_url: Option<String>,
    /// Space-separated OAuth scopes to ask for; unset: what the config needs.
    pub scopes: Option<String>,
    #[serde(default = "default_client_id_env")]
    pub client_id_env: String,
    #[serde(default = "default_client_secret_env")]
    pub client_secret_env: String,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(default = "default_max_rps")]
    pub max_requests_per_second: f64,
    /// How long one run retries transient faults (`"15m"`, `"90s"`, `"1h"`).
    #[serde(default = "default_retry_for", deserialize_with = "duration")]
    pub retry_for: Duration,
    /// Read for configs written before 0.2, and ignored: transient faults
    /// are retried for `retry_for`, and refusals are not retried at all.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    #[serde(default)]
    pub create_missing_teams: bool,
}

impl Default for LearnAmpConfig {
    fn default() -> Self {
        LearnAmpConfig {
            base_url: None,
            scopes: None,
            client_id_env: default_client_id_env(),
            client_secret_env: default_client_secret_env(),
            concurrency: default_concurrency(),
            max_requests_per_second: default_max_rps(),
            retry_for: default_retry_for(),
            max_attempts: None,
            create_missing_teams: false,
        }
    }
}

impl LearnAmpConfig {
    /// The scopes asked for with every token: `scopes`, or what the config needs.
    pub fn scopes(&self) -> String {
        match &self.scopes {
            Some(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
            None => needed_scopes(self.create_missing_teams),
        }
    }
}

fn default_client_id_env() -> String {
    "AMPSYNC_CLIENT_ID".into()
}
fn default_client_secret_env() -> String {
    "AMPSYNC_CLIENT_SECRET".into()
}
fn default_concurrency() -> usize {
    8
}
fn default_max_rps() -> f64 {
    20.0
}
fn default_retry_for() -> Duration {
    Duration::from_secs(15 * 60)
}

/// A duration as people write it: `"15m"`, `"90s"`, `"1h 30m"`.
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text)
        .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a duration such as \"15m\" or \"90s\" ({e})")))
}

/// `[schedule]`: when the daemon runs, and what it expects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub cron: CronExpr,
    #[serde(default = "default_timezone", deserialize_with = "timezone")]
    pub timezone: Tz,
    /// No new file by this local time: the run reports `missing_file`.
    #[serde(default, deserialize_with = "expect_file_by")]
    pub expect_file_by: Option<NaiveTime>,
    /// A run going longer than this makes `/healthz` unhealthy (minutes; a
    /// fraction is allowed).
    #[serde(default = "default_max_run_minutes")]
    pub max_run_minutes: f64,
}

/// `[alerts]`: where to tell people that a run needs them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// The environment variable holding the webhook URL (a secret: Slack's
    /// URLs carry one).
    pub webhook_url_env: String,
    #[serde(default)]
    pub format: crate::alerts::AlertFormat,
    /// The kinds to send (default: all).
    #[serde(default = "crate::alerts::AlertKind::all")]
    pub on: Vec<crate::alerts::AlertKind>,
}

/// `[console]`: the web console's token and public address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The environment variable holding the console token; none set: a
    /// one-time token is made at start.
    pub token_env: Option<String>,
    /// Where people reach the console (behind a TLS proxy); alerts link to
    /// its pages, and an `https` URL makes the session cookie `Secure`.
    pub public_url: Option<String>,
}

/// `schedule.cron`: six fields, seconds first, parsed once at load.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct CronExpr {
    text: String,
    cron: Cron,
}

impl CronExpr {
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed schedule.
    pub fn cron(&self) -> &Cron {
        &self.cron
    }
}

impl TryFrom<String> for CronExpr {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .build()
            .parse(&text)
            .map_err(|e| {
                format!(
                    "invalid setting `schedule.cron`: {text:?} is not six fields, seconds first (e.g. \"0 30 6 * * *\"): {e}"
                )
            })?;
        Ok(CronExpr { text, cron })
    }
}

fn default_timezone() -> Tz {
    Tz::UTC
}

fn default_max_run_minutes() -> f64 {
    120.0
}

fn timezone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "invalid setting `schedule.timezone`: {text:?} is not an IANA time zone such as \"Europe/London\""
        ))
    })
}

fn expect_file_by<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveTime>, D::Error> {
    let text = String::deserialize(d)?;
    NaiveTime::parse_from_str(&text, "%H:%M").map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "invalid setting `schedule.expect_file_by`: {text:?} is not a local time such as \"06:00\""
        ))
    })
}

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates config text; `path` names it in errors and
    /// anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| parse_error(path, text, &e))?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.path = path.to_owned();
        config.fingerprint = Fingerprint::of_text(text).map_err(|e| parse_error(path, text, &e))?;
        config.validate(path)?;
        Ok(config)
    }

    /// `path` resolved against the config's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() || self.base_dir.as_os_str().is_empty() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        }
    }

    /// Where the store file is.
    pub fn store_path(&self) -> PathBuf {
        self.resolve(&self.store.path)
    }

    /// What the store is opened with: the key from the variable
    /// `store.encryption_key_env` names, [`Keying::Unset`] when that
    /// variable is not set, [`Keying::None`] when no variable is named. A
    /// value that is not a key is an error naming the variable.
    pub fn store_keying(&self) -> Result<ampsync_store::Keying, ampsync_store::KeyError> {
        use ampsync_store::{KeyError, Keying, StoreKey};
        match &self.store.encryption_key_env {
            None => Ok(Keying::None),
            Some(var) => match StoreKey::from_env(var) {
                Ok(key) => Ok(Keying::Key(key)),
                Err(KeyError::Unset { var }) => Ok(Keying::Unset { var }),
                Err(e) => Err(e),
            },
        }
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |setting: &str, reason: String| ConfigError::Invalid {
            path: path.to_owned(),
            setting: setting.to_owned(),
            reason,
        };
        // In Shift_JIS, Big5 and GBK the second byte of a character may be
        // `|`: the file would split inside a name.
        if self.csv.delimiter == Delimiter::Pipe
            && let Encoding::Fixed(e) = self.csv.encoding
            && [
                encoding_rs::SHIFT_JIS,
                encoding_rs::BIG5,
                encoding_rs::GBK,
                encoding_rs::GB18030,
            ]
            .contains(&e)
        {
            return Err(invalid(
                "csv.delimiter",
                format!(
                    "\"|\" cannot separate fields in {} text: use \",\", \";\" or \"\\t\"",
                    e.name()
                ),
            ));
        }
        if self.csv.list_separator.chars().count() != 1 {
            return Err(invalid(
                "csv.list_separator",
                format!("must be one character, not {:?}", self.csv.list_separator),
            ));
        }
        for (field, source) in &self.mapping.fields {
            let setting = format!("mapping.{field}");
            if Field::from_api_name(field).is_none() && !MAPPING_ONLY_KEYS.contains(&field.as_str()) {
                let mut known: Vec<&str> = Field::ALL.iter().map(|f| f.api_name()).collect();
                known.extend(MAPPING_ONLY_KEYS);
                return Err(invalid(
                    &setting,
                    format!("unknown Learn Amp field; known fields: {}", known.join(", ")),
                ));
            }
            match source {
                ColumnSource::Off(true) => {
                    return Err(invalid(
                        &setting,
                        "must name a column, a list of columns, or be false (never read)".into(),
                    ));
                }
                ColumnSource::Columns(list) if list.is_empty() => {
                    return Err(invalid(&setting, "names no column (to switch it off: false)".into()));
                }
                _ => {}
            }
            if source.columns().iter().any(|c| c.trim().is_empty()) {
                return Err(invalid(&setting, "names no column (to switch it off: false)".into()));
            }
        }
        let by = |key: &str| self.mapping.fields.get(key).is_some_and(|s| !s.is_off());
        if by("managerKey") && by("managerName") {
            return Err(invalid(
                "mapping.managerName",
                "set one of mapping.managerKey and mapping.managerName, not both".into(),
            ));
        }
        for (field, rule) in &self.mapping.replace {
            if Field::from_api_name(field).is_none() {
                return Err(invalid(
                    &format!("mapping.replace.{field}"),
                    "unknown Learn Amp field".into(),
                ));
            }
            regex::Regex::new(&rule.pattern).map_err(|e| {
                invalid(
                    &format!("mapping.replace.{field}.pattern"),
                    format!("not a regex: {}", one_line(&e.to_string())),
                )
            })?;
        }
        for (i, rule) in self.skip.iter().enumerate() {
            let setting = format!("skip[{}] (column {:?})", i + 1, rule.column);
            if rule.column.trim().is_empty() {
                return Err(invalid(&setting, "names no column".into()));
            }
            match (&rule.equals, &rule.matches) {
                (Some(_), None) => {}
                (None, Some(pattern)) => {
                    regex::Regex::new(pattern).map_err(|e| {
                        invalid(
                            &format!("{setting}.matches"),
                            format!("not a regex: {}", one_line(&e.to_string())),
                        )
                    })?;
                }
                _ => {
                    return Err(invalid(
                        &setting,
                        "needs one of `equals = [..]` and `matches = \"regex\"`".into(),
                    ));
                }
            }
        }
        for (i, form) in self.csv.date_formats.iter().enumerate() {
            let setting = format!("csv.date_formats[{}]", i + 1);
            if chrono::format::StrftimeItems::new(form).any(|i| matches!(i, chrono::format::Item::Error))
                || !form.contains('%')
            {
                return Err(invalid(
                    &setting,
                    format!("{form:?} is not a strftime date form such as \"%d/%m/%Y\""),
                ));
            }
        }
        for (field, table) in &self.mapping.values {
            let Some(f) = Field::from_api_name(field) else {
                return Err(invalid(
                    &format!("mapping.values.{field}"),
                    "unknown Learn Amp field".into(),
                ));
            };
            for (from, to) in table {
                let ok = match f {
                    Field::Role => ROLES.contains(&to.as_str()),
                    Field::Language => LANGUAGES.contains(&to.as_str()),
                    _ => true,
                };
                if !ok {
                    let list = if f == Field::Role {
                        ROLES.join(", ")
                    } else {
                        LANGUAGES.join(", ")
                    };
                    return Err(invalid(
                        &format!("mapping.values.{field}.\"{from}\""),
                        format!("{to:?} is not a Learn Amp {field} (one of: {list})"),
                    ));
                }
            }
        }
        for (name, setting) in [
            (&"policy.max_deactivate_percent", self.policy.max_deactivate_percent),
            (&"policy.max_change_percent", self.policy.max_change_percent),
        ] {
            if !(0.0..=100.0).contains(&setting) {
                return Err(invalid(name, format!("must be between 0 and 100, not {setting}")));
            }
        }
        if self.policy.deactivate_after_missing == 0 {
            return Err(invalid("policy.deactivate_after_missing", "must be at least 1".into()));
        }

        if self.learnamp.concurrency == 0 {
            return Err(invalid("learnamp.concurrency", "must be at least 1".into()));
        }
        let rps = self.learnamp.max_requests_per_second;
        if !(rps.is_finite() && rps >= MIN_REQUESTS_PER_SECOND) {
            return Err(invalid(
                "learnamp.max_requests_per_second",
                format!("must be a number of at least {MIN_REQUESTS_PER_SECOND}, not {rps}"),
            ));
        }
        if let Some(url) = &self.learnamp.base_url {
            check_base_url(url).map_err(|reason| invalid("learnamp.base_url", reason.into()))?;
        }
        if let Some(scopes) = &self.learnamp.scopes {
            let bad = scopes
                .split_whitespace()
                .find(|s| !s.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == ':'));
            if let Some(bad) = bad {
                return Err(invalid(
                    "learnamp.scopes",
                    format!("{bad:?} is not a scope (e.g. \"users:read users:create\")"),
                ));
            }
            if scopes.split_whitespace().next().is_none() {
                return Err(invalid("learnamp.scopes", "names no scope".into()));
            }
        }
        if self.learnamp.retry_for.is_zero() {
            return Err(invalid("learnamp.retry_for", "must be longer than 0s".into()));
        }
        if let Some(source) = &self.source {
            self.validate_source(source, &invalid)?;
        }
        if let Some(schedule) = &self.schedule {
            let minutes = schedule.max_run_minutes;
            if !(minutes.is_finite() && minutes > 0.0) {
                return Err(invalid(
                    "schedule.max_run_minutes",
                    format!("must be a number of minutes above 0, not {minutes}"),
                ));
            }
        }
        Ok(())
    }

    /// How to reach Learn Amp: an error naming `learnamp.base_url` when it
    /// is not set.
    pub fn client_options(&self) -> Result<ClientOptions, ConfigError> {
        let base_url = self.learnamp.base_url.clone().ok_or_else(|| ConfigError::Invalid {
            path: self.path.clone(),
            setting: "learnamp.base_url".into(),
            reason: "is not set: it is your company's own Learn Amp API host, e.g. \"https://acme.learnamp.com\" (or the sandbox's URL)".into(),
        })?;
        Ok(ClientOptions {
            base_url,
            scopes: self.learnamp.scopes(),
            max_requests_per_second: self.learnamp.max_requests_per_second,
        })
    }

    /// The import's day: today in `schedule.timezone` (Europe/London when
    /// there is no schedule) by the clock (which tests may pin).
    pub fn today(&self) -> Result<chrono::NaiveDate, crate::clock::ClockError> {
        let tz = self.zone();
        let now = crate::clock::now_micros()?;
        let utc = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(now).unwrap_or_default();
        Ok(utc.with_timezone(&tz).date_naive())
    }

    /// `schedule.timezone`, or Europe/London when there is no schedule: the
    /// zone the import's day is counted in.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.schedule.as_ref().map_or(chrono_tz::Europe::London, |s| s.timezone)
    }

    fn validate_source(
        &self,
        source: &SourceConfig,
        invalid: &impl Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        if source.pattern().is_empty() {
            return Err(invalid("source.pattern", "names no file".into()));
        }
        let SourceConfig::Sftp(sftp) = source else {
            return Ok(());
        };
        for (setting, value) in [
            ("source.host", &sftp.host),
            ("source.user", &sftp.user),
            ("source.remote_dir", &sftp.remote_dir),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(setting, "is empty".into()));
            }
        }
        if sftp.private_key.as_os_str().is_empty() {
            return Err(invalid("source.private_key", "is empty".into()));
        }
        if sftp.port == 0 {
            return Err(invalid("source.port", "port 0 cannot be connected to".into()));
        }
        crate::source::check_known_host_key(&sftp.known_host_key)
            .map_err(|reason| invalid("source.known_host_key", reason))
    }

    /// The delimiter as a byte; `None` when it is taken from each file.
    pub fn delimiter(&self) -> Option<u8> {
        self.csv.delimiter.byte()
    }
}

/// The lowest `learnamp.max_requests_per_second`: one request every ten
/// seconds. Below it a push of a few hundred events would take a day.
pub const MIN_REQUESTS_PER_SECOND: f64 = 0.1;

/// A multi-line message (the regex crate's) on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let mut message = e.message().trim().to_owned();
    let names_a_secret = ["secret", "passphrase", "password", "token"].iter().any(|w| {
        message
            .split('`')
            .nth(1)
            .is_some_and(|field| field.contains(w) && !field.ends_with("_env"))
    });
    if message.starts_with("unknown field") && names_a_secret {
        message.push_str(" (secrets never go in the config file: name an environment variable or a key file instead)");
    }
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/ampsync/ampsync.toml"))
    }

    #[test]
    fn empty_config_has_the_documented_defaults() {
        let c = parse("").expect("empty config is valid");
        assert_eq!(c.store_path(), PathBuf::from("/etc/ampsync/ampsync.redb"));
        assert_eq!(c.delimiter(), Some(b','));
        assert_eq!(c.policy.on_invalid_row, OnInvalidRow::RejectFile);
        assert!(c.policy.deactivate_missing);
        assert_eq!(c.learnamp.concurrency, 8);
    }

    #[test]
    fn the_store_key_comes_from_the_variable_the_config_names() {
        let plain = parse("").expect("config");
        assert!(matches!(plain.store_keying(), Ok(ampsync_store::Keying::None)));
        let var = "AMPSYNC_TEST_STORE_KEY_NEVER_SET_41c2";
        let keyed = parse(&format!("[store]\nencryption_key_env = \"{var}\"\n")).expect("config");
        match keyed.store_keying() {
            Ok(ampsync_store::Keying::Unset { var: named }) => assert_eq!(named, var),
            other => panic!("expected Unset, got {other:?}"),
        }
    }

    #[test]
    fn the_init_template_is_valid() {
        let c = parse(CONFIG_TEMPLATE).expect("template parses");
        assert_eq!(c.policy.max_deactivate_percent, 10.0);
    }

    #[test]
    fn the_init_templates_alerts_and_console_parse_uncommented() {
        // Only the settings lines: `# [table]` and `# key = value`.
        let from = CONFIG_TEMPLATE.find("# [alerts]").expect("an [alerts] section");
        let uncommented: String = CONFIG_TEMPLATE[from..]
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.split_once(" = ").is_some_and(|(k, _)| !k.contains(' ')))
            .map(|l| format!("{l}\n"))
            .collect();
        let c = parse(&uncommented).expect("the commented sections parse");
        let alerts = c.alerts.expect("[alerts]");
        assert_eq!(alerts.webhook_url_env, "AMPSYNC_WEBHOOK_URL");
        assert_eq!(alerts.on.len(), 4);
        assert_eq!(c.console.token_env.as_deref(), Some("AMPSYNC_CONSOLE_TOKEN"));
        assert!(c.console.public_url.is_some());
    }

    #[test]
    fn mapping_reads_fields_custom_fields_and_values() {
        let c = parse(
            "[mapping]\nfirstName = \"Given\"\n[mapping.custom_fields]\n\"Cost centre\" = \"CC\"\n[mapping.values.role]\n\"Manager\" = \"reporter\"\n",
        )
        .expect("valid");
        assert_eq!(
            c.mapping.fields.get("firstName"),
            Some(&ColumnSource::Column("Given".into()))
        );
        assert_eq!(
            c.mapping.custom_fields.get("Cost centre").map(String::as_str),
            Some("CC")
        );
        assert_eq!(c.mapping.values["role"]["Manager"], "reporter");
    }

    #[test]
    fn mapping_keys_read_lists_false_replaces_skips_and_policy() {
        let c = parse(
            "[csv]\ndate_formats = [\"%d/%m/%Y\"]\n[mapping]\nauto = false\nfirstName = [\"Preferred\", \"First\"]\nhireDate = false\nleaveDate = \"Termination date\"\nmanagerKey = \"Manager ID\"\n[mapping.replace.primaryTeam]\npattern = '^.*/'\nwith = \"\"\n[[skip]]\ncolumn = \"User type\"\nequals = [\"Guest\", \"\"]\n[[skip]]\ncolumn = \"Email\"\nmatches = \"^svc-\"\n[policy]\nfuture_hires = \"wait\"\n",
        )
        .expect("valid");
        assert!(!c.mapping.auto);
        assert_eq!(c.mapping.fields["firstName"].columns(), ["Preferred", "First"]);
        assert!(c.mapping.fields["hireDate"].is_off());
        assert_eq!(c.mapping.fields["leaveDate"].columns(), ["Termination date"]);
        assert_eq!(c.mapping.replace["primaryTeam"].pattern, "^.*/");
        assert_eq!(c.skip.len(), 2);
        assert_eq!(
            c.skip[0].equals.as_deref(),
            Some(&["Guest".to_owned(), String::new()][..])
        );
        assert_eq!(c.policy.future_hires, FutureHires::Wait);
        assert_eq!(c.csv.date_formats, ["%d/%m/%Y"]);
        let defaults = parse("").expect("valid");
        assert!(defaults.mapping.auto);
        assert_eq!(defaults.policy.future_hires, FutureHires::Create);
    }

    #[test]
    fn errors_name_the_setting() {
        let cases = [
            ("[mapping]\nfirstname = \"X\"\n", "mapping.firstname"),
            (
                "[mapping.values.role]\n\"Boss\" = \"king\"\n",
                "mapping.values.role.\"Boss\"",
            ),
            (
                "[policy]\nmax_deactivate_percent = 150\n",
                "policy.max_deactivate_percent",
            ),
            // Regression: NaN and 1e-9 were accepted and made a push take
            // a thousand seconds a request, or forever.
            (
                "[learnamp]\nmax_requests_per_second = nan\n",
                "learnamp.max_requests_per_second",
            ),
            (
                "[learnamp]\nmax_requests_per_second = 1e-9\n",
                "learnamp.max_requests_per_second",
            ),
            (
                "[learnamp]\nmax_requests_per_second = inf\n",
                "learnamp.max_requests_per_second",
            ),
            (
                "[learnamp]\nmax_requests_per_second = 0.05\n",
                "learnamp.max_requests_per_second",
            ),
            (
                "[schedule]\ncron = \"* * * * * *\"\nmax_run_minutes = 0\n",
                "schedule.max_run_minutes",
            ),
            (
                "[source]\nkind = \"sftp\"\nhost = \"h\"\nuser = \"u\"\nprivate_key = \"k\"\nknown_host_key = \"x\"\nremote_dir = \"\"\n",
                "source.remote_dir",
            ),
            // Issue 12: the mapping keys.
            (
                "[mapping.replace.primaryTeam]\npattern = \"(unclosed\"\n",
                "mapping.replace.primaryTeam.pattern",
            ),
            ("[mapping.replace.team]\npattern = \"x\"\n", "mapping.replace.team"),
            ("[mapping]\nhireDate = true\n", "mapping.hireDate"),
            ("[mapping]\nfirstName = []\n", "mapping.firstName"),
            ("[mapping]\nfirstName = [\"A\", \" \"]\n", "mapping.firstName"),
            (
                "[mapping]\nmanagerKey = \"M\"\nmanagerName = \"N\"\n",
                "mapping.managerName",
            ),
            (
                "[[skip]]\ncolumn = \"Type\"\nmatches = \"[\"\n",
                "skip[1] (column \"Type\").matches",
            ),
            ("[[skip]]\ncolumn = \"Type\"\n", "skip[1] (column \"Type\")"),
            (
                "[[skip]]\ncolumn = \"Type\"\nequals = [\"a\"]\nmatches = \"b\"\n",
                "skip[1] (column \"Type\")",
            ),
            ("[csv]\ndate_formats = [\"%d/%m/%Y\", \"%Q\"]\n", "csv.date_formats[2]"),
            ("[csv]\ndate_formats = [\"dd/mm/yyyy\"]\n", "csv.date_formats[1]"),
        ];
        for (text, setting) in cases {
            match parse(text) {
                Err(ConfigError::Invalid { setting: s, .. }) => assert_eq!(s, setting),
                other => panic!("{text}: expected an invalid {setting}, got {other:?}"),
            }
        }
        match parse("[learnamp]\nclient_secret = \"s3cret\"\n") {
            Err(e @ ConfigError::Parse { .. }) => {
                let text = e.to_string();
                assert!(text.contains("secrets never go in the config file"), "{text}");
                assert!(!text.contains("s3cret"), "the value is never quoted: {text}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(
            parse("[learnamp]\nmax_requests_per_second = 0.1\n")
                .expect("the lowest rate")
                .learnamp
                .max_requests_per_second,
            MIN_REQUESTS_PER_SECOND
        );
    }

    /// Values with a type of their own are refused at load with the
    /// setting named: `check` and `daemon` read the same `Config`, so one
    /// cannot accept what the other refuses (`check` said ok for an invalid
    /// cron the daemon refused).
    #[test]
    fn typed_settings_are_refused_at_load_naming_the_setting() {
        for (text, message) in [
            ("[csv]\ndelimiter = \"::\"\n", "invalid setting `csv.delimiter`"),
            ("[schedule]\ncron = \"30 6 * * *\"\n", "invalid setting `schedule.cron`"),
            (
                "[schedule]\ncron = \"0 30 6 * * *\"\ntimezone = \"Mars/Olympus\"\n",
                "invalid setting `schedule.timezone`",
            ),
            (
                "[schedule]\ncron = \"0 30 6 * * *\"\nexpect_file_by = \"6am\"\n",
                "invalid setting `schedule.expect_file_by`",
            ),
            (
                "[source]\nkind = \"dir\"\ndir = \"drop\"\nafter_import = \"archive\"\n",
                "invalid setting `source.after_import`: \"archive\" is not",
            ),
            ("[source]\nkind = \"ftp\"\ndir = \"drop\"\n", "unknown variant `ftp`"),
            (
                "[source]\nkind = \"dir\"\ndir = \"drop\"\nhost = \"h\"\n",
                "unknown field `host`",
            ),
        ] {
            match parse(text) {
                Err(e @ ConfigError::Parse { .. }) => assert!(e.to_string().contains(message), "{text}: {e}"),
                other => panic!("{text}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn csv_shape_settings_read_into_their_types_or_name_the_setting() {
        use encoding_rs::{SHIFT_JIS, UTF_8, WINDOWS_1250, WINDOWS_1252};
        for (text, encoding, delimiter, skip_lines) in [
            ("", Encoding::Fixed(UTF_8), Delimiter::Comma, 0),
            ("encoding = \"utf8\"", Encoding::Fixed(UTF_8), Delimiter::Comma, 0),
            (
                "encoding = \"Windows-1252\"",
                Encoding::Fixed(WINDOWS_1252),
                Delimiter::Comma,
                0,
            ),
            // WHATWG: latin1 is read as windows-1252.
            (
                "encoding = \"latin1\"",
                Encoding::Fixed(WINDOWS_1252),
                Delimiter::Comma,
                0,
            ),
            (
                "encoding = \"cp1250\"",
                Encoding::Fixed(WINDOWS_1250),
                Delimiter::Comma,
                0,
            ),
            (
                "encoding = \"windows-1250\"\nskip_lines = 2",
                Encoding::Fixed(WINDOWS_1250),
                Delimiter::Comma,
                2,
            ),
            (
                "encoding = \"shift_jis\"\ndelimiter = \";\"",
                Encoding::Fixed(SHIFT_JIS),
                Delimiter::Semicolon,
                0,
            ),
            (
                "encoding = \"auto\"\ndelimiter = \"auto\"",
                Encoding::Auto,
                Delimiter::Auto,
                0,
            ),
        ] {
            let c = parse(&format!("[csv]\n{text}\n")).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (c.csv.encoding, c.csv.delimiter, c.csv.skip_lines),
                (encoding, delimiter, skip_lines),
                "{text}"
            );
        }
        assert_eq!(parse("[csv]\ndelimiter = \"auto\"\n").expect("valid").delimiter(), None);
        for (text, message) in [
            (
                "encoding = \"polish\"",
                "invalid setting `csv.encoding`: \"polish\" is not an encoding label",
            ),
            (
                "encoding = \"utf-16le\"",
                "invalid setting `csv.encoding`: \"utf-16le\" (UTF-16LE) cannot be read as CSV",
            ),
            (
                "skip_lines = -1",
                "line 2, column 14: invalid value: integer `-1`, expected u32",
            ),
            (
                "encoding = \"shift_jis\"\ndelimiter = \"|\"",
                "invalid setting `csv.delimiter` in /etc/ampsync/ampsync.toml: \"|\" cannot separate fields in Shift_JIS text",
            ),
        ] {
            match parse(&format!("[csv]\n{text}\n")) {
                Err(e) => assert!(e.to_string().contains(message), "{text}: {e}"),
                Ok(_) => panic!("{text}: expected a refusal"),
            }
        }
    }

    #[test]
    fn sources_schedules_and_delimiters_read_into_their_types() {
        let c = parse(
            "[csv]\ndelimiter = \"tab\"\n[source]\nkind = \"dir\"\nremote_dir = \"drop\"\nafter_import = \"move:done\"\n\
             [schedule]\ncron = \"0 30 6 * * *\"\ntimezone = \"Europe/London\"\nexpect_file_by = \"06:00\"\nmax_run_minutes = 0.5\n",
        )
        .expect("valid");
        assert_eq!(c.csv.delimiter, Delimiter::Tab);
        assert_eq!(c.delimiter(), Some(b'\t'));
        match &c.source {
            Some(SourceConfig::Dir(d)) => {
                assert_eq!(d.dir, PathBuf::from("drop"));
                assert_eq!(d.after_import, AfterImport::Move("done".into()));
                assert_eq!(d.settle_seconds, 30);
            }
            other => panic!("expected a dir source, got {other:?}"),
        }
        let schedule = c.schedule.as_ref().expect("[schedule]");
        assert_eq!(schedule.cron.as_str(), "0 30 6 * * *");
        assert_eq!(schedule.timezone, chrono_tz::Europe::London);
        assert_eq!(schedule.expect_file_by, NaiveTime::from_hms_opt(6, 0, 0));
        assert_eq!(schedule.max_run_minutes, 0.5);
        for (value, want) in [
            ("keep", AfterImport::Keep),
            ("delete", AfterImport::Delete),
            ("move:/upload/done", AfterImport::Move("/upload/done".into())),
        ] {
            assert_eq!(AfterImport::try_from(value.to_owned()), Ok(want));
        }
        for bad in ["move:", "move: ", "archive", "Keep", ""] {
            assert!(AfterImport::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
    }
}
