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
//! from the tag coverage seen in the rows. The charts of these figures are drawn by `report::charts`.

use crate::attribute::{Attribution, Owner};
use crate::config::{Config, Topology};
use crate::dates::Month;
use crate::money::Money;
use crate::schema::CostRow;

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
    /// Workspaces with spend that month: the topology in use.
    #[serde(skip)]
    pub in_use: u64,
}

impl Estimate {
    /// The cells of a comparison table from `topology` on, at `decimals`; `missing` stands for an unknown share.
    pub fn cells(&self, decimals: u32, missing: &str) -> Vec<String> {
        let pct = |p: Option<f64>| p.map(|v| percent(v, 1)).unwrap_or_else(|| missing.to_string());
        let r = self.rounded(decimals);
        vec![
            self.topology.clone(),
            self.workspaces.to_string(),
            r.footprint_per_workspace.to_fixed(decimals),
            r.footprint.to_fixed(decimals),
            r.usage.to_fixed(decimals),
            r.total.to_fixed(decimals),
            r.delta.to_fixed(decimals),
            pct(self.team_attributable_pct),
            pct(self.project_attributable_pct),
        ]
    }

    /// The figures rounded to `decimals` so that every row reads true: the footprint per workspace is rounded once,
    /// footprint = workspaces x that, total = usage + footprint, and usage is the same in every topology. Usage takes
    /// the rounding so that the topology in use still totals the actual spend: usage = (the in-use estimate,
    /// rounded) - workspaces in use x the rounded footprint per workspace.
    pub fn rounded(&self, decimals: u32) -> Rounded {
        let whole = |n: u64| Money::from_minor_units(n as i128, 0);
        let times = |m: Money, n: u64| m.mul_div(whole(n), whole(1)).unwrap_or_default();
        let fpw = self.footprint_per_workspace.round(decimals);
        let in_use_total = (self.usage + times(self.footprint_per_workspace, self.in_use)).round(decimals);
        let usage = in_use_total - times(fpw, self.in_use);
        let footprint = times(fpw, self.workspaces);
        let total = usage + footprint;
        let actual = (self.total - self.delta).round(decimals);
        Rounded { footprint_per_workspace: fpw, footprint, usage, total, delta: total - actual }
    }
}

/// The figures of an estimate as the tables and charts show them, rounded so that they hold together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounded {
    pub footprint_per_workspace: Money,
    /// workspaces x footprint_per_workspace, exactly.
    pub footprint: Money,
    pub usage: Money,
    /// usage + footprint, exactly.
    pub total: Money,
    /// total - the actual spend rounded: 0 for the topology in use when the footprint is measured.
    pub delta: Money,
}

/// A percentage at `decimals`, never a negative zero (`-0.0` -> `0.0`).
pub fn percent(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => text,
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
    // + 0.0 turns a -0.0 (a zero part of a negative whole) into 0.0.
    Some((p / w * 1000.0).round() / 10.0 + 0.0)
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
        let month = row.month(self.config.month_by);
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
                    in_use,
                });
            }
        }
        out
    }
}
