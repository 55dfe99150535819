//! The topology comparison: what the same usage would cost as one workspace per team, per project, per division, or
//! one shared workspace; and the chart data of a run.
//!
//! Takes each attributed row (cost, attribution, resource type, tags) and gives, per billing month and currency, one
//! [`Estimate`] per topology. The model (docs/compare.md): spend attributed to configured workspaces
//! is split into *footprint* (rows whose resource type is a workspace's standing resource: registry, key vault,
//! Application Insights, Log Analytics, private endpoints; configurable) and *usage* (the rest), which costs the same
//! whatever the topology. The footprint per workspace is measured as footprint / workspaces with spend that month
//! (or given in the configuration). Topology X's estimate = usage + (workspaces X needs) x footprint per workspace.
//! Attributability is the share of spend that reaches a team (or a project) without a shared-pool split under X,
//! from the tag coverage seen in the rows.

use crate::attribute::{Attribution, Owner};
use crate::config::{Config, Topology};
use crate::dates::Month;
use crate::money::Money;
use crate::report::chart::{Chart, Kind, Series};
use crate::rollup::{Chargeback, CATEGORIES, UNALLOCATED};
use crate::schema::{CostBasis, CostRow};

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Facts about the attributed spend of one month and currency.
#[derive(Default)]
struct Facts {
    total: Money,
    footprint: Money,
    direct: Money,
    pool: Money,
    /// Spend whose row carries a team tag naming a configured team.
    team_tagged: Money,
    /// Spend with a project from a project workspace or a project tag.
    project_known: Money,
    project_tagged: Money,
    /// Spend a per-division workspace would still tell apart by team: tagged, or its team alone in its division.
    division_attributable: Money,
    workspaces: BTreeSet<usize>,
    teams: BTreeSet<String>,
    /// Projects per team, lower-cased.
    projects: BTreeMap<String, BTreeSet<String>>,
    /// Teams with spend whose project is unknown.
    teams_without_project: BTreeSet<String>,
}

/// One topology's estimate for one month and currency.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Estimate {
    pub month: Month,
    pub currency: String,
    pub topology: String,
    pub workspaces: u64,
    pub footprint_per_workspace: Money,
    pub footprint: Money,
    pub usage: Money,
    pub total: Money,
    /// Estimate minus the actual attributed spend.
    pub delta: Money,
    pub team_attributable_pct: Option<f64>,
    pub project_attributable_pct: Option<f64>,
}

impl Estimate {
    /// The cells of a comparison table from `topology` on, at `decimals`; `missing` stands for an unknown share.
    pub fn cells(&self, decimals: u32, missing: &str) -> Vec<String> {
        let pct = |p: Option<f64>| p.map(|v| format!("{v:.1}")).unwrap_or_else(|| missing.to_string());
        let (usage, footprint, total, delta) = self.rounded(decimals);
        vec![
            self.topology.clone(),
            self.workspaces.to_string(),
            self.footprint_per_workspace.to_fixed(decimals),
            footprint.to_fixed(decimals),
            usage.to_fixed(decimals),
            total.to_fixed(decimals),
            delta.to_fixed(decimals),
            pct(self.team_attributable_pct),
            pct(self.project_attributable_pct),
        ]
    }

    /// (usage, footprint, total, delta) rounded to `decimals` so that the rounded figures still hold together:
    /// usage is the same in every topology, footprint = total - usage, delta = total - the rounded actual.
    pub fn rounded(&self, decimals: u32) -> (Money, Money, Money, Money) {
        let usage = self.usage.round(decimals);
        let total = self.total.round(decimals);
        (usage, total - usage, total, total - (self.total - self.delta).round(decimals))
    }
}

/// Running sums for the comparison and the charts.
pub struct CompareAcc<'c> {
    config: &'c Config,
    facts: Vec<(Month, String, Facts)>,
    division_of: HashMap<String, String>,
    division_size: HashMap<String, usize>,
}

fn pct(part: Money, whole: Money) -> Option<f64> {
    if whole.is_zero() {
        return None;
    }
    let p: f64 = part.to_plain().parse().ok()?;
    let w: f64 = whole.to_plain().parse().ok()?;
    Some((p / w * 1000.0).round() / 10.0)
}

impl<'c> CompareAcc<'c> {
    pub fn new(config: &'c Config) -> CompareAcc<'c> {
        let mut division_of = HashMap::new();
        let mut division_size = HashMap::new();
        for (d, teams) in &config.divisions {
            division_size.insert(d.clone(), teams.len());
            for t in teams {
                division_of.insert(crate::tags::fold(t).into_owned(), d.clone());
            }
        }
        CompareAcc { config, facts: Vec::new(), division_of, division_size }
    }

    fn configured_team(&self, name: &str) -> bool {
        self.config
            .workspaces
            .iter()
            .any(|w| w.team.eq_ignore_ascii_case(name) || w.teams.iter().any(|t| t.eq_ignore_ascii_case(name)))
    }

    /// Adds one row with its cost on the run's basis and its attribution.
    pub fn add(&mut self, row: &CostRow, cost: Money, a: &Attribution) {
        let month = row.billing_month();
        let Some(wi) = a.workspace else { return };
        let config = self.config;
        let ws = &config.workspaces[wi];
        let tags = &config.tags;
        let team_tag = row.tags.first_of(&tags.team).map(str::trim).filter(|t| self.configured_team(t));
        let project_tag = row.tags.first_of(&tags.project).map(str::trim).filter(|p| !p.is_empty());
        let footprint_type = config.compare.footprint_types.iter().any(|t| row.resource_type.eq_ignore_ascii_case(t));
        // The team the spend belongs to, where the configuration or a tag says.
        let owner_team: Option<&str> = match &a.owner {
            Owner::Direct { team, .. } => Some(team),
            _ => None,
        };
        let project: Option<&str> = match ws.topology {
            Topology::Project => Some(&ws.project),
            _ => project_tag,
        };
        let division_alone = owner_team
            .and_then(|t| self.division_of.get(crate::tags::fold(t).as_ref()))
            .is_some_and(|d| self.division_size.get(d).copied() == Some(1));
        // Few (month, currency) pairs: a linear search allocates nothing per row.
        let pos = match self.facts.iter().position(|(m, c, _)| *m == month && *c == row.currency) {
            Some(p) => p,
            None => {
                self.facts.push((month, row.currency.to_string(), Facts::default()));
                self.facts.len() - 1
            }
        };
        let f = &mut self.facts[pos].2;
        f.total += cost;
        if footprint_type {
            f.footprint += cost;
        }
        match a.owner {
            Owner::Pool => f.pool += cost,
            _ => f.direct += cost,
        }
        if team_tag.is_some() {
            f.team_tagged += cost;
        }
        if team_tag.is_some() || division_alone {
            f.division_attributable += cost;
        }
        if project.is_some() {
            f.project_known += cost;
        }
        if project_tag.is_some() {
            f.project_tagged += cost;
        }
        f.workspaces.insert(wi);
        let teams: &[String] = match ws.topology {
            Topology::Shared => &ws.teams,
            _ => std::slice::from_ref(&ws.team),
        };
        for t in teams {
            let t = crate::tags::fold(t);
            if !f.teams.contains(t.as_ref()) {
                f.teams.insert(t.into_owned());
            }
        }
        let team_for_project = crate::tags::fold(owner_team.or(teams.first().map(String::as_str)).unwrap_or(""));
        match project {
            Some(p) => {
                let p = crate::tags::fold(p);
                let set = match f.projects.get_mut(team_for_project.as_ref()) {
                    Some(set) => set,
                    None => f.projects.entry(team_for_project.into_owned()).or_default(),
                };
                if !set.contains(p.as_ref()) {
                    set.insert(p.into_owned());
                }
            }
            None => {
                if !f.teams_without_project.contains(team_for_project.as_ref()) {
                    f.teams_without_project.insert(team_for_project.into_owned());
                }
            }
        }
    }

    /// Adds another part's facts.
    pub fn merge(&mut self, other: CompareAcc) {
        for (month, currency, o) in other.facts {
            let pos = match self.facts.iter().position(|(m, c, _)| *m == month && *c == currency) {
                Some(p) => p,
                None => {
                    self.facts.push((month, currency, Facts::default()));
                    self.facts.len() - 1
                }
            };
            let f = &mut self.facts[pos].2;
            f.total += o.total;
            f.footprint += o.footprint;
            f.direct += o.direct;
            f.pool += o.pool;
            f.team_tagged += o.team_tagged;
            f.project_known += o.project_known;
            f.project_tagged += o.project_tagged;
            f.division_attributable += o.division_attributable;
            f.workspaces.extend(o.workspaces);
            f.teams.extend(o.teams);
            for (team, projects) in o.projects {
                f.projects.entry(team).or_default().extend(projects);
            }
            f.teams_without_project.extend(o.teams_without_project);
        }
    }

    /// The estimates of every topology, per month and currency.
    pub fn estimates(&self) -> Vec<Estimate> {
        let mut facts: Vec<&(Month, String, Facts)> = self.facts.iter().collect();
        facts.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut out = Vec::new();
        for (month, currency, f) in facts {
            let (month, currency) = (*month, currency.clone());
            let in_use = f.workspaces.len() as u64;
            let fp = match self.config.compare.footprint_per_workspace.get(&currency.to_ascii_uppercase()) {
                Some(given) => *given,
                None if in_use > 0 => f
                    .footprint
                    .mul_div(Money::from_minor_units(1, 0), Money::from_minor_units(in_use as i128, 0))
                    .unwrap_or_default(),
                None => Money::ZERO,
            };
            let usage = f.total - f.footprint;
            let per_project = f.projects.values().map(|p| p.len() as u64).sum::<u64>()
                + f.teams_without_project.iter().filter(|t| !f.projects.contains_key(*t)).count() as u64;
            let divisions: BTreeSet<&String> = f.teams.iter().filter_map(|t| self.division_of.get(t)).collect();
            let mut rows: Vec<(&str, u64, Option<f64>, Option<f64>)> = vec![
                ("as-configured", in_use, pct(f.direct, f.total), pct(f.project_known, f.total)),
                ("per-team", f.teams.len() as u64, Some(100.0), pct(f.project_tagged, f.total)),
                ("per-project", per_project.max(1), Some(100.0), Some(100.0)),
                ("single", 1, pct(f.team_tagged, f.total), pct(f.project_tagged, f.total)),
            ];
            if !self.config.divisions.is_empty() {
                rows.push((
                    "per-division",
                    divisions.len() as u64,
                    pct(f.division_attributable, f.total),
                    pct(f.project_tagged, f.total),
                ));
            }
            for (topology, n, team_pct, project_pct) in rows {
                let footprint = fp
                    .mul_div(Money::from_minor_units(n as i128, 0), Money::from_minor_units(1, 0))
                    .unwrap_or_default();
                let total = usage + footprint;
                out.push(Estimate {
                    month,
                    currency: currency.clone(),
                    topology: topology.to_string(),
                    workspaces: n,
                    footprint_per_workspace: fp,
                    footprint,
                    usage,
                    total,
                    delta: total - f.total,
                    team_attributable_pct: team_pct,
                    project_attributable_pct: project_pct,
                });
            }
        }
        out
    }

    /// The charts of every month: (month, file stem, chart).
    pub fn charts(&self, chargeback: &Chargeback, basis: CostBasis) -> Vec<(Month, String, Chart)> {
        let basis = if basis == CostBasis::Actual { "actual" } else { "amortized" };
        let f = |m: Money| m.to_plain().parse::<f64>().unwrap_or(0.0);
        let estimates = self.estimates();
        let mut out = Vec::new();
        // Every number a chart shows is a number of the chargeback: its rounded lines, summed.
        let mut by_team: BTreeMap<(Month, String, String), [Money; 4]> = BTreeMap::new();
        for m in &chargeback.months {
            for l in m.lines.iter().filter(|l| !l.team.starts_with('(')) {
                let k = CATEGORIES.iter().position(|c| *c == l.service_category).unwrap_or(3);
                by_team.entry((m.month, l.currency.clone(), l.team.clone())).or_default()[k] += l.cost;
            }
        }
        // Team totals per month and currency, from the chargeback lines, for the trend.
        let mut trend: BTreeMap<String, BTreeMap<String, BTreeMap<Month, Money>>> = BTreeMap::new();
        for m in &chargeback.months {
            for l in m.lines.iter().filter(|l| !l.team.starts_with('(')) {
                *trend
                    .entry(l.currency.clone())
                    .or_default()
                    .entry(l.team.clone())
                    .or_default()
                    .entry(m.month)
                    .or_default() += l.cost;
            }
        }
        let all_months: Vec<Month> = chargeback.months.iter().map(|m| m.month).collect();
        for m in &chargeback.months {
            let currencies: BTreeSet<&str> = m.totals.iter().map(|t| t.currency.as_str()).collect();
            for cur in currencies {
                let axis = format!("{cur}, {basis} cost");
                // Spend by team, stacked by service category.
                let teams: Vec<String> =
                    by_team.keys().filter(|(mm, c, _)| *mm == m.month && c == cur).map(|(_, _, t)| t.clone()).collect();
                let series = CATEGORIES
                    .iter()
                    .enumerate()
                    .map(|(k, name)| Series {
                        name: name.to_string(),
                        values: teams.iter().map(|t| f(by_team[&(m.month, cur.to_string(), t.clone())][k])).collect(),
                    })
                    .collect();
                out.push((
                    m.month,
                    format!("spend-by-team-{cur}"),
                    Chart {
                        kind: Kind::StackedBars,
                        title: format!("ML spend by team and service, {} ({basis} cost, {cur})", m.month),
                        value_axis: axis.clone(),
                        category_axis: "team".into(),
                        categories: teams,
                        series,
                        notes: vec![],
                    },
                ));
                // Trend per team across every month of the input.
                let teams_trend = trend.get(cur).cloned().unwrap_or_default();
                out.push((
                    m.month,
                    format!("trend-{cur}"),
                    Chart {
                        kind: Kind::Lines,
                        title: format!(
                            "Monthly ML spend per team, {} to {} ({basis} cost, {cur})",
                            all_months.first().map(|x| x.to_string()).unwrap_or_default(),
                            all_months.last().map(|x| x.to_string()).unwrap_or_default()
                        ),
                        value_axis: axis.clone(),
                        category_axis: "billing month".into(),
                        categories: all_months.iter().map(|x| x.to_string()).collect(),
                        series: teams_trend
                            .iter()
                            .map(|(t, by_month)| Series {
                                name: t.clone(),
                                values: all_months
                                    .iter()
                                    .map(|x| f(by_month.get(x).copied().unwrap_or_default()))
                                    .collect(),
                            })
                            .collect(),
                        notes: vec![],
                    },
                ));
                // Shared pools and how each was split.
                let pools: Vec<&crate::rollup::PoolSplit> = m.splits.iter().filter(|s| s.currency == cur).collect();
                let members: BTreeSet<&str> =
                    pools.iter().flat_map(|p| p.shares.iter().map(|s| s.0.as_str())).collect();
                out.push((
                    m.month,
                    format!("shared-pools-{cur}"),
                    Chart {
                        kind: Kind::StackedBars,
                        title: format!("Shared pools and their split, {} ({basis} cost, {cur})", m.month),
                        value_axis: axis.clone(),
                        category_axis: "shared pool (workspace, environment)".into(),
                        categories: pools
                            .iter()
                            .map(|p| {
                                if p.environment.is_empty() {
                                    p.workspace.clone()
                                } else {
                                    format!("{} ({})", p.workspace, p.environment)
                                }
                            })
                            .collect(),
                        series: members
                            .iter()
                            .map(|team| Series {
                                name: team.to_string(),
                                values: pools
                                    .iter()
                                    .map(|p| p.shares.iter().find(|s| s.0 == *team).map(|s| f(s.2)).unwrap_or(0.0))
                                    .collect(),
                            })
                            .collect(),
                        notes: pools
                            .iter()
                            .map(|p| p.method.allocation().trim_start_matches("shared-").to_string())
                            .collect(),
                    },
                ));
                // The topology comparison.
                let est: Vec<&Estimate> =
                    estimates.iter().filter(|e| e.month == m.month && e.currency == cur).collect();
                let pct = |p: Option<f64>| p.map(|v| format!("{v:.0}%")).unwrap_or_else(|| "-".into());
                out.push((
                    m.month,
                    format!("topology-{cur}"),
                    Chart {
                        kind: Kind::StackedBars,
                        title: format!("Workspace topologies: footprint and usage, {} ({basis} cost, {cur})", m.month),
                        value_axis: axis.clone(),
                        category_axis: "topology".into(),
                        categories: est.iter().map(|e| e.topology.clone()).collect(),
                        series: vec![
                            Series { name: "usage".into(), values: est.iter().map(|e| f(e.usage)).collect() },
                            Series { name: "footprint".into(), values: est.iter().map(|e| f(e.footprint)).collect() },
                        ],
                        notes: est
                            .iter()
                            .map(|e| {
                                format!(
                                    "{} workspace{}\nteam {} · project {}",
                                    e.workspaces,
                                    if e.workspaces == 1 { "" } else { "s" },
                                    pct(e.team_attributable_pct),
                                    pct(e.project_attributable_pct)
                                )
                            })
                            .collect(),
                    },
                ));
                // Unallocated ML spend by reason.
                let mut reasons: BTreeMap<&str, Money> = BTreeMap::new();
                for l in m.lines.iter().filter(|l| l.currency == cur && l.allocation == UNALLOCATED) {
                    *reasons.entry(l.reason.as_str()).or_default() += l.cost;
                }
                out.push((
                    m.month,
                    format!("unallocated-{cur}"),
                    Chart {
                        kind: Kind::StackedBars,
                        title: format!("Unallocated ML spend by reason, {} ({basis} cost, {cur})", m.month),
                        value_axis: axis,
                        category_axis: "reason".into(),
                        categories: reasons.keys().map(|r| r.to_string()).collect(),
                        series: vec![Series {
                            name: "unallocated".into(),
                            values: reasons.values().map(|v| f(*v)).collect(),
                        }],
                        notes: vec![],
                    },
                ));
            }
        }
        out
    }
}
