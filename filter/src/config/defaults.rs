//! Every default in one place: the detection's lists (those of Elastic's rule
//! "AWS Discovery API Calls from VPN ASN for the First Time by Identity"), the
//! state settings and the sanity bounds. `CONFIG.md` documents each.

use super::VpnAsn;

/// Rule A's discovery actions (Elastic's rule; README, `CONFIG.md`).
pub const DEFAULT_ACTIONS: [&str; 22] = [
    "GetCallerIdentity",
    "ListUsers",
    "ListRoles",
    "ListAccessKeys",
    "GetAccountSummary",
    "ListAccountAliases",
    "ListGroups",
    "ListMFADevices",
    "ListBuckets",
    "DescribeInstances",
    "DescribeRegions",
    "DescribeVpcs",
    "DescribeSecurityGroups",
    "ListFunctions",
    "DescribeDBInstances",
    "DescribeDBSnapshots",
    "ListTables",
    "ListKeys",
    "ListAliases",
    "DescribeTrails",
    "LookupEvents",
    "ListFoundationModels",
];

/// The services whose discovery calls count, as the part before `.amazonaws.com`.
pub const DEFAULT_PROVIDERS: [&str; 10] = [
    "sts",
    "iam",
    "s3",
    "ec2",
    "lambda",
    "rds",
    "dynamodb",
    "kms",
    "cloudtrail",
    "bedrock",
];

/// The VPN ASN list of Elastic's rule. The curated list in `asn_data` carries
/// names and categories for these; this list is the fallback when it is empty.
pub const CONTRACT_VPN_ASNS: [u32; 22] = [
    216025, 57138, 207137, 212238, 199218, 209103, 209854, 141039, 147049, 53314, 60068, 9009,
    20473, 63949, 39351, 51765, 204187, 29066, 206092, 208172, 9002, 49981,
];

/// Role names (session issuer user names) that make an assumed role a workload
/// (rule B).
pub const DEFAULT_WORKLOAD_ROLE_PATTERNS: [&str; 5] = [
    "AWSServiceRoleFor*",
    "*lambda*",
    "*ecsTask*",
    "*-task-role*",
    "eks-*",
];

/// Principals never considered (AWS Config's service role).
pub const DEFAULT_EXCLUDED_PRINCIPAL_SUBSTRINGS: [&str; 1] = ["AWSServiceRoleForConfig"];

/// Categories an ASN entry may carry (those of the curated list, plus `custom`).
pub const CATEGORIES: [&str; 5] = ["vpn", "vpn-hosting", "hosting", "transit", "custom"];

/// Sanity bounds: a window beyond ten years or a cap beyond 100 million keys is a
/// mistake, not a setting.
pub const MAX_WINDOW_SECS: i64 = 3650 * 86_400;
pub const MAX_KEYS_LIMIT: i64 = 100_000_000;

/// Rule A's history window: ten days, as Elastic's `new_terms` history window.
pub const DEFAULT_WINDOW_SECS: i64 = 10 * 86_400;

/// Cap on rule A keys, and separately on rule B (key, hour) entries (about 30 MB).
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

/// Rule A journals a key again when its last-seen time enters a new hour.
pub const DEFAULT_JOURNAL_RESOLUTION_SECS: i64 = 3_600;

/// `.`: the directory `vpnrecon.toml` was found in, else the first pre-opened one.
pub const DEFAULT_STATE_DIR: &str = ".";

/// An entry of the curated list (`asn_data/vpn_asns.toml`), as the build bakes it in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CuratedAsn {
    pub asn: u32,
    pub category: &'static str,
    pub name: &'static str,
    /// Part of the default detection list.
    pub enabled: bool,
}

/// The curated list in file order, read and checked at build time (`build.rs`), so
/// no instance parses it again.
pub static CURATED_ASNS: &[CuratedAsn] = include!(concat!(env!("OUT_DIR"), "/curated_asns.rs"));

impl CuratedAsn {
    fn to_vpn_asn(self) -> VpnAsn {
        VpnAsn {
            asn: self.asn,
            category: self.category.to_owned(),
            name: self.name.to_owned(),
        }
    }
}

/// The enabled entries of the curated list, or the detection's list (category
/// `vpn`) if none is enabled.
pub fn default_vpn_asns() -> Vec<VpnAsn> {
    let curated: Vec<VpnAsn> = CURATED_ASNS
        .iter()
        .filter(|c| c.enabled)
        .map(|c| c.to_vpn_asn())
        .collect();
    let mut list = if curated.is_empty() {
        CONTRACT_VPN_ASNS
            .iter()
            .map(|&asn| VpnAsn {
                asn,
                category: "vpn".to_owned(),
                name: String::new(),
            })
            .collect()
    } else {
        curated
    };
    list.sort_by_key(|a| a.asn);
    list.dedup_by_key(|a| a.asn);
    list
}

/// Name and category for an ASN added by number: the curated list's (enabled or
/// not), else `custom`.
pub fn describe_asn(asn: u32) -> VpnAsn {
    CURATED_ASNS
        .iter()
        .find(|c| c.asn == asn)
        .map(|c| c.to_vpn_asn())
        .or_else(|| {
            CONTRACT_VPN_ASNS.contains(&asn).then(|| VpnAsn {
                asn,
                category: "vpn".to_owned(),
                name: String::new(),
            })
        })
        .unwrap_or(VpnAsn {
            asn,
            category: "custom".to_owned(),
            name: String::new(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baked_list_is_the_curated_file() {
        // The asn_data crate's own parser reads the same file at run time.
        let parsed: Vec<CuratedAsn> = asn_data::curated::list()
            .iter()
            .map(|c| CuratedAsn {
                asn: c.asn,
                category: c.category.as_str(),
                name: Box::leak(c.name.clone().into_boxed_str()),
                enabled: c.enabled,
            })
            .collect();
        assert!(!parsed.is_empty());
        assert_eq!(CURATED_ASNS, parsed.as_slice());
    }
}
