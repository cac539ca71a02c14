//! `vpnrecon`: replay archived CloudTrail through the filter module, export the
//! module for Fluent Bit, look up addresses, inspect the module, benchmark hosts.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use vpnrecon_host::wasmtime_host::CompileCache;
use vpnrecon_host::{
    aot, bench, replay, Backend, HostOptions, Mode, ReplayOptions, FLUENT_BIT_DEFAULT_HEAP,
    FLUENT_BIT_DEFAULT_STACK,
};
#[cfg(feature = "native")]
use vpnrecon_host::{
    asn_cmd, baseline, explain, export_elastic, export_sigma, fluent_bit_config, respond,
};

#[derive(Parser)]
#[command(
    name = "vpnrecon",
    version,
    about = "Detect AWS discovery calls from VPN ASNs: replay logs through the Fluent Bit filter module"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay logs through the module as Fluent Bit would; surviving records as NDJSON.
    Replay(ReplayArgs),
    /// Write the embedded module (for Fluent Bit's wasm filter) to PATH, or with --aot
    /// compile it ahead of time with WAMR's wamrc for one Fluent Bit release.
    ExportFilter(aot::ExportArgs),
    /// Print Fluent Bit filter sections: rewrite_tag pre-routing plus the wasm filter.
    #[cfg(feature = "native")]
    FluentBitConfig(fluent_bit_config::Args),
    /// Write the detections as Sigma rules (ECS and raw CloudTrail fields) into DIR.
    #[cfg(feature = "native")]
    ExportSigma(export_sigma::Args),
    /// Write the detections as Elastic detection rules (TOML) into DIR.
    #[cfg(feature = "native")]
    ExportElastic(export_elastic::Args),
    /// ASN intelligence from the baked table: search organisations, show an AS's ranges.
    #[cfg(feature = "native")]
    Asn(asn_cmd::Args),
    /// What archived CloudTrail says about tuning: discovery calls by action and
    /// source category, listed ASNs seen, alert volume per day, a proposed toml delta.
    #[cfg(feature = "native")]
    Baseline(baseline::Args),
    /// Per event: shape, fields read, each condition of rules A and B with its value,
    /// and the verdict. A --state-dir is copied, never written.
    #[cfg(feature = "native")]
    Explain(explain::Args),
    /// Containment plans from alerts: per identity, AWS CLI commands, policy JSON and
    /// a README of what they do and undo. Nothing is run.
    #[cfg(feature = "native")]
    Respond(respond::Args),
    /// Publish CloudTrail events into the partitioned NATS JetStream stream.
    ///
    /// One message per event into VPNRECON_EVENTS on vpnrecon.events.<partition>.<account>,
    /// message id = eventID (a re-run within the duplicate window publishes nothing
    /// twice). Partition = FNV-1a 32 of the account (userIdentity.accountId, else
    /// recipientAccountId) modulo --partitions: NATS's own partition() mapping. Reads
    /// every input form `replay` reads. Without PATHS it only creates or checks the
    /// stream. See docs/SCALING.md.
    #[cfg(feature = "native")]
    Publish(vpnrecon_host::scale::publish::PublishArgs),
    /// Run a worker on the partitioned stream: leases, state changelog, detections.
    ///
    /// Takes a fair share of the partitions with leases in the key-value bucket
    /// vpnrecon_leases, runs one instance of the embedded module (wasmtime) per
    /// partition with its state restored from VPNRECON_STATE, publishes detections to
    /// VPNRECON_DETECTIONS (message id <eventID>:<rule id>) and commits each batch's
    /// state delta with its stream position before reading on. A dead worker's
    /// partitions move within the lease timeout plus one poll interval.
    /// SIGTERM/SIGINT: finish the batch, commit, release the leases, exit 0. See
    /// docs/SCALING.md.
    #[cfg(feature = "native")]
    Consume(vpnrecon_host::scale::consume::ConsumeArgs),
    /// Print the ASN, VPN list category and matching range of each address.
    Lookup {
        #[arg(required = true)]
        ips: Vec<String>,
        /// Judge membership by this configuration (its ASN list and `add_vpn_cidrs`
        /// ranges) instead of the curated list.
        #[arg(long, value_name = "FILE")]
        config: Option<std::path::PathBuf>,
    },
    /// Print the module's vpnrecon_info (version, rules, data provenance, config).
    Info {
        #[command(flatten)]
        module: ModuleArgs,
    },
    /// Records/s native vs wasmtime vs WAMR, fuel, cold start, lookup cost, gzip ratio.
    Bench(bench::BenchArgs),
    /// Write the static triage page into DIR: drop CloudTrail files on it in a browser
    /// (serve DIR with any static file server; nothing is uploaded).
    Page {
        /// Directory to write index.html and its files into (created if missing).
        dir: PathBuf,
    },
}

#[derive(clap::Args, Clone)]
struct ModuleArgs {
    /// Configuration file, made visible to the module as ./vpnrecon.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory pre-opened for the module as `.` (state lives here). Default: a
    /// temporary directory, so each run starts with empty state.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Load this module instead of the embedded one.
    #[arg(long)]
    filter: Option<PathBuf>,
    /// Runtime: wasmtime, wamr (Fluent Bit's interpreter) or native.
    #[arg(long, default_value = "wasmtime")]
    host: Backend,
    /// WAMR stack size in bytes (Fluent Bit `wasm_stack_size`).
    #[arg(long, default_value_t = FLUENT_BIT_DEFAULT_STACK)]
    wasm_stack: u32,
    /// WAMR heap size in bytes (Fluent Bit `wasm_heap_size`).
    #[arg(long, default_value_t = FLUENT_BIT_DEFAULT_HEAP)]
    wasm_heap: u32,
    /// Where wasmtime keeps the compiled module between runs (default:
    /// $VPNRECON_CACHE_DIR, else $XDG_CACHE_HOME/vpnrecon, else ~/.cache/vpnrecon).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Compile the module on every start; read and write no cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
    /// Say on stderr what the module cache did.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// annotate: every record, detections added; alerts: only records with a detection;
    /// findings: an OCSF Detection Finding per record that fires.
    #[arg(long, default_value = "annotate")]
    mode: Mode,
    #[command(flatten)]
    module: ModuleArgs,
    /// Make a fresh instance every N records (older Fluent Bit: one per chunk).
    #[arg(long)]
    reinstantiate_every: Option<u64>,
    /// Meter wasmtime fuel and print its distribution per record.
    #[arg(long)]
    fuel: bool,
    /// Hand S3 delivery files over whole instead of one record per event.
    #[arg(long)]
    batch: bool,
    /// Write records here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// .json, .ndjson, .gz of either, directories, or - for standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vpnrecon: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Replay(args) => run_replay(args),
        Command::ExportFilter(args) => {
            let module = vpnrecon_host::try_embedded_module()?;
            if let (Some(out), Some(release)) = (&args.aot, &args.fluent_bit) {
                let done = aot::export(module, out, release, args.wamrc.as_deref(), args.target)
                    .map_err(anyhow::Error::msg)?;
                eprintln!("{done}");
                return Ok(ExitCode::SUCCESS);
            }
            let Some(path) = &args.path else {
                bail!("export-filter needs PATH, or --aot OUT --fluent-bit VERSION");
            };
            fs::write(path, module).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), module.len());
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::FluentBitConfig(args) => {
            let text = fluent_bit_config::run(&args).map_err(anyhow::Error::msg)?;
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::ExportSigma(args) => {
            eprint!("{}", export_sigma::run(&args).map_err(anyhow::Error::msg)?);
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::ExportElastic(args) => {
            eprint!(
                "{}",
                export_elastic::run(&args).map_err(anyhow::Error::msg)?
            );
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::Asn(args) => {
            asn_cmd::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::Baseline(args) => {
            baseline::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::Explain(args) => {
            explain::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::Respond(args) => {
            respond::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::Publish(args) => {
            vpnrecon_host::scale::publish::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "native")]
        Command::Consume(args) => {
            vpnrecon_host::scale::consume::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lookup { ips, config } => run_lookup(&ips, config.as_deref()),
        Command::Info { module } => {
            let (opts, _dir) = host_options(&module, Mode::Annotate)?;
            let mut host = vpnrecon_host::open(module.host, &opts)?;
            let info = host.info()?;
            let pretty = serde_json::from_str::<serde_json::Value>(&info)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or(info);
            println!("{pretty}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            bench::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Page { dir } => {
            let written = vpnrecon_host::page::write(&dir).map_err(anyhow::Error::msg)?;
            eprintln!(
                "wrote the triage page to {} ({} files); serve it with any static file server, \
                 e.g. `python3 -m http.server -d {}`",
                dir.display(),
                written.len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The module's `.`: the given state directory, or a temporary one; the config file
/// (if any) is copied in as `vpnrecon.toml`, where the module looks for it.
fn host_options(args: &ModuleArgs, mode: Mode) -> Result<(HostOptions, Option<tempfile::TempDir>)> {
    let mut opts = HostOptions::new(mode);
    opts.stack_size = args.wasm_stack;
    opts.heap_size = args.wasm_heap;
    opts.verbose = args.verbose;
    opts.compile_cache = match (&args.cache_dir, args.no_cache) {
        (_, true) => CompileCache::Off,
        (Some(dir), false) => CompileCache::Dir(dir.clone()),
        (None, false) => CompileCache::Default,
    };
    if let Some(path) = &args.filter {
        opts.module =
            Some(fs::read(path).with_context(|| format!("reading module {}", path.display()))?);
    }
    let (dir, temp) = match &args.state_dir {
        Some(dir) => {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::tempdir().context("creating a temporary state directory")?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    if let Some(config) = &args.config {
        let text = fs::read(config).with_context(|| format!("reading {}", config.display()))?;
        let target = dir.join("vpnrecon.toml");
        if fs::canonicalize(config).ok() != fs::canonicalize(&target).ok() {
            fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
        }
    }
    opts.dir = Some(dir);
    Ok((opts, temp))
}

fn run_replay(args: ReplayArgs) -> Result<ExitCode> {
    let (mut host, _temp) = host_options(&args.module, args.mode)?;
    host.reinstantiate_every = args.reinstantiate_every;
    host.fuel = args.fuel;
    if args.fuel && args.module.host != Backend::Wasmtime {
        bail!("--fuel needs --host wasmtime (fuel is wasmtime's instruction meter)");
    }
    let mut opts = ReplayOptions::new(args.module.host, host);
    opts.batch = args.batch;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let report = replay(&args.paths, &opts, &mut out)?;
    drop(out);
    eprint!("{}", report.summary.render());
    if args.fuel && !report.fuel.is_empty() {
        let (median, p90) = bench::median_p90(&report.fuel);
        eprintln!("  fuel per record: median {median}, p90 {p90}");
    }
    if report.summary.lost > 0 {
        eprintln!(
            "vpnrecon: {} records were LOST (the module failed on them; inside Fluent Bit they would be dropped)",
            report.summary.lost
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_lookup(ips: &[String], config: Option<&std::path::Path>) -> Result<ExitCode> {
    let Some(table) = asn_data::baked() else {
        bail!(
            "this build has no baked ASN table (asn_data/data/asn_table.bin is empty or invalid)"
        );
    };
    let config = match config {
        Some(path) => Some(asn_cmd::config_or_defaults(Some(path))?),
        None => None,
    };
    let curated = asn_data::curated::list();
    let mut failed = false;
    for text in ips {
        let Ok(ip) = asn_data::parse_ip(text) else {
            eprintln!("{text}: not an IP address");
            failed = true;
            continue;
        };
        let asn = table.lookup(ip);
        let membership = match &config {
            // The module's decision: a local range first, then the configured list.
            Some(config) => match config.vpn_source(ip, asn.as_ref().map(|a| a.number)) {
                Some(vpnrecon_filter::config::VpnSource::Range(r)) => format!(
                    "local VPN range {} ({}): {}",
                    r.net,
                    r.label,
                    vpnrecon_filter::config::LOCAL_CATEGORY
                ),
                Some(vpnrecon_filter::config::VpnSource::Asn(a)) => {
                    format!("VPN list: {}", a.category)
                }
                None => "not on the VPN list".to_owned(),
            },
            None => asn
                .as_ref()
                .and_then(|asn| curated.iter().find(|c| c.asn == asn.number))
                .map_or("not on the VPN list".to_string(), |c| {
                    format!(
                        "VPN list: {}{}",
                        c.category.as_str(),
                        if c.enabled { "" } else { " (disabled)" }
                    )
                }),
        };
        match asn {
            Some(asn) => {
                let range = table
                    .range_containing(ip)
                    .map_or_else(|| "-".to_owned(), |r| r.to_string());
                println!(
                    "{text}\tAS{}\t{}\t{membership}\trange {range}",
                    asn.number, asn.organisation
                );
            }
            None if membership.starts_with("local") => {
                println!("{text}\t-\tno ASN in the table\t{membership}")
            }
            None => println!("{text}\t-\tno ASN (unrouted, private or not in the table)"),
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
