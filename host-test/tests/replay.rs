//! Replay over files: order, drops, lost records with their positions.

use std::fs;
use vpnrecon_host::{replay, Backend, HostOptions, Mode, ReplayOptions};

fn options(backend: Backend, entry: &str) -> ReplayOptions {
    let mut host = HostOptions::new(Mode::Annotate);
    host.module = Some(wat::parse_str(include_str!("passthrough.wat")).expect("valid wat"));
    host.entry_override = Some(entry.into());
    host.capture_stderr = true;
    let mut opts = ReplayOptions::new(backend, host);
    opts.progress = false;
    opts.report_lost = false;
    opts
}

fn wasm_backends() -> Vec<Backend> {
    [Backend::Wasmtime, Backend::Wamr]
        .into_iter()
        .filter(|b| b.available())
        .collect()
}

#[test]
fn a_trapping_record_is_counted_lost_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("in.ndjson");
    fs::write(&file, "{\"a\":1}\nX marks a poison record\n{\"b\": 2}\n").expect("write");
    for backend in wasm_backends() {
        let mut out = Vec::new();
        let report = replay(
            std::slice::from_ref(&file),
            &options(backend, "trap_on_x"),
            &mut out,
        )
        .expect("replay");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "{\"a\":1}\n{\"b\":2}\n",
            "{backend}"
        );
        assert_eq!(report.summary.records, 3);
        assert_eq!(report.summary.kept, 2);
        assert_eq!(report.summary.lost, 1);
        assert_eq!(report.lost.len(), 1);
        assert_eq!(report.lost[0].position, 2, "{backend}");
        assert!(report.lost[0].source.ends_with("in.ndjson"));
    }
}

#[test]
fn dropped_records_are_not_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("in.ndjson");
    fs::write(&file, "{\"a\":1}\n{\"a\":2}\n").expect("write");
    for backend in wasm_backends() {
        let mut out = Vec::new();
        let report = replay(
            std::slice::from_ref(&file),
            &options(backend, "drop_all"),
            &mut out,
        )
        .expect("replay");
        assert!(out.is_empty(), "{backend}");
        assert_eq!(
            (report.summary.dropped, report.summary.lost),
            (2, 0),
            "{backend}"
        );
    }
}

#[test]
fn an_impossible_event_time_is_reported_in_the_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("in.ndjson");
    fs::write(
        &file,
        concat!(
            "{\"eventTime\":\"2026-02-28T08:00:00Z\"}\n",
            "{\"eventTime\":\"2026-02-31T08:00:00Z\"}\n",
        ),
    )
    .expect("write");
    let mut out = Vec::new();
    let report = replay(
        std::slice::from_ref(&file),
        &options(Backend::Wasmtime, "pass"),
        &mut out,
    )
    .expect("replay");
    assert_eq!(report.summary.records, 2);
    assert_eq!(report.summary.invalid_times, 1);
    let text = report.summary.render();
    assert!(
        text.contains("1 record with an eventTime that is not a valid time"),
        "{text}"
    );
    assert!(
        text.contains("`2026-02-31T08:00:00Z`: February 2026 has 28 days, so there is no day 31"),
        "{text}"
    );
    assert!(text.contains("in.ndjson"), "{text}");
}

/// Files are read on several threads but handed to the host in input order: every
/// record of every file, in order, whatever the number of reading threads, and the
/// first invalid time named is the first in input order.
#[test]
fn several_reading_threads_keep_input_order() {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tmp");
    let mut expected = String::new();
    for file in 0..9 {
        let mut text = String::new();
        // Files of different sizes (one empty), so that threads run out of step,
        // and more records than one hand-over batch in some.
        for line in 0..(file * 137) % 600 {
            let time = match (file, line) {
                (4, 3) => "2026-02-30T00:00:00Z".to_owned(),
                (7, 0) => "2026-02-31T00:00:00Z".to_owned(),
                _ => format!("2026-06-{:02}T08:00:00Z", 1 + line % 28),
            };
            let record = format!("{{\"file\":{file},\"line\":{line},\"eventTime\":\"{time}\"}}");
            text.push_str(&record);
            text.push('\n');
            expected.push_str(&record);
            expected.push('\n');
        }
        let path = dir.path().join(format!("{file:02}.json.gz"));
        if file % 2 == 0 {
            let mut gz = GzEncoder::new(
                fs::File::create(&path).expect("create"),
                Compression::fast(),
            );
            gz.write_all(text.as_bytes()).expect("gzip");
            gz.finish().expect("gzip");
        } else {
            fs::write(&path, &text).expect("write");
        }
    }
    for readers in [1, 2, 3, 4, 16] {
        let mut opts = options(Backend::Wasmtime, "pass");
        opts.readers = readers;
        let mut out = Vec::new();
        let report = replay(&[dir.path().to_path_buf()], &opts, &mut out).expect("replay");
        let out = String::from_utf8(out).expect("utf-8");
        assert!(out == expected, "{readers} readers: output out of order");
        assert_eq!(report.summary.files, 9, "{readers} readers");
        assert_eq!(report.summary.records, expected.lines().count() as u64);
        assert_eq!(report.summary.invalid_times, 2, "{readers} readers");
        let first = report.summary.first_invalid_time.as_deref().unwrap_or("");
        assert!(
            first.contains("04.json.gz") && first.contains("2026-02-30"),
            "{readers} readers: {first}"
        );
    }
}
