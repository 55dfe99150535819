//! The topology comparison: what the same usage would cost organised another way, over the three decisions the
//! starting document names (team structure, environments, regions), and the cheapest way that meets the
//! configuration's constraints.
//!
//! Takes each attributed row (cost, attribution, resource type, meter, location, tags) and gathers, per billing month
//! and currency, the [`Facts`] the model needs: the spend of each cost part measured from the bill, and the teams,
//! projects, environments and regions it lies in. `model.rs` turns them into one [`Estimate`] per combination, and
//! `decide.rs` picks the recommendation (docs/compare.md has the model and each of its assumptions). The charts of
//! these figures are drawn by `report::charts`.

mod decide;
mod model;

pub use decide::Decision;
pub use model::{columns, shown_parts, Estimate, Part, Rounded, PARTS};

use crate::attribute::{Attribution, Owner};
use crate::config::{Config, Topology};
use crate::dates::Month;
use crate::money::Money;
use crate::schema::CostRow;
use crate::text::contains_any_ignore_case as contains;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// Facts about the attributed spend of one month and currency.
#[derive(Default)]
struct Facts {
    total: Money,
    /// The spend of each part, as the bill has it (idle and data copies are worked out from the clusters and storage).
    measured: [Money; PARTS.len()],
    /// Of which credits and refunds (negative rows): one-off, so never multiplied by a workspace count.
    credits: [Money; PARTS.len()],
    /// Regions of each configured workspace's spend.
    workspace_regions: BTreeMap<usize, BTreeSet<String>>,
    /// Storage accounts' spend in production (or in no environment), and in the other environments.
    storage_prod: Money,
    storage_other: Money,
    /// Compute targets: (workspace, lower-cased name) -> (node hours, cost, hours of rows tagged with a team: jobs).
    clusters: BTreeMap<(usize, String), (Money, Money, Money)>,
    /// Compute instances' standing cost per team (folded; empty: no team known), and the workspaces it is in.
    instances: BTreeMap<String, (Money, BTreeSet<usize>)>,
    direct: Money,
    /// Spend with a team tag naming a configured team.
    team_tagged: Money,
    /// Spend with a project from a project workspace or a project tag.
    project_known: Money,
    project_tagged: Money,
    /// Spend a per-division workspace would still tell apart by team: tagged, or its team alone in its division.
    division_attributable: Money,
    workspaces: BTreeSet<usize>,
    /// Regions (keys of `schema::region`) each team's spend is in; a team with spend in no named region has none.
    teams: BTreeMap<String, BTreeSet<String>>,
    /// Regions of each team's projects; the project is empty for a team's spend whose project is unknown.
    projects: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    regions: BTreeSet<String>,
    /// Environments the spend is in (configured on its workspace, else tagged), folded.
    environments: BTreeSet<String>,
    /// Environments configured on the workspaces with spend.
    configured_environments: BTreeSet<String>,
    /// Places already counted: owner team, project, region, environment and workspace, joined by `\x1f`.
    seen: crate::fasthash::FastSet<String>,
}

/// Running sums for the comparison and the charts.
pub struct CompareAcc<'c> {
    config: &'c Config,
    facts: Vec<(Month, String, Facts)>,
    division_of: HashMap<String, String>,
    division_size: HashMap<String, usize>,
    /// The text of a row's place, reused from row to row.
    place: String,
}

/// A percentage at `decimals`, never a negative zero (`-0.0` -> `0.0`).
pub fn percent(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => text,
    }
}

/// The cost part a row's spend belongs to, when it is not usage (docs/compare.md, "Cost parts"). What a resource
/// bills per GB or per operation is usage wherever it lies: only the hours and days a resource bills whatever it does
/// are a part that scales with workspaces.
fn part_of(row: &CostRow, footprint_types: &[String]) -> Option<Part> {
    // Cheap tests of type and category first: most rows are usage, and no meter name is read for them.
    let kind = row.resource_type.as_ref();
    let is = |t: &str| kind.eq_ignore_ascii_case(t);
    let (category, meter) = (row.meter_category, row.meter_name);
    let category_is = |c: &str| category.eq_ignore_ascii_case(c);
    let per_gb = || contains(meter, &["data processed", "data transfer", "processed gb"]);
    // (a replica's type is the registry's nested type, `.../registries/replications`)
    let starts = |t: &str| kind.len() >= t.len() && kind.as_bytes()[..t.len()].eq_ignore_ascii_case(t.as_bytes());
    let registry =
        starts("microsoft.containerregistry/registries") || starts("microsoft.machinelearningservices/registries");
    // A registry's replica in another region: its own id (`.../replications/<region>`) or a meter naming it.
    if registry && (contains(row.resource_id, &["/replications/"]) || contains(meter, &["replicat"])) {
        return Some(Part::Replication);
    }
    let network = category_is("Virtual Network");
    // Data moved between regions (`Inter-Region` bandwidth: intra- and inter-continent transfer out, global peering).
    if (category_is("Bandwidth") || network)
        && (contains(
            meter,
            &["inter-region", "inter region", "intra continent", "inter continent", "intercontinental"],
        ) || contains(row.product, &["inter-region", "inter region"]))
    {
        return Some(Part::Egress);
    }
    if (is("microsoft.network/privateendpoints")
        || is("microsoft.network/azurefirewalls")
        || category_is("Azure Firewall")
        || (network && contains(meter, &["private endpoint"])))
        && !per_gb()
    {
        return Some(Part::Network);
    }
    if is("microsoft.insights/components")
        || is("microsoft.operationalinsights/workspaces")
        || category_is("Log Analytics")
        || category_is("Application Insights")
        || category_is("Azure Monitor")
    {
        // Data ingested, kept, searched or tested, and commitment tiers (a prepaid ingestion price), grow with what
        // runs, not with how many workspaces there are.
        let data =
            ["ingest", "data", "retention", "overage", "commitment", "search", "scanned", "processed", "web test"];
        return Some(if contains(meter, &data) { Part::MonitoringIngestion } else { Part::MonitoringStanding });
    }
    if footprint_types.iter().any(|t| is(t)) {
        // A registry's stored images and builds are usage; its registry unit is what it bills standing.
        if registry && contains(meter, &["data stored", "task", "build", "storage"]) {
            return None;
        }
        return Some(Part::Standing);
    }
    // What a compute instance (or a cluster's nodes) bills whether it runs or not: its load balancer, public IP and
    // disk, billed under the workspace, or as the `azurebatch` load balancer and IP Azure ML creates for a cluster.
    let standing_compute = category_is("Load Balancer")
        || (network && contains(meter, &["ip address", "ipv4"]))
        || (category_is("Storage") && contains(meter, &["lrs disk", "zrs disk"]));
    if standing_compute && (row.is_ml || contains(row.resource_name, &["azurebatch"])) && !per_gb() {
        return Some(Part::Instances);
    }
    None
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

/// An environment's name, production's first name for any of production's names.
fn canonical<'a>(production: &'a [String], e: std::borrow::Cow<'a, str>) -> std::borrow::Cow<'a, str> {
    match production.iter().any(|p| *p == e) {
        true => std::borrow::Cow::Borrowed(production[0].as_str()),
        false => e,
    }
}

fn insert_region(set: &mut BTreeSet<String>, region: &str) {
    if !region.is_empty() && !set.contains(region) {
        set.insert(region.to_string());
    }
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
        CompareAcc { config, facts: Vec::new(), division_of, division_size, place: String::new() }
    }

    fn configured_team(&self, name: &str) -> bool {
        self.config
            .workspaces
            .iter()
            .any(|w| w.team.eq_ignore_ascii_case(name) || w.teams.iter().any(|t| t.eq_ignore_ascii_case(name)))
    }

    /// Where the facts of (month, currency) are, made when new.
    fn position(&mut self, month: Month, currency: &str) -> usize {
        // Few (month, currency) pairs: a linear search allocates nothing per row.
        match self.facts.iter().position(|(m, c, _)| *m == month && c == currency) {
            Some(p) => p,
            None => {
                self.facts.push((month, currency.to_string(), Facts::default()));
                self.facts.len() - 1
            }
        }
    }

    fn facts(&mut self, month: Month, currency: &str) -> &mut Facts {
        let pos = self.position(month, currency);
        &mut self.facts[pos].2
    }

    /// Adds one row with its cost on the run's basis and its attribution.
    pub fn add(&mut self, row: &CostRow, cost: Money, a: &Attribution<'_>) {
        let Some(wi) = a.workspace else { return };
        let month = row.month(self.config.month_by);
        let config = self.config;
        let ws = &config.workspaces[wi];
        let tags = &config.tags;
        let team_tag = row.tags.first_of(&tags.team).map(str::trim).filter(|t| self.configured_team(t));
        let project_tag = row.tags.first_of(&tags.project).map(str::trim).filter(|p| !p.is_empty());
        let part = part_of(row, &config.compare.footprint_types);
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
        // Production by any of its names (`prod`, `production`) is one environment.
        let production = &config.compare.production;
        let configured_environment =
            (!ws.environment.trim().is_empty()).then(|| canonical(production, crate::tags::fold(&ws.environment)));
        // The row's environment as its chargeback line has it: its tag, else its workspace's.
        let environment = canonical(production, crate::tags::fold(a.environment.trim()));
        // Replicas and transfers lie in other regions than the work: they don't say where it runs.
        let region = match part {
            Some(Part::Replication | Part::Egress) => std::borrow::Cow::Borrowed(""),
            _ => crate::schema::region(row.location),
        };
        let production = environment.is_empty() || environment == config.compare.production[0].as_str();
        let storage = row.resource_type.eq_ignore_ascii_case("microsoft.storage/storageaccounts");
        // (a compute target's rows have the nested type `.../workspaces/computes`: no id is searched for others)
        let kind = row.resource_type.as_bytes();
        let nested = kind.len() > 9 && kind[kind.len() - 9..].eq_ignore_ascii_case(b"/computes");
        let compute =
            nested.then(|| crate::resource::compute_name(row.resource_id)).flatten().map(str::to_ascii_lowercase);
        let hours = compute.as_ref().and_then(|_| row.hours());

        let pos = self.position(month, &row.currency);
        let f = &mut self.facts[pos].2;
        f.total += cost;
        match part {
            Some(Part::Instances) => {
                let team = crate::tags::fold(owner_team.or(team_tag).unwrap_or(""));
                let e = match f.instances.get_mut(team.as_ref()) {
                    Some(e) => e,
                    None => f.instances.entry(team.into_owned()).or_default(),
                };
                e.0 += cost;
                e.1.insert(wi);
                f.measured[Part::Instances as usize] += cost;
                if cost.is_negative() {
                    f.credits[Part::Instances as usize] += cost;
                }
            }
            Some(p) => {
                f.measured[p as usize] += cost;
                if cost.is_negative() {
                    f.credits[p as usize] += cost;
                }
            }
            None if storage && production => f.storage_prod += cost,
            None if storage => f.storage_other += cost,
            None => {
                if let (Some(c), Some(h)) = (compute, hours) {
                    let e = f.clusters.entry((wi, c)).or_default();
                    e.0 += h;
                    e.1 += cost;
                    if team_tag.is_some() {
                        e.2 += h;
                    }
                }
            }
        }
        if !matches!(a.owner, Owner::Pool) {
            f.direct += cost;
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
        // Where the row lies (workspace, team, project, region, environment) decides every set below: a place seen
        // before adds nothing, and is found by one lookup of its text (`\x1f` cannot occur in the parts compared).
        let (owner, project_text) = (owner_team.unwrap_or(""), project.unwrap_or(""));
        let mut place = std::mem::take(&mut self.place);
        place.clear();
        for (i, part) in [owner, project_text, region.as_ref(), environment.as_ref()].into_iter().enumerate() {
            if i > 0 {
                place.push('\x1f');
            }
            place.push_str(part);
        }
        place.push('\x1f');
        let _ = write!(place, "{wi}");
        let f = &mut self.facts[pos].2;
        let seen = f.seen.contains(place.as_str());
        if !seen {
            f.seen.insert(place.clone());
        }
        self.place = place;
        if seen {
            return;
        }
        let f = &mut self.facts[pos].2;
        f.workspaces.insert(wi);
        if !environment.is_empty() && !f.environments.contains(environment.as_ref()) {
            f.environments.insert(environment.into_owned());
        }
        if let Some(e) = configured_environment {
            if !f.configured_environments.contains(e.as_ref()) {
                f.configured_environments.insert(e.into_owned());
            }
        }
        insert_region(&mut f.regions, &region);
        insert_region(f.workspace_regions.entry(wi).or_default(), &region);
        let teams: &[String] = match ws.topology {
            Topology::Shared => &ws.teams,
            _ => std::slice::from_ref(&ws.team),
        };
        for t in teams {
            let t = crate::tags::fold(t);
            match f.teams.get_mut(t.as_ref()) {
                Some(set) => insert_region(set, &region),
                None => {
                    let set = f.teams.entry(t.into_owned()).or_default();
                    insert_region(set, &region);
                }
            }
        }
        // (a shared workspace's pool spend belongs to no one team: its project, if tagged, counts on its own)
        let team_for_project = crate::tags::fold(match ws.topology {
            Topology::Shared => owner_team.unwrap_or(""),
            _ => owner_team.unwrap_or(&ws.team),
        });
        let project = crate::tags::fold(project.unwrap_or(""));
        let by_project = match f.projects.get_mut(team_for_project.as_ref()) {
            Some(p) => p,
            None => f.projects.entry(team_for_project.into_owned()).or_default(),
        };
        match by_project.get_mut(project.as_ref()) {
            Some(set) => insert_region(set, &region),
            None => insert_region(by_project.entry(project.into_owned()).or_default(), &region),
        }
    }

    /// Adds another part's facts.
    pub fn merge(&mut self, other: CompareAcc) {
        for (month, currency, o) in other.facts {
            let f = self.facts(month, &currency);
            f.total += o.total;
            for (a, b) in f.measured.iter_mut().zip(o.measured) {
                *a += b;
            }
            for (a, b) in f.credits.iter_mut().zip(o.credits) {
                *a += b;
            }
            for (k, r) in o.workspace_regions {
                f.workspace_regions.entry(k).or_default().extend(r);
            }
            f.storage_prod += o.storage_prod;
            f.storage_other += o.storage_other;
            for (k, (h, c, t)) in o.clusters {
                let e = f.clusters.entry(k).or_default();
                e.0 += h;
                e.1 += c;
                e.2 += t;
            }
            for (k, (c, ws)) in o.instances {
                let e = f.instances.entry(k).or_default();
                e.0 += c;
                e.1.extend(ws);
            }
            f.direct += o.direct;
            f.team_tagged += o.team_tagged;
            f.project_known += o.project_known;
            f.project_tagged += o.project_tagged;
            f.division_attributable += o.division_attributable;
            f.workspaces.extend(o.workspaces);
            for (k, r) in o.teams {
                f.teams.entry(k).or_default().extend(r);
            }
            for (team, projects) in o.projects {
                let mine = f.projects.entry(team).or_default();
                for (p, r) in projects {
                    mine.entry(p).or_default().extend(r);
                }
            }
            f.regions.extend(o.regions);
            f.seen.extend(o.seen);
            f.environments.extend(o.environments);
            f.configured_environments.extend(o.configured_environments);
        }
    }

    /// The estimates of every combination and the decision, per month and currency; an error when an amount could
    /// not be held exactly.
    pub fn compare(&self) -> Result<(Vec<Estimate>, Vec<Decision>), String> {
        let mut facts: Vec<&(Month, String, Facts)> = self.facts.iter().collect();
        facts.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut estimates = Vec::new();
        let mut decisions = Vec::new();
        let c = &self.config.compare;
        let configured = model::Assumptions { consolidation: c.consolidation, copy_fraction: c.copy_fraction };
        let (zero, one) = (Money::ZERO, Money::from_minor_units(1, 0));
        for (month, currency, f) in facts {
            let (mut e, mut d) = model::estimate(self, *month, currency, f, configured)?;
            // How far the recommendation rests on what no bill shows: the same decision at either end of each
            // assumption's range, or the one it would be.
            let decimals = self.config.decimals_for(currency);
            let cost = |e: &[Estimate], d: &Decision, c| d.cost(e, c, decimals);
            let mut moved = Vec::new();
            let mut ranges: Vec<(crate::config::Constraint, Money, Money)> =
                crate::config::Constraint::ALL.iter().filter_map(|c| cost(&e, &d, *c).map(|v| (*c, v, v))).collect();
            for (name, value, assume) in [
                ("consolidation", "0", model::Assumptions { consolidation: zero, ..configured }),
                ("consolidation", "1", model::Assumptions { consolidation: one, ..configured }),
                ("copy_fraction", "0", model::Assumptions { copy_fraction: zero, ..configured }),
                ("copy_fraction", "1", model::Assumptions { copy_fraction: one, ..configured }),
            ] {
                let (other_e, other) = model::estimate(self, *month, currency, f, assume)?;
                if other.recommended != d.recommended {
                    let to = other.recommended.as_deref().unwrap_or("none");
                    moved.push(format!("with {name} = {value} it is {to}"));
                }
                for (c, lo, hi) in ranges.iter_mut() {
                    if let Some(v) = cost(&other_e, &other, *c) {
                        *lo = (*lo).min(v);
                        *hi = (*hi).max(v);
                    }
                }
            }
            if d.recommended.is_some() {
                d.notes.push(if moved.is_empty() {
                    "the recommendation holds for any consolidation and copy_fraction from 0 to 1".to_string()
                } else {
                    format!("the recommendation rests on the assumptions: {}", moved.join("; "))
                });
            }
            let spread: Vec<String> = ranges
                .iter()
                .filter(|(_, lo, hi)| lo != hi)
                .map(|(c, lo, hi)| {
                    format!("{} {} to {}", c.as_str(), decide::signed(*lo, decimals), decide::signed(*hi, decimals))
                })
                .collect();
            if !spread.is_empty() {
                d.notes.push(format!(
                    "over consolidation and copy_fraction from 0 to 1, a constraint's cost a month ranges: {}",
                    spread.join("; ")
                ));
            }
            estimates.append(&mut e);
            decisions.push(d);
        }
        Ok((estimates, decisions))
    }
}
