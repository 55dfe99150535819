//! The one place that knows the order of the stages: ingest -> attribute -> rollup and compare -> verify -> report.
//!
//! Takes run options (already converted from the command line) and gives the written reports, an attribution
//! coverage report for `check --config`, or the explanation of one resource. Rows stream through: each row is read,
//! attributed and summed, and nothing per row is kept.

use crate::attribute::{Attributor, Owner, Rule};
use crate::compare::{CompareAcc, Decision, Estimate};
use crate::config::Config;
use crate::dates::Month;
use crate::error::{Error, Result};
use crate::ingest::{self, LoadReport, Plan};
use crate::money::Money;
use crate::report;
use crate::rollup::{Chargeback, Rollup};
use crate::schema::{Basis, CostBasis, CostRow};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// What `mlspend run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: PathBuf,
    pub inputs: Vec<PathBuf>,
    pub month: Option<Month>,
    /// Overrides the configuration's `closed_through`.
    pub closed_through: Option<Month>,
    /// Read the rows of closed months and carry their changes into the first open month.
    pub restate: bool,
    pub basis: Option<CostBasis>,
    pub out: PathBuf,
    pub ingest: ingest::Options,
    pub strict: bool,
    /// Write the time of the run into summary.json and the HTML pages.
    pub timestamp: bool,
    /// Threads that read the input; every core when not given.
    pub threads: Option<usize>,
    /// No progress line.
    pub quiet: bool,
    pub formats: crate::report::allocated::Formats,
}

/// What a run did.
pub struct RunOutcome {
    pub chargeback: Chargeback,
    pub estimates: Vec<Estimate>,
    /// The recommendation per month and currency.
    pub decisions: Vec<Decision>,
    /// With closed months: what each closed month now says against what it booked.
    pub restated: Vec<crate::close::Restatement>,
    pub load: LoadReport,
    pub written: Vec<PathBuf>,
    pub basis: CostBasis,
    /// Rows left out by `--month`.
    pub other_months: u64,
    /// Rows of closed months left out: their packs stay as booked, and without `--restate` nothing is compared.
    pub closed_left_out: u64,
}

/// Which files a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `run`: the whole pack of every month, each month folder replaced.
    Pack,
    /// `compare`: `topology.csv` and the topology charts, beside whatever the month folders hold.
    Topology,
}

/// The inputs of a run: those named, else the configuration's `exports`.
pub fn inputs(named: &[PathBuf], config: &Config) -> Result<Vec<PathBuf>> {
    if !named.is_empty() {
        return Ok(named.to_vec());
    }
    if config.exports.is_empty() {
        return Err(Error::Usage(format!(
            "no EXPORT named, and {} has no `exports`: name export files or folders",
            config.path.display()
        )));
    }
    Ok(config.exports.clone())
}

/// Files whose cost column holds the other basis: their rows carry no cost on the basis asked for.
fn basis_problems(load: &LoadReport, basis: CostBasis) -> Option<String> {
    let wrong: Vec<&str> = load
        .files
        .iter()
        .filter(|f| {
            matches!((f.basis, basis), (Basis::Actual, CostBasis::Amortized) | (Basis::Amortized, CostBasis::Actual))
        })
        .map(|f| f.path.as_str())
        .collect();
    if wrong.is_empty() {
        return None;
    }
    let (has, other) = match basis {
        CostBasis::Amortized => ("actual", "amortized"),
        CostBasis::Actual => ("amortized", "actual"),
    };
    Some(format!(
        "the run uses {other} cost but {} hold{} {has} cost only ({}); give {other}-cost exports, or run with --basis {has}",
        if wrong.len() == 1 { "this file" } else { "these files" },
        if wrong.len() == 1 { "s" } else { "" },
        wrong.join(", ")
    ))
}

/// A folder may hold both an actual-cost and an amortized-cost export: the run reads the files of its basis and
/// leaves out those that say they hold the other, with a note naming them. When every file holds the other basis,
/// nothing is left out here, and the run is refused after reading (`basis_problems`).
fn keep_basis(plan: &mut Plan, basis: CostBasis) -> Vec<String> {
    let other = match basis {
        CostBasis::Amortized => Basis::Actual,
        CostBasis::Actual => Basis::Amortized,
    };
    let (wrong, right): (Vec<_>, Vec<_>) = plan.sources.drain(..).partition(|s| s.basis_hint == Some(other));
    if wrong.is_empty() || right.is_empty() {
        // One of the two is empty: the order is the plan's own.
        plan.sources = wrong.into_iter().chain(right).collect();
        return Vec::new();
    }
    plan.sources = right;
    for s in &wrong {
        if let Some((m, _, _)) = &s.manifest {
            plan.manifest_rows.retain(|(x, _)| x != m);
        }
    }
    let names: Vec<String> = wrong.iter().map(|s| s.path.display().to_string()).collect();
    let other_name = if other == Basis::Actual { "actual" } else { "amortized" };
    let this_name = if other == Basis::Actual { "amortized" } else { "actual" };
    vec![format!(
        "read the {this_name}-cost exports; skipped {} {other_name}-cost file{} of another export: {}",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    )]
}

fn strict_error(load: &LoadReport) -> Result<()> {
    if let Some(first) = load.rejects.first() {
        let col = if first.column.is_empty() { String::new() } else { format!(" column {}:", first.column) };
        return Err(Error::Strict {
            path: None,
            count: load.rejects.len() as u64,
            first: format!("{}: line {}:{} {}", first.file, first.line, col, first.reason),
        });
    }
    Ok(())
}

/// The monthly chargeback run (`Output::Pack`) or the topology comparison (`Output::Topology`).
/// What one part of the input (a file, or a chunk of a large file) sums to while it is read.
struct RunState<'c> {
    config: &'c Config,
    attributor: &'c Attributor<'c>,
    basis: CostBasis,
    month: Option<Month>,
    /// Rows of months up to this one are left out (closed months not being restated).
    leave_out_through: Option<Month>,
    /// Closed months whose rows are read to restate them, even with `--month` naming the first open month.
    keep_through: Option<Month>,
    rollup: Rollup,
    compare: CompareAcc<'c>,
    allocated: Option<crate::report::allocated::AllocatedWriter<'c>>,
    other_months: u64,
    /// Rows of closed months left out (no `--restate`).
    closed_left_out: u64,
    /// The months of the rows `--month` left out, for the message when it leaves out every row.
    months_left_out: Vec<Month>,
}

impl ingest::RowSink for RunState<'_> {
    fn row(&mut self, row: &CostRow) {
        let month = row.month(self.config.month_by);
        let restating = self.keep_through.is_some_and(|t| month <= t);
        let closed = self.leave_out_through.is_some_and(|t| month <= t);
        let left_out = closed || (!restating && self.month.is_some_and(|m| m != month));
        // A commitment's order, from the rows of months left out too: a month whose rows name only the reservation
        // still finds its order's owner when run alone (`--month`) or with closed months left out.
        if left_out {
            self.rollup.note_commitment(row);
        }
        if closed {
            self.closed_left_out += 1;
            if !self.months_left_out.contains(&month) {
                self.months_left_out.push(month);
            }
            return;
        }
        if !restating && self.month.is_some_and(|m| m != month) {
            self.other_months += 1;
            if !self.months_left_out.contains(&month) {
                self.months_left_out.push(month);
            }
            return;
        }
        // A row without a cost on this basis comes from a file of the other basis, refused after reading.
        let Some(cost) = row.cost(self.basis) else { return };
        if !crate::rollup::is_azure(row.provider) {
            self.rollup.add_other_provider(month, &row.currency, row.provider, cost);
            return;
        }
        let a = self.attributor.apply(row);
        let category = crate::rollup::category(row);
        self.rollup.add(month, row, cost, category, &a, self.config);
        self.compare.add(row, cost, &a);
        if let Some(w) = self.allocated.as_mut() {
            w.add(row, category, &a);
        }
    }
}

/// How many threads read the input: `--threads`, else every core.
pub fn thread_count(asked: Option<usize>) -> usize {
    asked.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1)
}

/// The monthly chargeback run (`Output::Pack`) or the topology comparison (`Output::Topology`).
pub fn run(options: &RunOptions, output: Output) -> Result<RunOutcome> {
    let config = Config::load(&options.config)?;
    if options.out.exists() && !options.out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {}: is a file; --out names the folder the reports go into (one folder per month)",
            options.out.display()
        )));
    }
    let basis = options.basis.unwrap_or(config.basis);
    // Closed months: which rows are read (to restate a closed month) and which are left out.
    let closed_through = options.closed_through.or(config.closed_through);
    if let Some(through) = closed_through {
        if config.month_by != crate::schema::MonthBy::BillingPeriod {
            return Err(Error::Usage(format!(
                "closed_through {through} needs month = \"billing-period\": by usage date, a closed month's late charges arrive in later months' exports, and only part of the month could be compared with what was booked"
            )));
        }
        if config.reporting.is_some() {
            return Err(Error::Usage(
                "closed_through with a reporting currency ([currency]) is not supported yet: prior-period adjustments are not converted; remove one of them".into(),
            ));
        }
        if let Some(m) = options.month.filter(|m| *m <= through) {
            return Err(Error::Usage(format!(
                "--month {m}: that month is closed (closed_through {through}); its pack stays as booked"
            )));
        }
        if let Some(m) = options.month.filter(|m| options.restate && *m != through.next()) {
            return Err(Error::Usage(format!(
                "--restate books changes to closed months into {}, the first open month; --month {m} does not write it",
                through.next()
            )));
        }
        if options.restate && output != Output::Pack {
            return Err(Error::Usage("--restate applies to `run`: `compare` never writes adjustments".into()));
        }
        // The first open month may hold adjustments from an earlier --restate: a run without it would drop them.
        let first_open = options.out.join(through.next().to_string()).join("chargeback.csv");
        if !options.restate && output == Output::Pack && options.month.is_none_or(|m| m == through.next()) {
            if let Ok(text) = std::fs::read_to_string(&first_open) {
                if text.contains(",prior-period-adjustment,") {
                    return Err(Error::Usage(format!(
                        "{} holds prior-period adjustments from an earlier --restate: rerun with --restate to keep them up to date (a run without it would drop them)",
                        first_open.display()
                    )));
                }
            }
        }
    } else if options.restate {
        return Err(Error::Usage("--restate needs closed months: set closed_through or give --closed-through".into()));
    }
    let restating = closed_through.filter(|_| options.restate && output == Output::Pack);
    let leave_out_through = closed_through.filter(|_| restating.is_none());
    let inputs = inputs(&options.inputs, &config)?;
    let mut plan = ingest::plan(&inputs, options.ingest.allow_overlap)?;
    let skipped_basis = keep_basis(&mut plan, basis);
    let attributor = Attributor::new(&config);
    // allocated.parquet streams into the staging folder while the export is read.
    // The lock on OUT is taken before anything is read, so a second run into the same folder stops at once.
    let staging = report::Staging::create(&options.out)?;
    let pack = output == Output::Pack;
    // One basis per ledger: said before anything is read.
    if pack {
        report::ledger::check_basis(&staging.out, report::ledger::cost_column(basis))?;
    }
    // A run keeps its months' allocated rows in the ledger (OUT/ledger/allocated) unless `ledger_rows = false`,
    // whatever --format says.
    let keep_rows = options.formats.allocated() || config.ledger_rows;
    let allocated_dir = Some(staging.dir.clone()).filter(|_| pack && keep_rows);
    let names: Vec<String> = plan.sources.iter().map(|s| s.path.display().to_string()).collect();
    let new_state = || RunState {
        config: &config,
        attributor: &attributor,
        basis,
        month: options.month,
        leave_out_through,
        keep_through: restating,
        rollup: Rollup::new(),
        compare: CompareAcc::new(&config),
        allocated: allocated_dir
            .as_ref()
            .map(|d| crate::report::allocated::AllocatedWriter::new(&config, d, names.clone())),
        other_months: 0,
        closed_left_out: 0,
        months_left_out: Vec::new(),
    };
    let progress = crate::progress::Display::start(plan.bytes(), options.quiet);
    // The parts are merged in input order as they are read; each part's allocated rows are closed into its
    // temporary files at once, so nothing of a part stays in memory.
    let mut rollup = Rollup::new();
    let mut compare = CompareAcc::new(&config);
    let mut other_months = 0u64;
    let mut closed_left_out = 0u64;
    let mut months_left_out: Vec<Month> = Vec::new();
    let mut allocated_parts = Vec::new();
    let mut load =
        ingest::load_parts(&plan, &options.ingest, thread_count(options.threads), &new_state, &mut |part| {
            let state = part.sink;
            rollup.merge(state.rollup);
            compare.merge(state.compare);
            other_months += state.other_months;
            closed_left_out += state.closed_left_out;
            for m in state.months_left_out {
                if !months_left_out.contains(&m) {
                    months_left_out.push(m);
                }
            }
            if let Some(w) = state.allocated {
                allocated_parts.push((w.close()?, part.line_offset));
            }
            Ok(())
        })?;
    load.warnings.splice(0..0, config.warnings.iter().cloned());
    load.warnings.extend(rollup.unmatched_commitments(&config));
    load.warnings.extend(skipped_basis);
    load.warnings.extend(plan.skipped_runs.iter().map(|(_, s)| s.describe()));
    drop(progress);
    if let Some(problem) = basis_problems(&load, basis) {
        return Err(Error::Usage(problem));
    }
    if options.strict {
        strict_error(&load)?;
    }
    // A closed month must have been charged back: rows of one that never was would be left out of every pack.
    if let Some(through) = leave_out_through {
        for m in months_left_out.iter().filter(|m| **m <= through) {
            crate::close::require_booked(&options.out, *m)?;
        }
    }
    let mut chargeback = rollup.compute(&config, basis);
    if let Some(m) = options.month {
        if chargeback.months.is_empty() {
            months_left_out.sort_unstable();
            months_left_out.dedup();
            let held: Vec<String> = months_left_out.iter().map(|m| m.to_string()).collect();
            return Err(Error::Usage(format!(
                "--month {m}: the exports hold no rows of that month; they hold {}",
                if held.is_empty() { "no rows at all".to_string() } else { held.join(", ") }
            )));
        }
    }
    #[cfg(debug_assertions)]
    if std::env::var("MLSPEND_FAULT").is_ok_and(|f| f == "unbalance") {
        chargeback.inject_imbalance();
    }
    chargeback.check_bounds().map_err(Error::OutOfRange)?;
    chargeback.verify().map_err(Error::Unbalanced)?;
    // Closed months: their packs stay as booked; with --restate, what changed in them is carried into the first
    // open month.
    let restated = match restating {
        Some(through) => {
            let restated = crate::close::close(&mut chargeback, through, &options.out, &config)?;
            chargeback.verify().map_err(Error::Unbalanced)?;
            Some(restated)
        }
        None => closed_through.map(|_| Vec::new()),
    };
    if let Some(reporting) = &config.reporting {
        let decimals = config.decimals_for(&reporting.currency);
        chargeback.convert(reporting, decimals).map_err(Error::Config)?;
    }
    let mut warnings = load.warnings.clone();
    for m in &chargeback.months {
        warnings.extend(m.splits.iter().filter_map(|s| s.note.clone()));
    }
    let info = report::RunInfo {
        basis,
        config_path: &options.config,
        config: &config,
        timestamp: options.timestamp.then(crate::report::utc_now),
        formats: options.formats,
        inputs: &inputs,
        rejects: &load.rejects,
        warnings: &warnings,
        restated: restated.as_deref(),
    };
    let (estimates, decisions) = compare.compare().map_err(Error::OutOfRange)?;
    let charts = report::charts::build(&config, &chargeback, &estimates, basis);
    let written = match output {
        Output::Pack => {
            let formats = crate::report::allocated::Formats {
                parquet: options.formats.parquet || config.ledger_rows,
                ..options.formats
            };
            crate::report::allocated::finish(allocated_parts, &chargeback, formats)?;
            report::write(&chargeback, (&estimates, &decisions), &charts, &info, staging)?
        }
        Output::Topology => report::write_topology(&chargeback, (&estimates, &decisions), &charts, staging)?,
    };
    Ok(RunOutcome {
        chargeback,
        estimates,
        decisions,
        load,
        written,
        basis,
        other_months,
        closed_left_out,
        restated: restated.unwrap_or_default(),
    })
}

/// ML spend per attribution rule, and the largest unallocated resources, for `check --config`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Coverage {
    pub basis: CostBasis,
    /// Per (month, currency): ML rows and cost matched by each rule (`none` is unallocated).
    pub ml_by_rule: Vec<RuleCoverage>,
    /// Non-ML rows that a workspace's resources or resource groups bring into the chargeback.
    pub associated: Vec<RuleCoverage>,
    pub largest_unallocated: Vec<UnallocatedResource>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleCoverage {
    pub month: Month,
    pub currency: String,
    pub rule: Rule,
    pub rows: u64,
    pub cost: Money,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UnallocatedResource {
    pub currency: String,
    pub resource_id: String,
    pub reason: String,
    pub rows: u64,
    pub cost: Money,
}

/// Accumulates coverage while `check` reads.
pub struct CoverageAcc<'c> {
    attributor: Attributor<'c>,
    basis: CostBasis,
    month_by: crate::schema::MonthBy,
    by_rule: HashMap<(Month, String, Rule, bool), (u64, Money)>,
    unallocated: HashMap<(String, String, String), (u64, Money)>,
}

impl<'c> CoverageAcc<'c> {
    pub fn new(config: &'c Config) -> CoverageAcc<'c> {
        CoverageAcc {
            attributor: Attributor::new(config),
            basis: config.basis,
            month_by: config.month_by,
            by_rule: HashMap::new(),
            unallocated: HashMap::new(),
        }
    }

    pub fn add(&mut self, row: &CostRow) {
        let Some(cost) = row.cost(self.basis) else { return };
        let a = self.attributor.apply(row);
        if !row.is_ml && a.workspace.is_none() {
            return;
        }
        let e =
            self.by_rule.entry((row.month(self.month_by), row.currency.to_string(), a.rule, row.is_ml)).or_default();
        e.0 += 1;
        e.1 += cost;
        if let Owner::Unallocated(reason) = &a.owner {
            let e = self
                .unallocated
                .entry((row.currency.to_string(), row.resource_id.to_string(), reason.text()))
                .or_default();
            e.0 += 1;
            e.1 += cost;
        }
    }

    pub fn finish(self) -> Coverage {
        let mut ml = Vec::new();
        let mut associated = Vec::new();
        let mut keys: Vec<_> = self.by_rule.into_iter().collect();
        keys.sort_by(|a, b| (a.0 .0, &a.0 .1, a.0 .2).cmp(&(b.0 .0, &b.0 .1, b.0 .2)));
        for ((month, currency, rule, is_ml), (rows, cost)) in keys {
            let rc = RuleCoverage { month, currency, rule, rows, cost };
            if is_ml {
                ml.push(rc);
            } else {
                associated.push(rc);
            }
        }
        let mut largest: Vec<UnallocatedResource> = self
            .unallocated
            .into_iter()
            .map(|((currency, resource_id, reason), (rows, cost))| UnallocatedResource {
                currency,
                resource_id,
                reason,
                rows,
                cost,
            })
            .collect();
        largest.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.resource_id.cmp(&b.resource_id)));
        largest.truncate(10);
        Coverage { basis: self.basis, ml_by_rule: ml, associated, largest_unallocated: largest }
    }
}

/// One way a resource's rows were attributed, for `explain`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Explanation {
    pub resource_id: String,
    pub rule: String,
    pub owner: String,
    pub workspace: String,
    pub environment: String,
    pub months: Vec<Month>,
    /// The cost basis `cost` is on.
    pub basis: CostBasis,
    /// Rows and cost per currency.
    pub cost: BTreeMap<String, (u64, Money)>,
    /// Rows that hold no cost on that basis (an actual-only file under amortized): not in `cost`.
    pub rows_without_basis: u64,
}

/// Explains how the rows of one resource (matched by full id, by name, or as lying under the given id) are attributed.
pub fn explain(
    config: &Config,
    plan: &Plan,
    options: &ingest::Options,
    resource: &str,
    basis: CostBasis,
) -> Result<Vec<Explanation>> {
    let attributor = Attributor::new(config);
    let wanted = resource.trim().trim_end_matches('/').to_ascii_lowercase();
    let mut found: BTreeMap<(String, String, String, String, String), Explanation> = BTreeMap::new();
    ingest::load(plan, options, &mut |row| {
        let id = row.resource_id.trim_end_matches('/').to_ascii_lowercase();
        let matches =
            id == wanted || row.resource_name.eq_ignore_ascii_case(&wanted) || id.starts_with(&format!("{wanted}/"));
        // A commitment's unused capacity and purchases have no resource: they are found by the commitment's id.
        let commitment = !matches && !row.commitment.is_empty() && {
            let role = crate::commitment::role(row);
            let (key, order) = crate::commitment::key(row.commitment);
            let (wanted_key, _) = crate::commitment::key(&wanted);
            matches!(role, crate::commitment::Role::Unused | crate::commitment::Role::Purchase)
                && (key.eq_ignore_ascii_case(wanted_key) || order.is_some_and(|o| o.eq_ignore_ascii_case(wanted_key)))
        };
        if !matches && !commitment {
            return;
        }
        let shown_id = if commitment { row.commitment } else { row.resource_id };
        let a = attributor.apply(row);
        let (rule, owner) = attributor.describe(&a, row);
        let workspace = a.workspace.map(|i| config.workspaces[i].name.clone()).unwrap_or_default();
        let key = (shown_id.to_string(), rule.clone(), owner.clone(), workspace.clone(), a.environment.to_string());
        let e = found.entry(key).or_insert_with(|| Explanation {
            resource_id: shown_id.to_string(),
            rule,
            owner,
            workspace,
            environment: a.environment.to_string(),
            months: vec![],
            basis,
            cost: BTreeMap::new(),
            rows_without_basis: 0,
        });
        let m = row.month(config.month_by);
        if !e.months.contains(&m) {
            e.months.push(m);
            e.months.sort();
        }
        match row.cost(basis) {
            Some(cost) => {
                let c = e.cost.entry(row.currency.to_string()).or_default();
                c.0 += 1;
                c.1 += cost;
            }
            None => e.rows_without_basis += 1,
        }
    })?;
    Ok(found.into_values().collect())
}

/// What `history` needs.
pub struct HistoryOptions {
    pub ledger: PathBuf,
    pub out: PathBuf,
    /// The configuration with the budgets; none: no budgets.
    pub config: Option<PathBuf>,
    pub timestamp: bool,
}

/// `mlspend history`: the ledger's months read together (ledger), then written as the history folder (report), which
/// changes in one step like a pack.
pub fn history(options: &HistoryOptions) -> Result<(crate::ledger::history::History, Vec<PathBuf>)> {
    // The configuration and --out first, from where they were named; then the ledger is read from inside it.
    let config = options.config.as_deref().map(Config::load).transpose()?;
    let out = std::path::absolute(&options.out).map_err(|e| Error::io(&options.out, e))?;
    let ledger = crate::ledger::enter(&options.ledger)?;
    let budgets = config.as_ref().map(|c| c.budgets.clone()).unwrap_or_default();
    let decimals =
        |code: &str| config.as_ref().map(|c| c.decimals_for(code)).unwrap_or_else(|| Config::default_decimals(code));
    if out.exists() && !out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {}: is a file; --out names the folder history is written into",
            out.display()
        )));
    }
    let h = crate::ledger::history::history(&ledger, &budgets, &decimals)?;
    let basis = if h.cost_column == "BilledCost" { "actual" } else { "amortized" };
    let timestamp = options.timestamp.then(crate::report::utc_now);
    let files = crate::report::history::files(&h, basis, timestamp.as_deref())?;
    let staging = report::Staging::create(&out)?;
    let mut names = Vec::new();
    for (rel, bytes) in &files {
        let path = staging.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        if let Some(first) = rel.components().next() {
            let first = first.as_os_str().to_string_lossy().to_string();
            if !names.contains(&first) {
                names.push(first);
            }
        }
    }
    // history.html, history.csv and charts/ are replaced whole; anything else in --out stays.
    for old in ["history.csv", "history.html", "charts"] {
        if !names.iter().any(|n| n == old) {
            names.push(old.to_string());
        }
    }
    let out = staging.out.clone();
    staging.commit(&names, false, &[])?;
    Ok((h, files.iter().map(|(rel, _)| out.join(rel)).collect()))
}
