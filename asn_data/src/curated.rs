//! The curated list of VPN and VPN-heavy hosting ASNs (`asn_data/vpn_asns.toml`).

use serde::Deserialize;

static CURATED_TOML: &str = include_str!("../vpn_asns.toml");

/// What kind of network an AS is, as far as the detection is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// A consumer or commercial VPN operator's own network.
    Vpn,
    /// Hosting whose customers are largely VPN and proxy services.
    VpnHosting,
    /// General-purpose hosting or cloud.
    Hosting,
    /// A transit or access network.
    Transit,
}

impl Category {
    /// The name used in `vpn_asns.toml` and in detections.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Vpn => "vpn",
            Category::VpnHosting => "vpn-hosting",
            Category::Hosting => "hosting",
            Category::Transit => "transit",
        }
    }
}

/// One entry of the curated list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedAsn {
    pub asn: u32,
    /// Operator name as the baked table spells it.
    pub name: String,
    pub category: Category,
    /// Also carries ordinary customer or business traffic, so a hit is weaker evidence.
    pub dual_use: bool,
    /// Part of the default detection list.
    pub enabled: bool,
    pub note: String,
    pub reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CuratedFile {
    asn: Vec<CuratedAsn>,
}

/// Parses the embedded list, or says why it does not parse.
pub fn parse(text: &str) -> Result<Vec<CuratedAsn>, toml::de::Error> {
    toml::from_str::<CuratedFile>(text).map(|file| file.asn)
}

/// The embedded list, in file order. The file is fixed at compile time and the crate's
/// tests parse it, so the empty fallback is never taken by a tested build.
pub fn list() -> Vec<CuratedAsn> {
    parse(CURATED_TOML).unwrap_or_default()
}
