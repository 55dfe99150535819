//! The command line: clap types live here and nowhere else; each command turns its arguments into the stages'
//! own option types once, then calls the stages.

use crate::config::Config;
use crate::dates::Month;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::schema::CostBasis;
use crate::{check, generate, ingest, pipeline};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// Where the bundled sample export lives, relative to the repository root.
pub const BUNDLED_SAMPLE: &str = "data/sample";
/// The configuration that matches the bundled sample.
pub const BUNDLED_CONFIG: &str = "data/sample.toml";

/// Monthly Azure Machine Learning chargeback from Azure cost exports.
#[derive(Debug, Parser)]
#[command(name = "mlspend", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report what exports hold: layouts, rows, rejects, totals per month and currency, ML spend, tag keys.
    Check(CheckArgs),
    /// The monthly chargeback: attribute spend to workspaces, roll it up per team, project and shared pool.
    Run(RunArgs),
    /// Compare workspace topologies: the same usage as one workspace per team, per project, per division, or one
    /// shared; writes topology.csv and the topology chart into each month folder.
    Compare(RunArgs),
    /// Explain how one resource's rows are attributed: which rule matched, to whom, and why.
    Explain(ExplainArgs),
    /// Write a deterministic synthetic enterprise export.
    Generate(GenerateArgs),
    /// Trends across the ledger's months: totals per team, project, workspace and shared pool, change on the month
    /// and the year, year to date, forecasts with their back-tested error, budget burn and anomalies.
    History(HistoryArgs),
    /// Run a SQL query over the ledger's tables, chargeback and allocated (polars SQL).
    Sql(SqlArgs),
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The ledger: the `ledger` folder a run writes into its --out.
    #[arg(long, value_name = "DIR", default_value = "reports/ledger")]
    pub ledger: PathBuf,
    /// Where to write history.html, history.csv and the charts.
    #[arg(long, value_name = "DIR", default_value = "reports/history")]
    pub out: PathBuf,
    /// The configuration whose budgets the teams are measured against. Defaults to the bundled sample's,
    /// data/sample.toml, when it is there.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Exit 4 when a team is over its budget in the ledger's last month, or forecast to be next month.
    #[arg(long)]
    pub fail_if_over: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// The ledger: the `ledger` folder a run writes into its --out.
    #[arg(long, value_name = "DIR", default_value = "reports/ledger")]
    pub ledger: PathBuf,
    /// Write every row of the result to FILE.csv or FILE.parquet instead of printing the first 1000.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The query, over the tables chargeback and allocated, e.g.
    /// "select billing_month, x_Team, sum(EffectiveCost) from chargeback group by 1, 2 order by 1, 2".
    #[arg(value_name = "QUERY")]
    pub query: String,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The configuration file. Defaults to the bundled sample's, data/sample.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only this billing month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// Which cost to charge back; overrides the configuration's `basis`.
    #[arg(long, value_enum)]
    pub basis: Option<CostBasis>,
    /// The last closed month, YYYY-MM; overrides the configuration's `closed_through`. Closed months' packs are never
    /// rewritten, and their rows are left out unless --restate.
    #[arg(long, value_name = "YYYY-MM")]
    pub closed_through: Option<String>,
    /// Read the closed months' rows, compare each closed month with what its pack booked, and carry the changes into
    /// the first open month as prior-period adjustments. Give each closed month's whole export: the comparison is
    /// with the whole month.
    #[arg(long)]
    pub restate: bool,
    /// Where to write the reports, one folder per billing month.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Write the time of the run into summary.json and the HTML pages (reruns are otherwise byte-identical).
    #[arg(long)]
    pub timestamp: bool,
    /// Threads that read the input (uncompressed CSV files are read in 64 MiB chunks); every core by default.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Machine-readable formats: csv (chargeback.csv), parquet (chargeback.parquet, allocated.parquet), json
    /// (chargeback.json, allocated.jsonl); comma-separated. HTML pages and statements are always written.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "csv")]
    pub format: Vec<OutputFormat>,
    #[command(flatten)]
    pub input: InputArgs,
}

/// Machine-readable report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Csv,
    Parquet,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The resource: a full resource id, a resource name, or an id whose child resources to include.
    #[arg(long, value_name = "ID")]
    pub resource: String,
    /// Which cost to show; overrides the configuration's `basis`.
    #[arg(long, value_enum, value_name = "BASIS")]
    pub basis: Option<CostBasis>,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Export files (.csv, .csv.gz, .parquet) or folders of them; Azure export folders are read through their
    /// manifest.json. Defaults to the bundled sample, data/sample.
    #[arg(value_name = "EXPORT")]
    pub exports: Vec<PathBuf>,
    /// What the cost column of EA and MCA files holds when neither a manifest nor the file name says.
    #[arg(long, value_enum, value_name = "BASIS")]
    pub export_type: Option<CostBasis>,
    /// Sum runs of one export whose date ranges overlap (`20260801-20260831` and `20260801-20260815`) instead of
    /// reading each day from the newest run that covers it.
    #[arg(long)]
    pub allow_overlap: bool,
    /// Fail (exit 1) if any row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// No progress line and no warnings on stderr (errors still).
    #[arg(long, short)]
    pub quiet: bool,
}

impl InputArgs {
    fn paths(&self) -> Result<Vec<PathBuf>> {
        if !self.exports.is_empty() {
            return Ok(self.exports.clone());
        }
        let sample = PathBuf::from(BUNDLED_SAMPLE);
        if sample.is_dir() {
            Ok(vec![sample])
        } else {
            Err(Error::Usage(format!(
                "no EXPORT named, and no bundled sample at {BUNDLED_SAMPLE} (run from the repository root, or name export files or folders)"
            )))
        }
    }

    fn options(&self) -> ingest::Options {
        ingest::Options { export_type: self.export_type, allow_overlap: self.allow_overlap }
    }
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also validate this configuration and report how it attributes the ML spend.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The file to write, or with --manifest the folder to write the export run folders into.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Seed of the generator: the same seed and options give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Data rows to write, spread over the months.
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// Billing months to cover.
    #[arg(long, default_value_t = 3)]
    pub months: u32,
    /// The first billing month, YYYY-MM.
    #[arg(long, default_value = "2026-08")]
    pub start: String,
    /// Export layout to write.
    #[arg(long, value_enum, default_value_t = Layout::Ea)]
    pub layout: Layout,
    /// File format to write.
    #[arg(long, value_enum, default_value_t = generate::FileFormat::Csv)]
    pub format: generate::FileFormat,
    /// Write an Azure export folder: one run folder per month with part files and a manifest.json.
    #[arg(long)]
    pub manifest: bool,
    /// What the cost column holds (EA, MCA and legacy layouts); FOCUS carries both.
    #[arg(long, value_enum, default_value_t = CostBasis::Amortized)]
    pub export_type: CostBasis,
    /// End CSV lines with CRLF instead of LF, as portal downloads do.
    #[arg(long)]
    pub crlf: bool,
    /// Write the rows into N part files: in the folder --out (part_00000.csv...), or with --manifest per month's
    /// run (by default one part per million rows).
    #[arg(long, value_name = "N")]
    pub parts: Option<u32>,
    /// Leave the descriptive columns no chargeback reads empty: rows of ~400 bytes instead of ~800.
    #[arg(long)]
    pub narrow: bool,
    /// The share of rows (0 to 1) that are late charges: used in the month before the one they are billed in.
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub late_fraction: f64,
    /// Leave out the reservations' unused-capacity rows (the DuckDB benchmark's script does not split them)
    #[arg(long)]
    pub no_unused_capacity: bool,
    /// Also write the usage file of the shared GPU cluster (`month,workspace,team,compute,hours`) to this path
    #[arg(long, value_name = "PATH")]
    pub usage_file: Option<PathBuf>,
    /// Write one organisation's estate (four teams, eight projects) deployed in this topology instead of the
    /// synthetic enterprise: the topology backtest's input (docs/generate.md). --rows does not apply.
    #[arg(long, value_enum)]
    pub topology: Option<generate::EstateTopology>,
    /// With --topology: the environments the organisation works in (prod, dev, test, staging: the first N)
    #[arg(long, value_name = "N", default_value_t = 2, requires = "topology")]
    pub environments: u32,
    /// With --topology: a workspace per environment (else one workspace holds every environment's work)
    #[arg(long, requires = "topology")]
    pub per_environment: bool,
    /// With --topology: write the mlspend configuration describing the estate to this path
    #[arg(long, value_name = "PATH", requires = "topology")]
    pub config_out: Option<PathBuf>,
}

/// Parses the command line and runs the command.
pub fn main() -> Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2)
            let _ = e.print();
            std::process::exit(e.exit_code());
        }
    };
    match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Run(args) => run_run(&args, pipeline::Output::Pack),
        Command::Compare(args) => run_run(&args, pipeline::Output::Topology),
        Command::Explain(args) => run_explain(&args),
        Command::Generate(args) => run_generate(&args),
        Command::History(args) => run_history(&args),
        Command::Sql(args) => run_sql(&args),
    }
}

fn run_history(args: &HistoryArgs) -> Result<()> {
    use crate::ledger::history::Level;
    let config = args.config.clone().or_else(|| Some(PathBuf::from(BUNDLED_CONFIG)).filter(|p| p.is_file()));
    let options = pipeline::HistoryOptions {
        ledger: args.ledger.clone(),
        out: absolute(&args.out)?,
        config: config.as_deref().map(absolute).transpose()?,
        timestamp: false,
    };
    let (h, _) = pipeline::history(&options)?;
    let over = h.over_budget();
    if !args.quiet {
        let mut text = String::new();
        let span = match (h.months.first(), h.months.last()) {
            (Some(a), Some(b)) => format!("{a} to {b}"),
            _ => String::new(),
        };
        let basis = if h.cost_column == "BilledCost" { "actual" } else { "amortized" };
        text.push_str(&format!("{} ledger months, {span} ({basis} cost)\n", h.months.len()));
        if !h.gaps.is_empty() {
            let gaps: Vec<String> = h.gaps.iter().map(|m| m.to_string()).collect();
            text.push_str(&format!("  the ledger does not hold {}\n", gaps.join(", ")));
        }
        let last = h.months.last().map(|m| m.to_string()).unwrap_or_default();
        for c in &h.currencies {
            let d = c.decimals;
            let Some(total) = c.total() else { continue };
            let f = &total.forecast;
            text.push_str(&format!("{}\n", c.code));
            let next = format!("forecast {}", f.next_month);
            let year = if f.year_from.month == 1 {
                format!("forecast {}", f.year_end_month.year)
            } else {
                format!("forecast {} to {}", f.year_from, f.year_end_month)
            };
            let header =
                ["team", last.as_str(), "vs month before", "year to date", next.as_str(), "±", year.as_str(), "±"];
            let row = |name: &str, s: &crate::ledger::history::Series| -> Vec<String> {
                let m = s.months.last();
                vec![
                    name.to_string(),
                    m.map(|m| crate::report::grouped(m.cost, d)).unwrap_or_default(),
                    m.and_then(|m| m.mom.and_then(|(_, p)| p)).map(|p| format!("{p:+.1}%")).unwrap_or_default(),
                    m.map(|m| crate::report::grouped(m.ytd, d)).unwrap_or_default(),
                    crate::report::grouped(s.forecast.next.round(d), d),
                    s.forecast.error.map(|(e, _)| format!("{e:.1}%")).unwrap_or_else(|| "-".into()),
                    crate::report::grouped(s.forecast.year_end.round(d), d),
                    s.forecast.year_end_error.map(|e| format!("{e:.1}%")).unwrap_or_else(|| "-".into()),
                ]
            };
            let mut rows: Vec<Vec<String>> = c.of(Level::Team).map(|s| row(&s.name, s)).collect();
            rows.push(row("total", total));
            crate::check::table(&mut text, "  ", &header, &rows, &[false, true, true, true, true, true, true, true]);
            for b in &c.budgets {
                text.push_str(&format!(
                    "  budget {}: {:.1}% of {} in {last}; {:.1}% of {} for {} to {}-12{}\n",
                    b.team,
                    b.last_pct,
                    crate::report::grouped(b.monthly, d),
                    b.burn_pct,
                    crate::report::grouped(b.year, d),
                    b.period_from,
                    b.period_from.year,
                    match b.runs_out {
                        Some(m) => format!(", runs out {m}"),
                        None => String::new(),
                    }
                ));
            }
            for s in c.series.iter().filter(|s| matches!(s.level, Level::Team | Level::Workspace)) {
                if let Some(a) = s.months.last().and_then(|m| m.anomaly.as_ref()) {
                    text.push_str(&format!("  anomaly in {last}: {} {}: {a}\n", s.level.name(), s.name));
                }
            }
        }
        text.push_str(&format!("wrote {}\n", args.out.display()));
        stdout_write(&text)?;
    }
    if args.fail_if_over && !over.is_empty() {
        let list: Vec<String> = over.iter().map(|(c, t, why)| format!("{t} ({c}) {why}")).collect();
        return Err(Error::OverBudget(list.join("; ")));
    }
    Ok(())
}

/// A path made absolute before the ledger commands work from inside the ledger (`ledger::enter`).
fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, e))
}

fn run_sql(args: &SqlArgs) -> Result<()> {
    let out = args.out.as_deref().map(absolute).transpose()?;
    let ledger = crate::ledger::enter(&args.ledger)?;
    if let Some(out) = &out {
        let path = crate::ledger::sql::write(&ledger, &args.query, out)?;
        eprintln!("wrote {}", path.display());
        return Ok(());
    }
    let printed = crate::ledger::sql::print(&ledger, &args.query)?;
    let header: Vec<&str> = printed.header.iter().map(String::as_str).collect();
    let mut text = String::new();
    crate::check::table(&mut text, "", &header, &printed.rows, &printed.numeric);
    if printed.more {
        text.push_str(&format!(
            "(the first {} rows; --out FILE.csv or FILE.parquet writes them all)\n",
            crate::ledger::sql::SHOWN
        ));
    }
    stdout_write(&text)
}

fn stdout_write(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|source| Error::Write { path: "<stdout>".into(), source })
}

fn warn(warnings: &[String], quiet: bool) {
    if quiet {
        return;
    }
    let mut err = std::io::stderr().lock();
    for w in warnings {
        let _ = writeln!(err, "warning: {w}");
    }
}

fn run_check(args: &CheckArgs) -> Result<()> {
    let config = args.config.as_deref().map(Config::load).transpose()?;
    let inputs = match (&config, args.input.exports.is_empty()) {
        (Some(c), true) => pipeline::inputs(&[], c)?,
        _ => args.input.paths()?,
    };
    let plan = ingest::plan(&inputs, args.input.allow_overlap)?;
    let progress = crate::progress::Display::start(plan.bytes(), args.input.quiet || args.json);
    let (report, _) = match &config {
        Some(c) => {
            let mut coverage = pipeline::CoverageAcc::new(c);
            let (mut report, load) =
                check::run(&plan, &args.input.options(), c.month_by, Some(&mut |row| coverage.add(row)))?;
            report.coverage = Some(coverage.finish());
            (report, load)
        }
        None => check::run(&plan, &args.input.options(), Default::default(), None)?,
    };
    drop(progress);
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))?;
        stdout_write(&(text + "\n"))?;
    } else {
        stdout_write(&check::render_text(&report))?;
        warn(&report.warnings, args.input.quiet);
    }
    strict_check(args.input.strict, &report.rejects)
}

fn strict_check(strict: bool, rejects: &[ingest::Reject]) -> Result<()> {
    if strict {
        if let Some(first) = rejects.first() {
            let col = if first.column.is_empty() { String::new() } else { format!(" column {}:", first.column) };
            return Err(Error::Strict {
                path: None,
                count: rejects.len() as u64,
                first: format!("{}: line {}:{} {}", first.file, first.line, col, first.reason),
            });
        }
    }
    Ok(())
}

fn parse_month(text: &str, flag: &str) -> Result<Month> {
    Month::parse(text).ok_or_else(|| Error::Usage(format!("{flag} {text:?}: expected a month as YYYY-MM")))
}

fn run_run(args: &RunArgs, output: pipeline::Output) -> Result<()> {
    let config = match &args.config {
        Some(c) => c.clone(),
        None if args.input.exports.is_empty() => {
            let c = PathBuf::from(BUNDLED_CONFIG);
            if !c.is_file() {
                return Err(Error::Usage(format!(
                    "no --config given and no bundled configuration at {BUNDLED_CONFIG} (run from the repository root, or give --config)"
                )));
            }
            c
        }
        None => return Err(Error::Usage("name a configuration with --config when you name exports".into())),
    };
    let options = pipeline::RunOptions {
        config,
        inputs: args.input.exports.clone(),
        month: args.month.as_deref().map(|m| parse_month(m, "--month")).transpose()?,
        closed_through: args.closed_through.as_deref().map(|m| parse_month(m, "--closed-through")).transpose()?,
        restate: args.restate,
        basis: args.basis,
        out: args.out.clone(),
        ingest: args.input.options(),
        strict: args.input.strict,
        timestamp: args.timestamp,
        threads: args.threads,
        quiet: args.input.quiet,
        formats: crate::report::allocated::Formats {
            csv: args.format.contains(&OutputFormat::Csv),
            parquet: args.format.contains(&OutputFormat::Parquet),
            json: args.format.contains(&OutputFormat::Json),
        },
    };
    let outcome = pipeline::run(&options, output)?;
    let basis = if outcome.basis == CostBasis::Actual { "actual" } else { "amortized" };
    let mut text = String::new();
    if output == pipeline::Output::Topology {
        text.push_str(&compare_table(&outcome, basis));
        for w in outcome.written.iter().filter(|w| w.extension().is_some_and(|x| x == "csv")) {
            text.push_str(&format!("wrote {}\n", w.display()));
        }
        stdout_write(&text)?;
        warn(&outcome.load.warnings, args.input.quiet);
        return Ok(());
    }
    for m in &outcome.chargeback.months {
        text.push_str(&format!("{} ({basis} cost)\n", m.month));
        // Teams' shares of unused commitments and purchases charged to owners: a column when there are any.
        let committed = m.totals.iter().any(|t| t.rows.unused_commitment + t.rows.commitment_purchase > 0);
        let platform = m.totals.iter().any(|t| t.rows.platform_pool > 0);
        let body: Vec<Vec<String>> = m
            .totals
            .iter()
            .map(|t| {
                let d = t.decimals;
                let mut row =
                    vec![t.currency.clone(), t.input_total.to_fixed(d), t.direct.to_fixed(d), t.shared.to_fixed(d)];
                if platform {
                    row.push(t.platform.to_fixed(d));
                }
                if committed {
                    row.push((t.unused_commitment + t.commitment_purchases).to_fixed(d));
                }
                row.extend([
                    t.unallocated.to_fixed(d),
                    t.out_of_scope.to_fixed(d),
                    t.rows.input.to_string(),
                    if t.balanced { "yes" } else { "NO" }.to_string(),
                ]);
                row
            })
            .collect();
        let mut head = vec!["currency", "input total", "direct", "shared"];
        if platform {
            head.push("platform");
        }
        if committed {
            head.push("commitments");
        }
        head.extend(["unallocated", "out of scope", "rows", "balanced"]);
        let mut right = vec![true; head.len()];
        (right[0], right[head.len() - 1]) = (false, false);
        check::table(&mut text, "  ", &head, &body, &right);
        for t in m.totals.iter().filter(|t| !t.adjustments.is_zero()) {
            text.push_str(&format!(
                "  prior-period adjustments: {} {} carried from closed months (restatement.csv); chargeback total {}\n",
                t.adjustments.to_fixed(t.decimals),
                t.currency,
                t.chargeback_total.to_fixed(t.decimals)
            ));
        }
        for s in m.splits.iter().filter(|s| s.fell_back()) {
            let kind = if s.platform { "" } else { "shared pool " };
            let note = s.note.as_deref().unwrap_or("split evenly");
            text.push_str(&format!("  {kind}{}: {note}\n", crate::report::pool_label(s)));
        }
        for p in &m.other_providers {
            text.push_str(&format!(
                "  not in the Azure bill: {} rows of {}, {} {} (another cloud in a multi-cloud FOCUS export)\n",
                p.rows,
                p.provider,
                p.cost.to_fixed(p_decimals(&outcome.chargeback, &p.currency)),
                p.currency
            ));
        }
    }
    // Closed months: what their rows say now against what was booked, carried into the first open month.
    type Closed = (crate::money::Money, crate::money::Money, Month, u32);
    let mut closed: std::collections::BTreeMap<(Month, &str), Closed> = std::collections::BTreeMap::new();
    for r in &outcome.restated {
        let e = closed.entry((r.closed_month, r.currency.as_str())).or_insert((
            Default::default(),
            Default::default(),
            r.carried_into,
            r.decimals,
        ));
        e.0 += r.booked;
        e.1 += r.now;
    }
    for ((month, cur), (booked, now, into, d)) in closed {
        text.push_str(&format!(
            "{month} is closed: its pack stays as booked ({} {cur}); its rows now say {} {cur}, so {} {cur} is carried into {into}\n",
            booked.to_fixed(d),
            now.to_fixed(d),
            (now - booked).to_fixed(d)
        ));
    }
    for w in &outcome.written {
        text.push_str(&format!("wrote {}\n", w.display()));
    }
    let rejected = outcome.load.rejected();
    if rejected > 0 {
        text.push_str(&format!("{rejected} rows rejected: see rejects.csv in each month folder\n"));
    }
    if outcome.closed_left_out > 0 {
        text.push_str(&format!(
            "{} rows of closed months left out: their packs stay as booked (--restate compares them and carries the changes into the first open month)\n",
            outcome.closed_left_out
        ));
    }
    if outcome.other_months > 0 {
        text.push_str(&format!("{} rows of other months left out by --month\n", outcome.other_months));
    }
    stdout_write(&text)?;
    warn(&outcome.load.warnings, args.input.quiet);
    Ok(())
}

/// The decimals a currency's totals were rounded to in this run (2 when the currency has no Azure total).
fn p_decimals(chargeback: &crate::rollup::Chargeback, currency: &str) -> u32 {
    chargeback.months.iter().flat_map(|m| &m.totals).find(|t| t.currency == currency).map(|t| t.decimals).unwrap_or(2)
}

fn compare_table(outcome: &pipeline::RunOutcome, basis: &str) -> String {
    use crate::compare::PARTS;
    let mut text = String::new();
    let decimals: std::collections::BTreeMap<(Month, &str), u32> = outcome
        .chargeback
        .months
        .iter()
        .flat_map(|m| m.totals.iter().map(move |t| ((m.month, t.currency.as_str()), t.decimals)))
        .collect();
    // A month and currency with no spend in the configured workspaces has nothing to compare: said, in its place.
    for m in &outcome.chargeback.months {
        for t in &m.totals {
            if !outcome.decisions.iter().any(|d| d.month == m.month && d.currency == t.currency) {
                text.push_str(&format!(
                    "{} {} ({basis} cost): no spend in the configured workspaces, nothing to compare\n",
                    m.month, t.currency
                ));
            }
        }
    }
    for decision in &outcome.decisions {
        let (month, cur) = (decision.month, decision.currency.as_str());
        let d = decimals.get(&(month, cur)).copied().unwrap_or(2);
        let est: Vec<&crate::compare::Estimate> =
            outcome.estimates.iter().filter(|e| e.month == month && e.currency == cur).collect();
        // Only the parts that hold spend in some row.
        let shown = crate::compare::shown_parts(&est);
        let mut header = vec!["topology", "workspaces", "usage"];
        header.extend(shown.iter().map(|&i| PARTS[i].label()));
        header.extend(["total", "vs actual", "team %", "project %"]);
        let body: Vec<Vec<String>> = est
            .iter()
            .map(|e| {
                let r = e.rounded(d);
                let pct = |p: Option<f64>| p.map(|v| crate::compare::percent(v, 1)).unwrap_or_else(|| "-".into());
                let mut name = e.topology.clone();
                if e.current && e.structure != "as-configured" {
                    name.push_str(" (current)");
                }
                if e.recommended {
                    name.push_str(" *");
                }
                let mut row = vec![name, e.workspaces.to_string(), r.usage.to_fixed(d)];
                row.extend(shown.iter().map(|&i| r.parts[i].to_fixed(d)));
                row.extend([
                    r.total.to_fixed(d),
                    r.delta.to_fixed(d),
                    pct(e.team_attributable_pct),
                    pct(e.project_attributable_pct),
                ]);
                row
            })
            .collect();
        let numeric: Vec<bool> = header.iter().enumerate().map(|(i, _)| i > 0).collect();
        text.push_str(&format!("{month} {cur} ({basis} cost)\n"));
        check::table(&mut text, "  ", &header, &body, &numeric);
        text.push_str(&format!("  * {}\n", decision.sentence(&outcome.estimates, d)));
        for note in &decision.notes {
            text.push_str(&format!("  note: {note}\n"));
        }
    }
    text
}

fn run_explain(args: &ExplainArgs) -> Result<()> {
    let config = Config::load(&args.config)?;
    let inputs = pipeline::inputs(&args.input.exports, &config)?;
    let plan = ingest::plan(&inputs, args.input.allow_overlap)?;
    if args.resource.trim().trim_end_matches('/').is_empty() {
        return Err(Error::Usage("--resource is empty: give a full resource id or a resource name".into()));
    }
    let basis = args.basis.unwrap_or(config.basis);
    let found = pipeline::explain(&config, &plan, &args.input.options(), &args.resource, basis)?;
    if args.json {
        let text = serde_json::to_string_pretty(&found).map_err(|e| Error::Usage(e.to_string()))?;
        return stdout_write(&(text + "\n"));
    }
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "no row of the exports has resource {:?}: give a full resource id or a resource name",
            args.resource
        )));
    }
    let mut text = String::new();
    for e in &found {
        let months: Vec<String> = e.months.iter().map(|m| m.to_string()).collect();
        let name = if basis == CostBasis::Actual { "actual" } else { "amortized" };
        let cost: Vec<String> = e.cost.iter().map(|(c, (rows, sum))| format!("{sum} {c} in {rows} rows")).collect();
        let missing = if e.rows_without_basis > 0 {
            format!(" ({} rows hold no {name} cost: not counted; try --basis)", e.rows_without_basis)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{}\n  workspace rule: {}\n  owner:          {}\n  environment:    {}\n  months:         {}\n  {:<15} {}{missing}\n",
            e.resource_id,
            e.rule,
            e.owner,
            if e.environment.is_empty() { "(none)" } else { &e.environment },
            months.join(", "),
            format!("{name} cost:"),
            cost.join("; ")
        ));
    }
    stdout_write(&text)
}

fn run_generate(args: &GenerateArgs) -> Result<()> {
    let start = crate::dates::Month::parse(&args.start)
        .ok_or_else(|| Error::Usage(format!("--start {:?}: expected a month as YYYY-MM", args.start)))?;
    if args.months == 0 || args.months > 120 {
        return Err(Error::Usage("--months: give 1 to 120 months".into()));
    }
    let spec = generate::Spec {
        seed: args.seed,
        rows: args.rows,
        months: args.months,
        start,
        layout: args.layout,
        format: args.format,
        manifest: args.manifest,
        export_type: args.export_type,
        crlf: args.crlf,
        parts: args.parts.unwrap_or(0),
        narrow: args.narrow,
        late_fraction: args.late_fraction,
        usage_file: args.usage_file.clone(),
        unused_capacity: !args.no_unused_capacity,
        estate: args.topology.map(|topology| generate::Estate {
            topology,
            environments: args.environments,
            per_environment: args.per_environment,
            config_out: args.config_out.clone(),
        }),
    };
    if args.topology.is_some() {
        if !(1..=4).contains(&args.environments) {
            return Err(Error::Usage("--environments: give 1 to 4 environments".into()));
        }
        if args.manifest || args.parts.is_some() {
            return Err(Error::Usage("--topology writes one file: leave out --manifest and --parts".into()));
        }
    }
    let last = (1..args.months).fold(start, |m, _| m.next());
    if start.year < 1901 || last.year > 9999 || last < start {
        return Err(Error::Usage(format!(
            "--start {start} --months {}: the months must lie from 1901-01 to 9999-12 (late charges use the month before)",
            args.months
        )));
    }
    if !(0.0..=1.0).contains(&args.late_fraction) {
        return Err(Error::Usage(format!("--late-fraction {}: give a share from 0 to 1", args.late_fraction)));
    }
    // Without --manifest the parts split all the rows; with it, each month's rows.
    let rows_to_split = if args.manifest { args.rows / u64::from(args.months).max(1) } else { args.rows };
    if args.parts == Some(0) || args.parts.is_some_and(|p| u64::from(p) > rows_to_split) {
        let what = if args.manifest { "rows per month (--manifest splits each month's run)" } else { "rows" };
        return Err(Error::Usage(format!("--parts: give 1 part or more, and no more parts than {what}")));
    }
    if args.crlf && args.format == generate::FileFormat::Parquet {
        return Err(Error::Usage("--crlf: line endings apply to CSV; leave it out with --format parquet".into()));
    }
    let written = generate::write(&spec, &args.out)?;
    let mut err = std::io::stderr().lock();
    for (path, rows) in written {
        let _ = writeln!(err, "wrote {} ({rows} rows)", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
