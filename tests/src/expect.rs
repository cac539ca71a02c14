//! Expectation files: `<line> <A|B|-> [field=value ...] | why`, written by hand from the
//! detection contract (see fixtures/README.md).

use serde_json::Value;

pub const RULE_A: &str = "vpnrecon-discovery-vpn-new-identity";
pub const RULE_B: &str = "vpnrecon-discovery-vpn-workload";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    RuleA,
    RuleB,
    Nothing,
}

#[derive(Clone, Debug)]
pub struct Expected {
    pub line: usize,
    pub verdict: Verdict,
    pub fields: Vec<(String, String)>,
    pub why: String,
}

pub fn parse(text: &str) -> Result<Vec<Expected>, String> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let (spec, why) = raw.split_once('|').unwrap_or((raw, ""));
        let mut words = spec.split_whitespace();
        let line = words
            .next()
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| format!("line {}: no event line number", n + 1))?;
        let verdict = match words.next() {
            Some("A") => Verdict::RuleA,
            Some("B") => Verdict::RuleB,
            Some("-") => Verdict::Nothing,
            other => {
                return Err(format!(
                    "line {}: verdict {other:?} is not A, B or -",
                    n + 1
                ))
            }
        };
        let fields = words
            .map(|w| {
                w.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| format!("line {}: `{w}` is not field=value", n + 1))
            })
            .collect::<Result<_, _>>()?;
        out.push(Expected {
            line,
            verdict,
            fields,
            why: why.trim().to_owned(),
        });
    }
    Ok(out)
}

/// Where each expectation field lives in the `detection` object.
fn path_of(field: &str) -> Option<&'static [&'static str]> {
    Some(match field {
        "key" => &["identity", "key"],
        "asn" => &["source", "as", "number"],
        "ip" => &["source", "ip"],
        "action" => &["event", "action"],
        "provider" => &["event", "provider"],
        "outcome" => &["event", "outcome"],
        "time" => &["event", "time"],
        "time_source" => &["event", "time_source"],
        "previous_seen" => &["previous_seen"],
        "user_name" => &["identity", "user_name"],
        "account_id" => &["identity", "account_id"],
        "type" => &["identity", "type"],
        "severity" => &["rule", "severity"],
        "risk_score" => &["rule", "risk_score"],
        _ => return None,
    })
}

pub fn get<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// A JSON scalar as the text an expectation file writes for it.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Checks one event's detection (`None` = no detection) against its expectation.
pub fn check(expected: &Expected, found: Option<&Value>) -> Result<(), String> {
    let found = match (expected.verdict, found) {
        (Verdict::Nothing, None) => return Ok(()),
        (Verdict::Nothing, Some(d)) => return Err(format!("expected no detection, got {d}")),
        (_, None) => return Err(format!("expected {:?}, got no detection", expected.verdict)),
        (_, Some(d)) => d,
    };
    let (id, severity, score) = match expected.verdict {
        Verdict::RuleA => (RULE_A, "medium", 47),
        _ => (RULE_B, "high", 73),
    };
    let mut problems = Vec::new();
    let differs = |path: &[&str], value: &str| {
        let got = get(found, path).map(text);
        (got.as_deref() != Some(value))
            .then(|| format!("{}: expected {value}, got {got:?}", path.join(".")))
    };
    let fixed: [(&[&str], String); 4] = [
        (&["rule", "id"], id.to_owned()),
        (&["rule", "severity"], severity.to_owned()),
        (&["rule", "risk_score"], score.to_string()),
        (&["threat", "tactic", "id"], "TA0007".to_owned()),
    ];
    problems.extend(
        fixed
            .iter()
            .filter_map(|(path, value)| differs(path, value)),
    );
    let techniques: Vec<String> = get(found, &["threat", "technique"])
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|t| t.get("id")).map(text).collect())
        .unwrap_or_default();
    if techniques != ["T1526", "T1580"] {
        problems.push(format!(
            "threat.technique: expected T1526, T1580, got {techniques:?}"
        ));
    }
    let mut config_error_expected = false;
    for (field, value) in &expected.fields {
        if field == "config_error" {
            config_error_expected = true;
            continue;
        }
        match path_of(field) {
            Some(path) => problems.extend(differs(path, value)),
            None => problems.push(format!("unknown expectation field `{field}`")),
        }
    }
    let config_error = found.get("config_error").map(text);
    match (config_error_expected, config_error) {
        (true, Some(text)) if !text.is_empty() => {}
        (true, other) => problems.push(format!("expected config_error, got {other:?}")),
        (false, Some(text)) => problems.push(format!("unexpected config_error {text}")),
        (false, None) => {}
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
