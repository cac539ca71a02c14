//! Every clause of the detection contract, one fixture case each, against expectations
//! written by hand (tests/fixtures/clauses/*.expect), on the native engine.

use vpnrecon_e2e::fixtures;
use vpnrecon_e2e::hosts::{Host, Mode};
use vpnrecon_e2e::verify::{alerts_case, annotate_case};

fn report(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_clause_case_gives_the_hand_derived_detections() {
    let cases = fixtures::clause_cases();
    assert!(
        cases.len() >= 22,
        "clause fixtures missing: found {}",
        cases.len()
    );
    let mut problems = Vec::new();
    for case in &cases {
        problems.extend(annotate_case(
            &mut Host::native(Mode::Annotate, case.config.as_deref()),
            case,
        ));
    }
    report(problems);
}

#[test]
fn attack_chain_gives_the_hand_derived_detections() {
    let case = fixtures::attack_chain();
    report(annotate_case(
        &mut Host::native(Mode::Annotate, None),
        &case,
    ));
}

#[test]
fn alerts_mode_passes_exactly_the_detected_records() {
    let mut problems = Vec::new();
    for case in fixtures::clause_cases()
        .iter()
        .chain([fixtures::attack_chain()].iter())
    {
        let config = case.config.as_deref();
        problems.extend(alerts_case(
            &mut Host::native(Mode::Annotate, config),
            &mut Host::native(Mode::Alerts, config),
            case,
        ));
    }
    report(problems);
}

#[test]
fn benign_noise_never_fires() {
    let records = fixtures::benign();
    assert!(records.len() >= 400);
    let found =
        vpnrecon_e2e::hosts::annotate_all(&mut Host::native(Mode::Annotate, None), &records)
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(found.is_empty(), "benign events fired: {:#?}", found);
}
