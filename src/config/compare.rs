//! `[compare]`: how the topology comparison prices what it can't measure, and the constraints a recommendation must
//! meet.

use super::percentage;
use crate::money::Money;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompareRaw {
    #[serde(default)]
    footprint_types: Option<Vec<String>>,
    #[serde(default)]
    footprint_per_workspace: BTreeMap<String, toml::Value>,
    #[serde(default)]
    network_per_workspace: BTreeMap<String, toml::Value>,
    #[serde(default)]
    replication_per_region: BTreeMap<String, toml::Value>,
    #[serde(default)]
    egress_one_region: BTreeMap<String, toml::Value>,
    #[serde(default)]
    copy_fraction: Option<toml::Value>,
    #[serde(default)]
    instance_share: Option<toml::Value>,
    #[serde(default)]
    consolidation: Option<toml::Value>,
    #[serde(default)]
    production: Option<Vec<String>>,
    #[serde(default)]
    usage: Option<PathBuf>,
    #[serde(default)]
    require: Vec<String>,
}

/// Resource types whose cost is a workspace's standing footprint rather than usage, by default: the container
/// registry and key vault every workspace is created with. Application Insights and Log Analytics are split by meter
/// (a standing part and an ingestion part), private endpoints and firewalls are networking, and storage accounts are
/// data: each is a cost part of its own (docs/compare.md).
pub const DEFAULT_FOOTPRINT_TYPES: [&str; 2] = ["microsoft.containerregistry/registries", "microsoft.keyvault/vaults"];

/// What a topology must give, for `[compare] require`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Constraint {
    /// Each team's spend in workspaces of its own.
    TeamIsolation,
    /// Each project's spend in workspaces of its own.
    ProjectIsolation,
    /// Development, test and production in separate workspaces.
    EnvironmentIsolation,
    /// A workspace in each region where the spend is, none serving another region's data.
    RegionIsolation,
}

impl Constraint {
    pub const ALL: [Constraint; 4] = [
        Constraint::TeamIsolation,
        Constraint::ProjectIsolation,
        Constraint::EnvironmentIsolation,
        Constraint::RegionIsolation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Constraint::TeamIsolation => "team-isolation",
            Constraint::ProjectIsolation => "project-isolation",
            Constraint::EnvironmentIsolation => "environment-isolation",
            Constraint::RegionIsolation => "region-isolation",
        }
    }
}

/// How `compare` measures and prices each cost part.
#[derive(Debug, Clone)]
pub struct CompareConfig {
    /// Lower-cased resource types counted as a workspace's standing resources.
    pub footprint_types: Vec<String>,
    /// Standing resources per workspace given outright, per currency (upper-case), instead of measuring them.
    pub footprint_per_workspace: BTreeMap<String, Money>,
    /// Networking per workspace (private endpoints, the managed network's firewall) where the bill has none.
    pub network_per_workspace: BTreeMap<String, Money>,
    /// Registry replication per region added, where the bill has none.
    pub replication_per_region: BTreeMap<String, Money>,
    /// The cross-region egress a one-region placement adds, where the bill can't show it.
    pub egress_one_region: BTreeMap<String, Money>,
    /// The share of production's stored data each other environment keeps a copy of, where the bill can't show it.
    pub copy_fraction: Money,
    /// The share of a team's project workspaces each member keeps a compute instance in (1: every one).
    pub instance_share: Money,
    /// The share of a separate cluster's idle time that pooling its workload onto another's cluster saves.
    pub consolidation: Money,
    /// Lower-cased environment names that are production.
    pub production: Vec<String>,
    /// Busy hours of every workspace's compute targets (`month,workspace,team,compute,hours`), when given.
    pub usage: Option<PathBuf>,
    /// Its busy hours: (month, lower-cased workspace, lower-cased compute target) -> hours.
    pub busy: BTreeMap<(crate::dates::Month, String, String), Money>,
    pub require: Vec<Constraint>,
}

fn amounts(key: &str, map: &BTreeMap<String, toml::Value>, problems: &mut Vec<String>) -> BTreeMap<String, Money> {
    let mut out = BTreeMap::new();
    for (currency, v) in map {
        let code = match crate::layout::currency_code(currency.trim()) {
            Ok(code) => code.into_owned(),
            Err(_) => {
                problems
                    .push(format!("compare.{key}.{currency}: not an ISO 4217 currency code (three letters, as `USD`)"));
                continue;
            }
        };
        match percentage(v) {
            Some(m) if !m.is_negative() && m.within_total_bound() => {
                if out.insert(code.clone(), m).is_some() {
                    problems.push(format!("compare.{key}: {code} is given twice (codes are compared without case)"));
                }
            }
            Some(m) if !m.is_negative() => problems.push(format!(
                "compare.{key}.{currency}: {v} is more than mlspend holds exactly in a total; give a smaller amount"
            )),
            _ => problems.push(format!("compare.{key}.{currency}: give an amount of 0 or more, not {v}")),
        }
    }
    out
}

fn fraction(key: &str, v: &Option<toml::Value>, default: &str, problems: &mut Vec<String>) -> Money {
    let default = Money::parse(default).unwrap_or_default();
    let Some(v) = v else { return default };
    match percentage(v) {
        Some(f) if !f.is_negative() && f <= Money::from_minor_units(1, 0) => f,
        _ => {
            problems.push(format!("compare.{key}: give a fraction from 0 to 1 (0.25 is a quarter), not {v}"));
            default
        }
    }
}

pub(super) fn build(raw: &CompareRaw, base: &Path, problems: &mut Vec<String>) -> CompareConfig {
    let mut require = Vec::new();
    for r in &raw.require {
        match Constraint::ALL.iter().find(|c| c.as_str() == r.trim()) {
            Some(c) if require.contains(c) => problems.push(format!("compare.require: `{r}` is listed twice")),
            Some(c) => require.push(*c),
            None => problems.push(format!(
                "compare.require: `{r}` is not a constraint; the constraints are {}",
                Constraint::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
            )),
        }
    }
    let production: Vec<String> = raw
        .production
        .clone()
        .unwrap_or_else(|| vec!["prod".into(), "production".into(), "prd".into()])
        .iter()
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    if production.is_empty() {
        problems.push("compare.production: name at least one environment that is production".into());
    }
    CompareConfig {
        footprint_types: raw
            .footprint_types
            .clone()
            .unwrap_or_else(|| DEFAULT_FOOTPRINT_TYPES.iter().map(|s| s.to_string()).collect())
            .iter()
            .map(|t| t.trim().to_ascii_lowercase())
            .collect(),
        footprint_per_workspace: amounts("footprint_per_workspace", &raw.footprint_per_workspace, problems),
        network_per_workspace: amounts("network_per_workspace", &raw.network_per_workspace, problems),
        replication_per_region: amounts("replication_per_region", &raw.replication_per_region, problems),
        egress_one_region: amounts("egress_one_region", &raw.egress_one_region, problems),
        copy_fraction: fraction("copy_fraction", &raw.copy_fraction, "0.25", problems),
        instance_share: fraction("instance_share", &raw.instance_share, "1", problems),
        consolidation: fraction("consolidation", &raw.consolidation, "0.5", problems),
        production,
        usage: raw.usage.as_ref().map(|u| if u.is_absolute() { u.clone() } else { base.join(u) }),
        busy: BTreeMap::new(),
        require,
    }
}
