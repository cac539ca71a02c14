//! `vpnrecon fluent-bit-config`: Fluent Bit filter sections, ready to paste, that put a
//! native `rewrite_tag` filter in front of the wasm filter so that only records whose
//! action is configured enter the module.
//!
//! The `rewrite_tag` rule matches the record's action field (a record accessor that
//! fits the input's shape) against a regular expression built from the *active*
//! configuration, loaded with the filter crate's own parser. The expression accepts
//! exactly the spellings the module counts as configured: `Config::has_action` looks
//! the name up after `prefilter::normalise_bytes`, which removes a trailing Lambda
//! API-version suffix. Derivation, for a configured (already normalised) action `a`:
//!
//! * `a` itself is configured (a normalised name normalises to itself);
//! * `a` + `20YYMMDD` (month 01–12, day 01–31) normalises to `a` when `a` ends in
//!   neither a digit (the eight digits must be preceded by a non-digit) nor `v` (a
//!   digit run after `v` is taken as a `vN` version first);
//! * `a` + `20YYMMDD` + `v` + digits normalises to `a` when `a` does not end in a digit;
//! * nothing else normalises to `a`: the normaliser only ever removes such a suffix.
//!
//! The expression uses only syntax that Onigmo (Fluent Bit's regex engine, Ruby syntax)
//! and Rust's `regex` crate read the same way: `\A` and `\z` (whole-string anchors;
//! Onigmo's `^`/`$` would also match at line breaks), non-capturing groups,
//! alternation, `[0-9]` classes (not `\d`, which is Unicode-aware in `regex`) and
//! `{n}` counts. Both anchors are fixed, so leftmost-first alternation cannot change
//! whether a string matches.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use vpnrecon_filter::config::{self, Config, Source};

/// The oldest Fluent Bit release these sections are meant for: 5.1.1 carries the
/// emitter fixes (no more records dropped when the re-emitted stream is backpressured,
/// emitter cycles refused instead of crashing).
pub const MIN_FLUENT_BIT: &str = "5.1.1";

/// Prefix of the tag that pre-routed records carry: `vpnrecon.<original tag>`.
pub const RETAG_PREFIX: &str = "vpnrecon.";

/// Lambda's API-version date as the normaliser accepts it: `20YYMMDD`, month 01–12,
/// day 01–31.
pub const DATE_PATTERN: &str = "20[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])";

/// The optional version after the date: `v` and at least one digit.
pub const VERSION_PATTERN: &str = "v[0-9]+";

/// The shape of the records on the input being routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InputShape {
    /// Raw CloudTrail events, one per record (top-level `eventName`).
    Raw,
    /// EventBridge envelopes (`detail-type` "AWS API Call via CloudTrail", `detail`).
    Eventbridge,
    /// ECS documents (Elastic Agent / Filebeat): `event.action`, nested or dotted.
    Ecs,
    /// Any shape, mixed: no pre-routing, every record enters the module.
    Any,
}

/// Which export of the module the wasm filter calls: the two [`Mode`]s this
/// generator writes sections for.
///
/// [`Mode`]: crate::Mode
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Function {
    /// `vpnrecon_annotate`: every record passes, detections added.
    Annotate,
    /// `vpnrecon_alerts`: only records that fire pass.
    Alerts,
}

impl Function {
    pub fn mode(self) -> crate::Mode {
        match self {
            Function::Annotate => crate::Mode::Annotate,
            Function::Alerts => crate::Mode::Alerts,
        }
    }

    pub fn export_name(self) -> &'static str {
        self.mode().entry_point()
    }
}

/// Fluent Bit's two configuration formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `[FILTER]` sections (fluent-bit.conf).
    Classic,
    /// `pipeline: filters:` entries (fluent-bit.yaml).
    Yaml,
}

#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Shape of the records on this input: raw, eventbridge, ecs, or any (no pre-routing).
    #[arg(long, value_enum)]
    pub input: InputShape,
    /// The input's tag (Fluent Bit `Match` pattern, `*` allowed).
    #[arg(long = "match", value_name = "TAG")]
    pub match_tag: String,
    /// Where Fluent Bit finds the module (`vpnrecon export-filter` writes it).
    #[arg(long, value_name = "PATH")]
    pub wasm_path: String,
    /// The module's directory (Accessible_Paths): `vpnrecon.toml` and the state journal.
    #[arg(long, value_name = "DIR")]
    pub state_dir: String,
    /// annotate: every record, detections added; alerts: only records that fire.
    #[arg(long, value_enum, default_value = "annotate")]
    pub function: Function,
    /// Output format.
    #[arg(long, value_enum, default_value = "classic")]
    pub format: Format,
    /// Configuration to build the rule from (default: DIR/vpnrecon.toml if present,
    /// else the built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The configuration the sections are built from, and where it came from.
#[derive(Clone, Debug)]
pub struct ActiveConfig {
    pub config: Config,
    /// The file read, or `None` for the built-in defaults.
    pub file: Option<String>,
}

/// Loads the active configuration with the module's own loader: `explicit` if given
/// (it must exist), else `state_dir/vpnrecon.toml` if present, else the defaults. Any
/// problem with a file is an error carrying the module's own message; there is no
/// fallback to the defaults.
pub fn load_active(explicit: Option<&Path>, state_dir: &Path) -> Result<ActiveConfig, String> {
    let path = match explicit {
        Some(path) => {
            if let Err(e) = std::fs::metadata(path) {
                return Err(format!(
                    "cannot read the configuration file {} (--config): {e}",
                    path.display()
                ));
            }
            path.to_path_buf()
        }
        None => state_dir.join(config::FILE_NAME),
    };
    let Some(text) = path.to_str() else {
        return Err(format!(
            "the configuration path {} is not UTF-8; pass a UTF-8 path with --config",
            path.display()
        ));
    };
    let loaded = config::load_from(&[text], &mut |_| {});
    if let Some(error) = loaded.error {
        return Err(format!(
            "config error in {}; fix the file and run again (nothing was generated)",
            error.describe()
        ));
    }
    Ok(ActiveConfig {
        config: loaded.config,
        file: match loaded.source {
            Source::File(file) => Some(file),
            Source::Defaults => None,
        },
    })
}

/// One action name as a literal in the expression. Configured names are ASCII
/// letters and digits (the configuration parser refuses anything else); ASCII
/// punctuation is escaped with a backslash, which both engines read as the literal
/// character; a space becomes `\x20` (a rule is split at spaces); any other byte is
/// refused rather than guessed at.
pub fn escape_literal(name: &str) -> Result<String, String> {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '_' => out.push(c),
            ' ' => out.push_str(r"\x20"),
            c if c.is_ascii_punctuation() && c != '<' && c != '>' => {
                out.push('\\');
                out.push(c);
            }
            '<' | '>' => out.push(c),
            _ => {
                return Err(format!(
                    "action {name:?} holds the character {c:?}, which this command does not put in a Fluent Bit rule; use API action names (letters and digits)"
                ))
            }
        }
    }
    Ok(out)
}

/// The anchored expression accepting exactly the action spellings that
/// `Config::has_action` counts as configured (see the module documentation).
pub fn action_regex(actions: &[String]) -> Result<String, String> {
    if actions.is_empty() {
        return Err(
            "the configuration lists no actions, so the module can never fire: there is nothing to route"
                .to_owned(),
        );
    }
    // Suffix forms by the action's last character.
    let (mut plain, mut ends_v, mut ends_digit) = (Vec::new(), Vec::new(), Vec::new());
    for action in actions {
        let literal = escape_literal(action)?;
        match action.as_bytes().last() {
            Some(b) if b.is_ascii_digit() => ends_digit.push(literal),
            Some(b'v') => ends_v.push(literal),
            Some(_) => plain.push(literal),
            None => return Err("the configuration holds an empty action name".to_owned()),
        }
    }
    let mut alternatives = Vec::new();
    if !plain.is_empty() {
        alternatives.push(format!(
            "(?:{})(?:{DATE_PATTERN}(?:{VERSION_PATTERN})?)?",
            plain.join("|")
        ));
    }
    if !ends_v.is_empty() {
        alternatives.push(format!(
            "(?:{})(?:{DATE_PATTERN}{VERSION_PATTERN})?",
            ends_v.join("|")
        ));
    }
    if !ends_digit.is_empty() {
        alternatives.push(format!("(?:{})", ends_digit.join("|")));
    }
    Ok(if alternatives.len() == 1 {
        format!(r"\A{}\z", alternatives.concat())
    } else {
        format!(r"\A(?:{})\z", alternatives.join("|"))
    })
}

/// The record accessors whose value the module takes as the action, for records of
/// this shape, in rule order. A record with a top-level `eventName` is a raw event to
/// the module whatever else it holds, so every variant routes on `$eventName` too.
pub fn accessors(shape: InputShape) -> &'static [&'static str] {
    match shape {
        InputShape::Raw => &["$eventName"],
        InputShape::Eventbridge => &["$detail['eventName']", "$eventName"],
        InputShape::Ecs => &["$event['action']", "$event.action", "$eventName"],
        InputShape::Any => &[],
    }
}

/// The input shapes the variant is sound for, and the ones it is not.
fn soundness(shape: InputShape) -> (&'static str, &'static str) {
    match shape {
        InputShape::Raw => (
            "raw CloudTrail events, one per record (top-level eventName)",
            "S3 delivery files (a Records array), EventBridge envelopes, ECS documents, JSON text in log/message",
        ),
        InputShape::Eventbridge => (
            "EventBridge envelopes of CloudTrail API calls (detail.eventName), and raw CloudTrail events",
            "S3 delivery files (a Records array), ECS documents, JSON text in log/message",
        ),
        InputShape::Ecs => (
            "ECS documents (event.action, nested or dotted), and raw CloudTrail events",
            "S3 delivery files (a Records array), EventBridge envelopes, JSON text in log/message",
        ),
        InputShape::Any => ("every shape the module recognises", ""),
    }
}

/// Can the glob `pattern` (Fluent Bit `Match`: `*` stands for any run of characters)
/// match some tag that starts with `prefix`?
pub fn glob_may_match_prefix(pattern: &str, prefix: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.starts_with(prefix),
        Some((literal, _)) => prefix.starts_with(literal) || literal.starts_with(prefix),
    }
}

/// Checks the `Match` pattern: one token, and unable to match the re-tagged records
/// (which would send them back through `rewrite_tag`: Fluent Bit 5.1.1 refuses such
/// a cycle and keeps the record on its original tag, so it would bypass the module).
pub fn check_match(tag: &str, routed: bool) -> Result<(), String> {
    if tag.is_empty() || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "--match {tag:?}: a tag pattern is one word without spaces, e.g. aws.cloudtrail or aws.cloudtrail.*"
        ));
    }
    if routed && glob_may_match_prefix(tag, RETAG_PREFIX) {
        return Err(format!(
            "--match {tag}: this pattern can also match the re-tagged records ({RETAG_PREFIX}<tag>), which would loop through rewrite_tag; Fluent Bit refuses the cycle and keeps those records on their original tag, so they would never reach the module. Use a Match that starts with neither a wildcard nor \"{RETAG_PREFIX}\" (for a catch-all input, use --input any)"
        ));
    }
    Ok(())
}

/// A value on one line of the configuration.
fn check_value(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(format!(
            "{what} {value:?}: give a non-empty value on one line"
        ));
    }
    Ok(())
}

/// A YAML single-quoted scalar.
fn yaml_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An emitter name derived from the tag, so two generated pipelines do not collide.
fn emitter_name(tag: &str) -> String {
    let tail: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("vpnrecon_emitter_{tail}")
}

/// The rules of the `rewrite_tag` filter: `$KEY REGEX NEW_TAG KEEP`, KEEP `false` so
/// the record is moved to the new tag, not copied.
pub fn rules(shape: InputShape, regex: &str) -> Vec<String> {
    accessors(shape)
        .iter()
        .map(|key| format!("{key} {regex} {RETAG_PREFIX}$TAG false"))
        .collect()
}

/// The filter sections and their comments.
pub fn render(args: &Args, active: &ActiveConfig) -> Result<String, String> {
    check_match(&args.match_tag, args.input != InputShape::Any)?;
    check_value("--wasm-path", &args.wasm_path)?;
    check_value("--state-dir", &args.state_dir)?;
    let routed = args.input != InputShape::Any;
    let config = &active.config;
    if routed && config.enrich_all {
        return Err(format!(
            "enrich_all = true in {}: it annotates every record with a public source address, so every record must reach the module, which pre-routing prevents. Set enrich_all = false, or use --input any",
            active.file.as_deref().unwrap_or("the configuration")
        ));
    }
    let mut out = String::new();
    let mut comment = |line: &str| {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    };
    let source = match &active.file {
        Some(file) => file.clone(),
        None => "the built-in defaults".to_owned(),
    };
    comment(&format!(
        "vpnrecon filter sections for Fluent Bit {MIN_FLUENT_BIT} or later ({} input, function {}).",
        shape_name(args.input),
        args.function.export_name()
    ));
    let module_file = config::in_dir(&args.state_dir, config::FILE_NAME);
    if let Some(file) = &active.file {
        if Path::new(file) != Path::new(&module_file) {
            comment(&format!(
                "The module reads {module_file}, not {file}: install that file there, or the rule and the module disagree."
            ));
        }
    }
    let regex;
    let new_tag = format!("{RETAG_PREFIX}{}", args.match_tag);
    if routed {
        regex = action_regex(&config.actions)?;
        let (sound, unsound) = soundness(args.input);
        comment(&format!(
            "Pre-routing: rewrite_tag moves each record whose {} is one of the {} configured actions (from {source}; Lambda's 20YYMMDD[vN] spellings included) to the tag {RETAG_PREFIX}<tag>; only those records enter the wasm module. Regenerate these sections whenever the action list changes.",
            accessors(args.input).join(" or "),
            config.actions.len()
        ));
        comment(&format!(
            "New tag: outputs must match {new_tag} as well as {}.",
            args.match_tag
        ));
        comment(&format!("Sound for: {sound}."));
        comment(&format!(
            "Not sound for anything else on this input ({unsound}): such records never match the rule, stay on {} and are never examined. For a mixed input use --input any.",
            args.match_tag
        ));
        comment("rewrite_tag reads the last of duplicate keys, the module the first: records as AWS writes them have none.");
        comment(&format!(
            "Backpressure: Fluent Bit {MIN_FLUENT_BIT} pauses the inputs that feed a full emitter and keeps a record the emitter refuses on its original tag (not lost, but not examined). Give the emitter room (Emitter_Mem_Buf_Limit, default 10M) and, where outputs can push back, filesystem storage (Emitter_Storage.type filesystem, which needs storage.path in the service section): see the commented settings."
        ));
        if args.function == Function::Alerts {
            comment(&format!(
                "vpnrecon_alerts drops every re-tagged record that does not fire: {} then carries only the records that were not re-tagged.",
                args.match_tag
            ));
        }
        comment(&format!(
            "Measured in Fluent Bit {MIN_FLUENT_BIT} on raw events (85% other / 15% discovery): 0.83x the CPU of a Lua filter interpreted, 0.66x compiled ahead of time (see vpnrecon export-filter --aot)."
        ));
    } else {
        regex = String::new();
        comment(&format!(
            "No pre-routing: every record on {} enters the module, whatever its shape.",
            args.match_tag
        ));
        if args.function == Function::Alerts {
            comment(&format!(
                "vpnrecon_alerts passes only the records that fire: every other record on {} is dropped here.",
                args.match_tag
            ));
        }
        comment(&format!(
            "Measured in Fluent Bit {MIN_FLUENT_BIT}: 1.47-1.85x the CPU of a Lua filter interpreted, 1.00x compiled ahead of time (vpnrecon export-filter --aot)."
        ));
    }
    let wasm_match = if routed {
        new_tag.as_str()
    } else {
        args.match_tag.as_str()
    };
    let rules = if routed {
        rules(args.input, &regex)
    } else {
        Vec::new()
    };
    let emitter = emitter_name(&args.match_tag);
    match args.format {
        Format::Classic => {
            if routed {
                out.push_str("[FILTER]\n");
                let _ = writeln!(out, "    Name                   rewrite_tag");
                let _ = writeln!(out, "    Match                  {}", args.match_tag);
                for rule in &rules {
                    let _ = writeln!(out, "    Rule                   {rule}");
                }
                let _ = writeln!(out, "    Emitter_Name           {emitter}");
                out.push_str("#    Emitter_Mem_Buf_Limit  64M\n");
                out.push_str("#    Emitter_Storage.type   filesystem\n\n");
            }
            out.push_str("[FILTER]\n");
            let _ = writeln!(out, "    Name                   wasm");
            let _ = writeln!(out, "    Match                  {wasm_match}");
            let _ = writeln!(out, "    Event_Format           json");
            let _ = writeln!(out, "    Wasm_Path              {}", args.wasm_path);
            let _ = writeln!(
                out,
                "    Function_Name          {}",
                args.function.export_name()
            );
            let _ = writeln!(out, "    Accessible_Paths       {}", args.state_dir);
        }
        Format::Yaml => {
            out.push_str("pipeline:\n  filters:\n");
            if routed {
                out.push_str("    - name: rewrite_tag\n");
                let _ = writeln!(out, "      match: {}", yaml_quoted(&args.match_tag));
                out.push_str("      rule:\n");
                for rule in &rules {
                    let _ = writeln!(out, "        - {rule}");
                }
                let _ = writeln!(out, "      emitter_name: {emitter}");
                out.push_str("      # emitter_mem_buf_limit: 64M\n");
                out.push_str("      # emitter_storage.type: filesystem\n");
            }
            out.push_str("    - name: wasm\n");
            let _ = writeln!(out, "      match: {}", yaml_quoted(wasm_match));
            out.push_str("      event_format: json\n");
            let _ = writeln!(out, "      wasm_path: {}", yaml_quoted(&args.wasm_path));
            let _ = writeln!(out, "      function_name: {}", args.function.export_name());
            let _ = writeln!(
                out,
                "      accessible_paths: {}",
                yaml_quoted(&args.state_dir)
            );
        }
    }
    Ok(out)
}

fn shape_name(shape: InputShape) -> &'static str {
    match shape {
        InputShape::Raw => "raw",
        InputShape::Eventbridge => "eventbridge",
        InputShape::Ecs => "ecs",
        InputShape::Any => "any",
    }
}

/// The whole command: load the active configuration, render the sections.
pub fn run(args: &Args) -> Result<String, String> {
    let active = load_active(args.config.as_deref(), Path::new(&args.state_dir))?;
    render(args, &active)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn regex_groups_actions_by_their_last_character() {
        let date = DATE_PATTERN;
        assert_eq!(
            action_regex(&names(&["ListUsers", "ListRoles"])).as_deref(),
            Ok(format!(r"\A(?:ListUsers|ListRoles)(?:{date}(?:v[0-9]+)?)?\z").as_str())
        );
        assert_eq!(
            action_regex(&names(&["Getv", "Put2", "Ab"])).as_deref(),
            Ok(format!(
                r"\A(?:(?:Ab)(?:{date}(?:v[0-9]+)?)?|(?:Getv)(?:{date}v[0-9]+)?|(?:Put2))\z"
            )
            .as_str())
        );
        assert!(action_regex(&[]).is_err());
    }

    #[test]
    fn literals_are_escaped_or_refused() {
        assert_eq!(escape_literal("ListUsers").as_deref(), Ok("ListUsers"));
        assert_eq!(escape_literal("a.b|c").as_deref(), Ok(r"a\.b\|c"));
        assert_eq!(escape_literal("a b").as_deref(), Ok(r"a\x20b"));
        assert!(escape_literal("é").is_err());
        assert!(escape_literal("a\tb").is_err());
    }

    #[test]
    fn match_patterns_that_could_catch_the_new_tag_are_refused() {
        assert!(!glob_may_match_prefix("aws.cloudtrail", RETAG_PREFIX));
        assert!(!glob_may_match_prefix("aws.*", RETAG_PREFIX));
        assert!(glob_may_match_prefix("*", RETAG_PREFIX));
        assert!(glob_may_match_prefix("*.cloudtrail", RETAG_PREFIX));
        assert!(glob_may_match_prefix("vpn*", RETAG_PREFIX));
        assert!(glob_may_match_prefix("vpnrecon.aws*", RETAG_PREFIX));
        assert!(glob_may_match_prefix("vpnrecon.aws", RETAG_PREFIX));
        assert!(check_match("aws.cloudtrail.*", true).is_ok());
        assert!(check_match("*", true).is_err());
        assert!(check_match("*", false).is_ok());
        assert!(check_match("a b", false).is_err());
        assert!(check_match("", false).is_err());
    }
}
