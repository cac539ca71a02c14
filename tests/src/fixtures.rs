//! Reading the fixture files. Lines are kept byte for byte: the tests compare output
//! records with them exactly.

use std::path::{Path, PathBuf};

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

/// The non-empty lines of an NDJSON file, without their line ends.
pub fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// A clause case: events, expectations and the optional `vpnrecon.toml` text.
pub struct Case {
    pub name: String,
    pub events: Vec<String>,
    pub expected: Vec<crate::expect::Expected>,
    pub config: Option<String>,
}

impl Case {
    /// The rules under this case's configuration (the defaults where it has no
    /// `.toml`), with fresh in-memory state.
    pub fn evaluator(&self) -> vpnrecon_filter::rules::Evaluator {
        use vpnrecon_filter::config;
        use vpnrecon_filter::state::{State, StateConfig};
        let loaded = match self.config.as_deref() {
            Some(text) => config::load_text(text, "vpnrecon.toml", &mut |_| {}),
            None => config::Loaded::default(),
        };
        let state = State::in_memory(StateConfig::from(&loaded.config));
        vpnrecon_filter::rules::Evaluator::new(loaded, state)
    }
}

pub fn case(path_without_ext: &Path) -> Case {
    let with = |ext: &str| path_without_ext.with_extension(ext);
    let expected_text = std::fs::read_to_string(with("expect"))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", with("expect").display()));
    let expected = crate::expect::parse(&expected_text)
        .unwrap_or_else(|e| panic!("{}: {e}", with("expect").display()));
    Case {
        name: path_without_ext
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        events: lines(&with("ndjson")),
        expected,
        config: std::fs::read_to_string(with("toml")).ok(),
    }
}

/// Every clause case, in name order.
pub fn clause_cases() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir().join("clauses"))
        .unwrap_or_else(|e| panic!("cannot list fixtures/clauses: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .collect();
    paths.sort();
    paths.iter().map(|p| case(&p.with_extension(""))).collect()
}

pub fn attack_chain() -> Case {
    case(&dir().join("attack_chain"))
}

pub fn benign() -> Vec<String> {
    lines(&dir().join("benign.ndjson"))
}
