//! `explain` puts every condition in words, but the verdict is the rules' own
//! (`Evaluator::screen`). This checks, on every fixture event under its case's
//! configuration, that the worded walk fails at exactly the condition the rules
//! fail at (no `verdict` correction is ever needed), and that its rule prediction is
//! what the evaluation then does.

use vpnrecon_e2e::{fixtures, RECORD_TIME_SEC};
use vpnrecon_filter::{record, Counters, RecordTime};

#[test]
fn the_worded_conditions_fail_where_the_rules_fail() {
    let time = RecordTime {
        sec: RECORD_TIME_SEC,
        nsec: 0,
    };
    let mut cases = fixtures::clause_cases();
    cases.push(fixtures::attack_chain());
    let (mut events, mut candidates, mut failures) = (0, 0, std::collections::BTreeSet::new());
    for case in &cases {
        let mut evaluator = case.evaluator();
        for (n, line) in case.events.iter().enumerate() {
            let _ = record::visit_events(line.as_bytes(), &mut |slot| {
                events += 1;
                let x = evaluator.explain(slot.event, time);
                let screened = evaluator.screen(slot.event, time);
                let ctx = format!("{} line {}", case.name, n + 1);
                assert!(
                    x.conditions.iter().all(|c| c.name != "verdict"),
                    "{ctx}: the worded walk disagrees with the rules: {:?}",
                    x.conditions
                );
                assert_eq!(x.candidate, screened.is_ok(), "{ctx}");
                let failed = x.conditions.iter().find(|c| !c.passed).map(|c| c.name);
                assert_eq!(
                    failed,
                    screened.as_ref().err().map(|w| w.condition()),
                    "{ctx}"
                );
                match screened {
                    Ok(_) => candidates += 1,
                    Err(why) => {
                        failures.insert(why.condition());
                    }
                }
                // The prediction holds for the evaluation that follows, which moves
                // state on for the next event.
                let fired = evaluator
                    .evaluate(None, slot.event, time, &mut Counters::default())
                    .map(|d| d.rule);
                assert_eq!(x.fires, fired, "{ctx}: {}", x.verdict);
            });
        }
    }
    // The fixtures reach candidates and fail at most of the conditions, so the
    // comparison above is not vacuous.
    assert!(
        events > 150 && candidates > 60,
        "{events} events, {candidates} candidates"
    );
    for name in [
        "provider",
        "action",
        "source_ip",
        "source_asn",
        "vpn_list",
        "exclusions",
        "identity_type",
        "allowlists",
    ] {
        assert!(
            failures.contains(name),
            "no fixture event fails {name}: {failures:?}"
        );
    }
}
