//! Input walking: directory order, gzip, digests, S3 delivery splitting, compaction.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use vpnrecon_host::input::{self, parse_record_time, InputStats, Source};
use vpnrecon_host::RecordTime;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn write_gz(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut gz = GzEncoder::new(fs::File::create(path).expect("create"), Compression::fast());
    gz.write_all(text.as_bytes()).expect("gz");
    gz.finish().expect("gz finish");
}

/// All records of `paths`, as text, with their record times.
fn records(paths: &[PathBuf], batch: bool) -> (Vec<(String, Option<RecordTime>)>, InputStats) {
    let mut stats = InputStats::default();
    let sources = input::walk(paths, &mut stats).expect("walk");
    let mut out = Vec::new();
    for source in &sources {
        input::read_records(source, batch, &mut stats, &mut |r, t| {
            out.push((String::from_utf8(r.to_vec()).expect("utf-8"), t));
            Ok(())
        })
        .expect("read");
    }
    (out, stats)
}

fn texts(paths: &[PathBuf], batch: bool) -> Vec<String> {
    records(paths, batch)
        .0
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn directories_are_walked_recursively_in_name_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(&root.join("b.json"), "{\"n\":3}\n");
    write(&root.join("a/z.json"), "{\"n\":2}\n");
    write(&root.join("a/m/x.json"), "{\"n\":1}\n");
    write(&root.join("c/d.ndjson"), "{\"n\":4}\n{\"n\":5}\n");
    write(&root.join("README.md"), "# not a log\n");
    write(&root.join("c/SHA256SUMS"), "0000  d.ndjson\n");
    let mut stats = InputStats::default();
    let sources = input::walk(&[root.to_path_buf()], &mut stats).expect("walk");
    let names: Vec<String> = sources
        .iter()
        .map(|s| match s {
            Source::File(p) => p.strip_prefix(root).expect("inside").display().to_string(),
            Source::Stdin => "-".into(),
        })
        .collect();
    assert_eq!(names, ["a/m/x.json", "a/z.json", "b.json", "c/d.ndjson"]);
    assert_eq!(
        texts(&[root.to_path_buf()], false),
        [
            "{\"n\":1}",
            "{\"n\":2}",
            "{\"n\":3}",
            "{\"n\":4}",
            "{\"n\":5}"
        ]
    );
}

#[test]
fn gzip_is_read_whatever_the_name() {
    let dir = tempfile::tempdir().expect("tmp");
    write_gz(&dir.path().join("one.json.gz"), "{\"a\":1}\n{\"a\":2}\n");
    write_gz(&dir.path().join("misnamed.json"), "{\"a\":3}\n");
    assert_eq!(
        texts(&[dir.path().to_path_buf()], false),
        ["{\"a\":3}", "{\"a\":1}", "{\"a\":2}"]
    );
}

#[test]
fn digest_files_are_skipped_by_path_and_by_content() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(
        &root.join("AWSLogs/1/CloudTrail-Digest/us-east-1/d.json.gz"),
        "{\"eventName\":\"ShouldNotAppear\"}",
    );
    write(
        &root.join("AWSLogs/1/CloudTrail/us-east-1/digest-lookalike.json"),
        "{\"awsAccountId\":\"1\",\"digestPublicKeyFingerprint\":\"ab\",\"logFiles\":[]}\n{\"eventName\":\"Kept\"}\n",
    );
    let (records, stats) = records(&[root.to_path_buf()], false);
    let texts: Vec<&str> = records.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts, ["{\"eventName\":\"Kept\"}"]);
    assert_eq!(stats.digests_skipped, 1);
}

const DELIVERY: &str = r#"{"Records": [
  {"eventTime": "2026-03-02T10:00:00Z", "eventName": "ListUsers", "n": [1, 2]},
  {"eventTime": "2026-03-02T10:00:01.250Z", "eventName": "ListRoles", "s": "a  b"}
]}"#;

#[test]
fn s3_delivery_files_are_split_per_event_and_compacted() {
    let dir = tempfile::tempdir().expect("tmp");
    write_gz(&dir.path().join("x_CloudTrail.json.gz"), DELIVERY);
    let (records, _) = records(&[dir.path().to_path_buf()], false);
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0].0,
        r#"{"eventTime":"2026-03-02T10:00:00Z","eventName":"ListUsers","n":[1,2]}"#
    );
    // Whitespace inside strings is data and stays.
    assert_eq!(
        records[1].0,
        r#"{"eventTime":"2026-03-02T10:00:01.250Z","eventName":"ListRoles","s":"a  b"}"#
    );
    // 2026-03-02T10:00:00Z = 1772409600 (2026-03-02T00:00:00Z) + 36000.
    assert_eq!(
        records[0].1,
        Some(RecordTime {
            sec: 1_772_445_600,
            nsec: 0
        })
    );
    assert_eq!(
        records[1].1,
        Some(RecordTime {
            sec: 1_772_445_601,
            nsec: 250_000_000
        })
    );
}

#[test]
fn batch_keeps_s3_delivery_files_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    write(&dir.path().join("x.json"), DELIVERY);
    let got = texts(&[dir.path().to_path_buf()], true);
    assert_eq!(
        got,
        [
            r#"{"Records":[{"eventTime":"2026-03-02T10:00:00Z","eventName":"ListUsers","n":[1,2]},{"eventTime":"2026-03-02T10:00:01.250Z","eventName":"ListRoles","s":"a  b"}]}"#
        ]
    );
}

#[test]
fn single_line_delivery_objects_in_ndjson_are_split_too() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        &dir.path().join("x.ndjson"),
        "{\"Records\":[{\"a\":1},{\"a\":2}]}\n\n{\"a\":3}\n",
    );
    assert_eq!(
        texts(&[dir.path().to_path_buf()], false),
        ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"]
    );
}

#[test]
fn deep_and_malformed_lines_are_handed_over_as_they_are() {
    let dir = tempfile::tempdir().expect("tmp");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_object = format!("{{\"a\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
    write(
        &dir.path().join("x.ndjson"),
        &format!("{deep}\n{deep_object}\nnot json at all\n{{\"unterminated\": \n"),
    );
    let got = texts(&[dir.path().to_path_buf()], false);
    let expected = [
        deep.as_str(),
        deep_object.as_str(),
        "not json at all",
        "{\"unterminated\":",
    ];
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        assert!(g == e, "got {:.80}..., expected {:.80}...", g, e);
    }
}

/// Dates and times with their Unix seconds worked out by hand: days from 1970-01-01
/// to the first of the year (365 a year plus one per leap year passed), plus the
/// days of the months before, plus the day of the month less one; then the clock.
fn hand_derived() -> Vec<(&'static str, i64, u32)> {
    const DAY: i64 = 86_400;
    vec![
        ("1970-01-01T00:00:00Z", 0, 0),
        // 2000: 30 years, leap years 1972..1996 (7): 10,957 days; + Jan 31 + Feb 29.
        ("2000-03-01T00:00:00Z", (10_957 + 31 + 29) * DAY, 0),
        // 2016-12-31T23:59:60Z, a leap second, is 2017-01-01T00:00:00Z: 47 years,
        // leap years 1972..2016 (12): 17,167 days.
        ("2016-12-31T23:59:60Z", 17_167 * DAY, 0),
        // 2024: 54 years, leap years 1972..2020 (13): 19,723 days; + Jan 31 + 28;
        // 23:59:59 is 86,399 s; half a second.
        (
            "2024-02-29T23:59:59.5Z",
            (19_723 + 31 + 28) * DAY + 86_399,
            500_000_000,
        ),
        // 2026: 56 years, leap years 1972..2024 (14): 20,454 days; + Jan 31 + Feb 28
        // + Mar 31 + Apr 30 + May 31 = 151 (June 1st), + 19 (the 20th); 08:00.
        (
            "2026-06-20T08:00:00Z",
            (20_454 + 151 + 19) * DAY + 8 * 3_600,
            0,
        ),
        // 14:30 at +02:30 is 12:00 UTC on 2026-06-01.
        (
            "2026-06-01T14:30:00+02:30",
            (20_454 + 151) * DAY + 12 * 3_600,
            0,
        ),
        // 2100 is not a leap year (divisible by 100, not by 400): 130 years, leap
        // years 1972..2096 (32): 47,482 days; + Jan 31 + Feb 28.
        ("2100-03-01T00:00:00Z", (47_482 + 31 + 28) * DAY, 0),
    ]
}

#[test]
fn record_times_match_hand_computed_epochs() {
    for (text, secs, nsec) in hand_derived() {
        let sec = u32::try_from(secs).expect("fits a record time");
        assert_eq!(
            parse_record_time(text),
            Ok(RecordTime { sec, nsec }),
            "{text}"
        );
    }
    assert!(parse_record_time("2024-02-29 23:59:59").is_err());
    assert!(parse_record_time("yesterday").is_err());
    // Before 1970 a record time cannot hold.
    let err = parse_record_time("1969-12-31T23:59:59Z").unwrap_err();
    assert!(err.contains("before 1970"), "{err}");
}

/// The host stamps a replayed record with the time the filter reads from the same
/// event: both parse with the one time module, and both give the hand-derived value.
#[test]
fn the_filter_and_the_host_agree_on_event_times() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("times.ndjson");
    let lines: String = hand_derived()
        .iter()
        .map(|(text, ..)| format!("{{\"eventTime\":\"{text}\",\"eventName\":\"ListUsers\"}}\n"))
        .collect();
    write(&file, &lines);
    let (got, stats) = records(&[file], false);
    assert_eq!(stats.invalid_times, 0);
    assert_eq!(got.len(), hand_derived().len());
    for ((record, time), (text, secs, nsec)) in got.iter().zip(hand_derived()) {
        let sec = u32::try_from(secs).expect("fits");
        assert_eq!(*time, Some(RecordTime { sec, nsec }), "host, {record}");
        assert_eq!(
            vpnrecon_filter::event::parse_event_time(text),
            Some(secs),
            "filter, {text}"
        );
    }
}

#[test]
fn an_impossible_date_is_refused_with_a_clear_message() {
    let err = parse_record_time("2026-02-31T08:00:00Z").unwrap_err();
    assert_eq!(
        err,
        "eventTime `2026-02-31T08:00:00Z`: February 2026 has 28 days, so there is no day 31"
    );
    // In a file: the record is still handed over, without a record time of its own,
    // and the reader says which file and why; the next record keeps its own time.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bad.ndjson");
    write(
        &file,
        concat!(
            "{\"eventTime\":\"2026-02-31T08:00:00Z\",\"eventName\":\"ListUsers\"}\n",
            "{\"eventTime\":\"1970-01-01T00:01:00Z\",\"eventName\":\"ListUsers\"}\n",
        ),
    );
    let (got, stats) = records(std::slice::from_ref(&file), false);
    let times: Vec<_> = got.iter().map(|(_, t)| *t).collect();
    assert_eq!(times, [None, Some(RecordTime { sec: 60, nsec: 0 })]);
    assert_eq!(stats.invalid_times, 1);
    assert_eq!(
        stats.first_invalid_time.as_deref(),
        Some(format!("{}: {err}", file.display()).as_str())
    );
    // The filter refuses the same date: it falls back to the record time.
    assert_eq!(
        vpnrecon_filter::event::parse_event_time("2026-02-31T08:00:00Z"),
        None
    );
}
