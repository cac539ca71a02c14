//! Readers for the three supported input formats. Every malformed line is an error
//! naming the file, the line and the reason; nothing is skipped silently.

use std::net::IpAddr;

use super::{BuildError, Family, SourceRange};

/// One of the input formats `asn-data build --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ip-location-db `asn-ipv4-num.csv` / `asn-ipv6-num.csv` (or the dotted-IP CSVs):
    /// `start,end,asn,organisation`, inclusive ranges.
    IpLocationDb,
    /// iptoasn.com `ip2asn-combined.tsv`: `start end asn country description`, tab
    /// separated; AS 0 means "not routed".
    Iptoasn,
    /// MaxMind GeoLite2-ASN blocks CSV: header row, then
    /// `network,autonomous_system_number,autonomous_system_organization`.
    MaxmindCsv,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "ip-location-db" => Some(Format::IpLocationDb),
            "iptoasn" => Some(Format::Iptoasn),
            "maxmind-csv" => Some(Format::MaxmindCsv),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::IpLocationDb => "ip-location-db",
            Format::Iptoasn => "iptoasn",
            Format::MaxmindCsv => "maxmind-csv",
        }
    }
}

/// Rows of one input, plus how many were skipped as "no AS" (AS 0).
#[derive(Debug, Default)]
pub struct Parsed {
    pub ranges: Vec<SourceRange>,
    pub unrouted: u64,
}

/// Parses the text of one input file; `file` is used in error messages only.
pub fn parse(format: Format, file: &str, text: &str) -> Result<Parsed, BuildError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parsed = Parsed::default();
    let numeric_family = match format {
        Format::IpLocationDb => family_from_name(file),
        _ => None,
    };
    for (number, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let at = |reason: String| BuildError::at(file, number + 1, reason);
        if line.trim().is_empty() {
            continue;
        }
        if format == Format::MaxmindCsv && number == 0 {
            check_maxmind_header(line).map_err(at)?;
            continue;
        }
        let row = match format {
            Format::IpLocationDb => ip_location_db_row(line, numeric_family),
            Format::Iptoasn => iptoasn_row(line),
            Format::MaxmindCsv => maxmind_row(line),
        }
        .map_err(at)?;
        match row {
            Some(range) => parsed.ranges.push(range),
            None => parsed.unrouted += 1,
        }
    }
    Ok(parsed)
}

/// The numeric ip-location-db files do not say their family in the data (small IPv6
/// numbers look like IPv4), so it comes from the file name.
fn family_from_name(file: &str) -> Option<Family> {
    let name = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
    if name.contains("ipv6") {
        Some(Family::V6)
    } else if name.contains("ipv4") {
        Some(Family::V4)
    } else {
        None
    }
}

fn ip_location_db_row(line: &str, family: Option<Family>) -> Result<Option<SourceRange>, String> {
    let fields = split_csv(line)?;
    let [start, end, asn, organisation] = fields.as_slice() else {
        return Err(format!(
            "expected 4 fields (start,end,asn,organisation), found {}",
            fields.len()
        ));
    };
    let (family, start, end) = if start.contains(['.', ':']) {
        let (fs, s) = address(start, "start")?;
        let (fe, e) = address(end, "end")?;
        if fs != fe {
            return Err("start and end are of different address families".into());
        }
        (fs, s, e)
    } else {
        let family = family.ok_or_else(|| {
            "numeric addresses in a file whose name says neither ipv4 nor ipv6: rename it \
             (e.g. asn-ipv4-num.csv) or use the dotted-address CSV"
                .to_string()
        })?;
        (
            family,
            number(start, "start", family)?,
            number(end, "end", family)?,
        )
    };
    range(family, start, end, asn_number(asn)?, organisation)
}

fn iptoasn_row(line: &str) -> Result<Option<SourceRange>, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [start, end, asn, _country, description] = fields.as_slice() else {
        return Err(format!(
            "expected 5 tab-separated fields (start end asn country description), found {}",
            fields.len()
        ));
    };
    let (fs, s) = address(start, "start")?;
    let (fe, e) = address(end, "end")?;
    if fs != fe {
        return Err("start and end are of different address families".into());
    }
    range(fs, s, e, asn_number(asn)?, description)
}

const MAXMIND_HEADER: &str = "network,autonomous_system_number,autonomous_system_organization";

fn check_maxmind_header(line: &str) -> Result<(), String> {
    if line.trim() == MAXMIND_HEADER {
        Ok(())
    } else {
        Err(format!("expected the header row `{MAXMIND_HEADER}`"))
    }
}

fn maxmind_row(line: &str) -> Result<Option<SourceRange>, String> {
    let fields = split_csv(line)?;
    let [network, asn, organisation] = fields.as_slice() else {
        return Err(format!(
            "expected 3 fields (network,autonomous_system_number,autonomous_system_organization), found {}",
            fields.len()
        ));
    };
    let net: ipnet::IpNet = network
        .trim()
        .parse()
        .map_err(|_| format!("`{network}` is not a CIDR network"))?;
    let (family, start, end) = match net {
        ipnet::IpNet::V4(n) => (
            Family::V4,
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        ipnet::IpNet::V6(n) => (
            Family::V6,
            u128::from(n.network()),
            u128::from(n.broadcast()),
        ),
    };
    range(family, start, end, asn_number(asn)?, organisation)
}

fn range(
    family: Family,
    start: u128,
    end: u128,
    asn: u32,
    organisation: &str,
) -> Result<Option<SourceRange>, String> {
    if start > end {
        return Err("range start is after its end".into());
    }
    if asn == 0 {
        return Ok(None);
    }
    Ok(Some(SourceRange {
        family,
        start,
        end,
        asn,
        organisation: organisation.trim().to_string(),
    }))
}

fn address(text: &str, which: &str) -> Result<(Family, u128), String> {
    match text.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => Ok((Family::V4, u128::from(u32::from(ip)))),
        Ok(IpAddr::V6(ip)) => Ok((Family::V6, u128::from(ip))),
        Err(_) => Err(format!("{which} `{text}` is not an IP address")),
    }
}

fn number(text: &str, which: &str, family: Family) -> Result<u128, String> {
    let value: u128 = text
        .trim()
        .parse()
        .map_err(|_| format!("{which} `{text}` is not an unsigned integer"))?;
    if family == Family::V4 && value > u128::from(u32::MAX) {
        return Err(format!("{which} `{text}` is larger than any IPv4 address"));
    }
    Ok(value)
}

fn asn_number(text: &str) -> Result<u32, String> {
    let digits = text.trim();
    let digits = digits
        .strip_prefix("AS")
        .or_else(|| digits.strip_prefix("as"))
        .unwrap_or(digits);
    digits
        .parse()
        .map_err(|_| format!("AS number `{text}` is not an integer between 0 and 4294967295"))
}

/// Splits one CSV line: commas separate fields, a field may be quoted with `"`, and
/// `""` inside quotes is one quote. Multi-line fields are not supported.
pub(crate) fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("text after a closing quote".into());
                    }
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(core::mem::take(&mut field));
                at_field_start = true;
                continue;
            }
            '"' if at_field_start => quoted = true,
            '"' => return Err("quote in the middle of an unquoted field".into()),
            _ => field.push(c),
        }
        at_field_start = false;
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}
