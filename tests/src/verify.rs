//! Runs a fixture case through a filter and compares every event with its
//! hand-written expectation.

use crate::expect::{check, Verdict};
use crate::fixtures::Case;
use crate::hosts::{annotate_all, Host};

/// All mismatches of one case, as readable lines (empty = the case passes).
pub fn annotate_case(annotate: &mut Host, case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    if case.expected.len() != case.events.len() {
        problems.push(format!(
            "{}: {} events but {} expectations",
            case.name,
            case.events.len(),
            case.expected.len()
        ));
    }
    let found = match annotate_all(annotate, &case.events) {
        Ok(found) => found,
        Err(e) => return vec![format!("{}: {e}", case.name)],
    };
    for expected in &case.expected {
        let record = expected.line - 1;
        let here: Vec<_> = found.iter().filter(|f| f.record == record).collect();
        if here.len() > 1 {
            problems.push(format!(
                "{} line {}: {} detections for one event",
                case.name,
                expected.line,
                here.len()
            ));
            continue;
        }
        if let Err(e) = check(expected, here.first().map(|f| &f.detection)) {
            problems.push(format!(
                "{} line {} ({}): {e}",
                case.name, expected.line, expected.why
            ));
        }
    }
    problems
}

/// Alerts mode on a fresh host: exactly the records expected to fire come back,
/// each identical to what annotate mode returns for it; all others are dropped.
pub fn alerts_case(annotate: &mut Host, alerts: &mut Host, case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, record) in case.events.iter().enumerate() {
        let expected_fire = case
            .expected
            .iter()
            .find(|e| e.line == n + 1)
            .is_some_and(|e| e.verdict != Verdict::Nothing);
        let annotated = annotate.call(record.as_bytes());
        let alerted = alerts.call(record.as_bytes());
        match (annotated, alerted) {
            (Ok(annotated), Ok(alerted)) => {
                if expected_fire && alerted != annotated {
                    problems.push(format!(
                        "{} line {}: alerts output differs from annotate output",
                        case.name,
                        n + 1
                    ));
                }
                if !expected_fire && !alerted.is_empty() {
                    problems.push(format!(
                        "{} line {}: alerts mode passed a record without detection",
                        case.name,
                        n + 1
                    ));
                }
            }
            (a, b) => problems.push(format!(
                "{} line {}: lost record: {a:?} / {b:?}",
                case.name,
                n + 1
            )),
        }
    }
    problems
}
