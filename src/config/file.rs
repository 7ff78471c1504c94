//! The config file: every setting of a run in one TOML file, named as the flags of `run`.
//!
//! Input: the command line's words and the `--config FILE` of `run` or `config`. Output: the
//! same words with the file's settings inserted after the command's name, so that clap
//! parses one command line and checks every value the same way: a flag given on the command
//! line beats the file, the file beats the defaults (`[weight]` term by term; a switch set
//! in the file is turned off by taking it out of the file). The other way, [`resolved`]: a parsed
//! `run`'s every setting as that TOML (what `sstc-match config` prints and a run records in
//! its manifest), which reads back as a config file.
//!
//! ```toml
//! profiles = "registry.parquet"      # --profiles
//! top-k = 20                          # --top-k
//! mode = "blocked"                    # --mode
//! formats = ["parquet"]               # --formats (a list)
//! modality = ["south_south", "triangular"]  # --modality, repeated
//! no-triads = false                   # a switch: true gives --no-triads
//! [weight]                            # --weight NAME=VALUE, repeated
//! complementarity = 0.35
//! ```

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory};

use super::ConfigError;
use crate::cli::Cli;
use crate::io::postgresql::redact;

/// The commands whose flags a config file may hold.
const COMMANDS: [&str; 2] = ["run", "config"];
/// Flags of those commands that are not settings of a run.
const NOT_SETTINGS: [&str; 3] = ["config", "help", "version"];

/// The command line with the `--config` file's settings inserted; unchanged when the command
/// takes no config file or none is given (clap then reports any problem of the words).
pub fn merge(words: Vec<OsString>) -> Result<Vec<OsString>, ConfigError> {
    let Ok(matches) = Cli::command().try_get_matches_from(&words) else { return Ok(words) };
    let Some((name, given)) = matches.subcommand().filter(|(name, _)| COMMANDS.contains(name)) else { return Ok(words) };
    let Some(path) = given.get_one::<std::path::PathBuf>("config") else { return Ok(words) };
    let file_error = |reason: String| ConfigError::File { path: path.display().to_string(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(format!("cannot read the config file: {e}")))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| file_error(format!("not a valid TOML file: {e}")))?;
    let command = Cli::command();
    let run = command.find_subcommand("run").expect("run is a command");
    let mut inserted: Vec<OsString> = Vec::new();
    for (key, value) in &table {
        let arg = run.get_arguments().find(|a| a.get_long() == Some(key.as_str()) && !NOT_SETTINGS.contains(&key.as_str())).ok_or_else(|| file_error(unknown_key(key)))?;
        // `--weight` merges term by term (the command line's come later and win); any other
        // flag on the command line replaces the file's.
        if key != "weight" && given.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
            continue;
        }
        let words = flag_words(key, arg.get_action(), arg.get_value_delimiter().is_some(), value).map_err(|reason| file_error(format!("{key}: {reason}")))?;
        inserted.extend(words.into_iter().map(OsString::from));
    }
    // Each value is checked by clap as if typed; a problem is named with the file.
    let alone = [OsString::from("sstc-match"), OsString::from(name)].into_iter().chain(inserted.iter().cloned());
    if let Err(e) = Cli::command().try_get_matches_from(alone) {
        return Err(file_error(e.render().to_string().trim_start_matches("error: ").lines().next().unwrap_or_default().to_string()));
    }
    let at = words.iter().skip(1).position(|w| w == name).map_or(words.len(), |i| i + 2);
    Ok(words[..at].iter().cloned().chain(inserted).chain(words[at..].iter().cloned()).collect())
}

/// The command-line words of one setting.
fn flag_words(key: &str, action: &ArgAction, delimited: bool, value: &toml::Value) -> Result<Vec<String>, String> {
    let scalar = |value: &toml::Value| match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!("expected a text, a number or true/false, found {}", other.type_str())),
    };
    let flag = |text: String| format!("--{key}={text}");
    match (action, value) {
        (ArgAction::SetTrue, toml::Value::Boolean(true)) => Ok(vec![format!("--{key}")]),
        (ArgAction::SetTrue, toml::Value::Boolean(false)) => Ok(Vec::new()),
        (ArgAction::SetTrue, _) => Err("a switch: write true or false".into()),
        (ArgAction::Append, toml::Value::Array(items)) => items.iter().map(|item| scalar(item).map(flag)).collect(),
        (ArgAction::Append, toml::Value::Table(entries)) => entries.iter().map(|(name, item)| scalar(item).map(|v| flag(format!("{name}={v}")))).collect(),
        (_, toml::Value::Array(items)) if delimited => Ok(vec![flag(items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?.join(","))]),
        (_, toml::Value::Array(_)) => Err("takes one value, not a list".into()),
        (_, value) => Ok(vec![flag(scalar(value)?)]),
    }
}

/// The message for a key that names no flag of `run`: the nearest flag, and every flag.
fn unknown_key(key: &str) -> String {
    let command = Cli::command();
    let flags: Vec<&str> = command.find_subcommand("run").expect("run").get_arguments().filter_map(|a| a.get_long()).filter(|l| !NOT_SETTINGS.contains(l)).collect();
    let nearest = flags.iter().map(|f| (strsim::jaro_winkler(&key.replace('_', "-"), f), *f)).max_by(|a, b| a.0.total_cmp(&b.0));
    let hint = match nearest {
        Some((similarity, flag)) if similarity > 0.8 => format!("did you mean '{flag}'? "),
        _ => String::new(),
    };
    format!("unknown key '{key}'; {hint}the keys are the flags of `run`: {}", flags.join(", "))
}

/// Every setting of a parsed `run` (or `config`) command line as config-file TOML, defaults included,
/// a database URL's password redacted; empty for any other command.
pub fn resolved(matches: &ArgMatches) -> toml::Table {
    let Some((_, matches)) = matches.subcommand().filter(|(name, _)| COMMANDS.contains(name)) else { return toml::Table::new() };
    let command = Cli::command();
    let run = command.find_subcommand("run").expect("run is a command");
    let mut table = toml::Table::new();
    for arg in run.get_arguments() {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else { continue };
        if NOT_SETTINGS.contains(&long) {
            continue;
        }
        let Some(raw) = matches.get_raw(id) else { continue };
        let texts: Vec<String> = raw.map(|w| redact(&w.to_string_lossy())).collect();
        let value = match arg.get_action() {
            ArgAction::SetTrue => toml::Value::Boolean(texts.first().is_some_and(|t| t == "true")),
            ArgAction::Append if long == "weight" => toml::Value::Table(texts.iter().filter_map(|t| t.split_once('=')).map(|(name, v)| (name.trim().to_string(), typed(v.trim()))).collect()),
            ArgAction::Append => toml::Value::Array(texts.iter().map(|t| typed(t)).collect()),
            _ if arg.get_value_delimiter().is_some() => toml::Value::Array(texts.iter().map(|t| typed(t)).collect()),
            _ => typed(texts.first().map_or("", String::as_str)),
        };
        table.insert(long.to_string(), value);
    }
    table
}

/// A flag's text as a TOML value: a number where it reads back as the same text, else text.
fn typed(text: &str) -> toml::Value {
    match (text.parse::<i64>(), text.parse::<f64>()) {
        (Ok(n), _) if n.to_string() == text => toml::Value::Integer(n),
        (_, Ok(x)) if x.is_finite() && x.to_string() == text => toml::Value::Float(x),
        _ => toml::Value::String(text.to_string()),
    }
}

/// The resolved settings as the text `sstc-match config` prints.
pub fn render(settings: &toml::Table, config_file: Option<&Path>) -> String {
    let source = config_file.map_or(String::new(), |p| format!(" > {}", p.display()));
    format!(
        "# sstc-match run settings, resolved: command-line flags{source} > defaults.\n# Keys are the flags of `sstc-match run`; read back with `--config FILE`.\n{}",
        toml::to_string(settings).expect("a TOML table serialises")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(words: &[&str]) -> ArgMatches {
        Cli::command().get_matches_from(words)
    }

    #[test]
    fn only_run_and_config_have_settings() {
        // `explain` shares the matching flags; its command line is not a run's settings
        // (asking another command's matches for run's flags also panics in debug builds).
        assert!(resolved(&parsed(&["sstc-match", "explain", "a", "b", "--weight", "geography=0.3"])).is_empty());
        assert!(resolved(&parsed(&["sstc-match", "diff", "a", "b"])).is_empty());
        let run = resolved(&parsed(&["sstc-match", "-q", "run", "--top-k", "4"]));
        assert_eq!(run.get("top-k"), Some(&toml::Value::Integer(4)));
        assert_eq!(resolved(&parsed(&["sstc-match", "config", "--top-k", "4"])), run);
    }
}
