//! Reports: the files a chargeback run writes, per billing month.
//!
//! Takes a verified [`Chargeback`] and gives, under `OUT/<YYYY-MM>/`: `chargeback.csv`, `statements/<team>.csv`,
//! `summary.json` and, when rows were rejected, `rejects.csv`. Files are deterministic (sorted, no timestamps), so
//! the same inputs give byte-identical reports. The pack is built beside `OUT` and swapped in as one step under a
//! lock ([`pack`]), so a reader never sees half a pack and a run that fails or is killed leaves the previous one
//! whole. Text cells that a spreadsheet would run as a formula are neutralised; file names made from bill or
//! configuration text go through one safe-name rule. `html` writes the pages, `charts` decides what each month's
//! charts show and `chart` draws them, `pools` is how shared pools read, `allocated` writes the Parquet and JSON
//! outputs.

pub mod allocated;
pub mod chart;
pub mod charts;
pub mod history;
pub mod html;
pub mod ledger;
pub mod pack;
pub mod pools;
mod topology;

/// The comparison of a run: every combination's estimate, and the decision per month and currency.
pub type Comparison<'a> = (&'a [Estimate], &'a [Decision]);

use crate::compare::{Decision, Estimate};
use crate::dates::Month;
use crate::error::{Error, Result};
use crate::ingest::Reject;
use crate::money::Money;
use crate::report::charts::Charts;
use crate::rollup::{Chargeback, CurrencyTotals, Line, MonthChargeback, PoolSplit};
use crate::schema::CostBasis;
pub use pack::Staging;
pub use pools::{percentages, pool_label, pool_shares, pool_total, weight_basis, weight_text};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The columns of `chargeback.csv` and the statements, in order.
pub const CHARGEBACK_COLUMNS: [&str; 11] = [
    "billing_month",
    "currency",
    "team",
    "project",
    "workspace",
    "environment",
    "service_category",
    "topology",
    "allocation",
    "reason",
    "cost",
];

pub use crate::text::safe_cell;

/// Every team of a run, sorted: each configured team and each team with a line in any month. Team colours and
/// statement file names follow from this list, so they stay the same from month to month.
pub fn run_teams<'a>(config: &'a crate::config::Config, chargeback: &'a Chargeback) -> Vec<&'a str> {
    let configured = config
        .workspaces
        .iter()
        .flat_map(|w| std::iter::once(w.team.as_str()).chain(w.teams.iter().map(String::as_str)));
    let seen = chargeback.months.iter().flat_map(|m| m.lines.iter()).map(|l| l.team.as_str());
    let mut teams: Vec<&str> = configured.chain(seen).filter(|t| !t.is_empty() && !t.starts_with('(')).collect();
    teams.sort_unstable();
    teams.dedup();
    teams
}

/// A file name for a team: ASCII letters, digits, `-`, `_` and `.` kept and lower-cased (so names that differ only in
/// case share a file name and are told apart by a suffix), anything else `_`, no leading dot, not a Windows device
/// name. Names that still collide get `-2`, `-3`... in sorted order of the original names.
pub fn safe_file_names<'a>(teams: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut sorted: Vec<&str> = teams.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut used = HashSet::new();
    let mut out = BTreeMap::new();
    for team in sorted {
        // Room for a `-N` suffix within the 100 bytes.
        let mut base = safe_name(&team.to_ascii_lowercase());
        base.truncate(90);
        let mut name = base.clone();
        let mut k = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}-{k}");
            k += 1;
        }
        out.insert(team.to_string(), name);
    }
    out
}

/// The safe-name rule for one file name made from text of a bill or a configuration: ASCII letters, digits, `-`,
/// `_` and `.` kept, anything else (a `/`, a NUL, `<`) `_`, no leading dot (so never `..`), not a
/// Windows device name, at most 100 bytes.
pub fn safe_name(text: &str) -> String {
    let mut base: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    base = base.trim_start_matches('.').to_string();
    if base.is_empty() {
        base = "_".into();
    }
    let stem = base.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = ["CON", "PRN", "AUX", "NUL"].contains(&stem.as_str())
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        base.push('_');
    }
    base.truncate(100);
    base
}

/// An amount at `d` decimals with thousands separators, exactly (`-1,234.50`); never a negative zero.
pub fn grouped(m: Money, d: u32) -> String {
    crate::text::group_thousands(&m.to_fixed(d))
}

pub(crate) fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let err =
        |e: csv::Error| Error::Write { path: PathBuf::from("<csv>"), source: std::io::Error::other(e.to_string()) };
    w.write_record(header).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::Write { path: PathBuf::from("<csv>"), source: std::io::Error::other(e.to_string()) })
}

/// The cells of a chargeback line; with a reporting currency, its code and the converted cost follow.
fn line_cells(l: &Line, decimals: u32, report: Option<(&str, u32)>) -> Vec<String> {
    let mut cells = vec![
        l.billing_month.to_string(),
        safe_cell(&l.currency).into_owned(),
        safe_cell(&l.team).into_owned(),
        safe_cell(&l.project).into_owned(),
        safe_cell(&l.workspace).into_owned(),
        safe_cell(&l.environment).into_owned(),
        l.service_category.clone(),
        l.topology.clone(),
        l.allocation.clone(),
        safe_cell(&l.reason).into_owned(),
        l.cost.to_fixed(decimals),
    ];
    if let Some((code, d)) = report {
        cells.push(code.to_string());
        cells.push(l.report_cost.map(|c| c.to_fixed(d)).unwrap_or_default());
    }
    cells
}

/// The columns of `chargeback.csv` and the statements: with a reporting currency, two more.
fn chargeback_columns(report: Option<(&str, u32)>) -> Vec<&'static str> {
    let mut cols = CHARGEBACK_COLUMNS.to_vec();
    if report.is_some() {
        cols.extend(["report_currency", "report_cost"]);
    }
    cols
}

/// `summary.json`.
#[derive(serde::Serialize)]
struct Summary<'a> {
    billing_month: Month,
    basis: CostBasis,
    config: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_currency: Option<String>,
    inputs: Vec<String>,
    balanced: bool,
    currencies: Vec<CurrencyView<'a>>,
    splits: &'a [PoolSplitView<'a>],
    /// Each commitment's covered usage and unused capacity per team (amortized cost), when the exports name any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    commitments: Vec<CommitmentView<'a>>,
    /// Compute hours and cost per team, workspace and currency, where the bill measures them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unit_costs: Vec<UnitCostView<'a>>,
    /// Other clouds' rows of a multi-cloud FOCUS export, per currency and provider: beside the Azure bill.
    other_providers: Vec<ProviderView<'a>>,
    rejected_rows: u64,
    warnings: &'a [String],
}

/// A currency's totals with rounded amounts at the currency's decimals (`28.00`) and exact ones in full.
#[derive(serde::Serialize)]
struct CurrencyView<'a> {
    currency: &'a str,
    decimals: u32,
    input_total: String,
    input_total_exact: String,
    direct: String,
    shared: String,
    unallocated: String,
    out_of_scope: String,
    /// Prior-period adjustments booked into this month (changes to closed months), when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    prior_period_adjustments: Option<String>,
    /// Teams' shares of unused commitments, and commitment purchases charged to owners, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    unused_commitment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commitment_purchases: Option<String>,
    /// Platform pools split among teams, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_pools: Option<String>,
    chargeback_total: String,
    rows: crate::rollup::RowCounts,
    balanced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_total_report: Option<String>,
    teams: Vec<TeamView<'a>>,
}

#[derive(serde::Serialize)]
struct ProviderView<'a> {
    currency: &'a str,
    provider: &'a str,
    rows: u64,
    total: String,
    total_exact: String,
}

#[derive(serde::Serialize)]
struct TeamView<'a> {
    team: &'a str,
    total: String,
    total_exact: String,
}

fn currency_view(t: &CurrencyTotals) -> CurrencyView<'_> {
    let f = |m: crate::money::Money| m.to_fixed(t.decimals);
    CurrencyView {
        currency: &t.currency,
        decimals: t.decimals,
        input_total: f(t.input_total),
        input_total_exact: t.input_total_exact.to_plain(),
        direct: f(t.direct),
        shared: f(t.shared),
        unallocated: f(t.unallocated),
        out_of_scope: f(t.out_of_scope),
        prior_period_adjustments: (!t.adjustments.is_zero()).then(|| f(t.adjustments)),
        unused_commitment: (t.rows.unused_commitment > 0).then(|| f(t.unused_commitment)),
        commitment_purchases: (t.rows.commitment_purchase > 0).then(|| f(t.commitment_purchases)),
        platform_pools: (t.rows.platform_pool > 0).then(|| f(t.platform)),
        chargeback_total: f(t.chargeback_total),
        rows: t.rows,
        balanced: t.balanced,
        rate: t.rate.map(|r| r.to_plain()),
        input_total_report: t.input_total_report.map(|v| v.to_plain()),
        teams: t
            .teams
            .iter()
            .map(|(team, rounded, exact)| TeamView {
                team,
                total: rounded.to_fixed(t.decimals),
                total_exact: exact.to_plain(),
            })
            .collect(),
    }
}

/// A team's compute hours in a workspace and what they cost (exact), with the cost per hour to 6 decimals.
#[derive(serde::Serialize)]
struct UnitCostView<'a> {
    currency: &'a str,
    team: &'a str,
    workspace: &'a str,
    hours: String,
    cost: String,
    cost_per_hour: Option<String>,
    gpu_hours: String,
    gpu_cost: String,
    cost_per_gpu_hour: Option<String>,
}

/// One team's part of one commitment: its covered usage and its share of the unused capacity.
#[derive(serde::Serialize)]
struct CommitmentView<'a> {
    currency: &'a str,
    commitment: &'a str,
    name: &'a str,
    team: &'a str,
    covered: String,
    /// The team's covered usage as a part of the commitment's, in percent, rounded to add up to 100.0; null when the
    /// commitment covered nothing.
    covered_pct: Option<String>,
    /// The exact share of the unused capacity; rounded so that the commitment's add up to its unused cost; and as its
    /// chargeback lines carry it (each line rounded with the month's other lines).
    unused_share: String,
    unused_share_rounded: String,
    unused_share_billed: String,
}

fn commitment_views(m: &MonthChargeback) -> Vec<CommitmentView<'_>> {
    let pcts = commitment_percentages(m);
    m.commitments
        .iter()
        .zip(pcts)
        .map(|(u, pct)| CommitmentView {
            currency: &u.currency,
            commitment: &u.commitment,
            name: &u.name,
            team: &u.team,
            covered: u.covered.to_plain(),
            covered_pct: (!pct.is_empty()).then_some(pct),
            unused_share: u.unused.to_plain(),
            unused_share_rounded: u.rounded.to_fixed(m.decimals(&u.currency)),
            unused_share_billed: u.billed.to_fixed(m.decimals(&u.currency)),
        })
        .collect()
}

/// Each use's covered usage rounded to its currency's minor unit so that a commitment's add up to its rounded total,
/// in the order of `m.commitments`.
pub fn commitment_covered_rounded(m: &MonthChargeback) -> Vec<Money> {
    let mut out = Vec::with_capacity(m.commitments.len());
    for group in m.commitments.chunk_by(|a, b| a.currency == b.currency && a.commitment == b.commitment) {
        let d = m.decimals(&group[0].currency);
        let exact: Vec<Money> = group.iter().map(|u| u.covered).collect();
        out.extend(crate::rollup::round_to_total(&exact, d));
    }
    out
}

/// Each use's covered usage as a percentage of its commitment's (per currency), in the order of `m.commitments`,
/// rounded to add up to 100.0 per commitment; empty when the commitment covered nothing.
pub fn commitment_percentages(m: &MonthChargeback) -> Vec<String> {
    let mut out = Vec::with_capacity(m.commitments.len());
    for group in m.commitments.chunk_by(|a, b| a.currency == b.currency && a.commitment == b.commitment) {
        let weights: Vec<Money> =
            group.iter().map(|u| if u.covered.is_negative() { Money::ZERO } else { u.covered }).collect();
        if weights.iter().all(|w| w.is_zero()) {
            out.extend(group.iter().map(|_| String::new()));
        } else {
            out.extend(percentages(&weights));
        }
    }
    out
}

#[derive(serde::Serialize)]
struct PoolSplitView<'a> {
    workspace: &'a str,
    currency: &'a str,
    environment: &'a str,
    method: &'a str,
    /// What the weights are, with their unit.
    weight_basis: String,
    rows: u64,
    pool: String,
    shares: Vec<ShareView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: &'a Option<String>,
    /// A platform pool (`[[pool]]`) rather than a shared workspace's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    platform: bool,
    /// `split = "usage"`: where the hours came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<&'a str>,
    /// Compute targets charged by busy hours, with their idle capacity (a usage file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    computes: Vec<ComputeView<'a>>,
}

/// A compute target's busy and idle cost in a pool: exact amounts, hours as billed and as the usage file gives them.
#[derive(serde::Serialize)]
struct ComputeView<'a> {
    compute: &'a str,
    cost: String,
    hours: String,
    busy: Vec<BusyView<'a>>,
    idle: String,
    idle_to: Vec<TeamAmount<'a>>,
}

#[derive(serde::Serialize)]
struct BusyView<'a> {
    team: &'a str,
    hours: String,
    cost: String,
}

#[derive(serde::Serialize)]
struct TeamAmount<'a> {
    team: &'a str,
    cost: String,
}

#[derive(serde::Serialize)]
struct ShareView<'a> {
    team: &'a str,
    weight: String,
    /// The weight's part of all weights, in percent, rounded to add up to 100.0.
    share_pct: String,
    /// The exact share, and the sum of the member's rounded chargeback lines of this pool.
    share: String,
    share_rounded: String,
}

fn split_view<'a>(m: &'a MonthChargeback, s: &'a PoolSplit) -> PoolSplitView<'a> {
    let d = m.decimals(&s.currency);
    let weights: Vec<Money> = s.shares.iter().map(|x| x.1).collect();
    let pcts = percentages(&weights);
    let rounded = pool_shares(s);
    PoolSplitView {
        workspace: &s.workspace,
        currency: &s.currency,
        environment: &s.environment,
        method: s.method.allocation().trim_start_matches("shared-"),
        weight_basis: weight_basis(s, m.month),
        rows: s.rows,
        pool: s.pool.to_plain(),
        shares: s
            .shares
            .iter()
            .zip(pcts)
            .zip(rounded)
            .map(|(((t, w, sh), pct), (_, r))| ShareView {
                team: t,
                weight: w.to_plain(),
                share_pct: pct,
                share: sh.to_plain(),
                share_rounded: r.to_fixed(d),
            })
            .collect(),
        note: &s.note,
        platform: s.platform,
        usage: s.usage.as_deref(),
        computes: s
            .computes
            .iter()
            .map(|c| ComputeView {
                compute: &c.compute,
                cost: c.cost.to_plain(),
                hours: c.hours.to_plain(),
                busy: c
                    .busy
                    .iter()
                    .map(|(team, hours, cost)| BusyView { team, hours: hours.to_plain(), cost: cost.to_plain() })
                    .collect(),
                idle: c.idle.to_plain(),
                idle_to: c
                    .idle_to
                    .iter()
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(team, v)| TeamAmount { team, cost: v.to_plain() })
                    .collect(),
            })
            .collect(),
    }
}

/// What the run was, for `summary.json`.
pub struct RunInfo<'a> {
    pub basis: CostBasis,
    pub config_path: &'a Path,
    pub config: &'a crate::config::Config,
    pub inputs: &'a [PathBuf],
    pub rejects: &'a [Reject],
    pub warnings: &'a [String],
    /// Written into summary.json and the HTML pages only when asked for (`--timestamp`): reruns stay identical.
    pub timestamp: Option<String>,
    /// With closed months: each closed month's change per currency and team (`restatement.csv`).
    pub restated: Option<&'a [crate::close::Restatement]>,
    pub formats: crate::report::allocated::Formats,
}

impl RunInfo<'_> {
    fn report_currency(&self) -> Option<(&str, u32)> {
        self.config.reporting.as_ref().map(|r| (r.currency.as_str(), self.config.decimals_for(&r.currency)))
    }

    fn cost_column(&self) -> &'static str {
        ledger::cost_column(self.basis)
    }

    fn basis_name(&self) -> &'static str {
        if self.basis == CostBasis::Actual {
            "actual"
        } else {
            "amortized"
        }
    }
}

/// Files to write: (path relative to the month folder, bytes).
pub type Files = Vec<(PathBuf, Vec<u8>)>;

/// SVG and PNG of the charts of one month whose file stem passes `keep`.
pub(crate) fn chart_files(month: Month, charts: &Charts, keep: impl Fn(&str) -> bool) -> Result<Files> {
    let mut files = Vec::new();
    for (_, stem, drawn) in charts.of_month(month).filter(|(_, stem, _)| keep(stem)) {
        let fail = |e: String| Error::Write {
            path: PathBuf::from(format!("charts/{stem}")),
            source: std::io::Error::other(e),
        };
        // The stem holds a currency code from the bill: through the safe-name rule like every name from input.
        let stem = safe_name(stem);
        files.push((PathBuf::from("charts").join(format!("{stem}.svg")), drawn.svg.clone().into_bytes()));
        files.push((PathBuf::from("charts").join(format!("{stem}.png")), drawn.png().map_err(fail)?));
    }
    Ok(files)
}

/// The files of one month.
pub fn month_files(
    m: &MonthChargeback,
    previous: Option<&MonthChargeback>,
    comparison: Comparison,
    charts: &Charts,
    team_files: &BTreeMap<String, String>,
    info: &RunInfo,
) -> Result<Files> {
    let decimals: BTreeMap<&str, u32> = m.totals.iter().map(|t| (t.currency.as_str(), t.decimals)).collect();
    let d = |c: &str| decimals.get(c).copied().unwrap_or(2);
    let report = info.report_currency();
    let columns = chargeback_columns(report);
    let page = crate::report::html::PageInfo {
        config: info.config,
        basis: info.basis_name(),
        timestamp: info.timestamp.as_deref(),
        team_files,
        line_files: [
            (info.formats.csv, "chargeback.csv"),
            (info.formats.parquet, "chargeback.parquet"),
            (info.formats.json, "chargeback.json"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect(),
    };
    let mut files = Vec::new();
    if info.formats.csv {
        files.push((
            PathBuf::from("chargeback.csv"),
            csv_bytes(&columns, m.lines.iter().map(|l| line_cells(l, d(&l.currency), report)))?,
        ));
    }
    let widest = m.totals.iter().map(|t| t.decimals).chain(report.map(|r| r.1)).max().unwrap_or(2);
    let cost_column = info.cost_column();
    if info.formats.parquet {
        let bytes = crate::report::allocated::chargeback_parquet(&m.lines, cost_column, widest, report.map(|r| r.0))?;
        files.push((PathBuf::from("chargeback.parquet"), bytes));
    }
    if info.formats.json {
        let bytes = crate::report::allocated::chargeback_json(&m.lines, cost_column, widest, report.map(|r| r.0))?;
        files.push((PathBuf::from("chargeback.json"), bytes));
    }
    files.push((
        PathBuf::from("report.html"),
        crate::report::html::report(m, previous, &page, charts, comparison).into_bytes(),
    ));

    let mut teams: Vec<&str> = m.lines.iter().filter(|l| !l.team.starts_with('(')).map(|l| l.team.as_str()).collect();
    teams.sort_unstable();
    teams.dedup();
    for team in teams {
        // Named from the run's list of teams, so a team's file is the same in every month.
        let Some(file) = team_files.get(team) else { continue };
        let lines: Vec<&Line> = m.lines.iter().filter(|l| l.team == team).collect();
        let mut totals: BTreeMap<&str, (crate::money::Money, crate::money::Money)> = BTreeMap::new();
        for l in &lines {
            let e = totals.entry(&l.currency).or_default();
            e.0 += l.cost;
            e.1 += l.report_cost.unwrap_or_default();
        }
        let total_rows = totals.iter().map(|(cur, (sum, report_sum))| {
            let mut cells = vec![
                m.month.to_string(),
                cur.to_string(),
                safe_cell(team).into_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                "total".into(),
                String::new(),
                sum.to_fixed(d(cur)),
            ];
            if let Some((code, rd)) = report {
                cells.extend([code.to_string(), report_sum.to_fixed(rd)]);
            }
            cells
        });
        let rows = lines.iter().map(|l| line_cells(l, d(&l.currency), report)).chain(total_rows);
        files.push((PathBuf::from("statements").join(format!("{file}.csv")), csv_bytes(&columns, rows)?));
        files.push((
            PathBuf::from("statements").join(format!("{file}.html")),
            crate::report::html::statement(team, m, previous, &page).into_bytes(),
        ));
    }

    let splits: Vec<PoolSplitView> = m.splits.iter().map(|s| split_view(m, s)).collect();
    let summary = Summary {
        billing_month: m.month,
        basis: info.basis,
        config: info.config_path.display().to_string(),
        generated_at: info.timestamp.clone(),
        report_currency: report.map(|r| r.0.to_string()),
        inputs: info.inputs.iter().map(|p| p.display().to_string()).collect(),
        balanced: m.balanced(),
        currencies: m.totals.iter().map(currency_view).collect(),
        splits: &splits,
        commitments: commitment_views(m),
        unit_costs: m
            .unit_costs
            .iter()
            .map(|u| {
                let per = |cost: Money, hours: Money| {
                    cost.per(hours).filter(|_| hours.is_positive()).map(|rate| rate.round(6).to_plain())
                };
                UnitCostView {
                    currency: &u.currency,
                    team: &u.team,
                    workspace: &u.workspace,
                    hours: u.hours.to_plain(),
                    cost: u.cost.to_plain(),
                    cost_per_hour: per(u.cost, u.hours),
                    gpu_hours: u.gpu_hours.to_plain(),
                    gpu_cost: u.gpu_cost.to_plain(),
                    cost_per_gpu_hour: per(u.gpu_cost, u.gpu_hours),
                }
            })
            .collect(),
        other_providers: m
            .other_providers
            .iter()
            .map(|p| ProviderView {
                currency: &p.currency,
                provider: &p.provider,
                rows: p.rows,
                total: p.cost.to_fixed(info.config.decimals_for(&p.currency)),
                total_exact: p.cost.to_plain(),
            })
            .collect(),
        rejected_rows: info.rejects.len() as u64,
        warnings: info.warnings,
    };
    let json = serde_json::to_string_pretty(&summary)
        .map_err(|e| Error::Write { path: "summary.json".into(), source: std::io::Error::other(e) })?;
    files.push((PathBuf::from("summary.json"), (json + "\n").into_bytes()));

    if let Some(restated) = info.restated {
        // Every open month of a run with closed months says what was carried into it (its rows, or none).
        let rows = restated.iter().filter(|r| r.carried_into == m.month).map(|r| {
            let d = info.config.decimals_for(&r.currency);
            vec![
                r.closed_month.to_string(),
                safe_cell(&r.currency).into_owned(),
                safe_cell(&r.team).into_owned(),
                r.booked.to_fixed(d),
                r.now.to_fixed(d),
                r.delta.to_fixed(d),
                r.carried_into.to_string(),
            ]
        });
        files.push((
            PathBuf::from("restatement.csv"),
            csv_bytes(&["closed_month", "currency", "team", "booked", "now", "delta", "carried_into"], rows)?,
        ));
    }
    if !info.rejects.is_empty() {
        let rows = info.rejects.iter().map(|r| {
            vec![
                safe_cell(&r.file).into_owned(),
                r.line.to_string(),
                safe_cell(&r.column).into_owned(),
                safe_cell(&r.reason).into_owned(),
            ]
        });
        files.push((PathBuf::from("rejects.csv"), csv_bytes(&["file", "line", "column", "reason"], rows)?));
    }
    files.extend(topology::files(m, comparison, charts)?);
    files.extend(chart_files(m.month, charts, |stem| !stem.starts_with("topology-"))?);
    Ok(files)
}

/// Writes every month of the chargeback through `staging`, each month folder replaced whole.
pub fn write(
    chargeback: &Chargeback,
    comparison: Comparison,
    charts: &Charts,
    info: &RunInfo,
    staging: Staging,
) -> Result<Vec<PathBuf>> {
    let team_files = safe_file_names(run_teams(info.config, chargeback));
    let cost_column = info.cost_column();
    let mut prepared = Vec::new();
    for (i, m) in chargeback.months.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| &chargeback.months[p]).filter(|p| p.month == m.month.previous());
        prepared.push((m.month, month_files(m, previous, comparison, charts, &team_files, info)?));
    }
    // Each month's ledger partitions, staged beside its folder and swapped in with it.
    let mut replaced = Vec::new();
    for m in &chargeback.months {
        let reporting = info.report_currency().map(|r| r.0);
        replaced.extend(ledger::stage(&staging.dir, m, cost_column, reporting, info.formats.parquet)?);
    }
    write_months(staging, prepared, false, &replaced)
}

/// Writes `topology.csv` and the topology charts of each month into the pack, leaving the month folders' other
/// files alone; the pack changes in one step (`pack.rs`).
pub fn write_topology(
    chargeback: &Chargeback,
    comparison: Comparison,
    charts: &Charts,
    staging: Staging,
) -> Result<Vec<PathBuf>> {
    let mut prepared = Vec::new();
    for m in &chargeback.months {
        prepared.push((m.month, topology::files(m, comparison, charts)?));
    }
    let out = staging.out.clone();
    let files: Vec<PathBuf> =
        prepared.iter().flat_map(|(m, files)| files.iter().map(|(rel, _)| out.join(m.to_string()).join(rel))).collect();
    write_months(staging, prepared, true, &[])?;
    Ok(files)
}

/// Writes prepared month folders into the staging tree (beside files already staged there), then makes them the
/// pack in one step: with `merge`, the staged files join each month folder's others; without, each staged month
/// replaces its folder whole. `replaced`: the ledger partitions (relative to `OUT`) the staged ones replace whole.
pub fn write_months(
    staging: Staging,
    months: Vec<(Month, Files)>,
    merge: bool,
    replaced: &[PathBuf],
) -> Result<Vec<PathBuf>> {
    for (month, files) in &months {
        for (rel, bytes) in files {
            let path = staging.dir.join(month.to_string()).join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        }
    }
    pack::fault_point("staged");
    let names: Vec<String> = months.iter().map(|(m, _)| m.to_string()).collect();
    staging.commit(&names, merge, replaced)
}

/// The current time, UTC, as `2026-11-26T22:42:31Z`.
pub fn utc_now() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    utc_time(secs)
}

/// Seconds since 1970-01-01T00:00:00Z as `2026-11-26T22:42:31Z`.
fn utc_time(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        for (name, safe) in [
            ("company", "company"),
            ("COM1", "COM1_"),
            ("lpt9.csv", "lpt9.csv_"),
            ("com12", "com12"),
            ("LPTX", "LPTX"),
            ("aux", "aux_"),
            ("nul.txt", "nul.txt_"),
            ("..", "_"),
            ("/", "_"),
            ("a\u{0}b", "a_b"),
            ("spend-by-team-USD", "spend-by-team-USD"),
        ] {
            assert_eq!(safe_name(name), safe, "{name:?}");
        }
        assert_eq!(safe_name(&"x".repeat(5000)).len(), 100);
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_time(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_time(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(utc_time(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("\tx"), "'\tx");
        assert_eq!(safe_cell("-2+3"), "'-2+3");
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("\rx"), "'\rx");
        assert_eq!(safe_cell("\nx"), "'\nx");
        assert_eq!(safe_cell(" =1+1"), "' =1+1");
        assert_eq!(safe_cell("   @x"), "'   @x");
        assert_eq!(safe_cell("vision"), "vision");
        assert_eq!(safe_cell(" vision"), " vision");
        assert_eq!(safe_cell(""), "");
    }

    #[test]
    fn team_file_names_are_safe_and_distinct() {
        let names =
            safe_file_names(["../etc/passwd", "Vision", "vision", "VISION", "CON", "a/b", ".hidden", "com1.txt"]);
        assert_eq!(
            (names["VISION"].as_str(), names["Vision"].as_str(), names["vision"].as_str()),
            ("vision", "vision-2", "vision-3")
        );
        assert_eq!(names["../etc/passwd"], "_etc_passwd");
        assert_eq!(names["CON"], "con_");
        assert_eq!(names["com1.txt"], "com1.txt_");
        assert_eq!(names["a/b"], "a_b");
        assert_eq!(names[".hidden"], "hidden");
        assert_ne!(names["Vision"], names["vision"]);
        let all: HashSet<&String> = names.values().collect();
        assert_eq!(all.len(), names.len());
    }
}
