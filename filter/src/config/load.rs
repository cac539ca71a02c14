//! Finding and loading `vpnrecon.toml`, and where state lives.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{parse, Config, ConfigError};

/// The configuration file's name, looked for in each pre-opened directory.
pub const FILE_NAME: &str = "vpnrecon.toml";

/// Where `vpnrecon.toml` is looked for, in order: the file in each directory the
/// host pre-opened (Fluent Bit's `accessible_paths`, in the order given; natively,
/// the working directory). Under WASI a path only resolves inside a pre-opened
/// directory, so these are the only places the module could read.
pub fn search_paths() -> Vec<String> {
    crate::preopens::preopened_dirs()
        .iter()
        .map(|dir| in_dir(dir, FILE_NAME))
        .collect()
}

/// `dir/name`; a relative `.` directory gives just `name`, so a host that
/// pre-opened `.` resolves it whatever its working directory.
pub fn in_dir(dir: &str, name: &str) -> String {
    if dir.starts_with('/') {
        return format!("{}/{name}", dir.trim_end_matches('/'));
    }
    match dir.trim_end_matches('/') {
        "" | "." => name.to_owned(),
        relative => format!("{relative}/{name}"),
    }
}

/// The directory the journal goes to when `state_dir` is left at `.`: where
/// `vpnrecon.toml` was found, else the first pre-opened directory. Under WASI `.`
/// only exists if the host pre-opened it (Fluent Bit's default), so a deployment
/// that pre-opens `/var/lib/vpnrecon` alone still gets persistent state there.
pub fn default_state_dir(source: &Source) -> String {
    if let Source::File(path) = source {
        if let Some((dir, _)) = path.rsplit_once('/') {
            return if dir.is_empty() {
                "/".to_owned()
            } else {
                dir.to_owned()
            };
        }
        return ".".to_owned();
    }
    crate::preopens::preopened_dirs()
        .into_iter()
        .next()
        .unwrap_or_else(|| ".".to_owned())
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn file_names_join_pre_opened_directories() {
        assert_eq!(in_dir(".", "vpnrecon.toml"), "vpnrecon.toml");
        assert_eq!(in_dir("./", "vpnrecon.toml"), "vpnrecon.toml");
        assert_eq!(in_dir("/", "vpnrecon.toml"), "/vpnrecon.toml");
        assert_eq!(in_dir("/var/lib/vpnrecon/", "x"), "/var/lib/vpnrecon/x");
        assert_eq!(in_dir("conf", "x"), "conf/x");
    }

    #[test]
    fn state_follows_the_config_file() {
        let file = |p: &str| default_state_dir(&Source::File(p.to_owned()));
        assert_eq!(file("/var/lib/vpnrecon/vpnrecon.toml"), "/var/lib/vpnrecon");
        assert_eq!(file("vpnrecon.toml"), ".");
        assert_eq!(file("/vpnrecon.toml"), "/");
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Defaults,
    File(String),
}

/// The configuration in force and where it came from. With an error, `config` is
/// the defaults except for `state_dir` (see [`load_from`]) and `source` is the
/// file that has the error.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub source: Source,
    pub error: Option<ConfigError>,
}

impl Default for Loaded {
    fn default() -> Self {
        Loaded {
            config: Config::default(),
            source: Source::Defaults,
            error: None,
        }
    }
}

/// Finds `vpnrecon.toml` (see [`search_paths`]); on error, prints the one-line
/// message to standard error and falls back to the defaults.
pub fn load() -> Loaded {
    let paths = search_paths();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    load_from(&paths, &mut |line| eprintln!("{line}"))
}

/// [`load`] over explicit candidate paths, with the warning sent to `log`.
///
/// A file with an error still decides where state lives: the rules fall back to
/// the defaults, but `state_dir` is the file's own value when that value is itself
/// valid (else `.`, which [`default_state_dir`] turns into the file's directory), so
/// a typo neither loses nor moves the history.
pub fn load_from(paths: &[&str], log: &mut dyn FnMut(&str)) -> Loaded {
    for path in paths {
        let text = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                let error = ConfigError {
                    file: (*path).to_owned(),
                    line: None,
                    key: None,
                    message: format!("cannot read the file: {e}"),
                    fix: Some("check that it is a readable file".to_owned()),
                };
                return failed(error, path, None, log);
            }
        };
        let text = match String::from_utf8(text) {
            Ok(text) => text,
            Err(e) => {
                let error = ConfigError {
                    file: (*path).to_owned(),
                    line: None,
                    key: None,
                    message: format!(
                        "not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                    fix: Some("save the file as UTF-8".to_owned()),
                };
                return failed(error, path, None, log);
            }
        };
        return match parse(&text, path) {
            Ok(config) => Loaded {
                config,
                source: Source::File((*path).to_owned()),
                error: None,
            },
            Err(error) => failed(error, path, Some(&text), log),
        };
    }
    Loaded::default()
}

/// A configuration given as text rather than found on disk (the JavaScript
/// package): parsed as the file `path` would be, with the same fallback to the
/// defaults and the same report to `log` when it is invalid.
pub fn load_text(text: &str, path: &str, log: &mut dyn FnMut(&str)) -> Loaded {
    match parse(text, path) {
        Ok(config) => Loaded {
            config,
            source: Source::File(path.to_owned()),
            error: None,
        },
        Err(error) => failed(error, path, Some(text), log),
    }
}

/// The defaults and the error, with state where the file at `path` puts it.
fn failed(error: ConfigError, path: &str, text: Option<&str>, log: &mut dyn FnMut(&str)) -> Loaded {
    log(&error.to_string());
    let mut config = Config::default();
    if let Some(state_dir) = text.and_then(state_dir_in) {
        config.state_dir = state_dir;
    }
    Loaded {
        config,
        source: Source::File(path.to_owned()),
        error: Some(error),
    }
}

/// The file's `state_dir` if that value is valid (a string), read from as much of
/// the file as parses.
fn state_dir_in(text: &str) -> Option<String> {
    let (doc, _errors) = DeTable::parse_recoverable(text);
    match doc.get_ref().get("state_dir").map(Spanned::get_ref) {
        Some(DeValue::String(dir)) => Some(dir.to_string()),
        _ => None,
    }
}
