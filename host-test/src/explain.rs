//! `vpnrecon explain`: for each event of a file, the shape it was found in, the
//! fields read, every condition of rules A and B with its value, and the verdict.
//!
//! Events are judged in file order by the filter crate's own evaluator, so an event
//! sees the history the earlier ones left, exactly as in a replay. The words come
//! from `Evaluator::explain` (which reads configuration and state only); then the
//! real `Evaluator::evaluate` runs, and if the two ever disagree the output says so.
//! A given state directory is copied first: the user's state is never written.

use crate::fluent_bit_config::load_active;
use crate::input::{self, InputStats};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use vpnrecon_filter::config::{self, Config};
use vpnrecon_filter::event::Event;
use vpnrecon_filter::output::format_time;
use vpnrecon_filter::record::{visit_events, Shape};
use vpnrecon_filter::rules::explain::Explanation;
use vpnrecon_filter::rules::{Evaluator, TimeSource};
use vpnrecon_filter::state::{State, StateConfig};
use vpnrecon_filter::{Counters, RecordTime};

#[derive(clap::Args)]
pub struct Args {
    /// State directory whose history the events are judged against (it is copied;
    /// the copy is used and thrown away). Default: empty history.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Configuration (default: DIR/vpnrecon.toml when --state-dir holds one, else the
    /// built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// One JSON object per event (NDJSON) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Any input `replay` reads: .json, .ndjson, .gz, a directory, or - for stdin.
    #[arg(required = true)]
    pub file: PathBuf,
}

/// One explained event (or a record that holds none), ready to print.
#[derive(Debug, Clone)]
pub struct Explained {
    pub json: Value,
    pub text: String,
    /// The rule id that fired.
    pub fired: Option<&'static str>,
    /// `explain` and `evaluate` disagreed (a bug; reported, never hidden).
    pub inconsistent: bool,
}

/// Explains every event under `path` against `config` and the history in
/// `state_dir` (copied into `scratch`).
pub fn explain_path(
    path: &Path,
    config: Config,
    config_file: Option<String>,
    state_dir: Option<&Path>,
    scratch: &Path,
) -> Result<Vec<Explained>> {
    let state_config = StateConfig::from(&config);
    let state = match state_dir {
        Some(dir) => {
            copy_state(dir, scratch)?;
            State::open(state_config, scratch)
        }
        None => State::in_memory(state_config),
    };
    let loaded = config::Loaded {
        config,
        source: match config_file {
            Some(file) => config::Source::File(file),
            None => config::Source::Defaults,
        },
        error: None,
    };
    let mut evaluator = Evaluator::new(loaded, state);
    let mut counters = Counters::default();
    let mut stats = InputStats::default();
    let mut out = Vec::new();
    let mut last_time = RecordTime::default();
    for source in input::walk(&[path.to_path_buf()], &mut stats)? {
        let mut record_number = 0u64;
        let file = source.display();
        input::read_records(&source, true, &mut stats, &mut |record, time| {
            record_number += 1;
            if let Some(t) = time {
                last_time = t;
            }
            let mut events = Vec::new();
            let shape = visit_events(record, &mut |slot| {
                let explanation = evaluator.explain(slot.event, last_time);
                let detection =
                    evaluator.evaluate(slot.index, slot.event, last_time, &mut counters);
                let fired = detection.map(|d| d.rule.id());
                events.push((slot.index, fields(slot.event), explanation, fired));
            });
            let place = format!("{file} record {record_number}");
            match shape {
                Err(e) => out.push(no_event(&place, &format!("not evaluated: {e}"))),
                Ok(_) if events.is_empty() => out.push(no_event(
                    &place,
                    "no event: the record is none of the shapes vpnrecon reads",
                )),
                Ok(shape) => {
                    for (index, fields, explanation, fired) in events {
                        out.push(render(&place, shape, index, &fields, &explanation, fired));
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

pub fn run(args: &Args) -> Result<()> {
    let active = match (&args.config, &args.state_dir) {
        (None, None) => None,
        (explicit, dir) => Some(
            load_active(
                explicit.as_deref(),
                dir.as_deref().unwrap_or(Path::new(".")),
            )
            .map_err(anyhow::Error::msg)?,
        ),
    };
    let (config, file) = match active {
        Some(active) => (active.config, active.file),
        None => (Config::default(), None),
    };
    let scratch = tempfile::tempdir().context("creating a scratch state directory")?;
    let explained = explain_path(
        &args.file,
        config,
        file,
        args.state_dir.as_deref(),
        scratch.path(),
    )?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written: Result<()> = (|| {
        for e in &explained {
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&e.json)?)?;
            } else {
                writeln!(out, "{}", e.text)?;
            }
        }
        Ok(())
    })();
    crate::ignore_broken_pipe(written)?;
    let inconsistent = explained.iter().filter(|e| e.inconsistent).count();
    if inconsistent > 0 {
        anyhow::bail!("{inconsistent} explanations disagree with the evaluation; please report this with the input");
    }
    Ok(())
}

/// Copies the regular files of `dir` (journal, configuration) into `scratch`.
fn copy_state(dir: &Path, scratch: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read the state directory {} (--state-dir): check the path",
            dir.display()
        )
    })?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            let target = scratch.join(entry.file_name());
            fs::copy(entry.path(), &target).with_context(|| {
                format!("copying {} to a scratch directory", entry.path().display())
            })?;
        }
    }
    Ok(())
}

fn shape_name(shape: Shape) -> String {
    match shape {
        Shape::Raw => "raw CloudTrail event".to_owned(),
        Shape::Batch => "S3 delivery file (Records)".to_owned(),
        Shape::EventBridge => "EventBridge envelope (detail)".to_owned(),
        Shape::Wrapped(key) => format!("JSON text in the `{}` field", key.as_str()),
        Shape::Ecs => "ECS document".to_owned(),
        Shape::Unknown => "unrecognised".to_owned(),
    }
}

/// The fields the rules read, by their contract names.
fn fields(event: &Event<'_>) -> Vec<(&'static str, String)> {
    let all = [
        ("action", &event.action),
        ("provider", &event.provider),
        ("time", &event.time),
        ("source_ip", &event.source_ip),
        ("error_code", &event.error_code),
        ("principal_arn", &event.arn),
        ("identity_type", &event.identity_type),
        ("access_key_id", &event.access_key_id),
        ("user_name", &event.user_name),
        ("role_name", &event.role_name),
        ("account_id", &event.account_id),
        ("region", &event.region),
    ];
    let mut out: Vec<(&'static str, String)> = all
        .iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (*name, v.to_owned())))
        .collect();
    out.push(("outcome", event.outcome().as_str().to_owned()));
    out
}

fn no_event(place: &str, why: &str) -> Explained {
    Explained {
        json: json!({"place": place, "shape": null, "verdict": why, "fires": null}),
        text: format!("{place}: {why}\n"),
        fired: None,
        inconsistent: false,
    }
}

fn render(
    place: &str,
    shape: Shape,
    index: Option<usize>,
    fields: &[(&'static str, String)],
    x: &Explanation,
    fired: Option<&'static str>,
) -> Explained {
    let predicted = x.fires.map(|r| r.id());
    let inconsistent = predicted != fired;
    let mut t = String::new();
    let at = index.map_or(String::new(), |i| format!(" event {i}"));
    t.push_str(&format!("{place}{at} ({})\n", shape_name(shape)));
    t.push_str("  fields read:\n");
    for (name, value) in fields {
        t.push_str(&format!("    {name:<14} {value}\n"));
    }
    if let Some(error) = &x.config_error {
        t.push_str(&format!(
            "  configuration error (rules run on the defaults): {error}\n"
        ));
    }
    t.push_str("  conditions shared by rules A and B:\n");
    for c in &x.conditions {
        let mark = if c.passed { "yes" } else { "NO " };
        t.push_str(&format!("    [{mark}] {:<14} {}\n", c.name, c.detail));
    }
    if let Some(w) = &x.workload {
        t.push_str(&format!("  workload: {}\n", w.detail));
    }
    if let Some(a) = &x.rule_a {
        t.push_str(&format!(
            "  rule A (vpnrecon-discovery-vpn-new-identity{}): key {}; {}\n",
            if a.enabled { "" } else { ", disabled" },
            a.key,
            a.detail
        ));
    }
    if let Some(b) = &x.rule_b {
        t.push_str(&format!(
            "  rule B (vpnrecon-discovery-vpn-workload{}): key {}; hour from {}: {}\n",
            if b.enabled { "" } else { ", disabled" },
            b.key,
            format_time(b.hour_start),
            if b.first_this_hour {
                "first time this hour"
            } else {
                "already alerted this hour"
            }
        ));
    }
    t.push_str(&format!("  verdict: {}\n", x.verdict));
    if inconsistent {
        t.push_str(&format!(
            "  WARNING: the evaluation gave {} where the explanation predicted {}\n",
            fired.unwrap_or("no detection"),
            predicted.unwrap_or("no detection")
        ));
    }
    let field_map: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
        .collect();
    let json = json!({
        "place": place,
        "index": index,
        "shape": shape_name(shape),
        "fields": field_map,
        "conditions": x.conditions.iter().map(|c| json!({
            "name": c.name, "passed": c.passed, "detail": c.detail,
        })).collect::<Vec<_>>(),
        "candidate": x.candidate,
        "normalised_action": x.normalised_action,
        "source_as": x.asn.map(|n| json!({
            "number": n, "organisation": x.organisation, "category": x.category,
        })),
        "time": x.time.map(|(t, source)| json!({
            "value": format_time(t),
            "source": match source { TimeSource::Event => "event", TimeSource::Record => "record" },
        })),
        "workload": x.workload.as_ref().map(|w| json!({"workload": w.workload, "detail": w.detail})),
        "rule_a": x.rule_a.as_ref().map(|a| json!({
            "enabled": a.enabled,
            "key": a.key,
            "event_time": format_time(a.event_time),
            "last_seen": a.last_seen.map(format_time),
            "gap_seconds": a.last_seen.map(|l| a.event_time - l),
            "window_seconds": a.window_secs,
            "new": a.new,
            "detail": a.detail,
        })),
        "rule_b": x.rule_b.as_ref().map(|b| json!({
            "enabled": b.enabled,
            "key": b.key,
            "hour_start": format_time(b.hour_start),
            "first_this_hour": b.first_this_hour,
        })),
        "fires": fired,
        "verdict": x.verdict,
        "config_error": x.config_error,
        "consistent": !inconsistent,
    });
    Explained {
        json,
        text: t,
        fired,
        inconsistent,
    }
}
