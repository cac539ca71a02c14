//! The same fixtures through the native engine, the wasm module in wasmtime and the
//! wasm module in WAMR at Fluent Bit's default 8 KiB stack and heap: identical output,
//! byte for byte, in both modes, and not one record lost. Then a fresh instance for
//! every record (state carried only by the journal) against one instance: identical
//! detections.

use vpnrecon_e2e::fixtures::{self, Case};
use vpnrecon_e2e::hosts::{annotate_all, Backend, Host, Mode};
use vpnrecon_e2e::shapes;

/// Every fixture case, plus the attack chain in the other shapes and the benign noise.
fn suites() -> Vec<(String, Option<String>, Vec<String>)> {
    let mut suites: Vec<(String, Option<String>, Vec<String>)> = fixtures::clause_cases()
        .into_iter()
        .map(
            |Case {
                 name,
                 events,
                 config,
                 ..
             }| (name, config, events),
        )
        .collect();
    let chain = fixtures::attack_chain().events;
    suites.push((
        "attack chain, batches".into(),
        None,
        chain.chunks(4).map(shapes::batch).collect(),
    ));
    let mut mixed = Vec::new();
    for line in &chain {
        mixed.push(shapes::eventbridge(line));
        mixed.push(shapes::wrapped(line, "log"));
        mixed.push(shapes::ecs_nested(line).to_string());
        mixed.push(shapes::ecs_dotted(line).to_string());
    }
    suites.push(("attack chain, other shapes".into(), None, mixed));
    suites.push(("attack chain".into(), None, chain.clone()));
    suites.push(("benign".into(), None, fixtures::benign()));
    suites.push(("deep nesting".into(), None, deep_records(&chain)));
    suites
}

/// Records nested far deeper than any real event: a recursive parser overflows WAMR's
/// 8 KiB stack on these. The first is a candidate and fires rule A.
fn deep_records(chain: &[String]) -> Vec<String> {
    let deep = |depth: usize| format!("{}1{}", "[{\"a\":".repeat(depth), "}]".repeat(depth));
    let first = chain.first().cloned().unwrap_or_default();
    vec![
        first.replacen(
            "\"requestParameters\":null",
            &format!("\"requestParameters\":{}", deep(3000)),
            1,
        ),
        format!("{{\"eventName\":\"ListUsers\",\"x\":{}}}", deep(20000)),
        format!(
            "{{\"log\":{}}}",
            serde_json::Value::String(format!(
                "{{\"eventName\":\"ListRoles\",\"x\":{}}}",
                deep(5000)
            ))
        ),
    ]
}

/// `backend` in `mode`, with a fresh instance every `every` records if set.
fn host(backend: Backend, mode: Mode, config: Option<&str>, every: Option<u64>) -> Host {
    Host::open_with(backend, mode, config, |options| {
        options.reinstantiate_every = every;
    })
}

fn outputs(host: &mut Host, records: &[String], lost: &mut Vec<String>) -> Vec<Vec<u8>> {
    records
        .iter()
        .enumerate()
        .map(|(n, r)| {
            host.call(r.as_bytes()).unwrap_or_else(|e| {
                lost.push(format!("record {n}: {e}"));
                Vec::new()
            })
        })
        .collect()
}

#[test]
fn native_wasmtime_and_wamr_give_identical_output() {
    let mut problems = Vec::new();
    for (name, config, records) in suites() {
        for mode in [Mode::Annotate, Mode::Alerts] {
            let mut lost = Vec::new();
            let native = outputs(
                &mut host(Backend::Native, mode, config.as_deref(), None),
                &records,
                &mut lost,
            );
            for backend in [Backend::Wasmtime, Backend::Wamr] {
                let mut wasm = host(backend, mode, config.as_deref(), None);
                let got = outputs(&mut wasm, &records, &mut lost);
                for (n, (a, b)) in native.iter().zip(&got).enumerate() {
                    if a != b {
                        problems.push(format!(
                            "{name} {mode:?} record {n}: native and {backend} differ\n  native: {}\n  {backend}: {}",
                            String::from_utf8_lossy(a),
                            String::from_utf8_lossy(b)
                        ));
                    }
                }
            }
            problems.extend(
                lost.into_iter()
                    .map(|l| format!("{name} {mode:?}: lost {l}")),
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What must not change when the instance does: each firing record's rule and key.
fn detections(host: &mut Host, records: &[String]) -> Vec<(usize, Option<u64>, String)> {
    annotate_all(host, records)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|f| {
            let key = vpnrecon_e2e::expect::get(&f.detection, &["identity", "key"])
                .map(vpnrecon_e2e::expect::text)
                .unwrap_or_default();
            (f.record, f.index, key)
        })
        .collect()
}

#[test]
fn a_fresh_instance_per_record_gives_the_same_detections_as_one_instance() {
    let mut problems = Vec::new();
    for (name, config, records) in suites() {
        let single = detections(
            &mut host(Backend::Wasmtime, Mode::Annotate, config.as_deref(), None),
            &records,
        );
        let mut rotating = host(
            Backend::Wasmtime,
            Mode::Annotate,
            config.as_deref(),
            Some(1),
        );
        let every = detections(&mut rotating, &records);
        assert_eq!(
            rotating.host().instantiations(),
            records.len() as u64,
            "{name}: one instance per record"
        );
        if single != every {
            problems.push(format!(
                "{name}: single {single:?}\n  every record {every:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn wamr_at_fluent_bit_defaults_loses_no_record_of_the_samples() {
    let records = fixtures::lines(&fixtures::samples_dir().join("cloudtrail-events.ndjson"));
    let mut wamr = host(Backend::Wamr, Mode::Alerts, None, Some(1));
    let mut lost = Vec::new();
    let out = outputs(&mut wamr, &records, &mut lost);
    assert!(lost.is_empty(), "{lost:?}");
    assert_eq!(
        out.iter().filter(|o| !o.is_empty()).count(),
        2,
        "the two alerts of samples/README.md"
    );
}
