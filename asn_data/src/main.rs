//! `asn-data`: build a baked table, look addresses up, show a table's provenance.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use asn_data::build::{self, Format, Input, Provenance};
use asn_data::{parse_ip, Table};

const USAGE: &str = "usage:
  asn-data build --format ip-location-db|iptoasn|maxmind-csv INPUT... --out FILE
                 [--source-version V] [--build-date YYYY-MM-DD]
  asn-data lookup [--table FILE] [IP...]     (reads one IP per line from stdin without IPs)
  asn-data info [--table FILE]

The build date comes from --build-date, else from SOURCE_DATE_EPOCH; one is required.
lookup and info use the embedded table unless --table is given.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => run_build(args.get(1..).unwrap_or_default()),
        Some("lookup") => run_lookup(args.get(1..).unwrap_or_default()),
        Some("info") => run_info(args.get(1..).unwrap_or_default()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("expected a command\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("asn-data: {message}");
            ExitCode::from(2)
        }
    }
}

/// Splits `--flag value` options from positional arguments.
struct Args {
    options: Vec<(String, String)>,
    positional: Vec<String>,
}

fn split_args(args: &[String], flags: &[&str]) -> Result<Args, String> {
    let mut parsed = Args {
        options: Vec::new(),
        positional: Vec::new(),
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some(flag) = arg.strip_prefix("--") {
            if !flags.contains(&flag) {
                return Err(format!("unknown option `{arg}`\n{USAGE}"));
            }
            let value = iter
                .next()
                .ok_or_else(|| format!("option `{arg}` needs a value"))?;
            parsed.options.push((flag.to_string(), value.clone()));
        } else {
            parsed.positional.push(arg.clone());
        }
    }
    Ok(parsed)
}

impl Args {
    fn get(&self, flag: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(f, _)| f == flag)
            .map(|(_, v)| v.as_str())
    }
}

fn run_build(args: &[String]) -> Result<ExitCode, String> {
    let args = split_args(args, &["format", "out", "source-version", "build-date"])?;
    let format_name = args.get("format").ok_or("build needs --format")?;
    let format = Format::parse(format_name).ok_or_else(|| {
        format!("unknown format `{format_name}`: use ip-location-db, iptoasn or maxmind-csv")
    })?;
    let out = args.get("out").ok_or("build needs --out FILE")?;
    if args.positional.is_empty() {
        return Err("build needs at least one INPUT file".into());
    }
    let build_date = match args.get("build-date") {
        Some(date) => date.to_string(),
        None => {
            let epoch = std::env::var("SOURCE_DATE_EPOCH").map_err(|_| {
                "give --build-date YYYY-MM-DD or set SOURCE_DATE_EPOCH (the build never reads the clock)"
            })?;
            let seconds: i64 = epoch
                .trim()
                .parse()
                .map_err(|_| format!("SOURCE_DATE_EPOCH `{epoch}` is not a number of seconds"))?;
            build::date_from_epoch(seconds)
        }
    };
    let mut inputs = Vec::new();
    for path in &args.positional {
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: cannot read: {e}"))?;
        inputs.push(Input {
            path: path.clone(),
            bytes,
        });
    }
    let source_version = match args.get("source-version") {
        Some(v) => v.to_string(),
        None => package_version(&args.positional).unwrap_or_else(|| "unknown".into()),
    };
    let built = build::build(
        format,
        &inputs,
        &Provenance {
            source_version,
            build_date,
        },
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(out, &built.bytes).map_err(|e| format!("{out}: cannot write: {e}"))?;
    print!("{}", built.report);
    println!("wrote {out}");
    Ok(ExitCode::SUCCESS)
}

/// The `version` of an npm `package.json` beside the first input, if there is one
/// (ip-location-db ships its CSVs as an npm package).
fn package_version(inputs: &[String]) -> Option<String> {
    let first = std::path::Path::new(inputs.first()?);
    let text = std::fs::read_to_string(first.parent()?.join("package.json")).ok()?;
    let after_key = text.split("\"version\"").nth(1)?;
    let value = after_key.split('"').nth(1)?;
    Some(value.to_string())
}

fn load_table(args: &Args) -> Result<(Vec<u8>, bool), String> {
    match args.get("table") {
        Some(path) => std::fs::read(path)
            .map(|b| (b, true))
            .map_err(|e| format!("{path}: cannot read: {e}")),
        None => Ok((Vec::new(), false)),
    }
}

fn with_table<T>(args: &Args, run: impl FnOnce(&Table<'_>) -> T) -> Result<T, String> {
    let (bytes, from_file) = load_table(args)?;
    if from_file {
        let table = Table::from_bytes(&bytes).map_err(|e| e.to_string())?;
        Ok(run(&table))
    } else {
        let table = asn_data::baked().ok_or("the embedded ASN table does not load")?;
        Ok(run(table))
    }
}

/// Prints `ip<TAB>asn<TAB>organisation` per input, `-` for unknown. An input that is not
/// an IP prints `-` fields too (so output lines match input lines) plus an error on
/// stderr, and makes the exit status 1.
fn run_lookup(args: &[String]) -> Result<ExitCode, String> {
    let args = split_args(args, &["table"])?;
    with_table(&args, |table| {
        let stdout = io::stdout();
        let mut out = io::BufWriter::new(stdout.lock());
        let mut bad = 0usize;
        let mut one = |text: &str, out: &mut dyn Write| -> io::Result<()> {
            let text = text.trim();
            match parse_ip(text) {
                Ok(ip) => match table.lookup(ip) {
                    Some(asn) => writeln!(out, "{text}\t{}\t{}", asn.number, asn.organisation),
                    None => writeln!(out, "{text}\t-\t-"),
                },
                Err(e) => {
                    bad += 1;
                    eprintln!("asn-data: `{text}`: {e}");
                    writeln!(out, "{text}\t-\t-")
                }
            }
        };
        let written = if args.positional.is_empty() {
            io::stdin()
                .lock()
                .lines()
                .try_for_each(|line| one(&line?, &mut out))
        } else {
            args.positional.iter().try_for_each(|ip| one(ip, &mut out))
        };
        written.and_then(|()| out.flush()).map(|()| bad)
    })?
    .map_err(|e| format!("lookup: {e}"))
    .map(|bad| {
        if bad == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    })
}

fn run_info(args: &[String]) -> Result<ExitCode, String> {
    let args = split_args(args, &["table"])?;
    with_table(&args, |table| {
        let h = table.header();
        println!("format version: {}", asn_data::FORMAT_VERSION);
        println!("source: {} {}", h.source, h.source_version);
        println!("build date: {}", h.build_date);
        for input in &h.inputs {
            let hex: String = input.sha256.iter().map(|b| format!("{b:02x}")).collect();
            println!("input: {} sha256 {hex}", input.name);
        }
        for (name, c) in [("IPv4", &h.v4), ("IPv6", &h.v6)] {
            println!(
                "{name}: {} ranges read, {} overlaps resolved, {} merged, {} gap entries, {} entries, {} exact entries",
                c.ranges_read, c.overlaps_resolved, c.merged, c.gaps, c.entries, c.exceptions
            );
        }
        println!(
            "ASes: {} (names cut to 255 bytes: {})",
            h.asns, h.names_truncated
        );
        if h.source == "ip-location-db" {
            println!(
                "data: CC BY 4.0 by RouteViews, NRO and DB-IP (IP to ASN Lite, https://db-ip.com/), via ip-location-db"
            );
        }
    })?;
    Ok(ExitCode::SUCCESS)
}
