//! `vpnrecon respond`: containment plans from alerts, one folder per identity, for a
//! person to review and run or a SOAR to execute.
//!
//! * IAM user with an access key: deactivate exactly the keys the alerts name
//!   (`aws iam update-access-key … --status Inactive`); nothing else of the user
//!   changes, so the owner's other keys and console access keep working.
//! * Role session (assumed role, EC2 instance role, Lambda, ECS…): an inline deny-all
//!   policy on the role, conditioned on `aws:TokenIssueTime` before the last alert:
//!   every session issued up to then (the stolen one among them) stops working,
//!   sessions issued afterwards work, so the workload recovers by itself.
//! * Root: IAM policies do not bind root, so the plan is the steps that do.
//!
//! Nothing is run here. Each folder holds `README.md` (what it does and undoes),
//! `commands.sh`, `undo.sh`, `plan.json` and, for roles, `policy.json`.

use crate::input::{self, InputStats};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use vpnrecon_filter::event::parse_event_time;
use vpnrecon_filter::output::format_time;

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the plans (one folder per identity). Default: ./vpnrecon-response.
    #[arg(long, value_name = "DIR", default_value = "vpnrecon-response")]
    pub out: PathBuf,
    /// Alerts: records with a `detection` (replay output, alerts or annotate mode) or
    /// bare detection objects; NDJSON, .gz, directories, or - for stdin.
    #[arg(required = true)]
    pub alerts: Vec<PathBuf>,
}

/// One alert, as far as containment needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub rule_id: String,
    pub arn: String,
    pub identity_type: Option<String>,
    pub access_key_id: Option<String>,
    pub account_id: Option<String>,
    pub time: i64,
    pub source_ip: Option<String>,
    pub asn: Option<u64>,
    pub action: Option<String>,
}

/// What kind of principal the alerts are about, and so which plan applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    User {
        account: String,
        name: String,
    },
    Role {
        account: String,
        name: String,
    },
    Root {
        account: String,
    },
    /// Federated users, web identities, anything the plans do not cover.
    Other {
        account: String,
        arn: String,
    },
}

impl Principal {
    /// From the ARN: `…:user/[path/]NAME`, `…:assumed-role/ROLE/SESSION`, `…:root`.
    pub fn of(alert: &Alert) -> Principal {
        let arn = alert.arn.as_str();
        let account = arn
            .split(':')
            .nth(4)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .or_else(|| alert.account_id.clone())
            .unwrap_or_default();
        let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
        if alert.identity_type.as_deref() == Some("Root") || resource == "root" {
            return Principal::Root { account };
        }
        if let Some(path) = resource.strip_prefix("assumed-role/") {
            if let Some(role) = path.split('/').next().filter(|r| !r.is_empty()) {
                return Principal::Role {
                    account,
                    name: role.to_owned(),
                };
            }
        }
        if let Some(path) = resource.strip_prefix("user/") {
            if let Some(name) = path.rsplit('/').next().filter(|n| !n.is_empty()) {
                return Principal::User {
                    account,
                    name: name.to_owned(),
                };
            }
        }
        Principal::Other {
            account,
            arn: arn.to_owned(),
        }
    }

    fn account(&self) -> &str {
        match self {
            Principal::User { account, .. }
            | Principal::Role { account, .. }
            | Principal::Root { account }
            | Principal::Other { account, .. } => account,
        }
    }

    /// Folder name: account, kind and name, in characters safe in any file system.
    pub fn folder(&self) -> String {
        let raw = match self {
            Principal::User { account, name } => format!("{account}-user-{name}"),
            Principal::Role { account, name } => format!("{account}-role-{name}"),
            Principal::Root { account } => format!("{account}-root"),
            Principal::Other { account, arn } => {
                format!("{account}-other-{}", arn.rsplit(':').next().unwrap_or(arn))
            }
        };
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+' | '=') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// Reads every alert under `paths`. Records without a detection are skipped; a
/// record that is not JSON is an error naming its place.
pub fn read_alerts(paths: &[PathBuf]) -> Result<Vec<Alert>> {
    let mut stats = InputStats::default();
    let mut alerts = Vec::new();
    for source in input::walk(paths, &mut stats)? {
        let mut number = 0u64;
        let file = source.display();
        input::read_records(&source, true, &mut stats, &mut |record, _| {
            number += 1;
            let value: Value = serde_json::from_slice(record).with_context(|| {
                format!("{file} record {number} is not JSON; respond reads the NDJSON that `vpnrecon replay` writes")
            })?;
            let detection = value.get("detection").unwrap_or(&value);
            let events = match detection.get("events").and_then(Value::as_array) {
                Some(events) => events.iter().collect(),
                None => vec![detection],
            };
            for d in events {
                if let Some(alert) = alert_of(d) {
                    alerts.push(alert);
                }
            }
            Ok(())
        })?;
    }
    Ok(alerts)
}

/// The containment facts of one detection object (`None` if it is not one).
fn alert_of(d: &Value) -> Option<Alert> {
    let text = |path: &[&str]| -> Option<String> {
        let mut v = d;
        for p in path {
            v = v.get(p)?;
        }
        v.as_str().map(str::to_owned)
    };
    let rule_id = text(&["rule", "id"])?;
    let arn = text(&["identity", "arn"])?;
    let time = text(&["event", "time"]).and_then(|t| parse_event_time(&t))?;
    Some(Alert {
        rule_id,
        arn,
        identity_type: text(&["identity", "type"]),
        access_key_id: text(&["identity", "access_key_id"]),
        account_id: text(&["identity", "account_id"]),
        time,
        source_ip: text(&["source", "ip"]),
        asn: d
            .get("source")
            .and_then(|s| s.get("as"))
            .and_then(|a| a.get("number"))
            .and_then(Value::as_u64),
        action: text(&["event", "action"]),
    })
}

/// Long-term IAM user keys start `AKIA`; temporary (STS) ones `ASIA`.
fn is_long_term_key(key: &str) -> bool {
    key.starts_with("AKIA")
}

/// The plan for one principal: the files of its folder.
#[derive(Debug, Clone)]
pub struct Plan {
    pub principal: Principal,
    pub folder: String,
    pub files: BTreeMap<&'static str, String>,
}

pub fn plans(alerts: &[Alert]) -> Vec<Plan> {
    let mut by_principal: BTreeMap<Principal, Vec<&Alert>> = BTreeMap::new();
    for alert in alerts {
        by_principal
            .entry(Principal::of(alert))
            .or_default()
            .push(alert);
    }
    by_principal
        .into_iter()
        .map(|(principal, alerts)| plan(principal, &alerts))
        .collect()
}

fn plan(principal: Principal, alerts: &[&Alert]) -> Plan {
    let folder = principal.folder();
    let last = alerts.iter().map(|a| a.time).max().unwrap_or_default();
    let first = alerts.iter().map(|a| a.time).min().unwrap_or_default();
    let keys: BTreeSet<&str> = alerts
        .iter()
        .filter_map(|a| a.access_key_id.as_deref())
        .collect();
    let evidence = evidence(alerts);
    let account = principal.account().to_owned();
    let mut files = BTreeMap::new();
    let guard = account_guard(&account);
    match &principal {
        Principal::User { name, .. } => {
            let long_term: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| is_long_term_key(k))
                .collect();
            let mut commands = String::new();
            let mut undo = String::new();
            for key in &long_term {
                commands.push_str(&format!(
                    "aws iam update-access-key --user-name {} --access-key-id {} --status Inactive\n",
                    shell_word(name),
                    shell_word(key)
                ));
                undo.push_str(&format!(
                    "aws iam update-access-key --user-name {} --access-key-id {} --status Active\n",
                    shell_word(name),
                    shell_word(key)
                ));
            }
            let temporary: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| !is_long_term_key(k))
                .collect();
            let does = if long_term.is_empty() {
                format!("The alerts name no long-term access key of IAM user `{name}`, so there is no key to deactivate. Review the user's console sessions and keys by hand (`aws iam list-access-keys --user-name {name}`).")
            } else {
                format!(
                    "Deactivates access key{} {} of IAM user `{name}` — only the key{} the alerts name. The user's other keys, password and console access are not touched. Then rotate: create a new key for the owner, and delete the old one once nothing legitimate uses it.",
                    if long_term.len() == 1 { "" } else { "s" },
                    long_term.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                    if long_term.len() == 1 { "" } else { "s" },
                )
            };
            let temp_note = if temporary.is_empty() {
                String::new()
            } else {
                format!("\n\nTemporary credentials ({}) were also used; they were issued to this user (e.g. by `GetSessionToken`) and expire on their own. To end them early, also run the role-style plan by hand: an inline deny on the user conditioned on `aws:TokenIssueTime`.", temporary.join(", "))
            };
            files.insert("commands.sh", script(&guard, &commands));
            files.insert("undo.sh", script(&guard, &undo));
            files.insert(
                "README.md",
                readme(
                    &principal,
                    &format!("{does}{temp_note}"),
                    "Reactivates the same keys (`undo.sh`). Do this only once the owner confirms the calls were theirs.",
                    &evidence,
                ),
            );
            files.insert(
                "plan.json",
                pretty(&json!({
                    "principal": {"kind": "iam-user", "account": account, "user_name": name},
                    "actions": long_term.iter().map(|k| json!({
                        "api": "iam:UpdateAccessKey", "user_name": name, "access_key_id": k, "status": "Inactive",
                    })).collect::<Vec<_>>(),
                    "undo": long_term.iter().map(|k| json!({
                        "api": "iam:UpdateAccessKey", "user_name": name, "access_key_id": k, "status": "Active",
                    })).collect::<Vec<_>>(),
                    "alerts": alerts.len(),
                    "first_alert": format_time(first),
                    "last_alert": format_time(last),
                })),
            );
        }
        Principal::Role { name, .. } => {
            // A session issued in the same second as the call it made is covered too.
            let cutoff = format_time(last.saturating_add(1));
            let policy_name = format!(
                "vpnrecon-revoke-sessions-before-{}",
                compact_time(last.saturating_add(1))
            );
            let policy = json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "VpnreconRevokeOlderSessions",
                    "Effect": "Deny",
                    "Action": ["*"],
                    "Resource": ["*"],
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
                }],
            });
            let service_linked = name.starts_with("AWSServiceRoleFor");
            let commands = if service_linked {
                String::new()
            } else {
                format!(
                    "aws iam put-role-policy --role-name {} --policy-name {} --policy-document file://policy.json\n",
                    shell_word(name),
                    shell_word(&policy_name)
                )
            };
            let undo = if service_linked {
                String::new()
            } else {
                format!(
                    "aws iam delete-role-policy --role-name {} --policy-name {}\n",
                    shell_word(name),
                    shell_word(&policy_name)
                )
            };
            let does = if service_linked {
                format!("`{name}` is a service-linked role: IAM refuses policies on it, so no command is written. Contain the caller instead (the service or resource whose credentials were used) and open a case with AWS support.")
            } else {
                format!("Puts the inline policy `{policy_name}` (`policy.json`) on role `{name}`: it denies every action to any session of the role issued before {cutoff} (`aws:TokenIssueTime`), which ends the session(s) seen in the alerts. Sessions issued later are not affected, so EC2 instances, Lambda functions and tasks pick up fresh credentials and keep working. Then find out how the credentials left AWS (instance metadata reachable from outside? IMDSv2 enforced? leaked environment?).")
            };
            files.insert("policy.json", pretty(&policy));
            files.insert("commands.sh", script(&guard, &commands));
            files.insert("undo.sh", script(&guard, &undo));
            files.insert(
                "README.md",
                readme(
                    &principal,
                    &does,
                    "Deletes that inline policy (`undo.sh`). Leave it in place until the sessions it blocks have expired (at most 12 hours for role sessions, 36 hours for role chaining) — after that it no longer changes anything and can go.",
                    &evidence,
                ),
            );
            files.insert(
                "plan.json",
                pretty(&json!({
                    "principal": {"kind": "iam-role", "account": account, "role_name": name},
                    "actions": if service_linked { json!([]) } else { json!([{
                        "api": "iam:PutRolePolicy", "role_name": name, "policy_name": policy_name, "policy_document": policy,
                    }]) },
                    "undo": if service_linked { json!([]) } else { json!([{
                        "api": "iam:DeleteRolePolicy", "role_name": name, "policy_name": policy_name,
                    }]) },
                    "token_issue_time_before": cutoff,
                    "alerts": alerts.len(),
                    "first_alert": format_time(first),
                    "last_alert": format_time(last),
                })),
            );
        }
        Principal::Root { .. } => {
            let key_steps: String = keys
                .iter()
                .map(|k| format!("   - `{k}`: signed in as root, *Security credentials → Access keys*: deactivate, then delete it (root should have no access keys).\n"))
                .collect();
            let steps = format!(
                "The account's root user was used. IAM policies cannot restrict root, so containment is done as root or from the organisation:\n\n\
                 1. Sign in as root and change the password; check the MFA devices (remove unknown ones, add one if none).\n\
                 2. Access keys of root:\n{}\
                 3. If the account is a member of an AWS Organization, a service control policy can deny actions to the member account's root; the management account's root cannot be restricted that way.\n\
                 4. Review what was done with root in CloudTrail (`userIdentity.type = Root`) since the first alert, and check the account's contact details and alternate contacts.\n",
                if key_steps.is_empty() {
                    "   - the alerts name no access key: list them as root (*Security credentials*) and delete any.\n".to_owned()
                } else {
                    key_steps
                }
            );
            files.insert(
                "commands.sh",
                script(&guard, "# Root is contained by hand: see README.md.\n"),
            );
            files.insert(
                "undo.sh",
                script(&guard, "# Nothing to undo automatically: see README.md.\n"),
            );
            files.insert(
                "README.md",
                readme(&principal, &steps, "A deleted root access key cannot be restored; none is needed for normal operation.", &evidence),
            );
            files.insert(
                "plan.json",
                pretty(&json!({
                    "principal": {"kind": "root", "account": account},
                    "actions": [],
                    "manual_steps": true,
                    "access_keys": keys.iter().collect::<Vec<_>>(),
                    "alerts": alerts.len(),
                    "first_alert": format_time(first),
                    "last_alert": format_time(last),
                })),
            );
        }
        Principal::Other { arn, .. } => {
            let steps = format!("`{arn}` is neither an IAM user, a role session nor root (a federated user or another identity type), so no command is written. For a federated user (`GetFederationToken`), put an inline deny conditioned on `aws:TokenIssueTime` on the IAM user that issued the token; for a web or SAML identity, contain it at the identity provider.");
            files.insert(
                "commands.sh",
                script(&guard, "# No automatic plan: see README.md.\n"),
            );
            files.insert("undo.sh", script(&guard, "# Nothing to undo.\n"));
            files.insert(
                "README.md",
                readme(&principal, &steps, "Nothing to undo.", &evidence),
            );
            files.insert(
                "plan.json",
                pretty(&json!({
                    "principal": {"kind": "other", "account": account, "arn": arn},
                    "actions": [],
                    "manual_steps": true,
                    "alerts": alerts.len(),
                })),
            );
        }
    }
    Plan {
        principal,
        folder,
        files,
    }
}

/// Refuses to run with credentials of another account than the alert's.
fn account_guard(account: &str) -> String {
    if account.is_empty() {
        return String::new();
    }
    format!(
        "expected_account={}\n\
         actual_account=$(aws sts get-caller-identity --query Account --output text)\n\
         if [ \"$actual_account\" != \"$expected_account\" ]; then\n    \
         echo \"these credentials are for account $actual_account; this plan is for account $expected_account\" >&2\n    \
         exit 1\n\
         fi\n",
        shell_word(account)
    )
}

fn script(guard: &str, body: &str) -> String {
    format!(
        "#!/usr/bin/env bash\n# Written by `vpnrecon respond`; read README.md before running.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n{guard}{body}"
    )
}

fn readme(principal: &Principal, does: &str, undoes: &str, evidence: &str) -> String {
    format!(
        "# Containment plan: {}\n\n## What it does\n\n{does}\n\nRun `commands.sh` with credentials for account {} that may change IAM (it checks the account first).\n\n## How to undo\n\n{undoes}\n\n## Evidence\n\n{evidence}",
        principal_label(principal),
        principal.account()
    )
}

fn principal_label(p: &Principal) -> String {
    match p {
        Principal::User { account, name } => format!("IAM user `{name}` in {account}"),
        Principal::Role { account, name } => format!("role `{name}` in {account}"),
        Principal::Root { account } => format!("root of {account}"),
        Principal::Other { account, arn } => format!("`{arn}` in {account}"),
    }
}

fn evidence(alerts: &[&Alert]) -> String {
    let mut out = String::from(
        "| time | rule | principal | access key | source | action |\n|---|---|---|---|---|---|\n",
    );
    let mut sorted: Vec<&&Alert> = alerts.iter().collect();
    sorted.sort_by_key(|a| a.time);
    for a in sorted {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {}{} | {} |\n",
            format_time(a.time),
            a.rule_id,
            a.arn,
            a.access_key_id.as_deref().unwrap_or("-"),
            a.source_ip.as_deref().unwrap_or("-"),
            a.asn.map_or(String::new(), |n| format!(" (AS{n})")),
            a.action.as_deref().unwrap_or("-"),
        ));
    }
    out
}

/// `2026-06-01T12:03:11Z` → `20260601T120311Z` (IAM policy names allow no colons).
fn compact_time(t: i64) -> String {
    format_time(t).replace(['-', ':'], "")
}

/// A word for the shell: IAM names and key ids are `[\w+=,.@-]`, which need no
/// quoting; anything else is single-quoted.
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes the plans under `out`, one folder each, and an index.
pub fn write(plans: &[Plan], out: &Path) -> Result<()> {
    fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let mut index = String::from("# Containment plans\n\nOne folder per identity; read its README.md, then run its commands.sh.\n\n");
    for plan in plans {
        let dir = out.join(&plan.folder);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in &plan.files {
            let path = dir.join(name);
            fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            if name.ends_with(".sh") {
                make_executable(&path)?;
            }
        }
        index.push_str(&format!(
            "- [{}]({}/README.md)\n",
            principal_label(&plan.principal),
            plan.folder
        ));
    }
    let path = out.join("README.md");
    fs::write(&path, index).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}

pub fn run(args: &Args) -> Result<()> {
    let alerts = read_alerts(&args.alerts)?;
    if alerts.is_empty() {
        bail!("no detections found in the input; respond reads records with a `detection` member (the output of `vpnrecon replay --mode alerts`)");
    }
    let plans = plans(&alerts);
    write(&plans, &args.out)?;
    eprintln!(
        "wrote {} containment plans for {} alerts under {} (nothing was run)",
        plans.len(),
        alerts.len(),
        args.out.display()
    );
    for plan in &plans {
        eprintln!("  {}/{}", args.out.display(), plan.folder);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(arn: &str, kind: &str, key: Option<&str>) -> Alert {
        Alert {
            rule_id: "vpnrecon-discovery-vpn-new-identity".into(),
            arn: arn.into(),
            identity_type: Some(kind.into()),
            access_key_id: key.map(str::to_owned),
            account_id: Some("111122223333".into()),
            time: 1_780_315_391,
            source_ip: None,
            asn: None,
            action: None,
        }
    }

    #[test]
    fn principals_from_arns() {
        let p = |arn, kind| Principal::of(&alert(arn, kind, None));
        assert_eq!(
            p("arn:aws:iam::111122223333:user/dev/alice", "IAMUser"),
            Principal::User {
                account: "111122223333".into(),
                name: "alice".into()
            }
        );
        assert_eq!(
            p(
                "arn:aws:sts::111122223333:assumed-role/app-role/i-0123456789abcdef0",
                "AssumedRole"
            ),
            Principal::Role {
                account: "111122223333".into(),
                name: "app-role".into()
            }
        );
        assert_eq!(
            p("arn:aws:iam::111122223333:root", "Root"),
            Principal::Root {
                account: "111122223333".into()
            }
        );
        assert!(matches!(
            p(
                "arn:aws:sts::111122223333:federated-user/bob",
                "FederatedUser"
            ),
            Principal::Other { .. }
        ));
    }

    #[test]
    fn only_long_term_keys_are_deactivated() {
        let alerts = [
            alert(
                "arn:aws:iam::111122223333:user/alice",
                "IAMUser",
                Some("AKIAAAAAAAAAAAAAAAAA"),
            ),
            alert(
                "arn:aws:iam::111122223333:user/alice",
                "IAMUser",
                Some("ASIABBBBBBBBBBBBBBBB"),
            ),
        ];
        let plans = plans(&alerts);
        assert_eq!(plans.len(), 1);
        let commands = &plans[0].files["commands.sh"];
        assert!(commands.contains("--access-key-id AKIAAAAAAAAAAAAAAAAA --status Inactive"));
        assert!(!commands.contains("ASIABBBBBBBBBBBBBBBB"));
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(
            shell_word("alice.smith@example.com"),
            "alice.smith@example.com"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("a b"), "'a b'");
    }
}
