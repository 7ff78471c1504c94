//! PostgreSQL: profiles read from a table or a query, a run's results written into a schema.
//!
//! Input: a `postgresql://` URL in libpq's form, with the engine's own parameters: `table=`
//! or `query=` where profiles are read ([`source`]), `schema=` where results are written
//! ([`sink`]). Output: a [`PgUrl`] that connects the way libpq does (the host a name or a
//! Unix-socket directory; `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE` for what the URL leaves
//! out; the password from the URL, `PGPASSWORD` or the password file) and that shows itself,
//! in messages, logs and the manifest, with any password replaced by `***`.
//!
//! Connections are plain (no TLS is built in): a Unix socket or a trusted network, as a
//! nightly job next to its database has.

pub mod sink;
pub mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The connection parameters of libpq's URL form that the engine understands.
const LIBPQ_PARAMETERS: [&str; 7] = ["host", "port", "user", "password", "dbname", "connect_timeout", "sslmode"];
/// The engine's own parameters: where profiles are read, where results are written.
const ENGINE_PARAMETERS: [&str; 3] = ["table", "query", "schema"];
/// How long a connection may take before the job gives up, unless `connect_timeout=` says.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a PostgreSQL source or sink cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL is not one the engine can use.
    #[error("{url}: {reason}")]
    Url {
        /// The URL, password redacted.
        url: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The server cannot be reached, or refused the login.
    #[error("cannot connect to PostgreSQL at {server}: {reason}; check that the server runs and accepts this user (a password comes from the URL, PGPASSWORD or ~/.pgpass)")]
    Connect {
        /// Host, port, database and user.
        server: String,
        /// The server's or the system's words.
        reason: String,
    },
    /// A statement failed (a table or column missing, no permission, the connection lost).
    #[error("{url}: {reason}")]
    Statement {
        /// The URL, password redacted.
        url: String,
        /// The server's words, and what to do where it is known.
        reason: String,
    },
}

/// A `postgresql://` URL, parsed and completed from the environment the way libpq does.
#[derive(Clone, PartialEq)]
pub struct PgUrl {
    /// The URL as given (it may hold a password, so it is never shown).
    given: String,
    host: String,
    port: u16,
    user: String,
    dbname: String,
    password: Option<String>,
    connect_timeout: Duration,
    engine: BTreeMap<String, String>,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

/// Recorded (in the manifest) as the URL with its password redacted.
impl serde::Serialize for PgUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for PgUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PgUrl::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl PgUrl {
    /// Whether a `--profiles` or `--sink` value names a database rather than a file.
    pub fn is_url(text: &str) -> bool {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        lower.starts_with("postgresql://") || lower.starts_with("postgres://")
    }

    /// Parses `postgresql://[user[:password]@][host][:port][/dbname][?name=value&...]`; what the
    /// URL leaves out comes from `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, then libpq's
    /// defaults (the socket directory `/var/run/postgresql` where it exists, port 5432, the
    /// login name, a database named after the user).
    pub fn parse(text: &str) -> Result<PgUrl, PgError> {
        // A URL that may hold a password is never echoed, nor parts of it, when it cannot be
        // read: its password may hold a '/', '?' or '@' that was not percent-encoded.
        let secret = may_hold_password(text);
        let error = |reason: String| PgError::Url { url: if secret { hidden(text) } else { redact(text) }, reason };
        let mention = |part: &str| if secret { "a value".to_string() } else { format!("'{part}'") };
        let rest = ["postgresql://", "postgres://"]
            .iter()
            .find_map(|scheme| text.get(..scheme.len()).filter(|s| s.eq_ignore_ascii_case(scheme)).map(|_| &text[scheme.len()..]))
            .ok_or_else(|| error("not a postgresql:// URL".into()))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = location.split_once('/').unwrap_or((location, ""));
        let (userinfo, hostport) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
        if secret && userinfo.is_none() && location.contains('@') {
            // `user:12/x@host`: read as host `user`, port 12, database `x@host`, it would
            // connect elsewhere and show the password as a host and a database.
            return Err(error("the part before '@' holds a '/' (a password with '/', '?', '@' or ':' must be percent-encoded)".into()));
        }
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        if let Some(userinfo) = userinfo {
            let (user, password) = userinfo.split_once(':').map_or((userinfo, None), |(u, p)| (u, Some(p)));
            given.insert("user".into(), decode(user).map_err(error)?);
            if let Some(password) = password {
                given.insert("password".into(), decode(password).map_err(error)?);
            }
        }
        let (host, port) = split_port(hostport);
        given.insert("host".into(), decode(host).map_err(error)?);
        if let Some(port) = port {
            given.insert("port".into(), port.to_string());
        }
        given.insert("dbname".into(), decode(path).map_err(error)?);
        let mut engine = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or_else(|| error(format!("{} is not name=value", mention(pair))))?;
            let value = decode(value).map_err(error)?;
            if ENGINE_PARAMETERS.contains(&name) {
                engine.insert(name.to_string(), value);
            } else if LIBPQ_PARAMETERS.contains(&name) {
                given.insert(name.to_string(), value);
            } else {
                let known = ENGINE_PARAMETERS.iter().chain(&LIBPQ_PARAMETERS).copied().collect::<Vec<_>>().join(", ");
                return Err(error(format!("unknown parameter {}; the parameters understood are {known}", mention(name))));
            }
        }
        let setting = |name: &str, variable: &str| given.get(name).filter(|v| !v.is_empty()).cloned().or_else(|| std::env::var(variable).ok().filter(|v| !v.is_empty()));
        let host = setting("host", "PGHOST").unwrap_or_else(|| if Path::new("/var/run/postgresql").is_dir() { "/var/run/postgresql".into() } else { "localhost".into() });
        let port = match setting("port", "PGPORT") {
            None => 5432,
            Some(port) => port.parse().map_err(|_| error(format!("port {} is not a port number", mention(&port))))?,
        };
        let user = setting("user", "PGUSER")
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("LOGNAME").ok())
            .ok_or_else(|| error("no user: name one in the URL (postgresql://USER@HOST/DB) or in PGUSER".into()))?;
        let dbname = setting("dbname", "PGDATABASE").unwrap_or_else(|| user.clone());
        let connect_timeout = match given.get("connect_timeout") {
            None => CONNECT_TIMEOUT,
            Some(seconds) => Duration::from_secs(seconds.parse().map_err(|_| error(format!("connect_timeout {} is not a number of seconds", mention(seconds))))?),
        };
        match given.get("sslmode").map(String::as_str) {
            None | Some("disable" | "allow" | "prefer") => {}
            Some(mode) => return Err(error(format!("sslmode={}: this engine connects without TLS; use a Unix socket or a trusted network with sslmode=disable or prefer", mention(mode)))),
        }
        Ok(PgUrl { given: text.to_string(), host, port, user, dbname, password: given.get("password").filter(|p| *p != "***").cloned(), connect_timeout, engine })
    }

    /// The URL as given with any password replaced by `***`: what messages, logs and the
    /// manifest show.
    pub fn shown(&self) -> String {
        redact(&self.given)
    }

    /// One of the engine's parameters (`table`, `query`, `schema`).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.engine.get(name).map(String::as_str)
    }

    /// Host, port, database and user, for messages.
    pub fn server(&self) -> String {
        format!("host {}, port {}, database {}, user {}", self.host, self.port, self.dbname, self.user)
    }

    /// An error of a statement run through this URL's connection, in the server's words.
    pub fn statement_error(&self, error: &postgres::Error) -> PgError {
        PgError::Statement { url: self.shown(), reason: reason(error) }
    }

    /// Connects: the password from the URL, else `PGPASSWORD`, else the password file (a
    /// URL's `***`, as a manifest or `sstc-match config` shows it, is no password).
    pub fn connect(&self) -> Result<postgres::Client, PgError> {
        let mut config = postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .connect_timeout(self.connect_timeout)
            .application_name("sstc-match")
            .ssl_mode(postgres::config::SslMode::Disable);
        if let Some(password) = self.password.clone().or_else(|| std::env::var("PGPASSWORD").ok()).or_else(|| self.password_file_entry()) {
            config.password(password);
        }
        config.connect(postgres::NoTls).map_err(|e| PgError::Connect { server: self.server(), reason: reason(&e) })
    }

    /// The password of the first matching line of the password file (`PGPASSFILE`, else
    /// `~/.pgpass`): `host:port:database:user:password`, `*` matching anything, `\` escaping
    /// `:` and `\`; `localhost` also matches a Unix socket. As libpq does, a file that its
    /// group or others may read is ignored (and said so in the log).
    fn password_file_entry(&self) -> Option<String> {
        let path = std::env::var_os("PGPASSFILE").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pgpass")))?;
        let metadata = std::fs::metadata(&path).ok()?;
        if std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o077 != 0 {
            tracing::warn!(target: "sstc_match::postgres", file = %path.display(), "the password file is readable by others; ignored (chmod 0600 it)");
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let port = self.port.to_string();
        let socket = self.host.starts_with('/');
        text.lines().filter(|line| !line.starts_with('#')).map(password_file_fields).find_map(|fields| {
            let [host, line_port, dbname, user, password] = <[String; 5]>::try_from(fields).ok()?;
            let matches = |field: &str, value: &str| field == "*" || field == value;
            let host_matches = matches(&host, &self.host) || (socket && host == "localhost");
            (host_matches && matches(&line_port, &port) && matches(&dbname, &self.dbname) && matches(&user, &self.user)).then_some(password)
        })
    }
}

/// The `:`-separated fields of a password file line, `\` escaping the next character.
fn password_file_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().expect("one field").extend(chars.next()),
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// `host:port` into its parts (a bracketed IPv6 address keeps its colons).
fn split_port(hostport: &str) -> (&str, Option<&str>) {
    let after_host = if hostport.starts_with('[') { hostport.find(']').map_or(0, |end| end + 1) } else { 0 };
    match hostport[after_host..].rfind(':') {
        Some(colon) => (hostport[..after_host + colon].trim_matches(['[', ']']), Some(&hostport[after_host + colon + 1..])),
        None => (hostport.trim_matches(['[', ']']), None),
    }
}

/// Percent-decodes one part of the URL (`%2Ftmp` is `/tmp`, a socket directory).
fn decode(part: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(part).decode_utf8().map(|s| s.into_owned()).map_err(|_| "a percent-encoded part is not UTF-8".to_string())
}

/// Whether a URL may hold a password: a `:` in what may be its user part (before the first
/// `@`), or a parameter named like `password`. Errors then never echo it.
fn may_hold_password(text: &str) -> bool {
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    rest.find('@').is_some_and(|at| rest[..at].contains(':')) || text.to_ascii_lowercase().contains("password")
}

/// A URL that cannot be read and may hold a password: its scheme and `***`.
fn hidden(text: &str) -> String {
    let scheme = text.split_once("://").map_or("postgresql", |(scheme, _)| scheme);
    format!("{scheme}://*** (not shown: it may hold a password; percent-encode '/', '?', '@' and ':' in a password)")
}

/// The URL with the password of its user part and of a `password=` parameter replaced by
/// `***`; any text that is not a URL is shown as it is.
pub fn redact(text: &str) -> String {
    let Some(scheme_end) = text.find("://").map(|i| i + 3) else { return text.to_string() };
    let (location, query) = text[scheme_end..].split_once('?').map_or((&text[scheme_end..], None), |(l, q)| (l, Some(q)));
    let authority_end = location.find('/').unwrap_or(location.len());
    let mut shown = text[..scheme_end].to_string();
    match location[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let password = if userinfo.contains(':') { ":***" } else { "" };
            shown.push_str(&format!("{user}{password}@{host}"));
        }
        None => shown.push_str(&location[..authority_end]),
    }
    shown.push_str(&location[authority_end..]);
    if let Some(query) = query {
        let parameters: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                _ => p.to_string(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&parameters.join("&"));
    }
    shown
}

/// A client error in the server's words where it has them (missing table, refused login),
/// else the connection's.
fn reason(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return match db.hint() {
            Some(hint) => format!("{} ({hint})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// An SQL identifier quoted (`"` doubled), so that any name is taken as a name.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_host_port_database_user_and_the_engine_parameters() {
        let url = PgUrl::parse("postgresql://ana:s%3Acret@db.example:6543/registry?table=crm.partners&connect_timeout=3").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.dbname.as_str(), url.user.as_str()), ("db.example", 6543, "registry", "ana"));
        assert_eq!(url.password.as_deref(), Some("s:cret"));
        assert_eq!(url.parameter("table"), Some("crm.partners"));
        assert_eq!(url.connect_timeout, Duration::from_secs(3));
        assert_eq!(url.shown(), "postgresql://ana:***@db.example:6543/registry?table=crm.partners&connect_timeout=3");
        assert!(!format!("{url:?} {url}").contains("cret"));
    }

    #[test]
    fn a_socket_directory_is_a_host() {
        let url = PgUrl::parse("postgres://ana@%2Ftmp%2Fpg:5433/db?schema=nightly").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("/tmp/pg", 5433));
        let url = PgUrl::parse("postgresql:///db?host=/run/pg&user=bob&password=x").unwrap();
        assert_eq!((url.host.as_str(), url.user.as_str(), url.dbname.as_str()), ("/run/pg", "bob", "db"));
        assert_eq!(url.shown(), "postgresql:///db?host=/run/pg&user=bob&password=***");
        let url = PgUrl::parse("postgresql://[::1]:5432/db?user=u").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 5432));
    }

    #[test]
    fn bad_urls_say_what_is_wrong_without_the_password() {
        for (text, expected) in [
            ("postgresql://u:pw@h/db?tabel=x", "unknown parameter a value"),
            ("postgresql://u@h/db?tabel=x", "unknown parameter 'tabel'"),
            ("postgresql://u:pw@h:port/db", "port a value is not a port number"),
            ("postgresql://u@h:port/db", "port 'port' is not a port number"),
            ("postgresql://sstc:pw/S3cret@%2Ftmp/postgres?table=p", "postgresql://*** (not shown"),
            ("postgresql://sstc:pw?S3cret@%2Ftmp/postgres?table=p", "not shown"),
            ("postgresql://sstc:12/pwS3cret@%2Ftmp/postgres?table=p", "must be percent-encoded"),
            ("postgresql://sstc@h/db?user=sstc&Password=pwS3cret", "unknown parameter a value"),
            ("postgresql://u:pw@h/db?sslmode=require", "without TLS"),
            ("mysql://u:pw@h/db", "not a postgresql:// URL"),
        ] {
            let message = PgUrl::parse(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains("pw") && !message.contains("S3cret"), "{message}");
        }
    }

    #[test]
    fn password_file_lines_unescape_their_fields() {
        assert_eq!(password_file_fields(r"localhost:*:db:ana:pa\:ss\\word"), ["localhost", "*", "db", "ana", r"pa:ss\word"]);
    }
}
