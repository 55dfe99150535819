//! The cost model: from one month's [`Facts`], the cost of each combination of team structure, environment
//! segregation and regional placement, part by part (docs/compare.md).

use super::{decide, pct, CompareAcc, Facts};
use crate::config::{Constraint, Topology};
use crate::dates::Month;
use crate::money::Money;

use std::collections::BTreeSet;

/// A cost part: what a topology changes, each with its own column and band. Usage, the rest, is the same in all.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// A workspace's standing resources: registry, key vault (`[compare] footprint_types`).
    Standing,
    /// Application Insights and Log Analytics, the part billed whatever is ingested.
    MonitoringStanding,
    /// Application Insights and Log Analytics, data ingested and kept: the same whatever the topology.
    MonitoringIngestion,
    /// Private endpoints and the managed network's firewall.
    Network,
    /// Compute instances' (and nodes') load balancers, public IPs and disks, billed even when stopped.
    Instances,
    /// Clusters' idle node hours: node hours no job used.
    Idle,
    /// Production data copied into the other environments.
    DataCopies,
    /// Registries replicated into each region.
    Replication,
    /// Data moved between regions.
    Egress,
}

pub const PARTS: [Part; 9] = [
    Part::Standing,
    Part::MonitoringStanding,
    Part::MonitoringIngestion,
    Part::Network,
    Part::Instances,
    Part::Idle,
    Part::DataCopies,
    Part::Replication,
    Part::Egress,
];

impl Part {
    /// Its column in `topology.csv`.
    pub fn column(self) -> &'static str {
        match self {
            Part::Standing => "standing",
            Part::MonitoringStanding => "monitoring_standing",
            Part::MonitoringIngestion => "monitoring_ingestion",
            Part::Network => "network",
            Part::Instances => "instances",
            Part::Idle => "cluster_idle",
            Part::DataCopies => "data_copies",
            Part::Replication => "replication",
            Part::Egress => "egress",
        }
    }

    /// Its name in words, for tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            Part::Standing => "standing resources",
            Part::MonitoringStanding => "monitoring (standing)",
            Part::MonitoringIngestion => "monitoring (ingestion)",
            Part::Network => "network",
            Part::Instances => "instances",
            Part::Idle => "cluster idle",
            Part::DataCopies => "data copies",
            Part::Replication => "replication",
            Part::Egress => "egress",
        }
    }
}

/// How teams are organised into workspaces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Structure {
    PerTeam,
    PerProject,
    Single,
    PerDivision,
    /// A hub per team, with a project workspace per project sharing the hub's resources.
    Hub,
}

impl Structure {
    pub fn as_str(self) -> &'static str {
        match self {
            Structure::PerTeam => "per-team",
            Structure::PerProject => "per-project",
            Structure::Single => "single",
            Structure::PerDivision => "per-division",
            Structure::Hub => "hub",
        }
    }
}

/// One topology's estimate for one month and currency.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Estimate {
    pub month: Month,
    pub currency: String,
    /// `as-configured`, or the combination: `per-team`, `per-project+per-env`, `hub+per-env+per-region`.
    pub topology: String,
    pub structure: &'static str,
    /// `shared` (one workspace for every environment) or `per-environment`.
    pub environments: &'static str,
    /// `one-region` or `per-region`.
    pub regions: &'static str,
    /// The combination the configured workspaces are (`as-configured` always is).
    pub current: bool,
    /// Workspaces the topology has (a hub and its projects all count).
    pub workspaces: u64,
    /// Each part, exact.
    #[serde(skip)]
    pub parts: [Money; PARTS.len()],
    /// The usage no topology changes: the attributed spend less every part measured in it.
    pub usage: Money,
    /// The attributed spend, as billed.
    #[serde(skip)]
    pub actual: Money,
    /// The parts as measured in the bill, which the usage is what is left of.
    #[serde(skip)]
    pub measured: [Money; PARTS.len()],
    pub team_attributable_pct: Option<f64>,
    pub project_attributable_pct: Option<f64>,
    pub satisfies: Vec<Constraint>,
    pub recommended: bool,
}

/// The figures of an estimate as the tables and charts show them, rounded so that they hold together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounded {
    /// Each part at the currency's decimals.
    pub parts: [Money; PARTS.len()],
    /// The actual spend rounded, less each measured part rounded: the same in every row.
    pub usage: Money,
    /// usage + the parts, exactly.
    pub total: Money,
    /// total - the actual spend rounded: 0 for `as-configured` when every part is measured.
    pub delta: Money,
}

impl Estimate {
    pub fn total(&self) -> Money {
        self.usage + self.parts.iter().copied().sum::<Money>()
    }

    /// The figures rounded to `decimals` so that every row reads true: each part rounded once, usage = the actual
    /// spend rounded less the measured parts rounded (the same in every row), total = usage + parts.
    pub fn rounded(&self, decimals: u32) -> Rounded {
        let parts = self.parts.map(|p| p.round(decimals));
        let actual = self.actual.round(decimals);
        let usage = actual - self.measured.iter().map(|m| m.round(decimals)).sum::<Money>();
        let total = usage + parts.iter().copied().sum::<Money>();
        Rounded { parts, usage, total, delta: total - actual }
    }

    /// The cells of a comparison table, at `decimals`; `missing` stands for an unknown share.
    pub fn cells(&self, decimals: u32, missing: &str) -> Vec<String> {
        let pct = |p: Option<f64>| p.map(|v| super::percent(v, 1)).unwrap_or_else(|| missing.to_string());
        let r = self.rounded(decimals);
        let mut cells = vec![
            self.topology.clone(),
            self.structure.to_string(),
            self.environments.to_string(),
            self.regions.to_string(),
            if self.current { "yes" } else { "no" }.to_string(),
            self.workspaces.to_string(),
            r.usage.to_fixed(decimals),
        ];
        cells.extend(r.parts.iter().map(|p| p.to_fixed(decimals)));
        cells.extend([
            r.total.to_fixed(decimals),
            r.delta.to_fixed(decimals),
            pct(self.team_attributable_pct),
            pct(self.project_attributable_pct),
            self.satisfies.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" "),
            if self.recommended { "yes" } else { "no" }.to_string(),
        ]);
        cells
    }
}

/// The parts that hold spend in some of `estimates` (by index into [`PARTS`]): a table's part columns, the rest
/// being columns of zeros.
pub fn shown_parts(estimates: &[&Estimate]) -> Vec<usize> {
    (0..PARTS.len()).filter(|&i| estimates.iter().any(|e| !e.parts[i].is_zero())).collect()
}

/// The columns of [`Estimate::cells`], after `billing_month` and `currency`.
pub fn columns() -> Vec<&'static str> {
    let mut c = vec!["topology", "structure", "environments", "regions", "current", "workspaces", "usage"];
    c.extend(PARTS.iter().map(|p| p.column()));
    c.extend(["total", "delta", "team_attributable_pct", "project_attributable_pct", "satisfies", "recommended"]);
    c
}

fn whole(n: u64) -> Money {
    Money::from_minor_units(n as i128, 0)
}

/// Units of a structure: one workspace (or hub) per key, placed in each of the key's regions (`per_region`) or one.
fn count<'a>(units: impl Iterator<Item = &'a BTreeSet<String>>, per_region: bool) -> u64 {
    units.map(|r| if per_region { r.len().max(1) as u64 } else { 1 }).sum()
}

/// What one month's facts give: the shape of the organisation the model scales by.
struct Shape {
    /// Standing units per structure, one region / per region.
    teams: (u64, u64),
    projects: (u64, u64),
    divisions: (u64, u64),
    single: (u64, u64),
    /// Projects per team (folded team -> projects with spend, at least 1).
    projects_of: std::collections::BTreeMap<String, u64>,
    /// Environments seen, and configured as separate workspaces now.
    environments: u64,
    segregated_now: u64,
    regions: u64,
    /// Whether the configured workspaces are regional: each in one region, in two or more regions.
    per_region_now: bool,
    /// Standing units of the configured workspaces with spend (a hub's projects share the hub's).
    units_now: u64,
    observed: Option<Structure>,
}

fn shape(acc: &CompareAcc, f: &Facts) -> Shape {
    let config = acc.config;
    // Project units: each team's projects, a team whose project is never known counting one; projects whose team
    // is unknown count on their own.
    let no_regions = BTreeSet::new();
    let mut project_units: Vec<&BTreeSet<String>> = Vec::new();
    let mut projects_of = std::collections::BTreeMap::new();
    let teams: BTreeSet<&String> = f.teams.keys().chain(f.projects.keys()).collect();
    for t in teams {
        let by = f.projects.get(t);
        if t.is_empty() {
            // (a project some team's spend also names is that team's)
            let elsewhere = |p: &String| f.projects.iter().any(|(o, by)| !o.is_empty() && by.contains_key(p));
            if let Some(by) = by {
                project_units.extend(by.iter().filter(|(p, _)| !p.is_empty() && !elsewhere(p)).map(|x| x.1));
            }
            continue;
        }
        let known: Vec<&BTreeSet<String>> =
            by.map(|b| b.iter().filter(|(p, _)| !p.is_empty()).map(|x| x.1).collect()).unwrap_or_default();
        projects_of.insert(t.clone(), known.len().max(1) as u64);
        if known.is_empty() {
            project_units.push(by.and_then(|b| b.get("")).or(f.teams.get(t)).unwrap_or(&no_regions));
        } else {
            project_units.extend(known);
        }
    }
    let mut divisions: std::collections::BTreeMap<&String, BTreeSet<String>> = Default::default();
    for (t, r) in &f.teams {
        if let Some(d) = acc.division_of.get(t) {
            divisions.entry(d).or_default().extend(r.iter().cloned());
        }
    }
    let ws: Vec<(usize, &crate::config::Workspace)> =
        f.workspaces.iter().map(|i| (*i, &config.workspaces[*i])).collect();
    // Standing units now, and the regions of each.
    let mut units: std::collections::BTreeMap<String, BTreeSet<&String>> = Default::default();
    for (i, w) in &ws {
        let regions = units.entry(w.hub.as_deref().unwrap_or(&w.name).to_ascii_lowercase()).or_default();
        regions.extend(f.workspace_regions.get(i).into_iter().flatten());
    }
    let all = |t: Topology| !ws.is_empty() && ws.iter().all(|(_, w)| w.topology == t);
    // Hubs as `compare` builds them: each hub's projects of the hub's own team.
    let hub_of_team = ws.iter().all(|(_, w)| match (&w.hub, w.topology) {
        (Some(h), _) => config.workspaces.iter().any(|x| {
            x.topology == Topology::Hub && x.name.eq_ignore_ascii_case(h) && x.team.eq_ignore_ascii_case(&w.team)
        }),
        (None, Topology::Hub) => true,
        _ => false,
    });
    let segregated_now = f.configured_environments.len() as u64;
    let observed = if !ws.is_empty() && hub_of_team {
        Some(Structure::Hub)
    } else if all(Topology::Team) {
        Some(Structure::PerTeam)
    } else if all(Topology::Project) {
        Some(Structure::PerProject)
    } else if all(Topology::Shared) && units.len() as u64 == segregated_now.max(1) {
        Some(Structure::Single)
    } else {
        None
    };
    let regions = f.regions.len().max(1) as u64;
    Shape {
        teams: (count(f.teams.values(), false), count(f.teams.values(), true)),
        projects: (count(project_units.iter().copied(), false), count(project_units.iter().copied(), true)),
        divisions: (count(divisions.values(), false), count(divisions.values(), true)),
        single: (1, regions),
        projects_of,
        environments: (f.environments.len() as u64).max(segregated_now).max(1),
        segregated_now: if segregated_now >= 2 { segregated_now } else { 1 },
        regions,
        per_region_now: regions >= 2 && units.values().all(|r| r.len() <= 1),
        units_now: units.len() as u64,
        observed,
    }
}

/// Exact arithmetic that remembers whether a result could not be held.
struct Exact {
    overflow: std::cell::Cell<bool>,
}

impl Exact {
    /// `m` x `num` / `den`, zero when `den` is zero.
    fn scale(&self, m: Money, num: Money, den: Money) -> Money {
        if den.is_zero() {
            return Money::ZERO;
        }
        m.mul_div(num, den).unwrap_or_else(|| {
            self.overflow.set(true);
            Money::ZERO
        })
    }

    fn times(&self, m: Money, n: u64) -> Money {
        self.scale(m, whole(n), whole(1))
    }
}

/// What the bill can't show and the model assumes: `[compare] consolidation` and `copy_fraction`, or the values a
/// sensitivity check tries.
#[derive(Copy, Clone)]
pub(super) struct Assumptions {
    pub consolidation: Money,
    pub copy_fraction: Money,
}

/// The estimates of one month and currency, and the decision among them; an error when an amount could not be held
/// exactly.
pub(super) fn estimate(
    acc: &CompareAcc,
    month: Month,
    currency: &str,
    f: &Facts,
    assume: Assumptions,
) -> Result<(Vec<Estimate>, decide::Decision), String> {
    let config = acc.config;
    let c = &config.compare;
    let cur = currency.to_ascii_uppercase();
    let s = shape(acc, f);
    let x = Exact { overflow: std::cell::Cell::new(false) };
    let one = whole(1);
    let mut notes: Vec<String> = Vec::new();
    let m = |p: Part| f.measured[p as usize];
    let credit = |p: Part| f.credits[p as usize];

    // Per standing unit: the charges measured (credits and refunds stay as they are), or as configured.
    let per_unit = |p: Part| x.scale(m(p) - credit(p), one, whole(s.units_now));
    let standing = match c.footprint_per_workspace.get(&cur) {
        Some(v) => {
            notes.push(format!("standing resources: {} per workspace, as configured", v.to_plain()));
            *v
        }
        None => per_unit(Part::Standing),
    };
    let network = match c.network_per_workspace.get(&cur) {
        Some(v) if m(Part::Network).is_zero() => {
            notes.push(format!(
                "network: {} per workspace, as configured (the bill has no private endpoints or firewall)",
                v.to_plain()
            ));
            *v
        }
        _ => {
            if m(Part::Network).is_zero() {
                notes.push("network: none in the bill, none configured (network_per_workspace)".into());
            }
            per_unit(Part::Network)
        }
    };

    // Cluster idle: node hours no job used, from the busy hours of a usage file.
    let mut idle_now = Money::ZERO;
    let mut clusters_now = 0u64;
    let mut busy_given = !c.busy.is_empty();
    for ((wi, compute), (hours, cost, tagged)) in &f.clusters {
        let w = &config.workspaces[*wi];
        busy_given |= w.usage.is_some();
        let busy = match c.busy.is_empty() {
            false => c.busy.get(&(month, w.name.to_ascii_lowercase(), compute.clone())).copied(),
            true => w
                .usage
                .as_ref()
                .and_then(|u| u.hours.get(&(month, compute.clone())))
                .map(|by| by.values().copied().sum()),
        };
        let Some(busy) = busy else { continue };
        if !hours.is_positive() {
            continue;
        }
        clusters_now += 1;
        // Rows tagged with a team are jobs' hours: busy, beside those the usage file gives.
        let idle_hours = *hours - busy - *tagged;
        if idle_hours.is_positive() {
            idle_now += x.scale(*cost, idle_hours, *hours);
        }
    }
    if clusters_now == 0 {
        notes.push(if busy_given {
            "cluster idle: not measured (the usage file gives no busy hours for this month's compute targets)".into()
        } else {
            "cluster idle: not measured (no usage file gives a compute target's busy hours)".into()
        });
    }
    // Workloads: a project in an environment. Clusters: as many per workspace as the configured ones have.
    let workloads = whole((s.projects.0 * s.environments).max(clusters_now));
    let per_workspace = x.scale(whole(clusters_now), one, whole(s.units_now));
    let consolidation = assume.consolidation;
    // A cluster serving k workloads idles as 1 + (1 - consolidation)(k - 1) separate ones would.
    let idle_weight = |clusters: Money| -> Money {
        let c = clusters.min(workloads);
        c + x.scale(one - consolidation, workloads - c, one)
    };
    let idle_per = x.scale(idle_now, one, idle_weight(whole(clusters_now)));

    // Data copies: measured when environments are apart, and scaled by the environments; else production's
    // storage times the copy fraction.
    let copies_now = if s.segregated_now >= 2 { f.storage_other } else { Money::ZERO };
    let copies = |envs: u64| -> Money {
        if s.segregated_now >= 2 {
            x.scale(copies_now, whole(envs - 1), whole(s.segregated_now - 1))
        } else {
            x.scale(x.times(f.storage_prod, envs - 1), assume.copy_fraction, one)
        }
    };
    if s.segregated_now < 2 && s.environments >= 2 {
        notes.push(format!(
            "data copies: {}% of production's storage per other environment, as configured (copy_fraction)",
            super::percent(assume.copy_fraction.to_plain().parse::<f64>().unwrap_or(0.0) * 100.0, 1)
        ));
    }

    // Regions: replication per region added (measured where the workspaces are regional), egress a one-region
    // placement adds.
    let regions_now = if s.per_region_now { s.regions } else { 1 };
    let replication_per = if s.per_region_now && m(Part::Replication).is_positive() {
        x.scale(m(Part::Replication), one, whole(s.regions - 1))
    } else {
        c.replication_per_region.get(&cur).copied().unwrap_or_default()
    };
    let egress_extra = c.egress_one_region.get(&cur).copied().unwrap_or_default();
    if s.regions >= 2 && s.per_region_now && !c.egress_one_region.contains_key(&cur) {
        notes.push(
            "egress: what a one-region placement would move between regions is not priced (egress_one_region)".into(),
        );
    }

    // The instances' standing cost per team, and the workspaces each team's members have one in: in k workspaces a
    // member keeps max(1, k x instance_share) instances.
    let kept = |k: Money| -> Money {
        if k <= one {
            k
        } else {
            x.scale(k, c.instance_share, one).max(one)
        }
    };
    let instances = |structure: Structure| -> Money {
        let mut sum = Money::ZERO;
        let avg_projects = x.scale(whole(s.projects.0), one, whole(s.teams.0.max(1)));
        for (team, (cost, ws)) in &f.instances {
            let now = whole(ws.len().max(1) as u64);
            let then = match structure {
                Structure::PerProject if team.is_empty() => avg_projects,
                Structure::PerProject => whole(s.projects_of.get(team).copied().unwrap_or(1)),
                _ => one,
            };
            sum += x.scale(*cost, kept(then), kept(now));
        }
        sum
    };

    let measured = {
        let mut p = f.measured;
        p[Part::Idle as usize] = idle_now;
        p[Part::DataCopies as usize] = copies_now;
        p
    };
    let usage = f.total - measured.iter().copied().sum::<Money>();
    let as_configured_parts = {
        let mut p = measured;
        if c.footprint_per_workspace.contains_key(&cur) {
            p[Part::Standing as usize] = x.times(standing, s.units_now);
        }
        if m(Part::Network).is_zero() {
            p[Part::Network as usize] = x.times(network, s.units_now);
        }
        p
    };

    let satisfies = |structure: Option<Structure>, per_env: bool, per_region: bool| -> Vec<Constraint> {
        let topologies = || f.workspaces.iter().map(|i| config.workspaces[*i].topology);
        let (team, project) = match structure {
            Some(st) => (
                matches!(st, Structure::PerTeam | Structure::PerProject | Structure::Hub),
                matches!(st, Structure::PerProject | Structure::Hub),
            ),
            None => (
                topologies().all(|t| t != Topology::Shared),
                topologies().all(|t| t == Topology::Project || t == Topology::Hub),
            ),
        };
        let env = s.environments < 2 || (per_env && (structure.is_some() || s.segregated_now == s.environments));
        let region = s.regions < 2 || per_region;
        [
            (Constraint::TeamIsolation, team),
            (Constraint::ProjectIsolation, project),
            (Constraint::EnvironmentIsolation, env),
            (Constraint::RegionIsolation, region),
        ]
        .into_iter()
        .filter(|x| x.1)
        .map(|x| x.0)
        .collect()
    };

    let estimate = |topology: String,
                    structure: Option<Structure>,
                    (per_env, per_region): (bool, bool),
                    workspaces: u64,
                    parts: [Money; PARTS.len()],
                    current: bool| {
        let (team_pct, project_pct) = match structure {
            None => (pct(f.direct, f.total), pct(f.project_known, f.total)),
            Some(Structure::PerTeam | Structure::Hub) => (Some(100.0), pct(f.project_tagged, f.total)),
            Some(Structure::PerProject) => (Some(100.0), Some(100.0)),
            Some(Structure::Single) => (pct(f.team_tagged, f.total), pct(f.project_tagged, f.total)),
            Some(Structure::PerDivision) => (pct(f.division_attributable, f.total), pct(f.project_tagged, f.total)),
        };
        Estimate {
            month,
            currency: currency.to_string(),
            topology,
            structure: structure.map(Structure::as_str).unwrap_or("as-configured"),
            environments: if per_env { "per-environment" } else { "shared" },
            regions: if per_region { "per-region" } else { "one-region" },
            current,
            workspaces,
            parts,
            usage,
            actual: f.total,
            measured,
            team_attributable_pct: team_pct,
            project_attributable_pct: project_pct,
            satisfies: satisfies(structure, per_env, per_region),
            recommended: false,
        }
    };

    let mut out = vec![estimate(
        "as-configured".into(),
        None,
        (s.segregated_now >= 2, s.per_region_now),
        f.workspaces.len() as u64,
        as_configured_parts,
        true,
    )];
    let mut structures = vec![Structure::PerTeam, Structure::PerProject, Structure::Single];
    if !config.divisions.is_empty() {
        structures.push(Structure::PerDivision);
    }
    structures.push(Structure::Hub);
    let env_options: &[bool] = if s.environments >= 2 { &[false, true] } else { &[false] };
    let region_options: &[bool] = if s.regions >= 2 { &[false, true] } else { &[false] };
    for &structure in &structures {
        for &per_env in env_options {
            for &per_region in region_options {
                let pick = |(one, per): (u64, u64)| if per_region { per } else { one };
                let base = match structure {
                    Structure::PerTeam | Structure::Hub => pick(s.teams),
                    Structure::PerProject => pick(s.projects),
                    Structure::Single => pick(s.single),
                    Structure::PerDivision => pick(s.divisions),
                };
                let envs = if per_env { s.environments } else { 1 };
                let units = base.max(1) * envs;
                let workspaces = match structure {
                    Structure::Hub => units + pick(s.projects).max(1) * envs,
                    _ => units,
                };
                let regions = if per_region { s.regions } else { 1 };
                let unit = |p: Part| x.times(per_unit(p), units) + credit(p);
                let mut parts = [Money::ZERO; PARTS.len()];
                parts[Part::Standing as usize] = match c.footprint_per_workspace.get(&cur) {
                    Some(_) => x.times(standing, units),
                    None => unit(Part::Standing),
                };
                parts[Part::MonitoringStanding as usize] = unit(Part::MonitoringStanding);
                parts[Part::MonitoringIngestion as usize] = m(Part::MonitoringIngestion);
                parts[Part::Network as usize] =
                    if m(Part::Network).is_zero() { x.times(network, units) } else { unit(Part::Network) };
                parts[Part::Instances as usize] = instances(structure);
                parts[Part::Idle as usize] = x.scale(idle_per, idle_weight(x.times(per_workspace, units)), one);
                parts[Part::DataCopies as usize] = copies(envs);
                let added = x.times(replication_per, regions.abs_diff(regions_now));
                parts[Part::Replication as usize] = if regions >= regions_now {
                    m(Part::Replication) + added
                } else {
                    (m(Part::Replication) - added).max(Money::ZERO)
                };
                parts[Part::Egress as usize] =
                    if !per_region && s.per_region_now { m(Part::Egress) + egress_extra } else { m(Part::Egress) };
                let mut name = structure.as_str().to_string();
                if per_env {
                    name.push_str("+per-env");
                }
                if per_region {
                    name.push_str("+per-region");
                }
                // (as many workspaces as the configured ones hold standing resources in: a team with two team
                // workspaces is not the per-team the model prices)
                let current = s.observed == Some(structure)
                    && per_env == (s.segregated_now >= 2)
                    && per_region == s.per_region_now
                    && units == s.units_now;
                // The combination the configured workspaces are is their bill, part by part.
                if current {
                    parts = as_configured_parts;
                }
                out.push(estimate(name, Some(structure), (per_env, per_region), workspaces, parts, current));
            }
        }
    }
    if x.overflow.get() {
        return Err(format!(
            "compare: an amount of {month} {currency} is too large to hold exactly; no estimate was written"
        ));
    }
    let observed = match s.observed {
        Some(_) => out.iter().skip(1).find(|e| e.current).map(|e| e.topology.clone()),
        None => None,
    };
    let decimals = config.decimals_for(currency);
    let decision = decide::decide(&mut out, month, currency, &config.compare.require, observed, notes, decimals);
    Ok((out, decision))
}
