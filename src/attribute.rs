//! Attribution: which workspace a cost row belongs to, who owns it, and why.
//!
//! Takes a canonical row and the validated configuration and gives an [`Attribution`]: the workspace and the rule
//! that found it (first match wins: (a) the resource id is, or lies under, a configured workspace; (b) a workspace
//! tag names one; (c) the resource is one of a workspace's `resources`; (d) its resource group is one of a
//! workspace's `resource_groups`), then the owner (the workspace's team or project; on a shared workspace the team
//! named by the row's team tag when that team is a member, else the workspace's shared pool). A row no rule matches is
//! unallocated with a reason when it is ML spend, else out of scope: a team tag alone never makes spend ML spend.
//! Every comparison ignores case. Lookups are hash maps built once from the configuration.

use crate::config::{Config, Topology};
use crate::fasthash::FastMap as HashMap;
use crate::schema::CostRow;
use crate::text::ascii_lower as lower;

/// The workspace rule that matched.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    ResourceId,
    WorkspaceTag,
    Resource,
    ResourceGroup,
    /// The row is a commitment's unused capacity or its purchase ([`crate::commitment`]).
    Commitment,
    /// No workspace, but a platform pool (`[[pool]]`) holds the resource, its group or a tag of it.
    PlatformPool,
    None,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::Commitment,
        Rule::ResourceId,
        Rule::WorkspaceTag,
        Rule::Resource,
        Rule::ResourceGroup,
        Rule::PlatformPool,
        Rule::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ResourceId => "resource-id",
            Rule::WorkspaceTag => "workspace-tag",
            Rule::Resource => "resource",
            Rule::ResourceGroup => "resource-group",
            Rule::Commitment => "commitment",
            Rule::PlatformPool => "platform-pool",
            Rule::None => "none",
        }
    }
}

/// Why ML spend could not be attributed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason<'r> {
    /// The resource id is an Azure ML workspace that is not configured.
    UnknownWorkspace(&'r str),
    /// A workspace tag names a workspace that is not configured.
    UnknownWorkspaceTag(&'r str),
    /// ML spend with no workspace in its id or tags, in no configured resource list or resource group.
    NoWorkspace,
    /// The purchase (or refund) of a reservation or savings plan with no configured owner.
    CommitmentPurchase,
}

impl Reason<'_> {
    pub fn text(&self) -> String {
        let mut s = String::new();
        self.write_text(&mut s);
        s
    }

    /// Appends the reason's text to `out` (the row loop reuses one buffer).
    pub fn write_text(&self, out: &mut String) {
        match self {
            Reason::UnknownWorkspace(name) => {
                out.push_str("unknown workspace ");
                out.push_str(name);
            }
            Reason::UnknownWorkspaceTag(name) => {
                out.push_str("workspace tag names unknown workspace ");
                out.push_str(name);
            }
            Reason::NoWorkspace => out.push_str("untagged ML resource outside any workspace"),
            Reason::CommitmentPurchase => out.push_str("commitment purchase"),
        }
    }

    /// The workspace the reason names, if any.
    pub fn workspace(&self) -> &str {
        match self {
            Reason::UnknownWorkspace(n) | Reason::UnknownWorkspaceTag(n) => n,
            Reason::NoWorkspace | Reason::CommitmentPurchase => "",
        }
    }
}

/// Who a row's cost goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner<'r> {
    /// Charged directly to a team (index into the config's team list), with project detail where known.
    Direct {
        team: &'r str,
        project: &'r str,
    },
    /// Into the shared pool of a shared workspace, to be split.
    Pool,
    Unallocated(Reason<'r>),
    OutOfScope,
    /// A commitment's unused capacity (`commitment` is the row's id): split among the teams whose usage the
    /// commitment covered that month, in proportion to their covered cost, or charged to its configured owner
    /// (unallocated when it has none), once every row has been read (`rollup`).
    Unused {
        commitment: &'r str,
    },
    /// Into a platform pool (index into `config.pools`), to be split among its teams.
    Platform(usize),
    /// The purchase (or refund) of a commitment, charged to its configured owner.
    Purchase {
        commitment: &'r str,
        owner: &'r str,
    },
}

/// The member a shared workspace's `owners` give the row to: by its endpoint or deployment (the `azuremlendpoint`,
/// `azuremldeployment` tags Azure ML writes, or `/onlineEndpoints/<name>` in the resource id), or its compute target
/// (`/computes/<name>`).
pub fn owned_by<'w>(row: &CostRow, ws: &'w crate::config::Workspace) -> Option<&'w str> {
    let find = |name: &str| ws.owners.get(&name.trim().to_ascii_lowercase()).map(String::as_str);
    let child = |kind: &str| {
        let id = row.resource_id.to_ascii_lowercase();
        let at = id.find(kind)? + kind.len();
        let name = id[at..].split('/').next().unwrap_or("").to_string();
        (!name.is_empty()).then_some(name)
    };
    row.tags
        .get("azuremlendpoint")
        .and_then(find)
        .or_else(|| row.tags.get("azuremldeployment").and_then(find))
        .or_else(|| child("/onlineendpoints/").and_then(|n| find(&n)))
        .or_else(|| child("/computes/").and_then(|n| find(&n)))
}

/// The outcome for one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribution<'r> {
    /// Index into `config.workspaces`.
    pub workspace: Option<usize>,
    pub rule: Rule,
    pub owner: Owner<'r>,
    pub environment: &'r str,
    /// Usage a commitment covered (its cost weighs in the split of the commitment's unused capacity).
    pub covered: bool,
}

/// The configuration's lookups, built once. Each maps to a workspace's versions (indices into `config.workspaces`,
/// most workspaces have one); a row takes the version in force in its month.
pub struct Attributor<'c> {
    config: &'c Config,
    by_name: HashMap<String, Vec<usize>>,
    by_resource: HashMap<String, Vec<usize>>,
    by_group: HashMap<String, Vec<usize>>,
}

impl<'c> Attributor<'c> {
    pub fn new(config: &'c Config) -> Attributor<'c> {
        let mut by_name = HashMap::default();
        let mut by_resource = HashMap::default();
        let mut by_group = HashMap::default();
        let add = |map: &mut HashMap<String, Vec<usize>>, key: String, i: usize| {
            let list = map.entry(key).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        };
        for (i, w) in config.workspaces.iter().enumerate() {
            add(&mut by_name, w.name.to_ascii_lowercase(), i);
            for r in &w.resources {
                add(&mut by_resource, r.trim_end_matches('/').to_string(), i);
            }
            for g in &w.resource_groups {
                add(&mut by_group, g.clone(), i);
            }
        }
        Attributor { config, by_name, by_resource, by_group }
    }

    /// The version among `versions` in force in `month`: the only one when it has no dates, else by its dates.
    fn in_force(&self, versions: &[usize], month: crate::dates::Month) -> Option<usize> {
        match versions {
            [one] if self.config.workspaces[*one].from.is_none() && self.config.workspaces[*one].until.is_none() => {
                Some(*one)
            }
            _ => versions.iter().copied().find(|&i| self.config.workspaces[i].in_force(month)),
        }
    }

    /// Attributes one row.
    pub fn apply<'r>(&self, row: &'r CostRow) -> Attribution<'r>
    where
        'c: 'r,
    {
        // A commitment's unused capacity or purchase belongs to no workspace: it goes by the commitment.
        let role = crate::commitment::role(row);
        let covered = role == crate::commitment::Role::Covered;
        match role {
            crate::commitment::Role::Unused => {
                let owner = Owner::Unused { commitment: row.commitment };
                return Attribution { workspace: None, rule: Rule::Commitment, owner, environment: "", covered };
            }
            crate::commitment::Role::Purchase => {
                let owner = match crate::commitment::owner(self.config, row.commitment) {
                    Some(c) => Owner::Purchase { commitment: row.commitment, owner: &c.owner },
                    None => Owner::Unallocated(Reason::CommitmentPurchase),
                };
                return Attribution { workspace: None, rule: Rule::Commitment, owner, environment: "", covered };
            }
            _ => {}
        }
        let tags = &self.config.tags;
        let env_tag = row.tags.first_of(&tags.environment);
        let id_workspace = (!row.ml_workspace.is_empty()).then_some(row.ml_workspace);
        let tag_workspace = row.tags.first_of(&tags.workspace).filter(|v| !v.trim().is_empty());
        // The version in force in the row's month; a workspace with no version then is not configured then.
        let month = row.month(self.config.month_by);
        let pick = |versions: &Vec<usize>| self.in_force(versions, month);
        let found = id_workspace
            .and_then(|n| self.by_name.get(lower(n).as_ref()).and_then(pick).map(|i| (i, Rule::ResourceId)))
            .or_else(|| {
                tag_workspace.and_then(|n| {
                    self.by_name.get(lower(n.trim()).as_ref()).and_then(pick).map(|i| (i, Rule::WorkspaceTag))
                })
            })
            .or_else(|| {
                let by_name = (!row.resource_name.is_empty())
                    .then(|| self.by_resource.get(lower(row.resource_name).as_ref()).and_then(pick))
                    .flatten();
                let by_id = || {
                    (!row.resource_id.is_empty())
                        .then(|| {
                            self.by_resource.get(lower(row.resource_id.trim_end_matches('/')).as_ref()).and_then(pick)
                        })
                        .flatten()
                };
                by_name.or_else(by_id).map(|i| (i, Rule::Resource))
            })
            .or_else(|| {
                (!row.resource_group.is_empty())
                    .then(|| self.by_group.get(row.resource_group.as_ref()).and_then(pick))
                    .flatten()
                    .map(|i| (i, Rule::ResourceGroup))
            });

        let Some((index, rule)) = found else {
            if let Some(p) = self.platform_pool(row) {
                let env = env_tag.unwrap_or("");
                return Attribution {
                    workspace: None,
                    rule: Rule::PlatformPool,
                    owner: Owner::Platform(p),
                    environment: env,
                    covered,
                };
            }
            let owner = if row.is_ml {
                Owner::Unallocated(match (id_workspace, tag_workspace) {
                    (Some(n), _) => Reason::UnknownWorkspace(n),
                    (None, Some(t)) => Reason::UnknownWorkspaceTag(t.trim()),
                    (None, None) => Reason::NoWorkspace,
                })
            } else {
                Owner::OutOfScope
            };
            return Attribution {
                workspace: None,
                rule: Rule::None,
                owner,
                environment: env_tag.unwrap_or(""),
                covered,
            };
        };
        let ws = &self.config.workspaces[index];
        let project_tag = row.tags.first_of(&tags.project).map(str::trim).unwrap_or("");
        let owner = match ws.topology {
            Topology::Team | Topology::Hub => Owner::Direct { team: &ws.team, project: project_tag },
            Topology::Project => Owner::Direct { team: &ws.team, project: &ws.project },
            Topology::Shared => {
                // An endpoint, deployment or compute target the configuration gives one member, then the team tag.
                let owned = (!ws.owners.is_empty()).then(|| owned_by(row, ws)).flatten();
                let team = owned.or_else(|| {
                    row.tags
                        .first_of(&tags.team)
                        .map(str::trim)
                        .and_then(|t| ws.teams.iter().find(|m| m.eq_ignore_ascii_case(t)).map(String::as_str))
                });
                match team {
                    Some(team) => Owner::Direct { team, project: project_tag },
                    None => Owner::Pool,
                }
            }
        };
        let environment = env_tag.unwrap_or(&ws.environment);
        Attribution { workspace: Some(index), rule, owner, environment, covered }
    }

    /// The platform pool holding a row no workspace took: by its resource (name or id), its resource group, or a tag.
    fn platform_pool(&self, row: &CostRow) -> Option<usize> {
        if self.config.pools.is_empty() {
            return None;
        }
        let id = lower(row.resource_id.trim_end_matches('/'));
        let name = lower(row.resource_name);
        self.config.pools.iter().position(|p| {
            p.resources.iter().any(|r| (!name.is_empty() && *r == name) || (!id.is_empty() && *r == id))
                || (!row.resource_group.is_empty() && p.resource_groups.iter().any(|g| *g == row.resource_group))
                || p.tags.iter().any(|(k, v)| row.tags.get(k).is_some_and(|x| x.trim().eq_ignore_ascii_case(v.trim())))
        })
    }

    /// Says in words which rule matched and why the owner is who it is.
    pub fn describe(&self, a: &Attribution, row: &CostRow) -> (String, String) {
        let rule = match (a.rule, a.workspace) {
            (Rule::ResourceId, Some(i)) => {
                format!("(a) resource id: the id is, or lies under, workspace {}", self.config.workspaces[i].name)
            }
            (Rule::WorkspaceTag, Some(i)) => format!(
                "(b) workspace tag: tag `{}` names workspace {}",
                self.config
                    .tags
                    .workspace
                    .iter()
                    .find(|k| row.tags.get(k).is_some())
                    .map(String::as_str)
                    .unwrap_or("?"),
                self.config.workspaces[i].name
            ),
            (Rule::Resource, Some(i)) => {
                format!(
                    "(c) resources: {} is listed in workspace {}'s resources",
                    row.resource_name, self.config.workspaces[i].name
                )
            }
            (Rule::ResourceGroup, Some(i)) => format!(
                "(d) resource group: {} is listed in workspace {}'s resource_groups",
                row.resource_group, self.config.workspaces[i].name
            ),
            (Rule::PlatformPool, _) => {
                "platform pool: no workspace holds the row, a [[pool]] holds its resource, resource group or a tag"
                    .to_string()
            }
            (Rule::Commitment, _) => format!(
                "(commitment): the row is {} of commitment {}, which goes by the commitment, not a workspace",
                match crate::commitment::role(row) {
                    crate::commitment::Role::Purchase => "the purchase (or refund)",
                    _ => "the unused capacity",
                },
                match row.commitment {
                    "" => "(no id)",
                    id => id,
                }
            ),
            _ => "no rule matched: no configured workspace in the resource id or tags, resources or resource groups"
                .to_string(),
        };
        let owner = match (&a.owner, a.workspace.map(|i| &self.config.workspaces[i])) {
            (Owner::Direct { team, project }, Some(ws)) => match ws.topology {
                Topology::Team => format!(
                    "team {team}: {} is a team workspace{}",
                    ws.name,
                    if project.is_empty() { String::new() } else { format!(" (project tag: {project})") }
                ),
                Topology::Project => format!("team {team}, project {project}: {} is a project workspace", ws.name),
                Topology::Hub => format!(
                    "team {team}: {} is a hub, the standing resources its projects share{}",
                    ws.name,
                    if project.is_empty() { String::new() } else { format!(" (project tag: {project})") }
                ),
                Topology::Shared if owned_by(row, ws).is_some() => format!(
                    "team {team}: shared workspace {}'s `owners` give it this endpoint or compute target",
                    ws.name
                ),
                Topology::Shared => {
                    format!("team {team}: the row's team tag names a member of shared workspace {}", ws.name)
                }
            },
            (Owner::Pool, Some(ws)) => format!(
                "the shared pool of {}: no team tag naming one of its teams ({}); split {}",
                ws.name,
                ws.teams.join(", "),
                ws.split.allocation().trim_start_matches("shared-")
            ),
            (Owner::Unallocated(Reason::CommitmentPurchase), _) => {
                "(unallocated): commitment purchase; give the commitment an owner with [[commitment]]".to_string()
            }
            (Owner::Unallocated(reason), _) => format!("(unallocated): ML spend, {}", reason.text()),
            (Owner::Unused { commitment }, _) => match crate::commitment::owner(self.config, commitment) {
                Some(c) if c.unused == crate::config::UnusedTo::Owner => {
                    format!("team {}: the owner of the commitment, unused = \"owner\"", c.owner)
                }
                owner => format!(
                    "split among the teams whose usage the commitment covered this month, in proportion to their covered cost ({}); summary.json's commitments say who",
                    match owner {
                        Some(c) => format!("team {}, its owner, when it covered none", c.owner),
                        None => "unallocated when it covered none: no [[commitment]] owner".to_string(),
                    }
                ),
            },
            (Owner::Purchase { owner, .. }, _) => format!("team {owner}: the configured owner of the commitment"),
            (Owner::Platform(p), _) => {
                let pool = &self.config.pools[*p];
                format!(
                    "platform pool {}: split {} among {}",
                    pool.name,
                    pool.split.allocation().trim_start_matches("shared-"),
                    pool.teams.join(", ")
                )
            }
            _ => "(out-of-scope): not Azure ML spend and in no configured workspace".to_string(),
        };
        (rule, owner)
    }
}
