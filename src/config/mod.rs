//! The chargeback configuration: a TOML file naming the workspaces, who owns them, and how shared ones are split.
//!
//! Takes the file's text and gives a validated [`Config`], or every problem in it at once: unknown keys (with the
//! keys that are allowed there), wrong types, a workspace declared twice, a shared workspace without teams, fixed
//! shares that don't sum to 100 or name a team that doesn't share the workspace, a resource or resource group claimed
//! by two workspaces. Names are matched case-insensitively everywhere.

use crate::error::{Error, Result};
use crate::money::Money;
use crate::schema::CostBasis;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

mod commitments;
mod compare;
mod files;
mod keys;
mod pools;

use commitments::CommitmentRaw;
pub use commitments::{CommitmentOwner, UnusedTo};
use compare::CompareRaw;
pub use compare::{CompareConfig, Constraint, DEFAULT_FOOTPRINT_TYPES};
use files::{read_rates, read_usage};
use keys::{strip_unknown_keys, strip_wrong_types};
pub use pools::PlatformPool;
use pools::{validate_pools, PoolRaw};

/// How a workspace is organised (workspace-topologies.md).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    Team,
    Project,
    Shared,
    /// A hub: one team's standing resources (storage, key vault, registry, network, compute), shared by the project
    /// workspaces that name it in `hub`.
    Hub,
}

impl Topology {
    pub fn as_str(self) -> &'static str {
        match self {
            Topology::Team => "team",
            Topology::Project => "project",
            Topology::Shared => "shared",
            Topology::Hub => "hub",
        }
    }
}

/// How a shared workspace's pool is divided among its teams.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Even,
    Proportional,
    Fixed,
    /// In proportion to each member's measured usage (compute hours) in the workspace that month.
    Usage,
}

impl Split {
    pub fn allocation(self) -> &'static str {
        match self {
            Split::Even => "shared-even",
            Split::Proportional => "shared-proportional",
            Split::Fixed => "shared-fixed",
            Split::Usage => "shared-usage",
        }
    }
}

/// Who pays for a compute target's idle capacity: its cost that no member's busy hours account for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Idle {
    /// The members, in proportion to their busy hours on it (the default).
    #[default]
    Proportional,
    /// The members, by the workspace's split of its pool.
    Pool,
    /// One team.
    Owner(String),
}

/// A shared workspace's usage file: hours per (month, compute) and member team, from `month,workspace,team,compute,hours`.
#[derive(Debug, Clone, Default)]
pub struct UsageFile {
    pub path: PathBuf,
    /// (month, compute, lower-cased; empty when the row names none) -> (team as configured, hours).
    pub hours: BTreeMap<(crate::dates::Month, String), BTreeMap<String, Money>>,
}

/// Tag keys to read, matched case-insensitively; the first key present on a row wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TagKeys {
    pub workspace: Vec<String>,
    pub team: Vec<String>,
    pub project: Vec<String>,
    pub environment: Vec<String>,
}

impl Default for TagKeys {
    fn default() -> Self {
        TagKeys {
            workspace: vec!["aml-workspace".into()],
            team: vec!["team".into()],
            project: vec!["project".into()],
            environment: vec!["env".into(), "environment".into()],
        }
    }
}

/// One `[[workspace]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    pub name: String,
    pub topology: Topology,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub split: Option<Split>,
    #[serde(default)]
    pub shares: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub resource_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    /// The first month this version of the workspace is in force, `YYYY-MM` (none: since always).
    #[serde(default)]
    pub from: Option<String>,
    /// The last month it is in force, `YYYY-MM` (none: from then on).
    #[serde(default)]
    pub until: Option<String>,
    /// `split = "usage"`: a usage file (`month,workspace,team,compute,hours`), relative to the configuration.
    #[serde(default)]
    pub usage: Option<PathBuf>,
    /// Only rows whose meter name or product contains one of these count as usage (GPU meters, say).
    #[serde(default)]
    pub usage_meter: Vec<String>,
    /// Who pays for idle capacity: `proportional`, `pool` or `owner:<team>`.
    #[serde(default)]
    pub idle: Option<String>,
    /// Endpoints and compute targets owned by one member: name -> team.
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
    /// A project workspace's hub: the `hub` workspace whose resources it shares.
    #[serde(default)]
    pub hub: Option<String>,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_basis")]
    basis: CostBasis,
    #[serde(default)]
    month: crate::schema::MonthBy,
    #[serde(default)]
    closed_through: Option<String>,
    #[serde(default = "default_true")]
    ledger_rows: bool,
    #[serde(default)]
    tags: TagKeys,
    #[serde(default)]
    decimals: Option<u32>,
    #[serde(default)]
    minor_units: BTreeMap<String, u32>,
    #[serde(default)]
    exports: Vec<PathBuf>,
    #[serde(default, rename = "workspace")]
    workspaces: Vec<WorkspaceConfig>,
    #[serde(default)]
    divisions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    compare: CompareRaw,
    #[serde(default)]
    budgets: BTreeMap<String, BTreeMap<String, toml::Value>>,
    #[serde(default)]
    currency: Option<CurrencyRaw>,
    #[serde(default, rename = "commitment")]
    commitments: Vec<CommitmentRaw>,
    #[serde(default, rename = "pool")]
    pools: Vec<PoolRaw>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CurrencyRaw {
    report: String,
    rates: PathBuf,
}

/// Conversion of every table into one reporting currency, at stated monthly rates.
#[derive(Debug, Clone)]
pub struct Reporting {
    /// Upper-case code.
    pub currency: String,
    /// The rates file, as resolved.
    pub rates_path: PathBuf,
    /// (month, billing currency) -> units of the reporting currency per unit.
    pub rates: BTreeMap<(crate::dates::Month, String), Money>,
}

fn default_basis() -> CostBasis {
    CostBasis::Amortized
}

/// A validated workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub name: String,
    pub topology: Topology,
    /// The owning team (team and project workspaces).
    pub team: String,
    pub project: String,
    /// The member teams (shared workspaces).
    pub teams: Vec<String>,
    pub split: Split,
    /// Fixed percentages, in the order of `teams`.
    pub shares: Vec<Money>,
    pub environment: String,
    pub resource_groups: Vec<String>,
    pub resources: Vec<String>,
    /// The months this version is in force, both ends included: a workspace whose team, project, topology or
    /// members change over time has one `[[workspace]]` per version, in force one after another.
    pub from: Option<crate::dates::Month>,
    pub until: Option<crate::dates::Month>,
    /// `split = "usage"`: the usage file, when given (else hours of team-tagged rows).
    pub usage: Option<UsageFile>,
    /// Lower-cased meter names that count as usage; empty: every row measured in hours.
    pub usage_meter: Vec<String>,
    pub idle: Idle,
    /// Endpoints and compute targets owned by one member: lower-cased name -> team as configured.
    pub owners: BTreeMap<String, String>,
    /// A project workspace's hub, as configured.
    pub hub: Option<String>,
}

impl Workspace {
    /// Whether this version is in force in `month`.
    pub fn in_force(&self, month: crate::dates::Month) -> bool {
        self.from.is_none_or(|f| f <= month) && self.until.is_none_or(|u| month <= u)
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub basis: CostBasis,
    /// Which month a row charges back in: its billing period (the default) or its usage date.
    pub month_by: crate::schema::MonthBy,
    /// The last closed month: its pack is never rewritten, and changes to it are booked into the next month.
    pub closed_through: Option<crate::dates::Month>,
    /// Whether every run keeps its allocated rows in the ledger (OUT/ledger/allocated); the chargeback lines always
    /// are.
    pub ledger_rows: bool,
    pub tags: TagKeys,
    /// Default fractional digits of a currency's minor unit.
    pub decimals: u32,
    /// Per-currency minor units, upper-case codes.
    pub minor_units: BTreeMap<String, u32>,
    /// Default exports, resolved against the configuration file's folder.
    pub exports: Vec<PathBuf>,
    pub workspaces: Vec<Workspace>,
    /// Teams grouped into business divisions, for the per-division topology; empty when not configured.
    pub divisions: BTreeMap<String, Vec<String>>,
    pub compare: CompareConfig,
    /// Monthly budgets per team (as configured, matched case-insensitively) and currency (upper-case).
    pub budgets: BTreeMap<String, BTreeMap<String, Money>>,
    /// `[currency]`: the reporting currency and its rates, when configured.
    pub reporting: Option<Reporting>,
    /// `[[commitment]]`: owners of reservations and savings plans.
    pub commitments: Vec<CommitmentOwner>,
    /// `[[pool]]`: platform pools outside any workspace.
    pub pools: Vec<PlatformPool>,
    /// Things that are allowed but probably not meant (teams that differ only in case), for the run to print.
    pub warnings: Vec<String>,
    /// The file it came from, for messages.
    pub path: PathBuf,
}

/// Currencies whose minor unit is not the cent (ISO 4217).
const ZERO_DECIMAL: [&str; 16] =
    ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF"];
const THREE_DECIMAL: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

impl Config {
    /// The version of workspace `name` (any case) in force in `month`: an index into `workspaces`.
    pub fn workspace_at(&self, name: &str, month: crate::dates::Month) -> Option<usize> {
        self.workspaces.iter().position(|w| w.name.eq_ignore_ascii_case(name) && w.in_force(month))
    }

    /// The fractional digits a currency is rounded to.
    pub fn decimals_for(&self, currency: &str) -> u32 {
        let code = currency.to_ascii_uppercase();
        if let Some(d) = self.minor_units.get(&code) {
            return *d;
        }
        Config::iso_decimals(&code).unwrap_or(self.decimals)
    }

    /// A currency's minor unit by ISO 4217 where it is not the cent; `None` for the cent.
    fn iso_decimals(code: &str) -> Option<u32> {
        let code = code.to_ascii_uppercase();
        if ZERO_DECIMAL.contains(&code.as_str()) {
            Some(0)
        } else if THREE_DECIMAL.contains(&code.as_str()) {
            Some(3)
        } else {
            None
        }
    }

    /// A currency's minor unit without a configuration: ISO 4217's, else the cent.
    pub fn default_decimals(code: &str) -> u32 {
        Config::iso_decimals(code).unwrap_or(2)
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Config(format!("{}: configuration file not found", path.display())),
            _ => Error::Config(format!("{}: {e}", path.display())),
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates; every problem is reported at once.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let fail = |problems: Vec<String>| {
            let n = problems.len();
            Error::Config(format!(
                "{}: {n} problem{} in the configuration:\n  - {}",
                path.display(),
                if n == 1 { "" } else { "s" },
                problems.join("\n  - ")
            ))
        };
        let mut table: toml::Table = toml::from_str(text)
            .map_err(|e| Error::Config(format!("{}: not valid TOML: {}", path.display(), e.to_string().trim_end())))?;
        let mut problems = Vec::new();
        strip_unknown_keys(&mut table, &mut problems);
        strip_wrong_types(&mut table, &mut problems);
        let raw = match RawConfig::deserialize(toml::Value::Table(table)) {
            Ok(raw) => raw,
            Err(e) => {
                problems.push(e.message().trim_end().to_string());
                return Err(fail(problems));
            }
        };
        let config = validate(raw, path, &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(fail(problems))
        }
    }
}

fn percentage(v: &toml::Value) -> Option<Money> {
    match v {
        toml::Value::Integer(i) => Some(Money::from_minor_units(*i as i128, 0)),
        toml::Value::Float(f) if f.is_finite() => Money::parse(&f.to_string()).ok(),
        toml::Value::String(s) => Money::parse(s).ok(),
        _ => None,
    }
}

fn validate(raw: RawConfig, path: &Path, problems: &mut Vec<String>) -> Config {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut workspaces = Vec::new();
    // Each workspace's versions: (its place in the file, from, until).
    type Version = (usize, Option<crate::dates::Month>, Option<crate::dates::Month>, String);
    let mut versions: BTreeMap<String, Vec<Version>> = BTreeMap::new();
    let mut unreadable: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut groups: HashMap<String, String> = HashMap::new();
    let mut resources: HashMap<String, String> = HashMap::new();
    let known_workspaces: Vec<String> = raw.workspaces.iter().map(|w| w.name.to_ascii_lowercase()).collect();
    for (i, w) in raw.workspaces.into_iter().enumerate() {
        let at = format!("workspace[{}] ({})", i + 1, w.name);
        if w.name.trim().is_empty() {
            problems.push(format!("workspace[{}]: `name` is empty", i + 1));
        }
        let mut month = |key: &str, v: &Option<String>| -> Option<crate::dates::Month> {
            let text = v.as_deref()?;
            let m = crate::dates::Month::parse(text.trim());
            if m.is_none() {
                problems.push(format!("{at}: `{key}` {text:?} is not a month, YYYY-MM"));
            }
            m
        };
        let (from, until) = (month("from", &w.from), month("until", &w.until));
        if (w.from.is_some() && from.is_none()) || (w.until.is_some() && until.is_none()) {
            // Already reported; ordering the versions by a month that isn't one would only add false overlaps.
            unreadable.insert(w.name.to_ascii_lowercase());
        }
        if let (Some(f), Some(u)) = (from, until) {
            if u < f {
                problems.push(format!("{at}: `until` {u} is before `from` {f}"));
            }
        }
        versions.entry(w.name.to_ascii_lowercase()).or_default().push((i + 1, from, until, w.name.clone()));
        for g in &w.resource_groups {
            if let Some(other) = groups.insert(g.to_ascii_lowercase(), w.name.clone()) {
                if !other.eq_ignore_ascii_case(&w.name) {
                    problems.push(format!("{at}: resource group `{g}` is also claimed by `{other}`"));
                }
            }
        }
        for r in &w.resources {
            if let Some(other) = resources.insert(r.to_ascii_lowercase(), w.name.clone()) {
                if !other.eq_ignore_ascii_case(&w.name) {
                    problems.push(format!("{at}: resource `{r}` is also claimed by `{other}`"));
                }
            }
        }
        let mut ws = Workspace {
            name: w.name.clone(),
            topology: w.topology,
            team: w.team.clone().unwrap_or_default(),
            project: w.project.clone().unwrap_or_default(),
            teams: w.teams.clone(),
            split: w.split.unwrap_or(Split::Even),
            shares: vec![],
            environment: w.environment.clone().unwrap_or_default(),
            resource_groups: w.resource_groups.iter().map(|g| g.to_ascii_lowercase()).collect(),
            resources: w.resources.iter().map(|r| r.to_ascii_lowercase()).collect(),
            from,
            until,
            usage: None,
            usage_meter: w
                .usage_meter
                .iter()
                .map(|m| m.trim().to_ascii_lowercase())
                .filter(|m| !m.is_empty())
                .collect(),
            idle: Idle::Proportional,
            owners: BTreeMap::new(),
            hub: w.hub.as_ref().map(|h| h.trim().to_string()),
        };
        if w.hub.is_some() && w.topology != Topology::Project {
            problems.push(format!("{at}: `hub` applies to project workspaces, the hub's projects"));
        }
        // Usage, idle and owners: shared workspaces only.
        let member = |t: &str| w.teams.iter().find(|m| m.eq_ignore_ascii_case(t.trim())).cloned();
        if w.topology == Topology::Shared {
            if let Some(idle) = &w.idle {
                ws.idle = match idle.trim() {
                    "proportional" => Idle::Proportional,
                    "pool" => Idle::Pool,
                    other => match other.strip_prefix("owner:").map(|t| (t, member(t))) {
                        Some((_, Some(team))) => Idle::Owner(team),
                        Some((t, None)) => {
                            problems.push(format!("{at}: `idle` names team `{}`, which is not in `teams`", t.trim()));
                            Idle::Proportional
                        }
                        None => {
                            problems.push(format!(
                                "{at}: `idle` is \"proportional\", \"pool\" or \"owner:<team>\", not {idle:?}"
                            ));
                            Idle::Proportional
                        }
                    },
                };
            }
            for (name, team) in &w.owners {
                match member(team) {
                    Some(t) => {
                        if ws.owners.insert(name.trim().to_ascii_lowercase(), t).is_some() {
                            problems.push(format!(
                                "{at}: `owners` names `{name}` twice (names are compared without case); give it one owner"
                            ));
                        }
                    }
                    None => problems
                        .push(format!("{at}: `owners` gives `{name}` to team `{team}`, which is not in `teams`")),
                }
            }
            if let Some(file) = &w.usage {
                if ws.split != Split::Usage {
                    problems.push(format!("{at}: `usage` needs split = \"usage\""));
                }
                let path = if file.is_absolute() { file.clone() } else { base.join(file) };
                match read_usage(&path, &w.name, &w.teams, &known_workspaces) {
                    Ok(hours) => ws.usage = Some(UsageFile { path, hours }),
                    Err(e) => problems.push(format!("{at}: usage: {e}")),
                }
            }
            if !w.usage_meter.is_empty() && ws.split != Split::Usage {
                problems.push(format!("{at}: `usage_meter` needs split = \"usage\""));
            }
            // Keys that would do nothing: said, not ignored.
            if !w.usage_meter.is_empty() && w.usage.is_some() {
                problems.push(format!(
                    "{at}: `usage_meter` picks the team-tagged rows that count as usage without a usage file; with `usage` the file's hours count: drop one"
                ));
            }
            if w.idle.is_some() && w.usage.is_none() {
                problems.push(format!(
                    "{at}: `idle` applies to compute targets whose busy hours a usage file gives: add `usage`, or drop `idle`"
                ));
            }
        } else {
            for (key, set) in [
                ("usage", w.usage.is_some()),
                ("usage_meter", !w.usage_meter.is_empty()),
                ("idle", w.idle.is_some()),
                ("owners", !w.owners.is_empty()),
            ] {
                if set {
                    problems.push(format!("{at}: `{key}` applies to shared workspaces only"));
                }
            }
        }
        match w.topology {
            Topology::Team | Topology::Project | Topology::Hub => {
                if ws.team.trim().is_empty() {
                    problems.push(format!("{at}: a {} workspace needs `team`", w.topology.as_str()));
                }
                if w.topology == Topology::Project && ws.project.trim().is_empty() {
                    problems.push(format!("{at}: a project workspace needs `project`"));
                }
                for (key, set) in
                    [("teams", !w.teams.is_empty()), ("split", w.split.is_some()), ("shares", !w.shares.is_empty())]
                {
                    if set {
                        problems.push(format!("{at}: `{key}` applies to shared workspaces only"));
                    }
                }
            }
            Topology::Shared => {
                if w.teams.is_empty() {
                    problems.push(format!("{at}: a shared workspace needs `teams`, the teams who share it"));
                }
                if w.team.is_some() {
                    problems.push(format!("{at}: a shared workspace has `teams`, not `team`"));
                }
                let mut seen = std::collections::HashSet::new();
                for t in &w.teams {
                    if !seen.insert(t.to_ascii_lowercase()) {
                        problems.push(format!("{at}: team `{t}` is listed twice in `teams`"));
                    }
                }
                if ws.split == Split::Fixed {
                    let mut total = Money::ZERO;
                    for (team, v) in &w.shares {
                        if !w.teams.iter().any(|t| t.eq_ignore_ascii_case(team)) {
                            problems.push(format!("{at}: `shares` names team `{team}`, which is not in `teams`"));
                        }
                        match percentage(v) {
                            Some(p) if !p.is_negative() => total += p,
                            _ => problems
                                .push(format!("{at}: share of `{team}` must be a percentage of 0 or more, not {v}")),
                        }
                    }
                    for t in &w.teams {
                        match w.shares.iter().find(|(k, _)| k.eq_ignore_ascii_case(t)) {
                            Some((_, v)) => ws.shares.push(percentage(v).unwrap_or(Money::ZERO)),
                            None => problems.push(format!("{at}: team `{t}` has no entry in `shares`")),
                        }
                    }
                    if !w.shares.is_empty() && total != Money::from_minor_units(100, 0) {
                        problems.push(format!("{at}: `shares` sum to {total}, not 100"));
                    }
                } else if !w.shares.is_empty() {
                    problems.push(format!("{at}: `shares` needs split = \"fixed\""));
                }
            }
        }
        // Team names are compared without case; keep the configuration's spelling.
        ws.team = ws.team.trim().to_string();
        workspaces.push(ws);
    }
    if workspaces.is_empty() {
        problems.push("no [[workspace]] is configured: name at least one Azure ML workspace".into());
    }
    for w in &workspaces {
        if let Some(hub) = &w.hub {
            if !workspaces.iter().any(|h| h.topology == Topology::Hub && h.name.eq_ignore_ascii_case(hub)) {
                problems.push(format!(
                    "workspace `{}`: `hub` names `{hub}`, which is not a configured workspace with topology = \"hub\"",
                    w.name
                ));
            }
        }
    }
    for (key, list) in [
        ("workspace", &raw.tags.workspace),
        ("team", &raw.tags.team),
        ("project", &raw.tags.project),
        ("environment", &raw.tags.environment),
    ] {
        if list.iter().any(|k| k.trim().is_empty()) {
            problems.push(format!("tags.{key}: a tag key is empty"));
        }
    }
    if raw.decimals.is_some_and(|d| d > 6) {
        problems.push("decimals: give 0 to 6 fractional digits".into());
    }
    for (code, d) in &raw.minor_units {
        if crate::layout::currency_code(code.trim()).is_err() {
            problems.push(format!("minor_units.{code}: not an ISO 4217 currency code (three letters, as `USD`)"));
        }
        if *d > 6 {
            problems.push(format!("minor_units.{code}: give 0 to 6 fractional digits, not {d}"));
        }
    }
    // Versions of one workspace: one after another, never two in force in the same month, no month between them.
    for (name, list) in versions.iter_mut() {
        if list.len() < 2 || unreadable.contains(name) {
            continue;
        }
        if list.iter().all(|v| v.1.is_none() && v.2.is_none()) {
            for v in &list[1..] {
                problems.push(format!(
                    "workspace[{}] ({}): workspace `{}` is declared twice (also workspace[{}]); give each version `from`/`until` if it changes over time",
                    v.0, v.3, v.3, list[0].0
                ));
            }
            continue;
        }
        list.sort_by_key(|v| v.1);
        for pair in list.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let overlap = match (a.2, b.1) {
                (None, _) | (_, None) => true,
                (Some(until), Some(from)) => from <= until,
            };
            if overlap {
                let when = b.1.map(|m| format!("from {m}")).unwrap_or_else(|| "with no `from`".into());
                problems.push(format!(
                    "workspace[{}] ({}) and workspace[{}] ({}): versions of `{}` overlap ({when}); each month needs exactly one, so end the first with `until` before the second's `from`",
                    a.0, a.3, b.0, b.3, a.3
                ));
            } else if let (Some(until), Some(from)) = (a.2, b.1) {
                if until.next() < from {
                    problems.push(format!(
                        "workspace[{}] ({}) and workspace[{}] ({}): no version of `{}` is in force from {} to {}; the second version should start in {}",
                        a.0, a.3, b.0, b.3, a.3, until.next(), from.previous(), until.next()
                    ));
                }
            }
        }
    }

    // Divisions: each team of the configuration in exactly one.
    let mut teams: Vec<String> = Vec::new();
    for w in &workspaces {
        for t in std::iter::once(&w.team).chain(&w.teams).filter(|t| !t.is_empty()) {
            if !teams.iter().any(|x| x == t) {
                teams.push(t.clone());
            }
        }
    }
    let (commitments, commitment_warnings) = commitments::validate(&raw.commitments, &mut teams, path, problems);
    for t in &teams {
        // `(unallocated)` and `(out-of-scope)` stand in the team column for spend of no team: a team named like them
        // would be taken for them and left out of every team's view.
        // (after spaces and invisible characters, which a reader would not see either)
        let invisible = |c: char| {
            c.is_whitespace() || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
        };
        if t.trim_start_matches(invisible).starts_with('(') {
            problems.push(format!(
                "team `{t}`: a team name can't start with `(`, which marks `(unallocated)` and `(out-of-scope)` lines; rename the team"
            ));
        }
    }
    let pools = validate_pools(&raw.pools, &teams, &workspaces, problems);
    let mut warnings = commitment_warnings;
    for (i, t) in teams.iter().enumerate() {
        if let Some(other) = teams[..i].iter().find(|x| x.to_lowercase() == t.to_lowercase() && *x != t) {
            warnings.push(format!(
                "{}: teams `{other}` and `{t}` differ only in case: they are charged as two teams, with two statements; \
                 write them alike if they are one team",
                path.display()
            ));
        }
    }
    if !raw.divisions.is_empty() {
        let mut division_of: HashMap<String, &str> = HashMap::new();
        for (division, members) in &raw.divisions {
            if members.is_empty() {
                problems.push(format!("divisions.{division}: a division needs at least one team"));
            }
            for m in members {
                if !teams.iter().any(|t| t.eq_ignore_ascii_case(m)) {
                    problems.push(format!("divisions.{division}: team `{m}` is not a team of any workspace"));
                }
                if let Some(other) = division_of.insert(m.to_ascii_lowercase(), division) {
                    problems.push(format!("divisions.{division}: team `{m}` is also in division `{other}`"));
                }
            }
        }
        for t in &teams {
            if !division_of.contains_key(&t.to_ascii_lowercase()) {
                problems.push(format!("divisions: team `{t}` is in no division"));
            }
        }
    }
    let mut compare = compare::build(&raw.compare, base, problems);
    if let Some(path) = &compare.usage {
        match files::read_busy(path, &known_workspaces) {
            Ok(busy) => compare.busy = busy,
            Err(e) => problems.push(format!("compare.usage: {e}")),
        }
    }
    let mut budgets = BTreeMap::new();
    for (team, amounts) in &raw.budgets {
        if !teams.iter().any(|t| t.eq_ignore_ascii_case(team)) {
            problems.push(format!("budgets.{team}: `{team}` is not a team of any workspace"));
        }
        let mut per_currency = BTreeMap::new();
        for (currency, v) in amounts {
            match percentage(v) {
                Some(m) if m.is_negative() => {
                    problems.push(format!("budgets.{team}.{currency}: a budget is 0 or more, not {v}"))
                }
                Some(m) => {
                    per_currency.insert(currency.to_ascii_uppercase(), m);
                }
                None => problems.push(format!("budgets.{team}.{currency}: give an amount, not {v}")),
            }
        }
        budgets.insert(team.clone(), per_currency);
    }
    let reporting = raw.currency.as_ref().and_then(|c| {
        let rates_path = if c.rates.is_absolute() { c.rates.clone() } else { base.join(&c.rates) };
        match read_rates(&rates_path) {
            Ok(rates) => Some(Reporting { currency: c.report.trim().to_ascii_uppercase(), rates_path, rates }),
            Err(e) => {
                problems.push(format!("currency.rates: {e}"));
                None
            }
        }
    });
    let fold = |v: &Vec<String>| v.iter().map(|k| crate::tags::fold(k).into_owned()).collect();
    let tags = TagKeys {
        workspace: fold(&raw.tags.workspace),
        team: fold(&raw.tags.team),
        project: fold(&raw.tags.project),
        environment: fold(&raw.tags.environment),
    };
    let closed_through = raw.closed_through.as_deref().and_then(|t| {
        let m = crate::dates::Month::parse(t.trim());
        if m.is_none() {
            problems.push(format!("closed_through: {t:?} is not a month, YYYY-MM"));
        }
        m
    });
    Config {
        basis: raw.basis,
        month_by: raw.month,
        closed_through,
        ledger_rows: raw.ledger_rows,
        tags,
        decimals: raw.decimals.unwrap_or(2),
        minor_units: raw.minor_units.into_iter().map(|(k, v)| (k.to_ascii_uppercase(), v)).collect(),
        exports: raw.exports.iter().map(|p| if p.is_absolute() { p.clone() } else { base.join(p) }).collect(),
        workspaces,
        divisions: raw.divisions,
        compare,
        budgets,
        reporting,
        commitments,
        pools,
        warnings,
        path: path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Config, String> {
        Config::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_documented_example_parses() {
        let c = parse(
            r#"
basis = "amortized"
[tags]
workspace = ["aml-workspace"]
team = ["Team"]
[[workspace]]
name = "mlw-vision"
topology = "team"
team = "vision"
resource_groups = ["RG-Vision-ML"]
[[workspace]]
name = "mlw-research"
topology = "shared"
teams = ["vision", "nlp"]
split = "fixed"
shares = { vision = 60, nlp = 40.0 }
"#,
        )
        .unwrap();
        assert_eq!(c.tags.team, ["team"]);
        assert_eq!(c.workspaces[0].resource_groups, ["rg-vision-ml"]);
        assert_eq!(c.workspaces[1].shares, [Money::parse("60").unwrap(), Money::parse("40").unwrap()]);
        assert_eq!(c.decimals_for("JPY"), 0);
        assert_eq!(c.decimals_for("usd"), 2);
    }

    #[test]
    fn every_problem_at_once() {
        let e = parse(
            r#"
basis = "amortized"
colour = "blue"
[[workspace]]
name = "a"
topology = "shared"
split = "fixed"
shares = { x = 50, y = 30 }
owner = "me"
[[workspace]]
name = "A"
topology = "team"
team = "t"
"#,
        )
        .unwrap_err();
        for needle in [
            "unknown key `colour`",
            "unknown key `workspace[1] (a).owner`",
            "a shared workspace needs `teams`",
            "`shares` names team `x`, which is not in `teams`",
            "`shares` sum to 80, not 100",
            "workspace `A` is declared twice",
        ] {
            assert!(e.contains(needle), "{needle} in {e}");
        }
    }
}
