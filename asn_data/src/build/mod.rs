//! Builds a baked table from source files (native only, feature `builder`).

mod layout;
mod resolve;
pub mod sources;

use core::fmt;
use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::format::{self, Body, FamilyCounts, Header, InputDigest, Preamble};
pub use sources::Format;

/// Address family of a source row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// One row of an input, as an inclusive range of integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRange {
    pub family: Family,
    pub start: u128,
    pub end: u128,
    pub asn: u32,
    pub organisation: String,
}

/// A build failure: where (file and line, when known) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

impl BuildError {
    pub fn at(file: &str, line: usize, reason: String) -> BuildError {
        BuildError {
            file: file.to_string(),
            line: Some(line),
            reason,
        }
    }

    pub fn file(file: &str, reason: String) -> BuildError {
        BuildError {
            file: file.to_string(),
            line: None,
            reason,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for BuildError {}

/// One input file: its name (for errors and the header) and its bytes.
pub struct Input {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What goes into the header besides what the builder counts itself.
pub struct Provenance {
    pub source_version: String,
    /// `YYYY-MM-DD`, given by the caller so rebuilds are byte-identical.
    pub build_date: String,
}

/// A built table and what building it found.
pub struct Built {
    pub bytes: Vec<u8>,
    pub report: Report,
}

/// The build report printed by `asn-data build`.
#[derive(Debug, Clone)]
pub struct Report {
    pub v4: FamilyCounts,
    pub v6: FamilyCounts,
    pub unrouted_rows: u64,
    pub asns: u64,
    /// ASes that appeared with more than one organisation name (the first one read wins).
    pub name_conflicts: u64,
    pub names_truncated: u64,
    pub name_bytes: u64,
    pub v4_bytes: u64,
    pub v6_bytes: u64,
    pub asn_table_bytes: u64,
    pub total_bytes: u64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, c, bytes) in [
            ("IPv4", &self.v4, self.v4_bytes),
            ("IPv6", &self.v6, self.v6_bytes),
        ] {
            writeln!(
                f,
                "{name}: {} ranges read, {} overlaps resolved (narrower range wins), {} merged, {} gap entries, {} entries, {} exact entries, {bytes} bytes",
                c.ranges_read, c.overlaps_resolved, c.merged, c.gaps, c.entries, c.exceptions
            )?;
        }
        writeln!(
            f,
            "rows without an AS (AS 0) skipped: {}",
            self.unrouted_rows
        )?;
        writeln!(
            f,
            "ASes: {}, name conflicts (first name kept): {}, names cut to 255 bytes: {}",
            self.asns, self.name_conflicts, self.names_truncated
        )?;
        writeln!(
            f,
            "AS table {} bytes, names {} bytes, total file {} bytes",
            self.asn_table_bytes, self.name_bytes, self.total_bytes
        )
    }
}

/// Parses `inputs` in `format` and lays out the table file.
pub fn build(
    format: Format,
    inputs: &[Input],
    provenance: &Provenance,
) -> Result<Built, BuildError> {
    check_date(&provenance.build_date)?;
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut name_conflicts = BTreeSet::new();
    let mut unrouted_rows = 0;
    let mut digests = Vec::new();
    for input in inputs {
        let text = std::str::from_utf8(&input.bytes)
            .map_err(|e| BuildError::file(&input.path, format!("not UTF-8 text: {e}")))?;
        let parsed = sources::parse(format, &input.path, text)?;
        unrouted_rows += parsed.unrouted;
        for row in parsed.ranges {
            match names.get(&row.asn) {
                Some(known) if *known != row.organisation => {
                    name_conflicts.insert(row.asn);
                }
                Some(_) => {}
                None => {
                    names.insert(row.asn, row.organisation.clone());
                }
            }
            let family = if row.family == Family::V4 {
                &mut v4
            } else {
                &mut v6
            };
            family.push((row.start, row.end, row.asn));
        }
        digests.push((file_name(&input.path), Sha256::digest(&input.bytes).into()));
    }
    if v4.is_empty() && v6.is_empty() {
        return Err(BuildError::file(
            inputs.first().map_or("(no input)", |i| i.path.as_str()),
            "no ranges in the inputs".into(),
        ));
    }

    let r4 = resolve::resolve(&v4);
    let r6 = resolve::resolve(&v6);
    let used: BTreeSet<u32> = r4
        .boundaries
        .iter()
        .chain(&r6.boundaries)
        .map(|&(_, asn)| asn)
        .filter(|&asn| asn != 0)
        .collect();
    let asns = layout::AsnIndex::new(used);
    let mut blobs = layout::Blobs::default();
    layout::pack_v4(&mut blobs, &r4.boundaries, &asns);
    layout::pack_v6(&mut blobs, &r6.boundaries, &asns);
    layout::pack_asns(&mut blobs, &asns, |n| {
        names.get(&n).cloned().unwrap_or_default()
    });

    let counts = |ranges: &Vec<_>, r: &resolve::Resolved, entries, exceptions| FamilyCounts {
        ranges_read: ranges.len() as u64,
        overlaps_resolved: r.overlaps,
        merged: r.merged,
        gaps: r.gaps,
        entries,
        exceptions,
    };
    let header = Header {
        source: format.name(),
        source_version: &provenance.source_version,
        build_date: &provenance.build_date,
        inputs: digests
            .iter()
            .map(|(name, sha256)| InputDigest {
                name,
                sha256: *sha256,
            })
            .collect(),
        v4: counts(&v4, &r4, blobs.v4_entries, 0),
        v6: counts(&v6, &r6, blobs.v6_entries, blobs.v6_exceptions),
        asns: asns.numbers().len() as u64,
        names_truncated: blobs.names_truncated,
    };
    let body = Body {
        header,
        v4_buckets: &blobs.v4_buckets,
        v4_lows: &blobs.v4_lows,
        v4_asn: &blobs.v4_asn,
        v6_keys: &blobs.v6_keys,
        v6_first: &blobs.v6_first,
        v6_lows: &blobs.v6_lows,
        v6_asn: &blobs.v6_asn,
        v6_exact_starts: &blobs.v6_exact_starts,
        v6_exact_asn: &blobs.v6_exact_asn,
        asn_numbers: &blobs.asn_numbers,
        asn_name_offsets: &blobs.asn_name_offsets,
        names: &blobs.names,
    };
    let encode_err = |e: bincode::error::EncodeError| BuildError::file("(output)", e.to_string());
    let preamble = Preamble {
        magic: format::MAGIC,
        format_version: format::FORMAT_VERSION,
    };
    let mut bytes = bincode::encode_to_vec(&preamble, format::config()).map_err(encode_err)?;
    bytes.extend(bincode::encode_to_vec(&body, format::config()).map_err(encode_err)?);

    let len = |v: &Vec<u8>| v.len() as u64;
    let report = Report {
        v4: body.header.v4,
        v6: body.header.v6,
        unrouted_rows,
        asns: body.header.asns,
        name_conflicts: name_conflicts.len() as u64,
        names_truncated: blobs.names_truncated,
        name_bytes: len(&blobs.names),
        v4_bytes: len(&blobs.v4_buckets) + len(&blobs.v4_lows) + len(&blobs.v4_asn),
        v6_bytes: len(&blobs.v6_keys)
            + len(&blobs.v6_first)
            + len(&blobs.v6_lows)
            + len(&blobs.v6_asn)
            + len(&blobs.v6_exact_starts)
            + len(&blobs.v6_exact_asn),
        asn_table_bytes: len(&blobs.asn_numbers) + len(&blobs.asn_name_offsets),
        total_bytes: bytes.len() as u64,
    };
    Ok(Built { bytes, report })
}

fn file_name(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_string()
}

/// The build date must be a real date written `YYYY-MM-DD`, so the header stays
/// comparable.
fn check_date(date: &str) -> Result<(), BuildError> {
    let not_a_date = || {
        BuildError::file(
            "--build-date",
            format!("`{date}` is not a date of the form YYYY-MM-DD"),
        )
    };
    if date.len() != 10 || !date.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
        return Err(not_a_date());
    }
    match vpnrecon_time::parse(&format!("{date}T00:00:00Z")) {
        Ok(_) => Ok(()),
        Err(vpnrecon_time::TimeError::Shape) => Err(not_a_date()),
        Err(e) => Err(BuildError::file(
            "--build-date",
            format!("`{date}` is not a date: {e}"),
        )),
    }
}

/// `YYYY-MM-DD` (UTC) of a Unix time, for `SOURCE_DATE_EPOCH`.
pub fn date_from_epoch(seconds: i64) -> String {
    vpnrecon_time::format_date(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_dates() {
        assert_eq!(date_from_epoch(0), "1970-01-01");
        // 2000-03-01 00:00:00 UTC = 951868800 (leap-year boundary).
        assert_eq!(date_from_epoch(951_868_800), "2000-03-01");
        assert_eq!(date_from_epoch(951_868_799), "2000-02-29");
    }

    #[test]
    fn build_dates_are_real_dates() {
        assert!(check_date("2026-02-28").is_ok());
        assert!(check_date("2024-02-29").is_ok());
        let err = check_date("2026-02-31").unwrap_err().to_string();
        assert!(err.contains("February 2026 has 28 days"), "{err}");
        for bad in ["2026-2-28", "20260228", "2026-02-28T00", "yesterday"] {
            let err = check_date(bad).unwrap_err().to_string();
            assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
        }
    }
}
