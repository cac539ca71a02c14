//! JSON equivalence (README.md, *Limits*): records that are the same JSON value get
//! the same verdict however they are spelled, and the prefilter never turns away a
//! record that the full evaluation would fire on.
//!
//! The property test takes every fixture event, in every input shape, and writes it
//! again with a random spelling: escapes in keys and values (`\uXXXX`, `\/`), inner
//! quotes of a wrapped line written `\u0022`, random whitespace, shuffled key order,
//! a look-alike `eventName` nested in a member placed before the event's own, and
//! duplicate keys after the original (the first occurrence wins). A fresh engine
//! judges the plain record and the respelled one; the detections must be equal.
//! Fresh engines make every candidate fire (nothing was seen before), so the firing
//! side is exercised on every candidate event of the fixtures.

use proptest::prelude::*;
use serde_json::{Map, Value};
use vpnrecon_e2e::hosts::{Backend, Host, Mode};
use vpnrecon_e2e::{fixtures, shapes};

/// A small deterministic generator, seeded by proptest (which shrinks the seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// How a respelling may differ from the plain record.
#[derive(Clone, Copy, Debug)]
struct Style {
    escapes: bool,
    whitespace: bool,
    shuffle: bool,
    duplicates: bool,
    lookalike: bool,
}

fn ws(rng: &mut Rng, style: Style, out: &mut String) {
    if style.whitespace && rng.chance(30) {
        out.push_str([" ", "\t", "\n", "\r\n", "  "][rng.below(5)]);
    }
}

/// A JSON string literal for `text`, each character spelled at random: as itself,
/// as `\uXXXX` (either hex case, surrogate pairs past the BMP) or, for `/`, `\/`.
fn string(text: &str, rng: &mut Rng, style: Style, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        let escape = style.escapes && rng.chance(25);
        match c {
            '"' if !escape => out.push_str("\\\""),
            '\\' if !escape => out.push_str("\\\\"),
            '/' if escape && rng.chance(50) => out.push_str("\\/"),
            c if escape || (c as u32) < 0x20 => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if rng.chance(50) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    } else {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `value` as JSON with a random spelling. Recursive, which is fine here:
/// this is the test's generator, not the module.
fn spell(value: &Value, top: bool, rng: &mut Rng, style: Style, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            if style.shuffle {
                for i in (1..members.len()).rev() {
                    members.swap(i, rng.below(i + 1));
                }
            }
            let mut items: Vec<(String, Value)> = Vec::new();
            if top && style.lookalike {
                items.push((
                    "zz_lookalike".to_owned(),
                    serde_json::json!({"eventName": "GetObject", "eventSource": "s3.amazonaws.com",
                        "sourceIPAddress": "8.8.8.8"}),
                ));
            }
            for (key, member) in &members {
                items.push(((*key).clone(), (*member).clone()));
                if style.duplicates && rng.chance(20) {
                    // A later duplicate never counts: a value that would change the
                    // verdict if it did.
                    let junk = match member {
                        Value::String(_) => Value::String("GetObject".to_owned()),
                        _ => Value::from(7),
                    };
                    items.push(((*key).clone(), junk));
                }
            }
            out.push('{');
            for (n, (key, member)) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                ws(rng, style, out);
                string(key, rng, style, out);
                ws(rng, style, out);
                out.push(':');
                ws(rng, style, out);
                match (key.as_str(), member) {
                    // A wrapped line: respell the event inside, then the string.
                    ("log" | "message", Value::String(text)) if top => {
                        match serde_json::from_str::<Value>(text) {
                            Ok(inner @ Value::Object(_)) => {
                                let mut inner_text = String::new();
                                spell(&inner, true, rng, style, &mut inner_text);
                                string(&inner_text, rng, style, out);
                            }
                            _ => string(text, rng, style, out),
                        }
                    }
                    _ => spell(member, false, rng, style, out),
                }
                ws(rng, style, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                ws(rng, style, out);
                spell(item, false, rng, style, out);
                ws(rng, style, out);
            }
            out.push(']');
        }
        Value::String(text) => string(text, rng, style, out),
        other => out.push_str(&other.to_string()),
    }
}

/// Every fixture event (clause cases, attack chain, benign).
fn events() -> Vec<String> {
    let mut lines = fixtures::attack_chain().events;
    for case in fixtures::clause_cases() {
        lines.extend(case.events);
    }
    lines.extend(fixtures::benign());
    lines
}

const SHAPES: usize = 7;

/// The event in input shape `shape`, plainly written.
fn shaped(line: &str, shape: usize) -> String {
    match shape {
        0 => line.to_owned(),
        1 => shapes::batch(&[line.to_owned()]),
        2 => shapes::eventbridge(line),
        3 => shapes::wrapped(line, "log"),
        4 => shapes::wrapped(line, "message"),
        5 => shapes::ecs_nested(line).to_string(),
        _ => shapes::ecs_dotted(line).to_string(),
    }
}

/// The detection a fresh engine adds to `record` (`None`: it passed untouched).
fn detection(record: &str) -> Option<Value> {
    detection_in(Backend::Native, record)
}

/// The detection a fresh instance on `backend` adds to `record`.
fn detection_in(backend: Backend, record: &str) -> Option<Value> {
    let out = Host::open(backend, Mode::Annotate, None)
        .call(record.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    if out == record.as_bytes() {
        return None;
    }
    let value: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out)
        )
    });
    Some(value.get("detection").cloned().unwrap_or(Value::Null))
}

fn lines() -> &'static [String] {
    static LINES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    LINES.get_or_init(events)
}

/// The firing side must be exercised: count what fires plainly, computed here.
#[test]
fn the_fixtures_hold_firing_events_in_every_shape() {
    for shape in 0..SHAPES {
        let firing = lines()
            .iter()
            .filter(|line| detection(&shaped(line, shape)).is_some())
            .count();
        assert!(
            firing >= 50,
            "shape {shape}: only {firing} of {} events fire on a fresh engine",
            lines().len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn equivalent_spellings_get_the_same_verdict(
        event in 0usize..10_000,
        shape in 0..SHAPES,
        seed in any::<u64>(),
        escapes in any::<bool>(),
        whitespace in any::<bool>(),
        shuffle in any::<bool>(),
        duplicates in any::<bool>(),
        lookalike in any::<bool>(),
    ) {
        let all = lines();
        let line = &all[event % all.len()];
        let plain = shaped(line, shape);
        let value: Value = serde_json::from_str(&plain).unwrap_or(Value::Object(Map::new()));
        let style = Style { escapes, whitespace, shuffle, duplicates, lookalike };
        let mut rng = Rng(seed | 1);
        let mut respelled = String::new();
        spell(&value, true, &mut rng, style, &mut respelled);
        // The respelling is the same JSON value (duplicates aside, which a reader
        // that keeps the first occurrence also reads as the same value).
        if !duplicates && !lookalike && shape != 3 && shape != 4 {
            let reread: Value = serde_json::from_str(&respelled)
                .unwrap_or_else(|e| panic!("generator wrote invalid JSON ({e}): {respelled}"));
            prop_assert_eq!(&reread, &value);
        }
        prop_assert_eq!(detection(&respelled), detection(&plain), "respelled: {}", respelled);
    }
}

/// Records seen in the field, as regression cases: each fires exactly as its plain
/// form does, natively and in the real module under wasmtime.
#[test]
fn field_spellings_fire_like_the_plain_record() {
    let line = lines()
        .iter()
        .find(|l| detection(l).is_some() && l.contains("\"ListUsers\""))
        .cloned()
        .unwrap_or_else(|| panic!("no firing ListUsers event in the fixtures"));
    let plain_log = shapes::wrapped(&line, "log");
    // .NET's System.Text.Json writes the inner quotes as \u0022.
    let dotnet = plain_log.replace("\\\"", "\\u0022");
    assert!(dotnet.contains("{\\u0022eventVersion\\u0022:"), "{dotnet}");
    // A Lua or Logstash stage that re-ordered the keys: eventName first, then the
    // rest in reverse.
    let value: Value = serde_json::from_str(&line).unwrap_or_default();
    let mut reordered = Map::new();
    if let Value::Object(map) = &value {
        reordered.insert("eventName".to_owned(), map["eventName"].clone());
        for (k, v) in map.iter().rev() {
            reordered.insert(k.clone(), v.clone());
        }
    }
    let reordered = Value::Object(reordered).to_string();
    // An escaped key spelling of the action.
    let escaped_key = line.replacen("\"eventName\"", "\"event\\u004eame\"", 1);
    let expected = detection(&line);
    assert!(expected.is_some());
    for (record, plain) in [
        (&dotnet, &plain_log),
        (&reordered, &line),
        (&escaped_key, &line),
    ] {
        let native = detection(record);
        assert!(native.is_some(), "not detected: {record}");
        assert_eq!(native, detection(plain), "{record}");
        // The shipped module, in a fresh instance as the native engine above.
        assert_eq!(
            detection_in(Backend::Wasmtime, record),
            native,
            "module on {record}"
        );
    }
}
