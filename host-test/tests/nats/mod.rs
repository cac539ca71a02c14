//! Shared by the NATS tests: nats-server processes on loopback (one node or a
//! three-node JetStream cluster), the `vpnrecon` binary, the scenario files and
//! readers for the streams.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const VPNRECON: &str = env!("CARGO_BIN_EXE_vpnrecon");

/// The nats-server binary: `VPNRECON_NATS_SERVER`, else `nats-server` on PATH (also
/// /usr/sbin, where Debian puts it). `None` (after saying so) when there is none,
/// unless `VPNRECON_REQUIRE_NATS=1`, which makes that a failure.
pub fn nats_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VPNRECON_NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.push("/usr/local/sbin".into());
    if let Some(found) = dirs
        .into_iter()
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
    {
        return Some(found);
    }
    let msg = "nats-server not found (set VPNRECON_NATS_SERVER or put it on PATH; \
               Debian: apt-get install nats-server)";
    if std::env::var("VPNRECON_REQUIRE_NATS").as_deref() == Ok("1") {
        panic!("{msg}; VPNRECON_REQUIRE_NATS=1 makes this a failure");
    }
    eprintln!("skipped: {msg}");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub struct Server {
    pub child: Option<Child>,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The subject mapping checked against `vpnrecon`'s own partition function.
pub const MAPPING: &str =
    "mappings { \"check.in.*\": \"check.out.{{partition(8,1)}}.{{wildcard(1)}}\" }\n";

fn spawn(binary: &Path, dir: &Path, name: &str, conf: &str) -> Server {
    let port_line = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("listen: 127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("listen line");
    let conf_path = dir.join(format!("{name}.conf"));
    fs::write(&conf_path, conf).expect("write conf");
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(binary)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start nats-server");
    Server {
        child: Some(child),
        port: port_line,
        log,
    }
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nats-server on {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One JetStream server on a free loopback port with its store in `dir`.
pub fn single(binary: &Path, dir: &Path) -> Server {
    let port = free_port();
    let store = dir.join("store");
    let conf = format!(
        "listen: 127.0.0.1:{port}\nserver_name: single\njetstream {{ store_dir: {:?} }}\n{MAPPING}",
        store.display().to_string()
    );
    let server = spawn(binary, dir, "single", &conf);
    wait_port(port);
    wait_jetstream(&server.url());
    server
}

/// A three-node JetStream cluster on loopback.
pub fn cluster(binary: &Path, dir: &Path) -> Vec<Server> {
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let routes: Vec<String> = ports
        .iter()
        .map(|(_, c)| format!("nats-route://127.0.0.1:{c}"))
        .collect();
    let servers: Vec<Server> = ports
        .iter()
        .enumerate()
        .map(|(i, (p, c))| {
            let store = dir.join(format!("store-n{i}"));
            let conf = format!(
                "listen: 127.0.0.1:{p}\nserver_name: n{i}\n\
                 jetstream {{ store_dir: {:?} }}\n\
                 cluster {{ name: vr, listen: 127.0.0.1:{c}, routes: [{}] }}\n",
                store.display().to_string(),
                routes.join(", ")
            );
            spawn(binary, dir, &format!("n{i}"), &conf)
        })
        .collect();
    for s in &servers {
        wait_port(s.port);
    }
    wait_jetstream(&urls(&servers));
    servers
}

pub fn urls(servers: &[Server]) -> String {
    servers
        .iter()
        .map(Server::url)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Waits until JetStream answers (a cluster has elected its meta leader).
fn wait_jetstream(url: &str) {
    let rt = rt();
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(client) = async_nats::connect(url.split(',').collect::<Vec<_>>()).await {
                let js = async_nats::jetstream::new(client);
                // Ready when the JetStream API answers (here: "stream not found").
                if let Err(e) = js.get_stream("VPNRECON_READY_PROBE").await {
                    if matches!(e.kind(), async_nats::jetstream::context::GetStreamErrorKind::JetStream(ref j)
                        if j.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND)
                    {
                        return;
                    }
                }
            }
            assert!(Instant::now() < deadline, "JetStream at {url} not ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

/// Runs `vpnrecon` to completion; panics with its stderr on failure.
pub fn vpnrecon(args: &[&str]) -> String {
    let out = Command::new(VPNRECON)
        .args(args)
        .output()
        .expect("run vpnrecon");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "vpnrecon {args:?} failed:\n{stderr}");
    stderr
}

/// A `vpnrecon consume` process with its stderr in a file.
pub struct Worker {
    pub child: Child,
    pub name: String,
    pub log: PathBuf,
    pub out: PathBuf,
}

impl Worker {
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for a clean exit (status 0).
    pub fn wait_ok(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "worker {} exited with {status}:\n{}",
                    self.name,
                    self.log_text()
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "worker {} did not finish in {limit:?}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a worker with short leases (test timings: lease 3 s, poll 0.5 s).
pub fn worker(url: &str, dir: &Path, name: &str, extra: &[&str]) -> Worker {
    let state = dir.join(format!("state-{name}"));
    let out = dir.join(format!("out-{name}.ndjson"));
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(VPNRECON)
        .args(["consume", "--nats", url, "--worker-id", name])
        .arg("--state-dir")
        .arg(&state)
        .arg("--out")
        .arg(&out)
        .args([
            "--exit-when-idle",
            "3s",
            "--lease-timeout",
            "3s",
            "--poll-interval",
            "500ms",
            "--stats-every",
            "2s",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start worker");
    Worker {
        child,
        name: name.into(),
        log,
        out,
    }
}

/// The scenario: generated multi-account traffic (March 2026), then the benign and
/// attack-chain fixtures (June 2026), so event time only moves forward across files.
pub fn scenario(dir: &Path, generated: usize) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let gen = dir.join("a-generated.ndjson");
    let vpn = vpnrecon_host::generate::vpn_addresses(2);
    let mut g = vpnrecon_host::generate::Generator::new(13, 0.08, &vpn);
    let mut f = fs::File::create(&gen).expect("create");
    for _ in 0..generated {
        writeln!(f, "{}", g.event().json).expect("write");
    }
    vec![
        gen,
        root.join("tests/fixtures/benign.ndjson"),
        root.join("tests/fixtures/attack_chain.ndjson"),
    ]
}

pub fn path_args(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

/// (eventID, rule id) of an annotated record.
pub fn key_of(line: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(line).expect("detection is JSON");
    let event = v
        .get("eventID")
        .and_then(|e| e.as_str())
        .expect("eventID")
        .to_owned();
    let rule = v
        .pointer("/detection/rule/id")
        .and_then(|r| r.as_str())
        .expect("detection.rule.id")
        .to_owned();
    (event, rule)
}

/// The detections of one `vpnrecon replay --mode alerts` of `paths`: the truth.
pub fn replay_truth(dir: &Path, paths: &[PathBuf]) -> BTreeSet<(String, String)> {
    let out = dir.join("replay.ndjson");
    let mut args = vec!["replay".to_owned(), "--mode".into(), "alerts".into()];
    args.push("--out".into());
    args.push(out.display().to_string());
    args.extend(path_args(paths));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    vpnrecon(&args);
    let mut set = BTreeSet::new();
    for line in fs::read(&out).expect("read").split(|b| *b == b'\n') {
        if !line.is_empty() {
            assert!(set.insert(key_of(line)), "replay repeated a detection");
        }
    }
    set
}

/// Every line of the workers' --out files; panics on a repeated detection.
pub fn out_set(files: &[PathBuf]) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for file in files {
        for line in fs::read(file).unwrap_or_default().split(|b| *b == b'\n') {
            if !line.is_empty() {
                let key = key_of(line);
                assert!(set.insert(key.clone()), "--out repeats {key:?}");
            }
        }
    }
    set
}

/// Every message of VPNRECON_DETECTIONS: its key, and how many messages there were.
pub fn detections_stream(url: &str) -> (BTreeSet<(String, String)>, usize) {
    let rt = rt();
    rt.block_on(async {
        let client = async_nats::connect(url.split(',').collect::<Vec<_>>())
            .await
            .expect("connect");
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream("VPNRECON_DETECTIONS").await.expect("stream");
        let state = stream.info().await.expect("info").state.clone();
        let mut set = BTreeSet::new();
        let mut count = 0;
        // By sequence (no consumer: one could be placed on a server that is down).
        if state.messages > 0 {
            for seq in state.first_sequence..=state.last_sequence {
                let m = stream
                    .get_raw_message(seq)
                    .await
                    .expect("detection message");
                count += 1;
                set.insert(key_of(&m.payload));
            }
        }
        (set, count)
    })
}

/// Which partitions (of 8) the truth's detections fall in, by account.
pub fn partitions_of(truth_lines: &Path) -> BTreeMap<u32, usize> {
    let mut by = BTreeMap::new();
    for line in fs::read(truth_lines).expect("read").split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let token = vpnrecon_host::scale::keys::account_token(line);
        *by.entry(vpnrecon_host::scale::keys::partition_of(&token, 8))
            .or_insert(0) += 1;
    }
    by
}
