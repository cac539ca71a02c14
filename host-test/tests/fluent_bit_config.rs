//! `vpnrecon fluent-bit-config`: the generated `rewrite_tag` expression accepts exactly
//! the action spellings the module counts as configured, and the command refuses what
//! it cannot route soundly.
//!
//! The expression is compiled with Rust's `regex` crate. Fluent Bit compiles it with
//! Onigmo; the generator only uses syntax both read alike (`\A`, `\z`, non-capturing
//! groups, alternation, `[0-9]` classes, `{n}` counts), and the test below checks that
//! nothing else appears in it.
#![cfg(feature = "native")]

use regex::Regex;
use std::path::Path;
use std::process::{Command, Output};
use vpnrecon_filter::config::{parse, Config, DEFAULT_ACTIONS};
use vpnrecon_filter::prefilter::normalise_action;
use vpnrecon_host::fluent_bit_config::{action_regex, escape_literal, DATE_PATTERN};

fn compiled(config: &Config) -> Regex {
    let pattern = action_regex(&config.actions).expect("a regex for a non-empty action list");
    Regex::new(&pattern).expect("the generated regex compiles")
}

fn config_from(text: &str) -> Config {
    parse(text, "test.toml").expect("valid test configuration")
}

/// The module's own verdict: the normalised name is on the sorted action list, which
/// is what `Config::has_action` answers for the raw spelling.
fn module_counts(config: &Config, spelling: &str) -> bool {
    let listed = config
        .actions
        .binary_search_by(|a| a.as_str().cmp(normalise_action(spelling)))
        .is_ok();
    assert_eq!(
        listed,
        config.has_action(spelling.as_bytes()),
        "{spelling:?}"
    );
    listed
}

/// Spellings around each name: the name, Lambda suffixes (valid and not), extensions,
/// case changes. Built without reference to the generator.
fn spellings(names: &[String]) -> Vec<String> {
    let suffixes = [
        "",
        "20150331",
        "20150331v2",
        "20150331v12",
        "20991231",
        "20000101v0",
        "20150331v",
        "20150331V2",
        "19990331",
        "21150331",
        "20151331",
        "20150031",
        "20150332",
        "20150300",
        "2015033",
        "201503311",
        "120150331",
        "v2",
        "20150331v2x",
        "x",
        "s",
        "2",
        "v",
        "20150331v220150331",
        "2015-03-31",
        "\n",
        " ",
    ];
    let mut out = Vec::new();
    for name in names {
        for suffix in suffixes {
            out.push(format!("{name}{suffix}"));
            out.push(format!("x{name}{suffix}"));
            out.push(format!("{}{suffix}", name.to_lowercase()));
            out.push(format!("{}{suffix}", name.to_uppercase()));
            out.push(format!("\n{name}{suffix}"));
        }
        for cut in 1..name.len() {
            out.push(name[..cut].to_owned());
            out.push(format!("{}20150331", &name[..cut]));
        }
    }
    out.push(String::new());
    out.push("20150331".to_owned());
    out
}

fn assert_exact(config: &Config, extra: &[&str]) {
    let regex = compiled(config);
    let mut names: Vec<String> = config.actions.clone();
    names.extend(DEFAULT_ACTIONS.iter().map(|s| (*s).to_owned()));
    names.extend(extra.iter().map(|s| (*s).to_owned()));
    let mut accepted = 0;
    for spelling in spellings(&names) {
        let expected = module_counts(config, &spelling);
        assert_eq!(
            regex.is_match(&spelling),
            expected,
            "{spelling:?}: the rule and the module disagree (module counts it: {expected})"
        );
        accepted += usize::from(expected);
    }
    assert!(accepted > 0);
}

#[test]
fn default_actions_and_lambda_suffixes_match() {
    let config = Config::default();
    let regex = compiled(&config);
    for action in DEFAULT_ACTIONS {
        assert!(regex.is_match(action), "{action}");
    }
    for spelling in [
        "ListFunctions20150331",
        "ListFunctions20150331v2",
        "ListFunctions20150331v12",
        "GetCallerIdentity20991231",
        "ListBuckets20000101v0",
    ] {
        assert!(regex.is_match(spelling), "{spelling}");
    }
}

#[test]
fn near_misses_do_not_match() {
    let regex = compiled(&Config::default());
    for spelling in [
        // prefix and suffix extensions
        "ListUsersX",
        "XListUsers",
        "ListUser",
        "istUsers",
        " ListUsers",
        "ListUsers ",
        "ListUsers\n",
        "\nListUsers",
        // case
        "listusers",
        "LISTUSERS",
        "Listusers",
        // actions that are not configured
        "GetObject",
        "ConsoleLogin",
        "ListFunctionsX20150331",
        // bad dates and versions
        "ListFunctions19990331",
        "ListFunctions21150331",
        "ListFunctions20151331",
        "ListFunctions20150031",
        "ListFunctions20150332",
        "ListFunctions20150300",
        "ListFunctions2015033",
        "ListFunctions201503311",
        "ListFunctions20150331v",
        "ListFunctions20150331V2",
        "ListFunctions20150331v2x",
        "ListFunctionsv2",
        "ListFunctions٢٠١٥٠٣٣١",
        "20150331",
        "",
    ] {
        assert!(!regex.is_match(spelling), "{spelling:?} must not match");
    }
}

#[test]
fn defaults_agree_with_the_module_on_generated_spellings() {
    assert_exact(&Config::default(), &["GetObject", "ConsoleLogin"]);
}

#[test]
fn deltas_are_followed() {
    let config = config_from(
        r#"
add_actions = ["GetBucketPolicy", "ListFunctions20150331v2", "GetThingv", "ListThings2"]
remove_actions = ["ListUsers", "DescribeRegions"]
"#,
    );
    let regex = compiled(&config);
    for spelling in [
        "GetBucketPolicy",
        "GetBucketPolicy20160101",
        "GetThingv",
        "GetThingv20150331v2",
        "ListThings2",
        "ListRoles",
    ] {
        assert!(regex.is_match(spelling), "{spelling}");
    }
    for spelling in [
        "ListUsers",
        "ListUsers20150331",
        "DescribeRegions",
        // after `v`, a bare date is read as a version number first: not this action
        "GetThingv20150331",
        // after a digit, eight more digits are not a date suffix
        "ListThings220150331",
        "ListThings220150331v2",
        "ListThings",
    ] {
        assert!(!regex.is_match(spelling), "{spelling} must not match");
    }
    assert_exact(&config, &["ListUsers", "DescribeRegions", "GetThing"]);
}

#[test]
fn replaced_list_is_followed() {
    let config = config_from(r#"actions = ["ListBuckets", "Describev", "Get9"]"#);
    let regex = compiled(&config);
    assert!(regex.is_match("ListBuckets"));
    assert!(!regex.is_match("ListUsers"));
    assert_exact(&config, &["ListUsers", "GetCallerIdentity"]);
}

#[test]
fn uses_only_syntax_common_to_onigmo_and_regex() {
    let pattern = action_regex(&Config::default().actions).unwrap();
    assert!(pattern.starts_with(r"\A") && pattern.ends_with(r"\z"));
    // Without the anchors, the date and version patterns and the names: nothing but
    // letters, digits, `(?:`, `)`, `|`, `?`, `+`, `[0-9]`-style classes and `{n}`.
    let body = &pattern[2..pattern.len() - 2];
    assert!(
        body.chars()
            .all(|c| c.is_ascii_alphanumeric() || "(?:)|+[]-{}".contains(c)),
        "{body}"
    );
    assert!(!body.contains('\\') && !body.contains('$') && !body.contains('^'));
    assert!(!pattern.contains(' '), "a rule is split at spaces");
    assert!(DATE_PATTERN.contains("[0-9]") && !DATE_PATTERN.contains("\\d"));
}

#[test]
fn escaped_punctuation_is_literal() {
    for c in (b'!'..=b'~')
        .map(char::from)
        .filter(|c| !c.is_ascii_alphanumeric())
    {
        let name = format!("A{c}B");
        let escaped = escape_literal(&name).unwrap();
        let regex = Regex::new(&format!(r"\A{escaped}\z")).unwrap();
        assert!(regex.is_match(&name), "{name} via {escaped}");
        assert!(
            !regex.is_match("AxB"),
            "{escaped} matched another character"
        );
    }
}

// ---------------------------------------------------------------------------
// The command

fn vpnrecon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpnrecon"))
        .args(args)
        .output()
        .expect("the vpnrecon binary runs")
}

fn generate(extra: &[&str], dir: &Path) -> Output {
    let dir = dir.to_str().unwrap();
    let mut args = vec![
        "fluent-bit-config",
        "--match",
        "aws.cloudtrail",
        "--wasm-path",
        "/etc/fluent-bit/vpnrecon.wasm",
        "--state-dir",
        dir,
    ];
    args.extend_from_slice(extra);
    vpnrecon(&args)
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn refused(output: &Output) -> String {
    assert!(!output.status.success(), "expected a refusal");
    assert!(output.stdout.is_empty(), "nothing is printed on a refusal");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The rules of a classic-format output, as (key, regex, tag, keep).
fn classic_rules(text: &str) -> Vec<(String, String, String, String)> {
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix("Rule "))
        .map(|rule| {
            let parts: Vec<&str> = rule.split_whitespace().collect();
            assert_eq!(parts.len(), 4, "{rule}");
            (
                parts[0].to_owned(),
                parts[1].to_owned(),
                parts[2].to_owned(),
                parts[3].to_owned(),
            )
        })
        .collect()
}

#[test]
fn raw_input_classic() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout(&generate(&["--input", "raw"], dir.path()));
    let rules = classic_rules(&text);
    assert_eq!(rules.len(), 1);
    let (key, regex, tag, keep) = &rules[0];
    assert_eq!(key, "$eventName");
    assert_eq!(tag, "vpnrecon.$TAG");
    assert_eq!(keep, "false");
    let regex = Regex::new(regex).unwrap();
    assert!(regex.is_match("ListFunctions20150331v2") && !regex.is_match("GetObject"));
    assert!(text.contains("Name                   rewrite_tag"));
    assert!(text.contains("Match                  aws.cloudtrail\n"));
    assert!(text.contains("Match                  vpnrecon.aws.cloudtrail\n"));
    assert!(text.contains("Function_Name          vpnrecon_annotate"));
    assert!(text.contains(&format!("Accessible_Paths       {}", dir.path().display())));
    assert!(text.contains("Wasm_Path              /etc/fluent-bit/vpnrecon.wasm"));
    assert!(text.contains("5.1.1"));
    assert!(text.contains("Emitter_Mem_Buf_Limit") && text.contains("Emitter_Storage.type"));
    assert!(text.contains("outputs must match vpnrecon.aws.cloudtrail"));
    assert!(text.contains("Sound for: raw CloudTrail events"));
    // Comments are whole lines starting with '#'.
    for line in text.lines() {
        assert!(
            line.is_empty()
                || line.starts_with('#')
                || line.starts_with('[')
                || line.starts_with("    "),
            "{line:?}"
        );
    }
}

#[test]
fn every_shape_has_its_accessors() {
    let dir = tempfile::tempdir().unwrap();
    let keys = |input: &str| -> Vec<String> {
        let text = stdout(&generate(&["--input", input], dir.path()));
        classic_rules(&text).into_iter().map(|r| r.0).collect()
    };
    assert_eq!(keys("eventbridge"), ["$detail['eventName']", "$eventName"]);
    assert_eq!(
        keys("ecs"),
        ["$event['action']", "$event.action", "$eventName"]
    );
    let any = stdout(&generate(
        &["--input", "any", "--function", "alerts"],
        dir.path(),
    ));
    assert!(classic_rules(&any).is_empty() && !any.contains("rewrite_tag\n"));
    assert!(any.contains("Match                  aws.cloudtrail\n"));
    assert!(any.contains("Function_Name          vpnrecon_alerts"));
    assert!(any.contains("every other record on aws.cloudtrail is dropped"));
}

#[test]
fn yaml_format() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout(&generate(
        &["--input", "ecs", "--format", "yaml", "--function", "alerts"],
        dir.path(),
    ));
    assert!(text.contains("pipeline:\n  filters:\n    - name: rewrite_tag\n      match: 'aws.cloudtrail'\n      rule:\n        - $event['action'] "));
    assert!(text.contains("    - name: wasm\n      match: 'vpnrecon.aws.cloudtrail'\n"));
    assert!(text.contains("      function_name: vpnrecon_alerts\n"));
    // Rules are plain YAML scalars: no ': ' or ' #' inside, no leading indicator.
    for line in text.lines().filter(|l| l.starts_with("        - ")) {
        let rule = &line[10..];
        assert!(!rule.contains(": ") && !rule.contains(" #") && rule.starts_with('$'));
        assert!(rule.ends_with(" vpnrecon.$TAG false"));
    }
}

#[test]
fn config_in_the_state_dir_is_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vpnrecon.toml"),
        "remove_actions = [\"ListUsers\"]\nadd_actions = [\"GetBucketPolicy\"]\n",
    )
    .unwrap();
    let text = stdout(&generate(&["--input", "raw"], dir.path()));
    let regex = Regex::new(&classic_rules(&text)[0].1).unwrap();
    assert!(!regex.is_match("ListUsers"));
    assert!(regex.is_match("GetBucketPolicy"));
    assert!(regex.is_match("ListRoles"));
}

#[test]
fn explicit_config_wins_and_warns_when_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let file = other.path().join("mine.toml");
    std::fs::write(&file, "actions = [\"ListBuckets\"]\n").unwrap();
    let text = stdout(&generate(
        &["--input", "raw", "--config", file.to_str().unwrap()],
        dir.path(),
    ));
    let regex = Regex::new(&classic_rules(&text)[0].1).unwrap();
    assert!(regex.is_match("ListBuckets") && !regex.is_match("ListRoles"));
    assert!(text.contains("The module reads"), "{text}");
}

#[test]
fn bad_config_is_an_error_with_the_module_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vpnrecon.toml"),
        "# comment\nadd_actions = [\"List Users\"]\n",
    )
    .unwrap();
    let error = refused(&generate(&["--input", "raw"], dir.path()));
    // The module's own message names the file, the line and the key.
    let expected = parse(
        "# comment\nadd_actions = [\"List Users\"]\n",
        dir.path().join("vpnrecon.toml").to_str().unwrap(),
    )
    .unwrap_err();
    assert!(error.contains(&expected.describe()), "{error}");
    assert!(
        error.contains("line 2") && error.contains("add_actions"),
        "{error}"
    );
    assert!(!error.contains("using built-in defaults"), "{error}");

    // The same for --any and for an explicit file; a missing explicit file too.
    let error = refused(&generate(&["--input", "any"], dir.path()));
    assert!(error.contains("add_actions"), "{error}");
    let empty = tempfile::tempdir().unwrap();
    let file = dir.path().join("vpnrecon.toml");
    let error = refused(&generate(
        &["--input", "raw", "--config", file.to_str().unwrap()],
        empty.path(),
    ));
    assert!(error.contains("add_actions"), "{error}");
    let error = refused(&generate(
        &["--input", "raw", "--config", "/nonexistent/vpnrecon.toml"],
        empty.path(),
    ));
    assert!(error.contains("/nonexistent/vpnrecon.toml"), "{error}");
}

#[test]
fn enrich_all_is_refused_when_pre_routing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vpnrecon.toml"), "enrich_all = true\n").unwrap();
    for input in ["raw", "eventbridge", "ecs"] {
        let error = refused(&generate(&["--input", input], dir.path()));
        assert!(
            error.contains("enrich_all") && error.contains("every record"),
            "{error}"
        );
    }
    // Without pre-routing every record reaches the module.
    stdout(&generate(&["--input", "any"], dir.path()));
}

#[test]
fn match_patterns_that_loop_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for pattern in ["*", "*.cloudtrail", "vpnrecon.*"] {
        let output = vpnrecon(&[
            "fluent-bit-config",
            "--input",
            "raw",
            "--match",
            pattern,
            "--wasm-path",
            "/x.wasm",
            "--state-dir",
            dir.path().to_str().unwrap(),
        ]);
        let error = refused(&output);
        assert!(error.contains("re-tagged"), "{pattern}: {error}");
    }
}

#[test]
fn empty_action_list_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vpnrecon.toml"), "actions = []\n").unwrap();
    let output = generate(&["--input", "raw"], dir.path());
    if output.status.success() {
        panic!("an empty action list must be refused");
    }
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("action"), "{error}");
}

#[test]
fn input_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let error = refused(&generate(&[], dir.path()));
    assert!(error.contains("--input"), "{error}");
}
