//! The engine hands rendered detections back to the rules, whose next detections
//! are written into those strings (`rules::spare`). This checks that doing so
//! changes no detection: every fixture record under its case's configuration, read
//! by one evaluator that recycles after each record and one that never does, gives
//! equal detections, record by record.

use vpnrecon_e2e::expect::Verdict;
use vpnrecon_e2e::{fixtures, RECORD_TIME_SEC};
use vpnrecon_filter::rules::{Detection, Evaluator, Rule};
use vpnrecon_filter::{record, Counters, RecordTime};

fn detections(evaluator: &mut Evaluator, line: &str, into: &mut Vec<Detection>) {
    let time = RecordTime {
        sec: RECORD_TIME_SEC,
        nsec: 0,
    };
    let mut counters = Counters::default();
    let _ = record::visit_events(line.as_bytes(), &mut |slot| {
        if let Some(found) = evaluator.evaluate(slot.index, slot.event, time, &mut counters) {
            into.push(found);
        }
    });
}

#[test]
fn recycled_strings_change_no_detection() {
    let mut cases = fixtures::clause_cases();
    cases.push(fixtures::attack_chain());
    let (mut fired, mut discovery, mut workload) = (0, 0, 0);
    for case in &cases {
        let mut fresh = case.evaluator();
        let mut recycling = case.evaluator();
        let mut reused = Vec::new();
        for (n, line) in case.events.iter().enumerate() {
            let mut expected = Vec::new();
            detections(&mut fresh, line, &mut expected);
            recycling.recycle(&mut reused);
            assert!(reused.is_empty());
            detections(&mut recycling, line, &mut reused);
            assert_eq!(reused, expected, "{} line {}", case.name, n + 1);
            fired += expected.len();
            for d in &expected {
                match d.rule {
                    Rule::DiscoveryNewIdentity => discovery += 1,
                    Rule::Workload => workload += 1,
                }
            }
        }
    }
    // The comparison covered every firing event the expectation files list.
    let listed = |verdict| {
        cases
            .iter()
            .flat_map(|case| &case.expected)
            .filter(|e| e.verdict == verdict)
            .count()
    };
    assert_eq!(
        (discovery, workload),
        (listed(Verdict::RuleA), listed(Verdict::RuleB))
    );
    assert_eq!(fired, discovery + workload);
}
