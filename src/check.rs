//! `mlspend check`: what an export holds, before anything is attributed.
//!
//! Takes the canonical rows of each named input and gives, per input: the layout of each file, rows read and
//! rejected, the total cost per month and currency on each basis the files carry, the rows and cost that are ML
//! spend, the tag keys present (folded, with the casings seen), and the runs skipped as duplicates. Currencies are
//! never added together; every sum is exact.

use crate::dates::Month;
use crate::ingest::{self, FileReport, LoadReport, Plan, Reject, SkippedRun};
use crate::money::Money;
use crate::schema::{Basis, CostRow, MonthBy};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// Sums on each basis. A basis is absent when no file of the input carries it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amortized: Option<Money>,
    /// Cost of files that nothing labels actual or amortized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlabelled: Option<Money>,
}

impl Totals {
    pub fn add(&mut self, row: &CostRow) {
        self.rows += 1;
        let add = |slot: &mut Option<Money>, v: Option<Money>| {
            if let Some(v) = v {
                *slot.get_or_insert(Money::ZERO) += v;
            }
        };
        match row.basis {
            Basis::Unlabelled => add(&mut self.unlabelled, row.actual),
            _ => {
                add(&mut self.actual, row.actual);
                add(&mut self.amortized, row.amortized);
            }
        }
    }

    pub fn merge(&mut self, other: &Totals) {
        self.rows += other.rows;
        for (a, b) in [
            (&mut self.actual, other.actual),
            (&mut self.amortized, other.amortized),
            (&mut self.unlabelled, other.unlabelled),
        ] {
            if let Some(b) = b {
                *a.get_or_insert(Money::ZERO) += b;
            }
        }
    }
}

/// Totals of one month and currency.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MonthTotals {
    pub month: Month,
    pub currency: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// A tag key, folded, with how many rows carry it and the casings seen.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TagKey {
    pub key: String,
    pub rows: u64,
    pub variants: BTreeMap<String, u64>,
}

/// Everything `check` says of one named input.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    pub path: String,
    pub files: Vec<FileReport>,
    pub rows: u64,
    pub rejected: u64,
    pub months: Vec<MonthTotals>,
    pub ml: Vec<MonthTotals>,
    pub tags: Vec<TagKey>,
    pub tags_unparsed: u64,
    pub providers: BTreeMap<String, u64>,
    pub skipped_runs: Vec<SkippedRun>,
    /// Files left out because an earlier file has the same bytes.
    pub duplicate_files: Vec<ingest::DuplicateFile>,
    /// Files whose rows carry no billing period, with how many: they are charged back by their usage date.
    pub by_usage_date: BTreeMap<String, u64>,
    /// Rows Azure's own cost allocation rules moved (`CostAllocationRuleName`), per rule and currency: a negative row
    /// on the source and a positive one on the target, netting to zero when the export holds both.
    pub allocation_rules: Vec<AllocationRule>,
}

/// The rows of one Azure cost allocation rule in one currency.
#[derive(Debug, Clone, Serialize)]
pub struct AllocationRule {
    pub rule: String,
    pub currency: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// The whole `check` answer.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub inputs: Vec<InputReport>,
    /// With `--config`: how the configuration attributes the ML spend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<crate::pipeline::Coverage>,
    pub rows: u64,
    pub rejected: u64,
    pub months: Vec<MonthTotals>,
    pub rejects: Vec<Reject>,
    pub warnings: Vec<String>,
}

/// Running sums for one input.
#[derive(Default)]
struct Acc {
    months: Vec<(Month, String, Totals)>,
    ml: Vec<(Month, String, Totals)>,
    tags: HashMap<String, (u64, HashMap<String, u64>)>,
    tags_unparsed: u64,
    providers: HashMap<String, u64>,
    /// Rows with no billing period, per source file: charged back by their usage date.
    no_period: HashMap<u32, u64>,
    /// Rows moved by Azure cost allocation rules, per (rule, currency).
    rules: BTreeMap<(String, String), Totals>,
    month_by: MonthBy,
}

fn bucket<'a>(v: &'a mut Vec<(Month, String, Totals)>, month: Month, currency: &str) -> &'a mut Totals {
    let pos = match v.iter().position(|(m, c, _)| *m == month && c == currency) {
        Some(p) => p,
        None => {
            v.push((month, currency.to_string(), Totals::default()));
            v.len() - 1
        }
    };
    &mut v[pos].2
}

fn sorted(v: Vec<(Month, String, Totals)>) -> Vec<MonthTotals> {
    let mut out: Vec<MonthTotals> =
        v.into_iter().map(|(month, currency, totals)| MonthTotals { month, currency, totals }).collect();
    out.sort_by(|a, b| (a.month, &a.currency).cmp(&(b.month, &b.currency)));
    out
}

impl ingest::RowSink for Acc {
    fn row(&mut self, row: &CostRow) {
        self.add(row);
    }
}

impl Acc {
    fn merge(&mut self, other: Acc) {
        for (m, c, t) in &other.months {
            bucket(&mut self.months, *m, c).merge(t);
        }
        for (m, c, t) in &other.ml {
            bucket(&mut self.ml, *m, c).merge(t);
        }
        for (key, (rows, variants)) in other.tags {
            let e = self.tags.entry(key).or_default();
            e.0 += rows;
            for (name, n) in variants {
                *e.1.entry(name).or_default() += n;
            }
        }
        self.tags_unparsed += other.tags_unparsed;
        for (f, n) in other.no_period {
            *self.no_period.entry(f).or_default() += n;
        }
        for (k, t) in other.rules {
            self.rules.entry(k).or_default().merge(&t);
        }
        for (p, n) in other.providers {
            *self.providers.entry(p).or_default() += n;
        }
    }

    fn add(&mut self, row: &CostRow) {
        let month = row.month(self.month_by);
        if row.billing_period.is_none() {
            *self.no_period.entry(row.file).or_default() += 1;
        }
        if !row.cost_allocation_rule.is_empty() {
            let key = (row.cost_allocation_rule.trim().to_string(), row.currency.to_string());
            self.rules.entry(key).or_default().add(row);
        }
        bucket(&mut self.months, month, &row.currency).add(row);
        if row.is_ml {
            bucket(&mut self.ml, month, &row.currency).add(row);
        }
        for tag in &row.tags.list {
            let entry = match self.tags.get_mut(tag.key.as_ref()) {
                Some(e) => e,
                None => self.tags.entry(tag.key.to_string()).or_default(),
            };
            entry.0 += 1;
            match entry.1.get_mut(tag.name.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    entry.1.insert(tag.name.to_string(), 1);
                }
            }
        }
        if row.tags_unparsed.is_some() {
            self.tags_unparsed += 1;
        }
        match self.providers.get_mut(row.provider) {
            Some(n) => *n += 1,
            None => {
                self.providers.insert(row.provider.to_string(), 1);
            }
        }
    }
}

/// Reads the planned inputs and sums what `check` reports; `also` sees every row too (attribution coverage, with
/// `--config`).
pub fn run(
    plan: &Plan,
    options: &ingest::Options,
    month_by: MonthBy,
    also: Option<&mut dyn FnMut(&CostRow)>,
) -> crate::Result<(CheckReport, LoadReport)> {
    let new_acc = || Acc { month_by, ..Acc::default() };
    let mut accs: Vec<Acc> = plan.inputs.iter().map(|_| new_acc()).collect();
    let input_of: Vec<usize> = plan.sources.iter().map(|s| s.input).collect();
    let load = match also {
        Some(also) => ingest::load(plan, options, &mut |row| {
            accs[input_of[row.file as usize]].add(row);
            also(row);
        })?,
        None => {
            // Parts of large files are read on every core, each into an Acc of its own, merged per input.
            let threads = crate::pipeline::thread_count(None);
            ingest::load_parts(plan, options, threads, &new_acc, &mut |part| {
                accs[input_of[part.source]].merge(part.sink);
                Ok(())
            })?
        }
    };
    let mut all_months: Vec<(Month, String, Totals)> = Vec::new();
    let mut inputs = Vec::new();
    for (i, (path, acc)) in plan.inputs.iter().zip(accs).enumerate() {
        for (m, c, t) in &acc.months {
            bucket(&mut all_months, *m, c).merge(t);
        }
        let files: Vec<FileReport> = load.files.iter().filter(|f| f.input == i).cloned().collect();
        let mut tags: Vec<TagKey> = acc
            .tags
            .into_iter()
            .map(|(key, (rows, variants))| TagKey { key, rows, variants: variants.into_iter().collect() })
            .collect();
        tags.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.key.cmp(&b.key)));
        inputs.push(InputReport {
            path: path.display().to_string(),
            rows: files.iter().map(|f| f.rows).sum(),
            rejected: files.iter().map(|f| f.rejected).sum(),
            files,
            months: sorted(acc.months),
            ml: sorted(acc.ml),
            tags,
            tags_unparsed: acc.tags_unparsed,
            providers: acc.providers.into_iter().collect(),
            skipped_runs: plan.skipped_runs.iter().filter(|(n, _)| *n == i).map(|(_, s)| s.clone()).collect(),
            duplicate_files: plan.duplicates.iter().filter(|(n, _)| *n == i).map(|(_, d)| d.clone()).collect(),
            allocation_rules: acc
                .rules
                .into_iter()
                .map(|((rule, currency), totals)| AllocationRule { rule, currency, totals })
                .collect(),
            by_usage_date: acc
                .no_period
                .iter()
                .filter_map(|(f, n)| load.files.get(*f as usize).map(|r| (r.path.clone(), *n)))
                .collect(),
        });
    }
    let mut warnings = load.warnings.clone();
    for input in &inputs {
        for r in &input.allocation_rules {
            let t = &r.totals;
            if [t.actual, t.amortized, t.unlabelled].iter().flatten().any(|v| !v.is_zero()) {
                warnings.push(format!(
                    "{}: the rows of Azure cost allocation rule {:?} do not net to zero in {}: the export holds one side of a move (its source or its target is outside the export's scope), so that side's cost counts where it lies",
                    input.path, r.rule, r.currency
                ));
            }
        }
    }
    let report = CheckReport {
        rows: load.rows(),
        rejected: load.rejected(),
        months: sorted(all_months),
        rejects: load.rejects.clone(),
        warnings,
        inputs,
        coverage: None,
    };
    Ok((report, load))
}

/// A money column of a report table: its title and how to read it from totals.
type MoneyColumn = (&'static str, fn(&Totals) -> Option<Money>);

fn money_columns(rows: &[MonthTotals]) -> Vec<MoneyColumn> {
    let all: [MoneyColumn; 3] =
        [("actual", |t| t.actual), ("amortized", |t| t.amortized), ("unlabelled", |t| t.unlabelled)];
    all.into_iter().filter(|(_, f)| rows.iter().any(|r| f(&r.totals).is_some())).collect()
}

/// Writes rows as a table with aligned columns; numbers right-aligned.
pub fn table(out: &mut String, indent: &str, header: &[&str], rows: &[Vec<String>], numeric: &[bool]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut String, cells: Vec<&str>| {
        let mut s = String::from(indent);
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if numeric.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
            if i + 1 < cells.len() {
                s.push_str("  ");
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(out, header.to_vec());
    for r in rows {
        line(out, r.iter().map(|s| s.as_str()).collect());
    }
}

fn month_table(out: &mut String, rows: &[MonthTotals]) {
    let cols = money_columns(rows);
    let mut header = vec!["month", "currency", "rows"];
    header.extend(cols.iter().map(|(n, _)| *n));
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![r.month.to_string(), r.currency.clone(), r.totals.rows.to_string()];
            v.extend(cols.iter().map(|(_, f)| f(&r.totals).map(|m| m.to_plain()).unwrap_or_else(|| "-".into())));
            v
        })
        .collect();
    let mut numeric = vec![false, false, true];
    numeric.extend(cols.iter().map(|_| true));
    table(out, "    ", &header, &body, &numeric);
}

/// The human-readable form.
pub fn render_text(r: &CheckReport) -> String {
    let mut out = String::new();
    for input in &r.inputs {
        let _ = writeln!(out, "{}", input.path);
        for f in &input.files {
            let basis =
                serde_json::to_value(f.basis).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}  {} ({}), {}: {} rows, {} rejected{}",
                f.path,
                f.variant,
                f.layout.description(),
                basis,
                f.rows,
                f.rejected,
                if f.superseded > 0 { format!(", {} superseded by a newer run", f.superseded) } else { String::new() }
            );
        }
        for s in &input.skipped_runs {
            let _ = writeln!(out, "  {}", s.describe());
        }
        for d in &input.duplicate_files {
            let _ = writeln!(out, "  skipped {}: the same bytes as {}", d.skipped, d.same_as);
        }
        let _ = writeln!(out, "  rows: {} read, {} rejected", input.rows, input.rejected);
        for (file, rows) in &input.by_usage_date {
            let _ = writeln!(out, "  {file}: {rows} rows carry no billing period: charged back by their usage date");
        }
        if !input.months.is_empty() {
            let _ = writeln!(out, "  cost by month and currency:");
            month_table(&mut out, &input.months);
        }
        if input.ml.is_empty() {
            let _ = writeln!(out, "  ML spend: none");
        } else {
            let _ = writeln!(out, "  ML spend (Azure Machine Learning):");
            month_table(&mut out, &input.ml);
        }
        for r in &input.allocation_rules {
            let net: Vec<String> =
                [("actual", r.totals.actual), ("amortized", r.totals.amortized), ("unlabelled", r.totals.unlabelled)]
                    .iter()
                    .filter_map(|(name, v)| v.map(|v| format!("{name} {} {}", v.to_plain(), r.currency)))
                    .collect();
            let _ = writeln!(
                out,
                "  Azure cost allocation rule {:?}: {} rows moved, net {} (kept as billed: each row counts where it now lies)",
                r.rule,
                r.totals.rows,
                net.join(", ")
            );
        }
        if input.providers.len() > 1 || input.providers.keys().any(|p| p != "Microsoft") {
            let list: Vec<String> = input
                .providers
                .iter()
                .map(|(p, n)| format!("{} {n}", if p.is_empty() { "(none)" } else { p }))
                .collect();
            let _ = writeln!(out, "  rows by provider: {}", list.join(", "));
        }
        if input.tags.is_empty() {
            let _ = writeln!(out, "  tag keys: none");
        } else {
            let _ = writeln!(out, "  tag keys (rows; casings seen):");
            let body: Vec<Vec<String>> = input
                .tags
                .iter()
                .map(|t| {
                    let variants: Vec<String> = t.variants.iter().map(|(n, c)| format!("{n:?} {c}")).collect();
                    vec![t.key.clone(), t.rows.to_string(), variants.join(", ")]
                })
                .collect();
            table(&mut out, "    ", &["key", "rows", "casings"], &body, &[false, true, false]);
        }
        if input.tags_unparsed > 0 {
            let _ = writeln!(out, "  tags not readable as JSON: {} rows (kept, with no tags)", input.tags_unparsed);
        }
        out.push('\n');
    }
    if r.inputs.len() > 1 {
        let _ = writeln!(out, "all inputs: {} rows read, {} rejected", r.rows, r.rejected);
        month_table(&mut out, &r.months);
        out.push('\n');
    }
    if let Some(c) = &r.coverage {
        render_coverage(&mut out, c);
    }
    if !r.rejects.is_empty() {
        let _ = writeln!(out, "rejected rows ({}):", r.rejected);
        for j in r.rejects.iter().take(20) {
            let col = if j.column.is_empty() { String::new() } else { format!(" column {}:", j.column) };
            let _ = writeln!(out, "  {}: line {}:{} {}", j.file, j.line, col, j.reason);
        }
        if r.rejects.len() > 20 {
            let _ = writeln!(out, "  ... and {} more (all of them with --json)", r.rejects.len() - 20);
        }
    }
    out
}

fn render_coverage(out: &mut String, c: &crate::pipeline::Coverage) {
    let basis = if c.basis == crate::schema::CostBasis::Actual { "actual" } else { "amortized" };
    let _ = writeln!(out, "attribution of ML spend ({basis} cost), by the rule that matched:");
    let body: Vec<Vec<String>> = c
        .ml_by_rule
        .iter()
        .map(|r| {
            let rule = if r.rule == crate::attribute::Rule::None { "(unallocated)" } else { r.rule.as_str() };
            vec![r.month.to_string(), r.currency.clone(), rule.to_string(), r.rows.to_string(), r.cost.to_plain()]
        })
        .collect();
    table(out, "  ", &["month", "currency", "rule", "rows", "cost"], &body, &[false, false, false, true, true]);
    if !c.associated.is_empty() {
        let _ = writeln!(out, "non-ML spend brought in by workspace resources and resource groups:");
        let body: Vec<Vec<String>> = c
            .associated
            .iter()
            .map(|r| {
                vec![
                    r.month.to_string(),
                    r.currency.clone(),
                    r.rule.as_str().to_string(),
                    r.rows.to_string(),
                    r.cost.to_plain(),
                ]
            })
            .collect();
        table(out, "  ", &["month", "currency", "rule", "rows", "cost"], &body, &[false, false, false, true, true]);
    }
    if c.largest_unallocated.is_empty() {
        let _ = writeln!(out, "unallocated ML spend: none");
    } else {
        let _ = writeln!(out, "largest unallocated ML resources:");
        let body: Vec<Vec<String>> = c
            .largest_unallocated
            .iter()
            .map(|u| {
                vec![u.currency.clone(), u.cost.to_plain(), u.rows.to_string(), u.reason.clone(), u.resource_id.clone()]
            })
            .collect();
        table(
            out,
            "  ",
            &["currency", "cost", "rows", "reason", "resource"],
            &body,
            &[false, true, true, false, false],
        );
    }
    out.push('\n');
}
