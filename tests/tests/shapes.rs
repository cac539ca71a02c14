//! The attack chain in every input shape the contract names gives the same detections
//! (rule, key, action, ASN, address, outcome, time, and the event's position), and
//! those are the hand-derived ones of attack_chain.expect.

use vpnrecon_e2e::expect::{get, text, Verdict, RULE_A, RULE_B};
use vpnrecon_e2e::fixtures;
use vpnrecon_e2e::hosts::{annotate_all, Found, Host, Mode};
use vpnrecon_e2e::shapes;

/// What must be identical across shapes, keyed by the event's position in the chain.
type Summary = (
    usize,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn summarise(position: usize, d: &serde_json::Value) -> Summary {
    let f = |path: &[&str]| get(d, path).map(text).unwrap_or_default();
    (
        position,
        f(&["rule", "id"]),
        f(&["identity", "key"]),
        f(&["event", "action"]),
        f(&["source", "as", "number"]),
        f(&["source", "ip"]),
        f(&["event", "outcome"]),
        f(&["event", "time"]),
    )
}

/// One record per event: the position is the record number.
fn per_event(records: &[String]) -> Vec<Summary> {
    let found = annotate_all(&mut Host::native(Mode::Annotate, None), records)
        .unwrap_or_else(|e| panic!("{e}"));
    found
        .iter()
        .map(|f| {
            assert!(f.index.is_none(), "a single event got a batched detection");
            summarise(f.record, &f.detection)
        })
        .collect()
}

const BATCH: usize = 5;

fn expected(case: &fixtures::Case) -> Vec<(usize, String, String)> {
    case.expected
        .iter()
        .filter(|e| e.verdict != Verdict::Nothing)
        .map(|e| {
            let rule = if e.verdict == Verdict::RuleA {
                RULE_A
            } else {
                RULE_B
            };
            let key = e
                .fields
                .iter()
                .find(|(k, _)| k == "key")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (e.line - 1, rule.to_owned(), key)
        })
        .collect()
}

#[test]
fn every_shape_gives_the_same_detections_as_the_raw_events() {
    let case = fixtures::attack_chain();
    let raw = per_event(&case.events);
    let hand: Vec<_> = raw
        .iter()
        .map(|s| (s.0, s.1.clone(), s.2.clone()))
        .collect();
    assert_eq!(
        hand,
        expected(&case),
        "raw events against attack_chain.expect"
    );

    let map = |f: &dyn Fn(&str) -> String| case.events.iter().map(|l| f(l)).collect::<Vec<_>>();
    let shaped: Vec<(&str, Vec<String>)> = vec![
        ("eventbridge", map(&|l| shapes::eventbridge(l))),
        ("log", map(&|l| shapes::wrapped(l, "log"))),
        ("message", map(&|l| shapes::wrapped(l, "message"))),
        ("ecs nested", map(&|l| shapes::ecs_nested(l).to_string())),
        ("ecs dotted", map(&|l| shapes::ecs_dotted(l).to_string())),
    ];
    for (name, records) in shaped {
        assert_eq!(per_event(&records), raw, "shape {name}");
    }

    let batches: Vec<String> = case.events.chunks(BATCH).map(shapes::batch).collect();
    let found: Vec<Found> = annotate_all(&mut Host::native(Mode::Annotate, None), &batches)
        .unwrap_or_else(|e| panic!("{e}"));
    let batched: Vec<Summary> = found
        .iter()
        .map(|f| {
            let index = f
                .index
                .unwrap_or_else(|| panic!("batch detection without index: {}", f.detection));
            summarise(f.record * BATCH + index as usize, &f.detection)
        })
        .collect();
    assert_eq!(batched, raw, "S3 delivery batches of {BATCH}");
}

#[test]
fn a_batch_with_several_firing_events_lists_each_with_its_index() {
    // Three users' first discovery calls in one delivery file: indexes 0, 2 and 3 fire,
    // index 1 repeats the key of index 0 and index 4 is a non-discovery call.
    let case = fixtures::case(&fixtures::dir().join("clauses/12-key-dimensions"));
    let lines = &case.events;
    let batch = shapes::batch(&[
        lines[0].clone(),
        lines[4].clone(),
        lines[1].clone(),
        lines[2].clone(),
        lines[5].clone(),
    ]);
    let found = annotate_all(&mut Host::native(Mode::Annotate, None), &[batch])
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(Option<u64>, String)> = found
        .iter()
        .map(|f| {
            (
                f.index,
                get(&f.detection, &["identity", "key"])
                    .map(text)
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(0), "111122223333/alice/AS9009".to_owned()),
            (Some(2), "444455556666/alice/AS9009".to_owned()),
            (Some(3), "111122223333/alice/AS212238".to_owned()),
        ]
    );
}
