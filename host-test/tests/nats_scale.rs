//! `vpnrecon publish` and `vpnrecon consume` against real nats-server processes:
//! the partitioned run gives exactly the detections of one `vpnrecon replay` of the
//! same events (the truth, computed here by the single-process path), with workers
//! and server nodes killed, and after a restart on empty local state.
//!
//! Needs nats-server (VPNRECON_NATS_SERVER or PATH); without it each test says
//! "skipped" and passes, unless VPNRECON_REQUIRE_NATS=1.

mod nats;

use nats::*;
use std::collections::BTreeSet;
use std::fs;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tests start several processes each: one at a time on a small machine.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn the_partition_function_is_natss_own_partition_mapping() {
    let _guard = serial();
    let Some(bin) = nats_server() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let server = single(&bin, dir.path());
    let tokens: Vec<String> = (0..200u64)
        .map(|i| format!("{:012}", 100_000_000_000 + i * 7_919_113))
        .chain([
            "none".to_owned(),
            "111122223333".to_owned(),
            "a-b_c".to_owned(),
        ])
        .collect();
    let rt = rt();
    let mapped: Vec<(String, String)> = rt.block_on(async {
        use futures_util::StreamExt;
        let client = async_nats::connect(server.url()).await.expect("connect");
        let mut sub = client.subscribe("check.out.>").await.expect("sub");
        for t in &tokens {
            client
                .publish(format!("check.in.{t}"), t.clone().into())
                .await
                .expect("publish");
        }
        client.flush().await.expect("flush");
        let mut got = Vec::new();
        while got.len() < tokens.len() {
            let m = tokio::time::timeout(Duration::from_secs(10), sub.next())
                .await
                .expect("mapped message")
                .expect("message");
            got.push((
                String::from_utf8(m.payload.to_vec()).expect("utf8"),
                m.subject.to_string(),
            ));
        }
        got
    });
    for (token, subject) in mapped {
        let p = vpnrecon_host::scale::keys::partition_of(&token, 8);
        assert_eq!(subject, format!("check.out.{p}.{token}"), "token {token}");
    }
}

/// Publishes the scenario with 8 partitions; returns the files.
fn publish(
    url: &str,
    dir: &std::path::Path,
    generated: usize,
    extra: &[&str],
) -> Vec<std::path::PathBuf> {
    let paths = scenario(dir, generated);
    let mut args = vec!["publish", "--nats", url, "--partitions", "8"];
    args.extend_from_slice(extra);
    let files = path_args(&paths);
    args.extend(files.iter().map(String::as_str));
    let log = vpnrecon(&args);
    assert!(log.contains("event=published"), "{log}");
    paths
}

#[test]
fn eight_partitions_three_workers_give_exactly_the_replay_detections() {
    let _guard = serial();
    let Some(bin) = nats_server() else { return };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tmp");
    let server = single(&bin, dir.path());
    let url = server.url();
    let paths = publish(&url, dir.path(), 3000, &[]);
    let truth = replay_truth(dir.path(), &paths);
    let spread = partitions_of(&dir.path().join("replay.ndjson"));
    assert!(
        truth.len() > 50,
        "the scenario should fire often: {}",
        truth.len()
    );
    assert!(
        spread.len() >= 3,
        "detections should span partitions: {spread:?}"
    );

    let mut workers: Vec<Worker> = (1..=3)
        .map(|i| worker(&url, dir.path(), &format!("w{i}"), &[]))
        .collect();
    for w in &mut workers {
        w.wait_ok(Duration::from_secs(120));
    }
    let (stream, count) = detections_stream(&url);
    assert_eq!(count, stream.len(), "a detection was published twice");
    assert_eq!(
        stream, truth,
        "detections differ from the single-process replay"
    );
    let outs: Vec<_> = workers.iter().map(|w| w.out.clone()).collect();
    assert_eq!(out_set(&outs), truth, "--out differs from the replay");
    // Every worker took part (fair share: 3, 3, 2).
    for w in &workers {
        assert!(
            w.log_text().contains("event=lease_acquired"),
            "{}",
            w.log_text()
        );
    }
    eprintln!(
        "equivalence: {} detections in {:?}",
        truth.len(),
        started.elapsed()
    );
}

#[test]
fn a_different_partition_count_is_refused() {
    let _guard = serial();
    let Some(bin) = nats_server() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let server = single(&bin, dir.path());
    let url = server.url();
    vpnrecon(&["publish", "--nats", &url, "--partitions", "8"]);
    let out = std::process::Command::new(VPNRECON)
        .args(["publish", "--nats", &url, "--partitions", "4"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("created with --partitions 8, not 4"),
        "{stderr}"
    );
}

/// Copies of every event with a new eventID (same time, same identity): an engine
/// that remembers the first run raises nothing on them.
fn copies(paths: &[std::path::PathBuf], to: &std::path::Path) -> std::path::PathBuf {
    let file = to.join("z-copies.ndjson");
    let mut text = String::new();
    for p in paths {
        for line in fs::read_to_string(p).expect("read").lines() {
            let mut v: serde_json::Value = serde_json::from_str(line).expect("json");
            let id = v["eventID"].as_str().expect("eventID").to_owned();
            v["eventID"] = serde_json::Value::String(format!("{id}-again"));
            text.push_str(&v.to_string());
            text.push('\n');
        }
    }
    fs::write(&file, text).expect("write");
    file
}

#[test]
fn new_workers_on_empty_local_state_repeat_no_alert() {
    let _guard = serial();
    let Some(bin) = nats_server() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let server = single(&bin, dir.path());
    let url = server.url();
    // A small compaction interval, so the restored state comes from snapshots too.
    let small = ["--compact-every", "3", "--batch", "64"];
    let paths = publish(&url, dir.path(), 1500, &[]);
    let mut first: Vec<Worker> = (1..=2)
        .map(|i| worker(&url, dir.path(), &format!("first{i}"), &small))
        .collect();
    // SIGTERM to one of them once it has committed something: it finishes its
    // batch, releases its leases and exits 0; the other takes its partitions over.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !first[0].log_text().contains("event=stats") {
        assert!(Instant::now() < deadline, "{}", first[0].log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let term = std::process::Command::new("kill")
        .args(["-TERM", &first[0].child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    for w in &mut first {
        w.wait_ok(Duration::from_secs(120));
    }
    assert!(
        first[0].log_text().contains("reason=sigterm"),
        "{}",
        first[0].log_text()
    );
    let first_out = out_set(&first.iter().map(|w| w.out.clone()).collect::<Vec<_>>());

    // Second run: the same files again (the stream already has them) and copies of
    // every event under new ids; new workers with new, empty local directories.
    let again = copies(&paths, dir.path());
    let mut args = vec!["publish".to_owned(), "--nats".into(), url.clone()];
    args.extend(path_args(&paths));
    args.push(again.display().to_string());
    let log = vpnrecon(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(log.contains("new="), "{log}");
    let mut second: Vec<Worker> = (1..=3)
        .map(|i| worker(&url, dir.path(), &format!("second{i}"), &small))
        .collect();
    for w in &mut second {
        w.wait_ok(Duration::from_secs(120));
    }
    let second_out = out_set(&second.iter().map(|w| w.out.clone()).collect::<Vec<_>>());
    let mut all = paths.clone();
    all.push(again);
    let truth = replay_truth(dir.path(), &all);
    assert!(!first_out.is_empty());
    assert!(
        second_out.is_empty(),
        "the restarted workers alerted again: {second_out:?}"
    );
    assert_eq!(first_out, truth);
    let (stream, count) = detections_stream(&url);
    assert_eq!(count, stream.len());
    assert_eq!(stream, truth);
}

/// Runs the scenario on a 3-node cluster; `disrupt` is called once the workers are
/// under way.
fn cluster_run(
    generated: usize,
    disrupt: impl FnOnce(&mut Vec<Server>, &mut Vec<Worker>),
    check: impl FnOnce(&[Worker]),
) {
    let Some(bin) = nats_server() else { return };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tmp");
    let mut servers = cluster(&bin, dir.path());
    let url = urls(&servers);
    let paths = publish(&url, dir.path(), generated, &["--replicas", "3"]);
    let truth = replay_truth(dir.path(), &paths);
    let mut workers: Vec<Worker> = (1..=3)
        .map(|i| {
            worker(
                &url,
                dir.path(),
                &format!("w{i}"),
                &["--replicas", "3", "--batch", "32"],
            )
        })
        .collect();
    // Under way: some detections are out, far from all.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen: usize = workers
            .iter()
            .map(|w| {
                fs::read_to_string(&w.out)
                    .unwrap_or_default()
                    .lines()
                    .count()
            })
            .sum();
        if seen >= truth.len() / 10 {
            break;
        }
        assert!(Instant::now() < deadline, "workers made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    disrupt(&mut servers, &mut workers);
    for w in workers.iter_mut().filter(|w| w.name != "killed") {
        w.wait_ok(Duration::from_secs(150));
    }
    let live = servers
        .iter()
        .filter(|s| s.child.is_some())
        .map(Server::url)
        .collect::<Vec<_>>()
        .join(",");
    let (stream, count) = detections_stream(&live);
    assert_eq!(count, stream.len(), "a detection was published twice");
    let missing: BTreeSet<_> = truth.difference(&stream).collect();
    let extra: BTreeSet<_> = stream.difference(&truth).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    check(&workers);
    eprintln!(
        "cluster run: {} detections in {:?}",
        truth.len(),
        started.elapsed()
    );
}

#[test]
fn a_worker_killed_mid_stream_loses_and_repeats_nothing() {
    let _guard = serial();
    cluster_run(
        6000,
        |_, workers| {
            let victim = &mut workers[0];
            let _ = victim.child.kill(); // SIGKILL
            let _ = victim.child.wait();
            victim.name = "killed".into();
        },
        |workers| {
            // The victim's partitions were taken over part way: restored with a position.
            let resumed = workers.iter().filter(|w| w.name != "killed").any(|w| {
                w.log_text()
                    .lines()
                    .any(|l| l.contains("event=partition_restored") && !l.contains(" position=0 "))
            });
            assert!(resumed, "no partition was taken over with state");
        },
    );
}

#[test]
fn a_server_node_killed_mid_stream_loses_and_repeats_nothing() {
    let _guard = serial();
    cluster_run(
        6000,
        |servers, _| {
            servers[1].kill();
        },
        |_| {},
    );
}

#[test]
fn an_event_without_event_time_gets_its_stream_time() {
    let _guard = serial();
    let Some(bin) = nats_server() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let server = single(&bin, dir.path());
    let url = server.url();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let first = fs::read_to_string(root.join("tests/fixtures/attack_chain.ndjson"))
        .expect("read")
        .lines()
        .next()
        .expect("an event")
        .to_owned();
    let mut event: serde_json::Value = serde_json::from_str(&first).expect("json");
    event.as_object_mut().expect("object").remove("eventTime");
    let file = dir.path().join("no-time.ndjson");
    fs::write(&file, format!("{event}\n")).expect("write");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    vpnrecon(&[
        "publish",
        "--nats",
        &url,
        "--partitions",
        "8",
        &file.display().to_string(),
    ]);
    let after = before + 60;
    let mut w = worker(&url, dir.path(), "w1", &[]);
    w.wait_ok(Duration::from_secs(60));
    let out = fs::read_to_string(&w.out).expect("out");
    let line: serde_json::Value =
        serde_json::from_str(out.lines().next().expect("a detection")).expect("json");
    assert_eq!(
        line.pointer("/detection/event/time_source"),
        Some(&"record".into())
    );
    let time = line
        .pointer("/detection/event/time")
        .and_then(|t| t.as_str())
        .expect("time");
    // The stream time of the message, as ISO 8601, between publishing and now.
    let lo = vpnrecon_host::generate::iso8601(before.saturating_sub(1) * 1000);
    let hi = vpnrecon_host::generate::iso8601(after * 1000);
    assert!(
        lo.as_str() <= time && time <= hi.as_str(),
        "{time} not in {lo}..{hi}"
    );
}
