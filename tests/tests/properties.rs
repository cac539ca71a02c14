//! Output properties over every fixture record, in every shape: nothing changes where
//! nothing fired; where something fired, removing the spliced `detection` member gives
//! the input byte for byte and the result is valid JSON; alerts mode returns exactly
//! the records that fired. (`annotate_all` performs the byte comparison per record.)

use vpnrecon_e2e::fixtures;
use vpnrecon_e2e::hosts::{annotate_all, Host, Mode};
use vpnrecon_e2e::shapes;

fn all_records() -> Vec<String> {
    let mut lines = fixtures::attack_chain().events;
    for case in fixtures::clause_cases() {
        lines.extend(case.events);
    }
    lines.extend(fixtures::benign());
    let mut records = lines.clone();
    for line in &lines {
        records.push(shapes::eventbridge(line));
        records.push(shapes::wrapped(line, "log"));
        records.push(shapes::wrapped(line, "message"));
        records.push(shapes::ecs_nested(line).to_string());
        records.push(shapes::ecs_dotted(line).to_string());
    }
    records.extend(lines.chunks(7).map(shapes::batch));
    // Pretty-printed and padded records keep their own bytes too.
    records.extend(lines.iter().take(40).map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
        format!(
            "  {}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        )
    }));
    records
}

#[test]
fn annotate_changes_nothing_but_the_spliced_detection() {
    let records = all_records();
    let found = annotate_all(&mut Host::native(Mode::Annotate, None), &records)
        .unwrap_or_else(|e| panic!("{e}"));
    // The property must be exercised on both sides.
    assert!(!found.is_empty(), "no record fired at all");
    assert!(
        found.len() < records.len() / 2,
        "most records should pass untouched"
    );
}

#[test]
fn alerts_returns_exactly_the_records_annotate_changed() {
    let records = all_records();
    let (mut annotate, mut alerts) = (
        Host::native(Mode::Annotate, None),
        Host::native(Mode::Alerts, None),
    );
    let (mut fired, mut dropped) = (0, 0);
    for (n, record) in records.iter().enumerate() {
        let a = annotate
            .call(record.as_bytes())
            .unwrap_or_else(|e| panic!("{n}: {e}"));
        let b = alerts
            .call(record.as_bytes())
            .unwrap_or_else(|e| panic!("{n}: {e}"));
        if a == record.as_bytes() {
            assert!(
                b.is_empty(),
                "record {n}: alerts passed a record without detection"
            );
            dropped += 1;
        } else {
            assert_eq!(a, b, "record {n}: alerts and annotate outputs differ");
            fired += 1;
        }
    }
    assert!(fired > 0 && dropped > 0);
}

#[test]
fn records_that_are_not_cloudtrail_objects_pass_untouched() {
    let odd: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"[1,2,3]".to_vec(),
        b"{\"eventName\":\"ListUsers\"".to_vec(),
        b"{\"eventName\":\"ListUsers\",\"sourceIPAddress\":\"146.70.117.42\"} trailing".to_vec(),
        b"{\"log\":\"{not json\"}".to_vec(),
        b"{\"eventName\":\"List\xffUsers\",\"eventSource\":\"iam.amazonaws.com\"}".to_vec(),
        format!("{}{}", "{\"a\":".repeat(5000), "}".repeat(5000)).into_bytes(),
        format!(
            "{{\"eventName\":\"ListUsers\",\"x\":{}1{}}}",
            "[".repeat(20000),
            "]".repeat(20000)
        )
        .into_bytes(),
    ];
    let (mut annotate, mut alerts) = (
        Host::native(Mode::Annotate, None),
        Host::native(Mode::Alerts, None),
    );
    for (n, record) in odd.iter().enumerate() {
        let out = annotate.call(record).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(&out, record, "odd record {n} changed");
        let out = alerts.call(record).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert!(out.is_empty(), "odd record {n} passed alerts mode");
    }
}
