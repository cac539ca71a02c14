//! Configuration: built-in defaults (the lists of Elastic's rule), optionally
//! adjusted by `vpnrecon.toml`.
//!
//! Every list with a default can be replaced (`actions = [...]`) or adjusted
//! (`add_actions`, `remove_actions`); adjustments apply after a replacement. Unknown
//! keys are errors, so a typo cannot silently leave a default in force. A file that
//! does not parse or validate is reported once on standard error and the module runs
//! on the defaults, with the error attached to every detection. `CONFIG.md` is the
//! reference for every key.
//!
//! Modules: [`defaults`] (every default), [`glob`] (patterns), [`schema`] (the
//! file's keys, derived with serde, and their validation), [`load`] (finding the
//! file, falling back, and where state lives).
//!
//! The structures built here are the ones the hot path queries: sorted vectors for
//! actions, providers, ASNs and accounts (binary search), compiled globs and a CIDR
//! list.

mod defaults;
mod glob;
mod load;
mod schema;

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

pub use defaults::*;
pub use glob::Glob;
pub use load::{
    default_state_dir, in_dir, load, load_from, load_text, search_paths, Loaded, Source, FILE_NAME,
};
pub use schema::{keys, parse, parse_duration};

/// Which identity rule A tracks per (account, identity, ASN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityKey {
    /// Elastic's `user.name` (role name for assumed roles), else the principal ARN.
    User,
    /// The principal ARN (for assumed roles this includes the session name).
    Arn,
    /// The access key id, else the principal ARN.
    AccessKey,
}

impl IdentityKey {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKey::User => "user",
            IdentityKey::Arn => "arn",
            IdentityKey::AccessKey => "access_key",
        }
    }
}

/// One ASN on the detection list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpnAsn {
    pub asn: u32,
    pub category: String,
    pub name: String,
}

/// The list category of an address in a range of `add_vpn_cidrs`.
pub const LOCAL_CATEGORY: &str = "local";

/// A VPN exit range from local intelligence (`add_vpn_cidrs`), such as a VPN
/// provider's range inside a large hosting ASN: an address in it counts exactly as
/// an address of a listed ASN, with category [`LOCAL_CATEGORY`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpnRange {
    pub net: IpNet,
    /// Where the intelligence came from, shown to the analyst with every detection.
    pub label: String,
}

/// Why a source address counts as a VPN source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VpnSource<'c> {
    /// In a range of `add_vpn_cidrs` (whatever its ASN).
    Range(&'c VpnRange),
    /// In an ASN on the list.
    Asn(&'c VpnAsn),
}

impl VpnSource<'_> {
    pub fn category(&self) -> &str {
        match self {
            VpnSource::Range(_) => LOCAL_CATEGORY,
            VpnSource::Asn(a) => &a.category,
        }
    }
}

/// Everything the rules need to know, defaults baked in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Sorted by ASN, unique.
    pub vpn_asns: Vec<VpnAsn>,
    /// Normalised action names, sorted, unique.
    pub actions: Vec<String>,
    /// Provider short names (`sts` for `sts.amazonaws.com`), sorted, unique.
    pub providers: Vec<String>,
    /// ARN globs, case-sensitive.
    pub allow_principals: Vec<Glob>,
    /// 12-digit account ids, sorted.
    pub allow_accounts: Vec<String>,
    pub allow_cidrs: Vec<IpNet>,
    /// Local VPN ranges, most specific first (IPv4-mapped IPv6 stored as IPv4).
    pub vpn_ranges: Vec<VpnRange>,
    pub window_secs: i64,
    pub identity_key: IdentityKey,
    /// Role-name globs, case-insensitive.
    pub workload_role_patterns: Vec<Glob>,
    /// Case-sensitive substrings of the principal ARN.
    pub excluded_principal_substrings: Vec<String>,
    pub max_keys: usize,
    pub journal_resolution_secs: i64,
    /// Directory of `vpnrecon.journal`; empty = memory only.
    pub state_dir: String,
    pub enrich_all: bool,
    /// Rule A (`vpnrecon-discovery-vpn-new-identity`) enabled.
    pub rule_discovery: bool,
    /// Rule B (`vpnrecon-discovery-vpn-workload`) enabled.
    pub rule_workload: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            vpn_asns: default_vpn_asns(),
            actions: sorted_unique(DEFAULT_ACTIONS.iter().map(|s| (*s).to_owned())),
            providers: sorted_unique(DEFAULT_PROVIDERS.iter().map(|s| (*s).to_owned())),
            allow_principals: Vec::new(),
            allow_accounts: Vec::new(),
            allow_cidrs: Vec::new(),
            vpn_ranges: Vec::new(),
            window_secs: DEFAULT_WINDOW_SECS,
            identity_key: IdentityKey::User,
            workload_role_patterns: DEFAULT_WORKLOAD_ROLE_PATTERNS
                .iter()
                .map(|p| Glob::new(p, true))
                .collect(),
            excluded_principal_substrings: DEFAULT_EXCLUDED_PRINCIPAL_SUBSTRINGS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            max_keys: DEFAULT_MAX_KEYS,
            journal_resolution_secs: DEFAULT_JOURNAL_RESOLUTION_SECS,
            state_dir: DEFAULT_STATE_DIR.to_owned(),
            enrich_all: false,
            rule_discovery: true,
            rule_workload: true,
        }
    }
}

pub(crate) fn sorted_unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items.collect();
    v.sort();
    v.dedup();
    v
}

impl Config {
    /// Is this action (raw or normalised) on the list?
    pub fn has_action(&self, action: &[u8]) -> bool {
        let name = crate::action::normalise_bytes(action);
        self.actions
            .binary_search_by(|a| a.as_bytes().cmp(name))
            .is_ok()
    }

    /// `eventSource` such as `sts.amazonaws.com`.
    pub fn has_provider(&self, provider: &str) -> bool {
        const SUFFIX: &[u8] = b".amazonaws.com";
        let provider = provider.as_bytes();
        let Some(cut) = provider.len().checked_sub(SUFFIX.len()) else {
            return false;
        };
        let (short, suffix) = provider.split_at(cut);
        // Compared in words, a handful of short names one by one: `strip_suffix` and
        // the sorted-list search compare through `memcmp`, a byte per step in wasm,
        // about 500 instructions per candidate.
        crate::scan::bytes_eq(suffix, SUFFIX)
            && self
                .providers
                .iter()
                .any(|name| crate::scan::bytes_eq(name.as_bytes(), short))
    }

    pub fn vpn_asn(&self, asn: u32) -> Option<&VpnAsn> {
        self.vpn_asns
            .binary_search_by_key(&asn, |a| a.asn)
            .ok()
            .and_then(|i| self.vpn_asns.get(i))
    }

    /// The list category of an ASN on the list (`None` = not on the list).
    pub fn vpn_category(&self, asn: u32) -> Option<&str> {
        self.vpn_asn(asn).map(|a| a.category.as_str())
    }

    /// The most specific range of `add_vpn_cidrs` holding `ip` (IPv4-mapped IPv6
    /// addresses are checked as IPv4).
    pub fn vpn_range(&self, ip: IpAddr) -> Option<&VpnRange> {
        if self.vpn_ranges.is_empty() {
            return None;
        }
        let ip = ip.to_canonical();
        self.vpn_ranges.iter().find(|r| r.net.contains(&ip))
    }

    /// Whether a source counts as a VPN source, and why: a local range first (the
    /// more specific knowledge), else the source's ASN (`asn`, from the table) on
    /// the list. `allow_cidrs` is an allowlist checked after this, so it wins.
    pub fn vpn_source(&self, ip: IpAddr, asn: Option<u32>) -> Option<VpnSource<'_>> {
        if let Some(range) = self.vpn_range(ip) {
            return Some(VpnSource::Range(range));
        }
        asn.and_then(|n| self.vpn_asn(n)).map(VpnSource::Asn)
    }

    pub fn is_excluded_principal(&self, arn: &str) -> bool {
        self.excluded_principal_substrings
            .iter()
            .any(|s| crate::scan::find(arn.as_bytes(), s.as_bytes()).is_some())
    }

    /// Approved principal, account or source network: no detection.
    pub fn is_allowlisted(&self, arn: &str, account: Option<&str>, ip: IpAddr) -> bool {
        self.allow_principals.iter().any(|g| g.matches(arn))
            || account.is_some_and(|a| {
                self.allow_accounts
                    .binary_search_by(|x| x.as_str().cmp(a))
                    .is_ok()
            })
            || self.allows_ip(ip)
    }

    /// IPv4-mapped IPv6 addresses are checked as IPv4.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allow_cidrs.iter().any(|net| net.contains(&ip))
    }

    /// Role name (session issuer user name) against the workload patterns,
    /// ignoring ASCII case: IAM role names are unique regardless of case.
    pub fn is_workload_role(&self, role_name: &str) -> bool {
        self.workload_role_patterns
            .iter()
            .any(|g| g.matches(role_name))
    }

    pub fn vpn_asn_count(&self) -> usize {
        self.vpn_asns.len()
    }

    pub fn action_count(&self) -> usize {
        self.actions.len()
    }
}

/// A problem with the configuration file, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
    /// What to write instead, when there is something specific to say.
    pub fix: Option<String>,
}

impl ConfigError {
    /// The problem without the `vpnrecon:` prefix and the fallback note: for
    /// marking detections.
    pub fn describe(&self) -> String {
        let mut out = self.file.clone();
        if let Some(line) = self.line {
            out.push_str(&format!(" line {line}"));
        }
        if let Some(key) = &self.key {
            out.push_str(&format!(", key \"{key}\""));
        }
        out.push_str(": ");
        out.push_str(&self.message);
        if let Some(fix) = &self.fix {
            out.push_str(&format!(" ({fix})"));
        }
        out
    }
}

/// One line: `vpnrecon: config error in FILE line N, key "K": MESSAGE (FIX); using
/// built-in defaults`.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vpnrecon: config error in {}; using built-in defaults",
            self.describe()
        )
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn api_version_suffix() {
        let strip = |s: &str| {
            String::from_utf8(crate::action::normalise_bytes(s.as_bytes()).to_vec()).unwrap()
        };
        assert_eq!(strip("ListFunctions20150331"), "ListFunctions");
        assert_eq!(strip("GetFunction20150331v2"), "GetFunction");
        assert_eq!(strip("ListFunctions"), "ListFunctions");
        // Not a 20YYMMDD date: kept.
        assert_eq!(strip("Foo19991231"), "Foo19991231");
        assert_eq!(strip("Foo2015033"), "Foo2015033");
        assert_eq!(strip("20150331"), "20150331");
        assert_eq!(strip("Listv2"), "Listv2");
        assert_eq!(strip(""), "");
    }

    #[test]
    fn provider_lookup_is_the_sorted_search_of_short_names() {
        let config = super::Config::default();
        let reference = |provider: &str| {
            provider
                .strip_suffix(".amazonaws.com")
                .is_some_and(|short| {
                    config
                        .providers
                        .binary_search_by(|p| p.as_str().cmp(short))
                        .is_ok()
                })
        };
        let mut names = vec![
            "".to_owned(),
            ".amazonaws.com".to_owned(),
            "amazonaws.com".to_owned(),
            "iam.amazonaws.co".to_owned(),
            "iam.amazonaws.comm".to_owned(),
            "iam.amazonaws.con".to_owned(),
            "iamx.amazonaws.com".to_owned(),
            "ia.amazonaws.com".to_owned(),
            "IAM.amazonaws.com".to_owned(),
            "iam.amazonawsXcom".to_owned(),
            "signin.amazonaws.com".to_owned(),
            "iam.amazonaws.com.cn".to_owned(),
        ];
        for short in &config.providers {
            names.push(format!("{short}.amazonaws.com"));
            names.push(format!("{short}.amazonaws.comx"));
            names.push(format!("x{short}.amazonaws.com"));
        }
        for name in &names {
            assert_eq!(config.has_provider(name), reference(name), "{name:?}");
        }
        assert!(config.has_provider("iam.amazonaws.com"));
    }

    #[test]
    fn substring_search_agrees_with_str_find() {
        let texts = [
            "",
            "a",
            "AWSServiceRoleForConfig",
            "arn:aws:sts::1:assumed-role/AWSServiceRoleForConfig/x",
            "aab",
            "ab",
            "arn:aws:iam::1:user/café-é",
            "arn:aws:sts::1:assumed-role/a:assumed-role/b",
        ];
        let needles = [
            "",
            "a",
            "b",
            "ab",
            "aab",
            "AWSServiceRoleForConfig",
            "Config/x",
            "x/",
            "zz",
            "é",
            ":assumed-role/",
        ];
        for t in texts {
            for n in needles {
                assert_eq!(
                    crate::scan::find(t.as_bytes(), n.as_bytes()),
                    t.find(n),
                    "{t:?} {n:?}"
                );
            }
        }
    }
}
