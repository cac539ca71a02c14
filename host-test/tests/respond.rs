//! `vpnrecon respond`: plans checked against the alerts read independently, and run
//! against a real IAM API emulator (moto in server mode) with the real AWS CLI,
//! then checked with boto3: exactly the alerted key is inactive, the deny policy is
//! on the alerted roles with the right `aws:TokenIssueTime` condition, nothing else
//! changed, and undo restores the key.
//!
//! The emulator test needs a Python virtual environment with the packages pinned in
//! `tests/respond-requirements.txt` at `target/respond-venv` (or `$VPNRECON_RESPOND_VENV`);
//! `scripts/test-all.sh` makes it. Without it the test says it was skipped, except
//! under CI, where a missing environment is a failure.

#![cfg(feature = "native")]

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

fn vpnrecon(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_vpnrecon"))
        .args(args)
        .output()
        .expect("run vpnrecon");
    assert!(
        out.status.success(),
        "vpnrecon {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Replays `inputs` in alerts mode (native host, fresh state) into `alerts`.
fn alerts_of(inputs: &[&Path], alerts: &Path) {
    let mut args = vec!["replay", "--host", "native", "--mode", "alerts", "--out"];
    args.push(alerts.to_str().expect("utf-8"));
    for i in inputs {
        args.push(i.to_str().expect("utf-8"));
    }
    vpnrecon(&args);
}

#[test]
fn one_plan_per_alerted_identity_naming_exactly_its_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = dir.path().join("alerts.ndjson");
    let fixtures = repo().join("tests/fixtures");
    alerts_of(
        &[
            &fixtures.join("attack_chain.ndjson"),
            &fixtures.join("clauses/13-workload-ec2-instance.ndjson"),
            &fixtures.join("clauses/14-workload-roles.ndjson"),
            &fixtures.join("clauses/08-arn-fallback.ndjson"),
        ],
        &alerts,
    );
    // Independent reading of the alerts: principals from the ARNs, keys per user.
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut roles: BTreeSet<String> = BTreeSet::new();
    let mut roots: BTreeSet<String> = BTreeSet::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    let text = std::fs::read_to_string(&alerts).expect("alerts");
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).expect("json");
        let d = &record["detection"];
        let arn = d["identity"]["arn"].as_str().expect("arn");
        let account = arn.split(':').nth(4).expect("account");
        let resource = arn.splitn(6, ':').nth(5).expect("resource");
        if resource == "root" {
            roots.insert(format!("{account}-root"));
        } else if let Some(rest) = resource.strip_prefix("assumed-role/") {
            roles.insert(format!(
                "{account}-role-{}",
                rest.split('/').next().expect("role")
            ));
        } else if let Some(rest) = resource.strip_prefix("user/") {
            let keys = users
                .entry(format!(
                    "{account}-user-{}",
                    rest.rsplit('/').next().expect("name")
                ))
                .or_default();
            keys.extend(
                d["identity"]["access_key_id"]
                    .as_str()
                    .filter(|k| k.starts_with("AKIA"))
                    .map(str::to_owned),
            );
        } else {
            others.insert(arn.to_owned());
        }
    }
    assert!(!users.is_empty() && !roles.is_empty() && !roots.is_empty());

    let out = dir.path().join("plans");
    vpnrecon(&[
        "respond",
        alerts.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let folders: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("plans")
        .filter_map(|e| {
            let e = e.expect("entry");
            e.file_type()
                .expect("type")
                .is_dir()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    let mut want: BTreeSet<String> = users.keys().cloned().collect();
    want.extend(roles.iter().cloned());
    want.extend(roots.iter().cloned());
    let plain: BTreeSet<String> = folders
        .iter()
        .filter(|f| !f.contains("-other-"))
        .cloned()
        .collect();
    assert_eq!(plain, want);
    assert_eq!(
        folders.len() - plain.len(),
        others.len(),
        "one folder per other identity"
    );

    for (folder, keys) in &users {
        let commands =
            std::fs::read_to_string(out.join(folder).join("commands.sh")).expect("commands");
        let deactivated: BTreeSet<String> = commands
            .lines()
            .filter(|l| l.starts_with("aws iam update-access-key"))
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                let at = words
                    .iter()
                    .position(|w| *w == "--access-key-id")
                    .expect("key flag");
                assert!(l.ends_with("--status Inactive"), "{l}");
                words[at + 1].to_owned()
            })
            .collect();
        assert_eq!(&deactivated, keys, "{folder}");
    }
    for folder in &roles {
        let policy: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(folder).join("policy.json")).expect("policy"),
        )
        .expect("policy json");
        assert_eq!(policy["Statement"][0]["Effect"], "Deny");
        assert!(
            policy["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"].is_string()
        );
    }
    for folder in &folders {
        for file in ["README.md", "commands.sh", "undo.sh", "plan.json"] {
            assert!(out.join(folder).join(file).is_file(), "{folder}/{file}");
        }
    }
}

// ---------------------------------------------------------------------------
// Against the emulator

/// The virtual environment with moto, boto3 and the AWS CLI, if there is one.
fn emulator_venv() -> Option<PathBuf> {
    let venv = std::env::var_os("VPNRECON_RESPOND_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/respond-venv"));
    let ready = ["python", "aws", "moto_server"]
        .iter()
        .all(|tool| venv.join("bin").join(tool).is_file());
    ready.then_some(venv)
}

/// The emulator process; stopped (by its own process id) when dropped.
struct Emulator {
    child: Child,
    endpoint: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator(venv: &Path) -> Emulator {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(venv.join("bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let emulator = Emulator {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    emulator
}

/// Environment that points boto3 and the AWS CLI at the emulator and at nothing else.
fn aws_env(cmd: &mut Command, venv: &Path, endpoint: &str) {
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
}

fn python(venv: &Path, endpoint: &str, script: &str) -> Value {
    let mut cmd = Command::new(venv.join("bin/python"));
    cmd.args(["-c", script]);
    aws_env(&mut cmd, venv, endpoint);
    let out = cmd.output().expect("run python");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python prints JSON")
}

const SETUP: &str = r#"
import boto3, json
iam = boto3.client("iam")
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
keys = {}
for user in ["alice", "bob"]:
    iam.create_user(UserName=user)
    keys[user] = [iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for _ in range(2)]
for role in ["analyst", "web-server-role", "untouched-role"]:
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
account = boto3.client("sts").get_caller_identity()["Account"]
print(json.dumps({"keys": keys, "account": account}))
"#;

const STATE: &str = r#"
import boto3, json
iam = boto3.client("iam")
keys = {}
for user in ["alice", "bob"]:
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        keys[k["AccessKeyId"]] = k["Status"]
policies = {}
for role in ["analyst", "web-server-role", "untouched-role"]:
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    policies[role] = {n: iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names}
print(json.dumps({"keys": keys, "policies": policies}))
"#;

/// A CloudTrail event of `who` calling `action` from `ip` at `time`.
fn cloudtrail(
    account: &str,
    who: &Value,
    action: &str,
    provider: &str,
    ip: &str,
    time: &str,
) -> String {
    json!({
        "eventVersion": "1.09",
        "userIdentity": who,
        "eventTime": time,
        "eventSource": format!("{provider}.amazonaws.com"),
        "eventName": action,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "recipientAccountId": account,
    })
    .to_string()
}

fn user(account: &str, name: &str, key: &str) -> Value {
    json!({"type": "IAMUser", "arn": format!("arn:aws:iam::{account}:user/{name}"),
           "accountId": account, "accessKeyId": key, "userName": name})
}

fn role_session(account: &str, role: &str, session: &str, key: &str) -> Value {
    json!({"type": "AssumedRole",
           "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
           "accountId": account, "accessKeyId": key,
           "sessionContext": {"sessionIssuer": {"type": "Role",
               "arn": format!("arn:aws:iam::{account}:role/{role}"),
               "accountId": account, "userName": role}}})
}

fn run_script(script: &Path, venv: &Path, endpoint: &str) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(script);
    aws_env(&mut cmd, venv, endpoint);
    cmd.output().expect("run bash")
}

#[test]
fn plans_run_against_an_iam_emulator() {
    let Some(venv) = emulator_venv() else {
        let why = "SKIPPED plans_run_against_an_iam_emulator: no Python environment with moto, boto3 and awscli at target/respond-venv (or $VPNRECON_RESPOND_VENV); make it with: python3 -m venv target/respond-venv && target/respond-venv/bin/pip install -r host-test/tests/respond-requirements.txt";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("{why}");
        return;
    };
    let emulator = start_emulator(&venv);
    let endpoint = emulator.endpoint.as_str();
    let setup = python(&venv, endpoint, SETUP);
    let account = setup["account"].as_str().expect("account").to_owned();
    let key = |user: &str, i: usize| setup["keys"][user][i].as_str().expect("key").to_owned();
    let (alice_stolen, alice_other) = (key("alice", 0), key("alice", 1));

    // What CloudTrail would log: alice's first key and two role sessions used from
    // VPN networks (tests/fixtures/README.md gives each address's ASN), bob from an
    // ordinary network.
    const M247: &str = "146.70.117.42";
    const MULLVAD: &str = "45.92.0.77";
    const DATACAMP: &str = "85.122.201.17";
    let events = [
        cloudtrail(
            &account,
            &user(&account, "alice", &alice_stolen),
            "ListUsers",
            "iam",
            M247,
            "2026-06-01T12:00:00Z",
        ),
        cloudtrail(
            &account,
            &user(&account, "alice", &alice_stolen),
            "ListRoles",
            "iam",
            M247,
            "2026-06-01T12:00:30Z",
        ),
        cloudtrail(
            &account,
            &user(&account, "bob", &key("bob", 0)),
            "ListUsers",
            "iam",
            "8.8.8.8",
            "2026-06-01T12:01:00Z",
        ),
        cloudtrail(
            &account,
            &role_session(
                &account,
                "analyst",
                "carol@example.com",
                "ASIAEXAMPLEANALYST01",
            ),
            "DescribeInstances",
            "ec2",
            MULLVAD,
            "2026-06-01T13:00:00Z",
        ),
        cloudtrail(
            &account,
            &role_session(
                &account,
                "web-server-role",
                "i-0123456789abcdef0",
                "ASIAEXAMPLEWEBSERVER",
            ),
            "ListBuckets",
            "s3",
            DATACAMP,
            "2026-06-01T14:00:00Z",
        ),
        cloudtrail(
            &account,
            &role_session(
                &account,
                "web-server-role",
                "i-0123456789abcdef0",
                "ASIAEXAMPLEWEBSERVER",
            ),
            "DescribeInstances",
            "ec2",
            DATACAMP,
            "2026-06-01T14:20:00Z",
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("cloudtrail.ndjson");
    std::fs::write(&input, events.join("\n") + "\n").expect("write");
    let alerts = dir.path().join("alerts.ndjson");
    alerts_of(&[&input], &alerts);
    let plans = dir.path().join("plans");
    vpnrecon(&[
        "respond",
        alerts.to_str().expect("utf-8"),
        "--out",
        plans.to_str().expect("utf-8"),
    ]);

    for folder in [
        format!("{account}-user-alice"),
        format!("{account}-role-analyst"),
        format!("{account}-role-web-server-role"),
    ] {
        let out = run_script(&plans.join(&folder).join("commands.sh"), &venv, endpoint);
        assert!(
            out.status.success(),
            "{folder}/commands.sh: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !plans.join(format!("{account}-user-bob")).exists(),
        "bob raised no alert, so has no plan"
    );

    let state = python(&venv, endpoint, STATE);
    let status = |k: &str| state["keys"][k].as_str().unwrap_or("missing").to_owned();
    assert_eq!(
        status(&alice_stolen),
        "Inactive",
        "the alerted key is deactivated"
    );
    assert_eq!(
        status(&alice_other),
        "Active",
        "alice's other key is untouched"
    );
    assert_eq!(status(&key("bob", 0)), "Active");
    assert_eq!(status(&key("bob", 1)), "Active");

    // Each alerted role: exactly one inline deny, issued-before the last alert + 1 s.
    for (role, last_alert) in [
        ("analyst", "2026-06-01T13:00:01Z"),
        ("web-server-role", "2026-06-01T14:20:01Z"),
    ] {
        let policies = state["policies"][role].as_object().expect("policies");
        assert_eq!(policies.len(), 1, "{role}: {policies:?}");
        let doc = policies.values().next().expect("one policy");
        let statement = &doc["Statement"][0];
        assert_eq!(statement["Effect"], "Deny", "{role}");
        assert!(
            statement["Action"] == json!("*") || statement["Action"] == json!(["*"]),
            "{role}"
        );
        assert_eq!(
            statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"], last_alert,
            "{role}"
        );
    }
    assert_eq!(state["policies"]["untouched-role"], json!({}));

    // Undo brings the key back.
    let out = run_script(
        &plans.join(format!("{account}-user-alice/undo.sh")),
        &venv,
        endpoint,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = python(&venv, endpoint, STATE);
    assert_eq!(state["keys"][&alice_stolen], "Active");

    // A plan for another account refuses to run with these credentials.
    let fixtures = repo().join("tests/fixtures");
    let foreign_alerts = dir.path().join("foreign.ndjson");
    alerts_of(&[&fixtures.join("attack_chain.ndjson")], &foreign_alerts);
    let foreign = dir.path().join("foreign");
    vpnrecon(&[
        "respond",
        foreign_alerts.to_str().expect("utf-8"),
        "--out",
        foreign.to_str().expect("utf-8"),
    ]);
    let out = run_script(
        &foreign.join("111122223333-user-alice/commands.sh"),
        &venv,
        endpoint,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("this plan is for account 111122223333"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(emulator);
}
