//! `[[pool]]`: platform pools outside any workspace, read and checked.

use super::{percentage, Split, Workspace};
use crate::money::Money;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One `[[pool]]` table as written: a platform pool outside any workspace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PoolRaw {
    name: String,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    resource_groups: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    split: Option<Split>,
    #[serde(default)]
    teams: Vec<String>,
    #[serde(default)]
    shares: BTreeMap<String, toml::Value>,
}

/// A platform pool: resources outside any workspace that serve ML (a registry, a hub's firewall and private DNS, a
/// central Log Analytics workspace), split among teams by a stated rule.
#[derive(Debug, Clone)]
pub struct PlatformPool {
    pub name: String,
    /// Lower-cased resource names or full ids.
    pub resources: Vec<String>,
    /// Lower-cased resource groups.
    pub resource_groups: Vec<String>,
    /// (folded tag key, value): a row carrying any of these tags belongs to the pool.
    pub tags: Vec<(String, String)>,
    /// `even`, `fixed`, or `proportional` to each team's ML spend that month and currency.
    pub split: Split,
    /// The teams it is split among (all teams of the workspaces when not given).
    pub teams: Vec<String>,
    /// Fixed percentages, in the order of `teams`.
    pub shares: Vec<Money>,
}

/// Validates the `[[pool]]` tables: a name of its own, something to match, teams of the configuration, a split that
/// applies outside a workspace, fixed shares that sum to 100, no resource or resource group a workspace claims.
pub(super) fn validate_pools(
    raw: &[PoolRaw],
    teams: &[String],
    workspaces: &[Workspace],
    problems: &mut Vec<String>,
) -> Vec<PlatformPool> {
    let mut out: Vec<PlatformPool> = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let at = format!("pool[{}] ({})", i + 1, p.name);
        let name = p.name.trim();
        if name.is_empty() {
            problems.push(format!("pool[{}]: `name` is empty", i + 1));
            continue;
        }
        if name.starts_with('(') {
            problems.push(format!(
                "{at}: a pool's name can't start with `(`, which marks `(unallocated)` and `(out-of-scope)` lines"
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &p.teams {
            if !seen.insert(t.trim().to_ascii_lowercase()) {
                problems.push(format!("{at}: team `{t}` is listed twice in `teams`"));
            }
        }
        if out.iter().any(|o| o.name.eq_ignore_ascii_case(name))
            || workspaces.iter().any(|w| w.name.eq_ignore_ascii_case(name))
        {
            problems.push(format!(
                "{at}: the name is also a workspace's or another pool's; give the pool a name of its own"
            ));
        }
        if p.resources.is_empty() && p.resource_groups.is_empty() && p.tags.is_empty() {
            problems.push(format!("{at}: give `resources`, `resource_groups` or `tags`: what the pool holds"));
        }
        for g in &p.resource_groups {
            if let Some(w) = workspaces.iter().find(|w| w.resource_groups.contains(&g.to_ascii_lowercase())) {
                problems.push(format!("{at}: resource group `{g}` is also claimed by workspace `{}`", w.name));
            }
        }
        for r in &p.resources {
            if let Some(w) = workspaces.iter().find(|w| w.resources.contains(&r.to_ascii_lowercase())) {
                problems.push(format!("{at}: resource `{r}` is also claimed by workspace `{}`", w.name));
            }
        }
        let split = p.split.unwrap_or(Split::Even);
        if split == Split::Usage {
            problems.push(format!(
                "{at}: split = \"usage\" applies to shared workspaces; give \"even\", \"fixed\" or \"proportional\""
            ));
        }
        let members: Vec<String> = if p.teams.is_empty() {
            workspaces.iter().flat_map(|w| std::iter::once(&w.team).chain(&w.teams)).filter(|t| !t.is_empty()).fold(
                Vec::new(),
                |mut v, t| {
                    if !v.contains(t) {
                        v.push(t.clone());
                    }
                    v
                },
            )
        } else {
            p.teams
                .iter()
                .filter_map(|t| match teams.iter().find(|x| x.eq_ignore_ascii_case(t.trim())) {
                    Some(x) => Some(x.clone()),
                    None => {
                        problems.push(format!("{at}: team `{t}` is not a team of the configuration"));
                        None
                    }
                })
                .collect()
        };
        let mut shares = Vec::new();
        if split == Split::Fixed {
            let mut total = Money::ZERO;
            for t in &members {
                match p.shares.iter().find(|(k, _)| k.eq_ignore_ascii_case(t)).map(|(_, v)| percentage(v)) {
                    Some(Some(v)) if !v.is_negative() => {
                        total += v;
                        shares.push(v);
                    }
                    Some(_) => problems.push(format!("{at}: share of `{t}` must be a percentage of 0 or more")),
                    None => problems.push(format!("{at}: team `{t}` has no entry in `shares`")),
                }
            }
            for k in p.shares.keys() {
                if !members.iter().any(|t| t.eq_ignore_ascii_case(k)) {
                    problems.push(format!("{at}: `shares` names team `{k}`, which is not in the pool's teams"));
                }
            }
            if total != Money::from_minor_units(100, 0) {
                problems.push(format!("{at}: `shares` sum to {total}, not 100"));
            }
        } else if !p.shares.is_empty() {
            problems.push(format!("{at}: `shares` needs split = \"fixed\""));
        }
        out.push(PlatformPool {
            name: name.to_string(),
            resources: p.resources.iter().map(|r| r.trim().trim_end_matches('/').to_ascii_lowercase()).collect(),
            resource_groups: p.resource_groups.iter().map(|g| g.trim().to_ascii_lowercase()).collect(),
            tags: p.tags.iter().map(|(k, v)| (crate::tags::fold(k).into_owned(), v.clone())).collect(),
            split,
            teams: members,
            shares,
        });
    }
    out
}
