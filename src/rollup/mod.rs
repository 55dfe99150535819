//! Rollup: attributed rows in, chargeback lines out, to the cent.
//!
//! Takes each row's cost and [`Attribution`] and gives, per billing month and currency, the chargeback lines: direct
//! spend per (team, project, workspace, environment); each shared pool split among its member teams (`even`,
//! `proportional` to their direct spend in that workspace that month, or `fixed` percentages); unallocated ML spend
//! by reason; out-of-scope spend. Invariants: sums stay exact (10^-28) until the final rounding; a pool's shares sum
//! exactly to the pool; lines are rounded by the largest-remainder method so that, per month and currency, they add
//! up to the rounded total of the input; and every row is counted in exactly one category. [`Chargeback::verify`]
//! proves both and the run refuses to write reports when it fails.

use crate::attribute::{Attribution, Owner};
use crate::config::{Config, Split, Topology};
use crate::dates::Month;
use crate::fasthash::FastMap;
use crate::money::Money;
use crate::schema::CostRow;
use std::collections::{BTreeMap, HashMap};

mod category;
mod commitment;
mod pools;
mod split;
mod units;

pub use category::category;
pub use commitment::CommitmentUse;
pub use pools::{ComputeUse, IDLE};
pub use split::{round_to_total, split};
use units::UnitAcc;
pub use units::UnitCost;

/// Allocation kinds, as written in `chargeback.csv`.
pub const DIRECT: &str = "direct";
pub const UNALLOCATED: &str = "unallocated";
pub const OUT_OF_SCOPE: &str = "out-of-scope";
/// A change to a closed month, booked into the first open one (`close.rs`).
pub const PRIOR_PERIOD: &str = "prior-period-adjustment";
/// A share of a commitment's unused capacity (amortized cost).
pub const UNUSED_COMMITMENT: &str = "unused-commitment";
/// The purchase (or refund) of a commitment, charged to its configured owner (actual cost).
pub const COMMITMENT_PURCHASE: &str = "commitment-purchase";
/// The start of a platform pool's allocations (`platform-even`, `platform-fixed`, `platform-proportional`).
pub const PLATFORM: &str = "platform-";
pub const TEAM_UNALLOCATED: &str = "(unallocated)";
pub const TEAM_OUT_OF_SCOPE: &str = "(out-of-scope)";

/// Exact running sum and row count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Acc {
    pub rows: u64,
    pub cost: Money,
    /// Hours the rows measured, where they are counted (compute targets of shared pools with a usage file), and
    /// of them on GPU meters.
    pub hours: Money,
    pub gpu_hours: Money,
}

impl Acc {
    fn add(&mut self, cost: Money) {
        self.rows += 1;
        self.cost += cost;
    }
}

/// Interns strings so per-row keys are small and copyable.
#[derive(Default)]
struct Names {
    /// Ids by the FxHash of the name: a lookup compares one integer and then the name itself, inline (the row loop
    /// interns five names a row, and the library `memcmp` behind `String` keys was a measured 7% of a run).
    by_hash: FastMap<u64, u32>,
    /// Names whose hash an earlier, different name already took.
    collided: FastMap<String, u32>,
    names: Vec<String>,
}

/// Byte equality without a call into the C library: names are short.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

impl Names {
    fn id(&mut self, s: &str) -> u32 {
        let h = crate::fasthash::hash_str(s);
        if let Some(&i) = self.by_hash.get(&h) {
            if same(&self.names[i as usize], s) {
                return i;
            }
            if let Some(&i) = self.collided.get(s) {
                return i;
            }
            let i = self.names.len() as u32;
            self.names.push(s.to_string());
            self.collided.insert(s.to_string(), i);
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.by_hash.insert(h, i);
        i
    }

    /// The id of a name already interned.
    fn get(&self, s: &str) -> Option<u32> {
        match self.by_hash.get(&crate::fasthash::hash_str(s)) {
            Some(&i) if same(&self.names[i as usize], s) => Some(i),
            Some(_) => self.collided.get(s).copied(),
            None => None,
        }
    }

    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Direct,
    Pool,
    Unallocated,
    OutOfScope,
    /// A commitment's unused capacity: `reason` is the commitment's key (its owner is looked up once every row is
    /// read, with the order some row named).
    Unused,
    /// A commitment's purchase: `team` is its owner, `reason` the commitment's key.
    Purchase,
    /// A platform pool's rows: `workspace` is the pool's name.
    Platform,
}

/// (month, currency, kind, team, project, workspace, environment, reason, service category), strings interned.
type Key = (Month, u32, Kind, u32, u32, u32, u32, u32, u8);

/// Covered usage of one commitment: (month, currency, commitment key) and where the covered row went (kind, team,
/// project, workspace, environment, reason), strings interned.
type CoveredKey = (Month, u32, u32, Kind, u32, u32, u32, u32, u32);

/// The reason of a commitment's lines charged to a team, from the commitment's id as an export gives it.
pub fn commitment_reason(id: &str) -> String {
    commitment::reason(&crate::text::ascii_lower(crate::commitment::key(id).0))
}

/// A part of a platform pool: (environment, service category, sums).
type PlatformPart = (u32, u8, Acc);

/// A shared pool: (month, currency, workspace, environment), strings interned.
type PoolKey = (Month, u32, u32, u32);

/// The service categories of chargeback lines, in report order.
pub const CATEGORIES: [&str; 4] = ["compute", "storage", "network", "other"];

/// One line of `chargeback.csv`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub billing_month: Month,
    pub currency: String,
    pub team: String,
    pub project: String,
    pub workspace: String,
    pub environment: String,
    /// `compute`, `storage`, `network` or `other`.
    pub service_category: String,
    pub topology: String,
    pub allocation: String,
    pub reason: String,
    /// Exact, before rounding.
    #[serde(skip)]
    pub exact: Money,
    /// Rounded to the currency's minor unit.
    pub cost: Money,
    /// The cost in the reporting currency, rounded to its minor unit, when one is configured.
    #[serde(skip)]
    pub report_cost: Option<Money>,
}

/// How one shared pool was split.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PoolSplit {
    pub workspace: String,
    pub currency: String,
    pub environment: String,
    pub method: Split,
    pub rows: u64,
    pub pool: Money,
    /// Each member's weight (percentage, direct spend, or 1) and exact share.
    pub shares: Vec<(String, Money, Money)>,
    /// Each member's share as billed, in the order of `shares`: the sum of its rounded lines of this pool.
    pub billed: Vec<Money>,
    /// Set when a proportional or usage split fell back to even because no member had anything to weigh.
    pub note: Option<String>,
    /// `split = "usage"`: where the hours came from.
    pub usage: Option<String>,
    /// Compute targets whose busy hours the usage file gives: their busy and idle cost.
    pub computes: Vec<pools::ComputeUse>,
    /// A platform pool (`[[pool]]`), not a shared workspace's: `workspace` is its name.
    pub platform: bool,
}

impl PoolSplit {
    /// Whether the weights are 1 each because a proportional split had nothing to go by.
    pub fn fell_back(&self) -> bool {
        self.note.is_some()
    }
}

/// The totals of one month and currency: what came in, and where it went.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CurrencyTotals {
    pub currency: String,
    pub decimals: u32,
    pub input_total: Money,
    pub input_total_exact: Money,
    pub direct: Money,
    pub shared: Money,
    pub unallocated: Money,
    pub out_of_scope: Money,
    /// Prior-period adjustments booked into this month: changes to closed months (`close.rs`). Zero otherwise.
    pub adjustments: Money,
    /// Shares of unused commitments charged to teams (their parts that went unallocated or out of scope are in those).
    pub unused_commitment: Money,
    /// Commitment purchases charged to their owners.
    pub commitment_purchases: Money,
    /// Platform pools split among teams.
    pub platform: Money,
    pub chargeback_total: Money,
    pub rows: RowCounts,
    pub balanced: bool,
    /// Units of the reporting currency per unit of this one, and the input total converted, when configured.
    pub rate: Option<Money>,
    pub input_total_report: Option<Money>,
    /// Each team's total (and `(unallocated)`, `(out-of-scope)`): the sum of its rounded lines, and exact.
    pub teams: Vec<(String, Money, Money)>,
}

impl CurrencyTotals {
    /// The totals of a currency nothing has reached yet: all zero, no rows, not yet balanced.
    pub fn empty(currency: &str, decimals: u32) -> CurrencyTotals {
        CurrencyTotals {
            currency: currency.to_string(),
            decimals,
            input_total: Money::ZERO,
            input_total_exact: Money::ZERO,
            direct: Money::ZERO,
            shared: Money::ZERO,
            unallocated: Money::ZERO,
            out_of_scope: Money::ZERO,
            adjustments: Money::ZERO,
            unused_commitment: Money::ZERO,
            commitment_purchases: Money::ZERO,
            platform: Money::ZERO,
            chargeback_total: Money::ZERO,
            rows: RowCounts::default(),
            balanced: false,
            rate: None,
            input_total_report: None,
            teams: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RowCounts {
    pub input: u64,
    pub direct: u64,
    pub shared_pool: u64,
    pub unallocated: u64,
    pub out_of_scope: u64,
    /// Rows of unused commitment, split by covered usage or charged to an owner.
    pub unused_commitment: u64,
    /// Purchase rows of commitments with an owner.
    pub commitment_purchase: u64,
    /// Rows of platform pools.
    pub platform_pool: u64,
}

/// One month's chargeback.
#[derive(Clone, Debug)]
pub struct MonthChargeback {
    pub month: Month,
    pub lines: Vec<Line>,
    pub totals: Vec<CurrencyTotals>,
    pub splits: Vec<PoolSplit>,
    /// Each commitment's covered usage and unused capacity per team that month, per currency.
    pub commitments: Vec<CommitmentUse>,
    /// Each team's compute hours and their cost per workspace and currency, where the bill measures them.
    pub unit_costs: Vec<UnitCost>,
    /// Rows of other clouds in a multi-cloud FOCUS export (AWS, Oracle...): reported beside the Azure bill, never
    /// part of its input total or its lines.
    pub other_providers: Vec<ProviderTotal>,
}

/// The rows and cost of one other cloud provider in one month and currency.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProviderTotal {
    pub currency: String,
    pub provider: String,
    pub rows: u64,
    pub cost: Money,
}

/// Whether a row's provider is Azure's: Azure layouts say nothing (empty), FOCUS says `Microsoft`.
pub fn is_azure(provider: &str) -> bool {
    let p = crate::text::trim(provider).as_bytes();
    p.is_empty() || p.get(..9).is_some_and(|x| x.eq_ignore_ascii_case(b"microsoft")) || p.eq_ignore_ascii_case(b"azure")
}

/// Every month's chargeback.
#[derive(Clone, Debug, Default)]
pub struct Chargeback {
    pub months: Vec<MonthChargeback>,
}

/// Running sums of attributed rows.
#[derive(Default)]
pub struct Rollup {
    names: Names,
    lines: FastMap<Key, Acc>,
    /// Input totals, summed apart from attribution so the two can be compared.
    input: FastMap<(Month, u32), Acc>,
    /// Rows of other cloud providers per (month, currency, provider): kept apart from the Azure bill.
    providers: FastMap<(Month, u32, u32), Acc>,
    /// Cost of usage each commitment covered, by where it went.
    covered: FastMap<CoveredKey, Money>,
    /// Each commitment's name, by key, where a row gave one.
    commitment_names: FastMap<u32, u32>,
    /// Each commitment's order, by key, where a row's id named one (a bare `ReservationId` does not).
    commitment_orders: FastMap<u32, u32>,
    /// Hours of team-tagged rows per (month, workspace, team): the weights of `split = "usage"` without a usage file.
    usage_hours: FastMap<(Month, u32, u32), Money>,
    /// The last commitment id seen and its interned key.
    last_commitment: Option<(String, u32)>,
    /// Every commitment key seen, and the orders they named.
    commitments_seen: FastMap<u32, ()>,
    /// Hours and cost of teams' compute per (month, currency, team, workspace): the unit costs.
    units: FastMap<(Month, u32, u32, u32), UnitAcc>,
    /// Reused to build unallocated reasons without allocating per row.
    reason: String,
}

impl Rollup {
    pub fn new() -> Rollup {
        let mut r = Rollup::default();
        r.names.id("");
        r
    }

    /// Adds one row's cost on the run's basis; `category` indexes [`CATEGORIES`].
    pub fn add(&mut self, month: Month, row: &CostRow, cost: Money, category: usize, a: &Attribution, config: &Config) {
        let cur = self.names.id(&row.currency);
        self.input.entry((month, cur)).or_default().add(cost);
        let n = &mut self.names;
        let ws = a.workspace.map(|i| n.id(&config.workspaces[i].name)).unwrap_or(0);
        let c = category as u8;
        let env = n.id(a.environment);
        let mut hours = None;
        let key: Key = match &a.owner {
            Owner::Direct { team, project } => {
                let team = n.id(team);
                if let Some(hours) = a.workspace.and_then(|i| pools::tagged_hours(row, &config.workspaces[i])) {
                    *self.usage_hours.entry((month, ws, team)).or_default() += hours;
                }
                // Unit costs: compute rows measured in hours (GPU meters apart).
                if let Some(hours) = (category == 0).then(|| row.hours()).flatten() {
                    let u = self.units.entry((month, cur, team, ws)).or_default();
                    u.hours += hours;
                    u.cost += cost;
                    if crate::schema::is_gpu_meter(row.meter_name) {
                        u.gpu_hours += hours;
                        u.gpu_cost += cost;
                    }
                }
                (month, cur, Kind::Direct, team, n.id(project), ws, env, 0, c)
            }
            Owner::Pool => {
                // A compute target of a workspace with a usage file: kept apart, with its hours, for its idle capacity.
                let w = a.workspace.map(|i| &config.workspaces[i]);
                let compute =
                    w.filter(|w| w.usage.is_some()).and_then(|_| crate::resource::compute_name(row.resource_id));
                match compute {
                    Some(name) => {
                        hours = row.hours();
                        (month, cur, Kind::Pool, 0, n.id(&crate::text::ascii_lower(name)), ws, env, 0, c)
                    }
                    None => (month, cur, Kind::Pool, 0, 0, ws, env, 0, c),
                }
            }
            Owner::Unallocated(reason) => {
                self.reason.clear();
                reason.write_text(&mut self.reason);
                (month, cur, Kind::Unallocated, 0, 0, n.id(reason.workspace()), env, n.id(&self.reason), c)
            }
            Owner::OutOfScope => (month, cur, Kind::OutOfScope, 0, 0, 0, 0, 0, c),
            Owner::Unused { commitment } => {
                let id = self.commitment_id(commitment, row.commitment_name);
                (month, cur, Kind::Unused, 0, 0, 0, 0, id, c)
            }
            Owner::Platform(p) => (month, cur, Kind::Platform, 0, 0, n.id(&config.pools[*p].name), env, 0, c),
            Owner::Purchase { commitment, owner } => {
                let id = self.commitment_id(commitment, row.commitment_name);
                (month, cur, Kind::Purchase, self.names.id(owner), 0, 0, 0, id, c)
            }
        };
        if a.covered {
            let id = self.commitment_id(row.commitment, row.commitment_name);
            let (month, cur, kind, team, project, ws, env, reason, _) = key;
            *self.covered.entry((month, cur, id, kind, team, project, ws, env, reason)).or_default() += cost;
        }
        let e = self.lines.entry(key).or_default();
        e.add(cost);
        if let Some(h) = hours {
            e.hours += h;
            if crate::schema::is_gpu_meter(row.meter_name) {
                e.gpu_hours += h;
            }
        }
    }

    /// Warnings for `[[commitment]]` entries that named no commitment of the exports (a mistyped id would otherwise
    /// leave its purchases unallocated without a word).
    pub fn unmatched_commitments(&self, config: &Config) -> Vec<String> {
        let n = &self.names;
        let seen: std::collections::HashSet<&str> = self
            .commitments_seen
            .keys()
            .map(|&k| n.name(k))
            .chain(self.commitment_orders.values().map(|&o| n.name(o)))
            .collect();
        config
            .commitments
            .iter()
            .enumerate()
            .filter(|(_, c)| c.key != "*" && !seen.contains(c.key.as_str()))
            .map(|(i, c)| {
                format!(
                    "{}: commitment[{}] ({}) names no reservation, order or savings plan of the exports",
                    config.path.display(),
                    i + 1,
                    c.id
                )
            })
            .collect()
    }

    /// Notes the order and name of the commitment a row names, whichever month it is in.
    pub fn note_commitment(&mut self, row: &CostRow) {
        let id = row.commitment;
        if !id.is_empty() && crate::commitment::key(id).1.is_some() {
            self.commitment_id(id, row.commitment_name);
        }
    }

    /// The interned key of a commitment id, noting its name and order.
    fn commitment_id(&mut self, id: &str, name: &str) -> u32 {
        // Rows of one commitment come together: the last id's key is reused without parsing or interning again.
        if let Some((last, key)) = &self.last_commitment {
            if last == id {
                let key = *key;
                if !name.is_empty() && !self.commitment_names.contains_key(&key) {
                    let name = self.names.id(name);
                    self.commitment_names.insert(key, name);
                }
                return key;
            }
        }
        let key = self.commitment_key(id, name);
        self.last_commitment = Some((id.to_string(), key));
        key
    }

    fn commitment_key(&mut self, id: &str, name: &str) -> u32 {
        let (key, order) = crate::commitment::key(id);
        let key = self.names.id(&crate::text::ascii_lower(key));
        self.commitments_seen.insert(key, ());
        if !name.is_empty() && !self.commitment_names.contains_key(&key) {
            let name = self.names.id(name);
            self.commitment_names.insert(key, name);
        }
        if let Some(order) = order {
            if !self.commitment_orders.contains_key(&key) {
                let order = self.names.id(&crate::text::ascii_lower(order));
                self.commitment_orders.insert(key, order);
            }
        }
        key
    }

    /// Adds a row of another cloud provider (AWS, Oracle... in a multi-cloud FOCUS file).
    pub fn add_other_provider(&mut self, month: Month, currency: &str, provider: &str, cost: Money) {
        let key = (month, self.names.id(currency), self.names.id(provider.trim()));
        self.providers.entry(key).or_default().add(cost);
    }

    /// Adds another part's sums (its names re-interned here).
    pub fn merge(&mut self, other: Rollup) {
        let map: Vec<u32> = other.names.names.iter().map(|n| self.names.id(n)).collect();
        let id = |i: u32| map[i as usize];
        for ((month, cur, kind, team, project, ws, env, reason, cat), acc) in other.lines {
            let key = (month, id(cur), kind, id(team), id(project), id(ws), id(env), id(reason), cat);
            let e = self.lines.entry(key).or_default();
            e.rows += acc.rows;
            e.cost += acc.cost;
            e.hours += acc.hours;
            e.gpu_hours += acc.gpu_hours;
        }
        for ((month, cur, team, ws), u) in other.units {
            let e = self.units.entry((month, id(cur), id(team), id(ws))).or_default();
            e.hours += u.hours;
            e.cost += u.cost;
            e.gpu_hours += u.gpu_hours;
            e.gpu_cost += u.gpu_cost;
        }
        for ((month, ws, team), hours) in other.usage_hours {
            *self.usage_hours.entry((month, id(ws), id(team))).or_default() += hours;
        }
        for ((month, cur), acc) in other.input {
            let e = self.input.entry((month, id(cur))).or_default();
            e.rows += acc.rows;
            e.cost += acc.cost;
        }
        for ((month, cur, provider), acc) in other.providers {
            let e = self.providers.entry((month, id(cur), id(provider))).or_default();
            e.rows += acc.rows;
            e.cost += acc.cost;
        }
        for ((month, cur, c, kind, team, project, ws, env, reason), cost) in other.covered {
            let key = (month, id(cur), id(c), kind, id(team), id(project), id(ws), id(env), id(reason));
            *self.covered.entry(key).or_default() += cost;
        }
        for (c, name) in other.commitment_names {
            self.commitment_names.entry(id(c)).or_insert(id(name));
        }
        for (c, order) in other.commitment_orders {
            self.commitment_orders.entry(id(c)).or_insert(id(order));
        }
        for (c, ()) in other.commitments_seen {
            self.commitments_seen.insert(id(c), ());
        }
    }

    /// Splits the pools and rounds: the chargeback of every month.
    /// `basis` is the run's: on the actual basis covered usage costs nothing, and no commitment use is reported.
    pub fn compute(self, config: &Config, basis: crate::schema::CostBasis) -> Chargeback {
        let n = &self.names;
        // The workspace version in force in a month, by name (a workspace can change topology or members over time).
        let version_at = |name: &str, month: Month| -> Option<(Topology, usize)> {
            config.workspace_at(name, month).map(|i| (config.workspaces[i].topology, i))
        };
        // Per month: its lines, its pool splits, and its row counts per currency.
        type Parts = (Vec<Line>, Vec<PoolSplit>, BTreeMap<String, RowCounts>);
        let mut months: BTreeMap<Month, Parts> = BTreeMap::new();
        let mut keys: Vec<(&Key, &Acc)> = self.lines.iter().collect();
        keys.sort_by_key(|(k, _)| **k);
        // Direct spend per (month, currency, workspace, team), all categories: the weights of proportional splits.
        let mut direct_by_member: HashMap<(Month, u32, u32, u32), Money> = HashMap::new();
        for (k, acc) in &keys {
            if k.2 == Kind::Direct {
                *direct_by_member.entry((k.0, k.1, k.5, k.3)).or_default() += acc.cost;
            }
        }
        // Pools are gathered per (month, currency, workspace, environment), with their amount per category.
        let mut pools: BTreeMap<PoolKey, Vec<(u8, u32, Acc)>> = BTreeMap::new();
        // Unused commitment, split once the pools' weights are known; platform pools, once every team's spend is.
        let mut unused: Vec<(Key, Money)> = Vec::new();
        let mut platform: BTreeMap<(Month, u32, u32), Vec<PlatformPart>> = BTreeMap::new();
        // Each pool's workspace version and the weights it was split by.
        let mut pool_weights: HashMap<PoolKey, (usize, Vec<Money>)> = HashMap::new();
        for (k, acc) in keys {
            let (month, cur, kind, team, project, ws, env, reason, cat) = *k;
            let entry = months.entry(month).or_default();
            let counts = entry.2.entry(n.name(cur).to_string()).or_default();
            let line = |team: &str,
                        project: &str,
                        workspace: &str,
                        topology: &str,
                        allocation: &str,
                        reason: &str,
                        exact: Money| {
                make_line(
                    month,
                    n.name(cur),
                    team,
                    project,
                    workspace,
                    n.name(env),
                    cat,
                    topology,
                    allocation,
                    reason,
                    exact,
                )
            };
            match kind {
                Kind::Direct => {
                    counts.direct += acc.rows;
                    let topo = version_at(n.name(ws), month).map(|t| t.0.as_str()).unwrap_or("");
                    entry.0.push(line(n.name(team), n.name(project), n.name(ws), topo, DIRECT, "", acc.cost));
                }
                Kind::Pool => {
                    counts.shared_pool += acc.rows;
                    pools.entry((month, cur, ws, env)).or_default().push((cat, project, *acc));
                }
                Kind::Unallocated => {
                    counts.unallocated += acc.rows;
                    entry.0.push(line(TEAM_UNALLOCATED, "", n.name(ws), "", UNALLOCATED, n.name(reason), acc.cost));
                }
                Kind::OutOfScope => {
                    counts.out_of_scope += acc.rows;
                    entry.0.push(line(TEAM_OUT_OF_SCOPE, "", "", "", OUT_OF_SCOPE, "not Azure ML spend", acc.cost));
                }
                Kind::Unused => {
                    counts.unused_commitment += acc.rows;
                    unused.push((*k, acc.cost));
                }
                Kind::Platform => {
                    counts.platform_pool += acc.rows;
                    platform.entry((month, cur, ws)).or_default().push((env, cat, *acc));
                }
                // (a purchase costs nothing on the amortized basis: counted, with no line)
                Kind::Purchase if acc.cost.is_zero() => counts.commitment_purchase += acc.rows,
                Kind::Purchase => {
                    counts.commitment_purchase += acc.rows;
                    let reason = commitment::reason(n.name(reason));
                    entry.0.push(line(n.name(team), "", "", "", COMMITMENT_PURCHASE, &reason, acc.cost));
                }
            }
        }
        // Each compute target's node hours in a month, over every pool (currency, environment) its rows fell in.
        let mut compute_hours: HashMap<(Month, u32, u32), Money> = HashMap::new();
        for (&(month, _, ws, _), parts) in &pools {
            for (_, compute, acc) in parts.iter().filter(|p| p.1 != 0) {
                *compute_hours.entry((month, ws, *compute)).or_default() += acc.hours;
            }
        }
        for ((month, cur, ws, env), parts) in pools {
            let Some((_, wi)) = version_at(n.name(ws), month) else { continue };
            let entry = months.entry(month).or_default();
            let inputs = pools::PoolInputs {
                names: n,
                direct_by_member: &direct_by_member,
                usage_hours: &self.usage_hours,
                compute_hours: &compute_hours,
                workspace: &config.workspaces[wi],
            };
            let (split, used) = pools::split_pool(&inputs, (month, cur, ws, env), &parts, &mut |l| entry.0.push(l));
            pool_weights.insert((month, cur, ws, env), (wi, used));
            entry.1.push(split);
        }

        let mut uses: BTreeMap<Month, Vec<CommitmentUse>> = BTreeMap::new();
        commitment::allocate(
            &commitment::Inputs {
                names: n,
                covered: &self.covered,
                commitment_names: &self.commitment_names,
                commitment_orders: &self.commitment_orders,
                pool_weights: &pool_weights,
                version_at: &version_at,
                config,
                amortized: basis == crate::schema::CostBasis::Amortized,
            },
            unused,
            &mut |month, line| months.entry(month).or_default().0.push(line),
            &mut |(month, cur, pool, env, cat), amount| {
                let acc = Acc { rows: 0, cost: amount, ..Acc::default() };
                platform.entry((month, cur, pool)).or_default().push((env, cat, acc));
            },
            &mut uses,
        );
        for ((month, cur, pool), parts) in platform {
            let Some(p) = config.pools.iter().find(|p| p.name == n.name(pool)) else { continue };
            let entry = months.entry(month).or_default();
            let split = pools::split_platform(n, p, (month, cur), &parts, &mut entry.0);
            entry.1.push(split);
        }

        // Unit costs: each team's directly charged compute hours, and its busy hours on pools' compute targets.
        let mut unit_costs = units::unit_costs(n, &self.units, months.iter().map(|(m, p)| (*m, p.1.as_slice())));

        let mut providers: BTreeMap<Month, Vec<ProviderTotal>> = BTreeMap::new();
        for (&(month, cur, provider), acc) in &self.providers {
            months.entry(month).or_default();
            providers.entry(month).or_default().push(ProviderTotal {
                currency: n.name(cur).to_string(),
                provider: n.name(provider).to_string(),
                rows: acc.rows,
                cost: acc.cost,
            });
        }
        for list in providers.values_mut() {
            list.sort_by(|a, b| (&a.currency, &a.provider).cmp(&(&b.currency, &b.provider)));
        }
        let mut out = Chargeback::default();
        for (month, (mut lines, mut splits, counts)) in months {
            // Pools in name order, not in the order their rows came: reports must not depend on input order.
            splits.sort_by(|a, b| {
                (&a.workspace, &a.currency, &a.environment).cmp(&(&b.workspace, &b.currency, &b.environment))
            });
            // Merge lines that share every key column (pool shares of one team in two environments stay apart).
            lines.sort_by(|a, b| line_order(a).cmp(&line_order(b)));
            let mut merged: Vec<Line> = Vec::with_capacity(lines.len());
            for l in lines {
                match merged.last_mut() {
                    Some(last) if line_order(last) == line_order(&l) => last.exact += l.exact,
                    _ => merged.push(l),
                }
            }
            let mut totals = Vec::new();
            let currencies: Vec<String> = counts.keys().cloned().collect();
            for currency in currencies {
                let decimals = config.decimals_for(&currency);
                let idx: Vec<usize> = (0..merged.len()).filter(|&i| merged[i].currency == currency).collect();
                let exact: Vec<Money> = idx.iter().map(|&i| merged[i].exact).collect();
                for (&i, r) in idx.iter().zip(round_to_total(&exact, decimals)) {
                    merged[i].cost = r;
                }
                let sum_by = |alloc: &dyn Fn(&str) -> bool| -> Money {
                    idx.iter().filter(|&&i| alloc(&merged[i].allocation)).map(|&i| merged[i].cost).sum()
                };
                let input = self
                    .input
                    .iter()
                    .find(|((m, c), _)| *m == month && n.name(*c) == currency)
                    .map(|(_, a)| *a)
                    .unwrap_or_default();
                let mut rc = counts[&currency];
                rc.input = input.rows;
                let chargeback_total = sum_by(&|_| true);
                totals.push(CurrencyTotals {
                    currency: currency.clone(),
                    decimals,
                    input_total: input.cost.round(decimals),
                    input_total_exact: input.cost,
                    direct: sum_by(&|a| a == DIRECT),
                    shared: sum_by(&|a| a.starts_with("shared-")),
                    unallocated: sum_by(&|a| a == UNALLOCATED),
                    out_of_scope: sum_by(&|a| a == OUT_OF_SCOPE),
                    adjustments: Money::ZERO,
                    unused_commitment: sum_by(&|a| a == UNUSED_COMMITMENT),
                    commitment_purchases: sum_by(&|a| a == COMMITMENT_PURCHASE),
                    platform: sum_by(&|a| a.starts_with(PLATFORM)),
                    chargeback_total,
                    rows: rc,
                    balanced: false,
                    rate: None,
                    input_total_report: None,
                    teams: {
                        let mut by_team: BTreeMap<&str, (Money, Money)> = BTreeMap::new();
                        for &i in &idx {
                            let e = by_team.entry(merged[i].team.as_str()).or_default();
                            e.0 += merged[i].cost;
                            e.1 += merged[i].exact;
                        }
                        by_team.into_iter().map(|(t, (r, x))| (t.to_string(), r, x)).collect()
                    },
                });
            }
            // Each member's share as billed: the sum of its rounded lines of the pool, in one pass over the lines.
            let mut billed: HashMap<(&str, &str, &str, &str), Money> = HashMap::new();
            for l in merged.iter().filter(|l| l.allocation.starts_with("shared-") || l.allocation.starts_with(PLATFORM))
            {
                *billed.entry((&l.workspace, &l.environment, &l.currency, &l.team)).or_default() += l.cost;
            }
            for s in &mut splits {
                s.billed = s
                    .shares
                    .iter()
                    .map(|(t, _, _)| {
                        billed
                            .get(&(&*s.workspace, &*s.environment, &*s.currency, t.as_str()))
                            .copied()
                            .unwrap_or_default()
                    })
                    .collect();
            }
            let other_providers = providers.remove(&month).unwrap_or_default();
            let mut commitments = uses.remove(&month).unwrap_or_default();
            commitment::bill(&mut commitments, &merged, &|c| config.decimals_for(c));
            let unit_costs = unit_costs.remove(&month).unwrap_or_default();
            let mut mc =
                MonthChargeback { month, lines: merged, totals, splits, commitments, unit_costs, other_providers };
            mc.mark_balanced();
            out.months.push(mc);
        }
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn make_line(
    month: Month,
    currency: &str,
    team: &str,
    project: &str,
    workspace: &str,
    environment: &str,
    category: u8,
    topology: &str,
    allocation: &str,
    reason: &str,
    exact: Money,
) -> Line {
    Line {
        billing_month: month,
        currency: currency.to_string(),
        team: team.to_string(),
        project: project.to_string(),
        workspace: workspace.to_string(),
        environment: environment.to_string(),
        service_category: CATEGORIES[category as usize % CATEGORIES.len()].to_string(),
        topology: topology.to_string(),
        allocation: allocation.to_string(),
        reason: reason.to_string(),
        exact,
        cost: Money::ZERO,
        report_cost: None,
    }
}

/// The sort order of `chargeback.csv`: currency; teams, then unallocated, then out of scope; project, workspace,
/// environment, service category (in [`CATEGORIES`] order), allocation, reason.
fn line_order(l: &Line) -> (&str, u8, &str, &str, &str, &str, usize, &str, &str) {
    let rank = match l.team.as_str() {
        TEAM_UNALLOCATED => 1,
        TEAM_OUT_OF_SCOPE => 2,
        _ => 0,
    };
    let cat = CATEGORIES.iter().position(|c| *c == l.service_category).unwrap_or(CATEGORIES.len());
    (&l.currency, rank, &l.team, &l.project, &l.workspace, &l.environment, cat, &l.allocation, &l.reason)
}

impl MonthChargeback {
    /// Checks the books of every currency: exact lines sum to the exact input plus any prior-period adjustments,
    /// rounded lines to the rounded input plus them, and the rows of each category add up to the rows read.
    pub(crate) fn mark_balanced(&mut self) {
        for t in &mut self.totals {
            let exact: Money = self.lines.iter().filter(|l| l.currency == t.currency).map(|l| l.exact).sum();
            let adjusted: Money = self
                .lines
                .iter()
                .filter(|l| l.currency == t.currency && l.allocation == PRIOR_PERIOD)
                .map(|l| l.cost)
                .sum();
            let r = t.rows;
            t.balanced = exact == t.input_total_exact + t.adjustments
                && adjusted == t.adjustments
                && t.chargeback_total == t.input_total + t.adjustments
                && t.direct
                    + t.shared
                    + t.unallocated
                    + t.out_of_scope
                    + t.unused_commitment
                    + t.commitment_purchases
                    + t.platform
                    + t.adjustments
                    == t.chargeback_total
                && r.direct
                    + r.shared_pool
                    + r.unallocated
                    + r.out_of_scope
                    + r.unused_commitment
                    + r.commitment_purchase
                    + r.platform_pool
                    == r.input;
        }
    }

    /// Puts the lines in `chargeback.csv`'s order.
    pub(crate) fn sort_lines(&mut self) {
        self.lines.sort_by(|a, b| line_order(a).cmp(&line_order(b)));
    }

    pub fn balanced(&self) -> bool {
        self.totals.iter().all(|t| t.balanced)
    }

    /// The fractional digits `currency` is rounded to in this month (2 when the month has none of it).
    pub fn decimals(&self, currency: &str) -> u32 {
        self.totals.iter().find(|t| t.currency == currency).map(|t| t.decimals).unwrap_or(2)
    }
}

impl Chargeback {
    /// Adds reporting-currency amounts to every line and total: each line's exact cost times the month's rate, rounded
    /// (largest remainder) so that a currency's converted lines sum to its converted, rounded total. A missing rate is
    /// an error naming the month and currency.
    pub fn convert(&mut self, reporting: &crate::config::Reporting, decimals: u32) -> Result<(), String> {
        let one = Money::from_minor_units(1, 0);
        for m in &mut self.months {
            for t in &mut m.totals {
                let rate = if t.currency.eq_ignore_ascii_case(&reporting.currency) {
                    one
                } else {
                    *reporting.rates.get(&(m.month, t.currency.to_ascii_uppercase())).ok_or_else(|| {
                        format!(
                            "no exchange rate for {} {} in {}: add the line `{},{},<rate>` ({} per {})",
                            m.month,
                            t.currency,
                            reporting.rates_path.display(),
                            m.month,
                            t.currency,
                            reporting.currency,
                            t.currency
                        )
                    })?
                };
                let idx: Vec<usize> = (0..m.lines.len()).filter(|&i| m.lines[i].currency == t.currency).collect();
                let exact = idx
                    .iter()
                    .map(|&i| m.lines[i].exact.mul_rate(rate).filter(|v| v.within_total_bound()))
                    .collect::<Option<Vec<Money>>>()
                    .ok_or_else(|| {
                        format!(
                            "{} {} converted at {rate} to {} is beyond the largest amount mlspend holds (10^20)",
                            m.month, t.currency, reporting.currency
                        )
                    })?;
                for (&i, r) in idx.iter().zip(round_to_total(&exact, decimals)) {
                    m.lines[i].report_cost = Some(r);
                }
                t.rate = Some(rate);
                t.input_total_report = Some(exact.iter().copied().sum::<Money>().round(decimals));
            }
        }
        Ok(())
    }

    /// Test builds only (`MLSPEND_FAULT=unbalance`): takes 10^-28 off the first line, so that the tests can see a
    /// run whose books don't balance exit 3 and write nothing. Release builds have no such switch.
    #[cfg(debug_assertions)]
    pub fn inject_imbalance(&mut self) {
        if let Some(m) = self.months.first_mut() {
            if let Some(l) = m.lines.first_mut() {
                l.exact -= Money::from_raw(ethnum::I256::ONE);
            }
            m.mark_balanced();
        }
    }

    /// Every amount the outputs will hold, checked against the bound they hold exactly (10^20 currency units):
    /// input totals, lines and pools. `Err` names the first month, currency and amount beyond it.
    pub fn check_bounds(&self) -> Result<(), String> {
        for m in &self.months {
            let totals = m.totals.iter().map(|t| (&t.currency, "input total", t.input_total_exact));
            let lines = m.lines.iter().map(|l| (&l.currency, "chargeback line", l.exact));
            let pools = m.splits.iter().map(|s| (&s.currency, "shared pool", s.pool));
            for (currency, what, amount) in totals.chain(lines).chain(pools) {
                if !amount.within_total_bound() {
                    return Err(format!(
                        "{} {currency}: a {what} of {amount} is beyond the largest amount mlspend holds exactly \
                         (10^20 currency units); check the export for corrupt costs",
                        m.month
                    ));
                }
            }
        }
        Ok(())
    }

    /// The months and currencies whose books don't balance, described.
    pub fn verify(&self) -> Result<(), String> {
        let bad: Vec<String> = self
            .months
            .iter()
            .flat_map(|m| {
                m.totals.iter().filter(|t| !t.balanced).map(move |t| {
                    format!(
                        "{} {}: input {} ({} rows) but chargeback {} ({} direct + {} pool + {} unallocated + {} out-of-scope + {} unused-commitment + {} commitment-purchase rows)",
                        m.month,
                        t.currency,
                        t.input_total_exact,
                        t.rows.input,
                        t.chargeback_total,
                        t.rows.direct,
                        t.rows.shared_pool,
                        t.rows.unallocated,
                        t.rows.out_of_scope,
                        t.rows.unused_commitment,
                        t.rows.commitment_purchase
                    )
                })
            })
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    }
}

#[cfg(test)]
#[cfg(test)]
mod tests;
