//! Unused commitment: each commitment's unused capacity in a month and currency, split among the teams whose usage it
//! covered then, in proportion to their covered cost (amortized), or charged to its configured owner.
//!
//! Covered usage goes wherever its row went: a team directly, a shared pool (whose part is divided among the pool's
//! members by the weights the pool itself was split by), unallocated, or out of scope. The unused capacity follows in
//! the same proportions, so a reservation that also covers non-ML machines leaves their part out of scope, and the
//! shares sum exactly to the unused cost. A commitment that covered nothing that month (or whose configuration says
//! `unused = "owner"`) goes to its owner, else stays unallocated with a reason naming it.

use super::{
    make_line, split, CoveredKey, Key, Kind, Line, Names, PoolKey, OUT_OF_SCOPE, TEAM_OUT_OF_SCOPE, TEAM_UNALLOCATED,
    UNALLOCATED, UNUSED_COMMITMENT,
};
use crate::config::{Config, Topology};
use crate::dates::Month;
use crate::fasthash::FastMap;
use crate::money::Money;
use std::collections::{BTreeMap, HashMap};

/// One team's covered usage and share of unused capacity of one commitment, in one month and currency. The team is
/// `(unallocated)` or `(out-of-scope)` for the parts that went there.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CommitmentUse {
    pub currency: String,
    /// The commitment's key: its reservation's or savings plan's id, lower-cased ([`crate::commitment::key`]).
    pub commitment: String,
    /// Its name as the export gives it; empty when none does.
    pub name: String,
    pub team: String,
    /// The cost of its usage the commitment covered, exact.
    pub covered: Money,
    /// Its share of the unused capacity, exact.
    pub unused: Money,
    /// That share rounded to the minor unit so that the commitment's shares add up to its unused cost, rounded.
    pub rounded: Money,
    /// That share as billed: the sum of its lines, each rounded with the month's other lines (it can differ from
    /// `rounded` by a minor unit per line).
    pub billed: Money,
}

/// The label of a commitment in line reasons: its key.
fn label(key: &str) -> &str {
    if key.is_empty() {
        "(no id)"
    } else {
        key
    }
}

/// The reason of a commitment's lines charged to a team (its unused share or its purchase).
pub(super) fn reason(key: &str) -> String {
    format!("commitment {}", label(key))
}

/// The workspace version in force in a month, by name: its topology and index.
pub(super) type VersionAt<'a> = &'a dyn Fn(&str, Month) -> Option<(Topology, usize)>;

/// What the split needs from the rollup.
pub(super) struct Inputs<'a> {
    pub names: &'a Names,
    pub covered: &'a FastMap<CoveredKey, Money>,
    pub commitment_names: &'a FastMap<u32, u32>,
    pub commitment_orders: &'a FastMap<u32, u32>,
    pub pool_weights: &'a HashMap<PoolKey, (usize, Vec<Money>)>,
    pub version_at: VersionAt<'a>,
    pub config: &'a Config,
    /// Whether the run is on amortized cost: the only one on which covered usage costs anything.
    pub amortized: bool,
}

/// Where one part of a commitment's covered usage went.
struct Recipient {
    kind: Kind,
    /// The platform pool and environment, interned (platform pools).
    pool: (u32, u32),
    team: String,
    project: String,
    workspace: String,
    environment: String,
    topology: &'static str,
    /// The reason of the covered row's line (unallocated).
    reason: String,
    covered: Money,
}

/// Splits every unused commitment; pushes its lines and each month's [`CommitmentUse`]s.
pub(super) fn allocate(
    inputs: &Inputs,
    mut unused: Vec<(Key, Money)>,
    push: &mut dyn FnMut(Month, Line),
    platform: &mut dyn FnMut((Month, u32, u32, u32, u8), Money),
    uses: &mut BTreeMap<Month, Vec<CommitmentUse>>,
) {
    let n = inputs.names;
    // Covered usage per (month, currency, commitment), in a fixed order (the map's order is not).
    let mut covered: Vec<(&CoveredKey, &Money)> = inputs.covered.iter().collect();
    covered.sort_by_key(|(k, _)| **k);
    let mut groups: BTreeMap<(Month, u32, u32), Vec<Recipient>> = BTreeMap::new();
    for (&(month, cur, c, kind, team, project, ws, env, reason), &amount) in covered {
        let list = groups.entry((month, cur, c)).or_default();
        let recipient = |kind: Kind, team: &str, topology: &'static str, reason: &str, covered: Money| Recipient {
            kind,
            pool: (ws, env),
            team: team.to_string(),
            project: n.name(project).to_string(),
            workspace: n.name(ws).to_string(),
            environment: n.name(env).to_string(),
            topology,
            reason: reason.to_string(),
            covered,
        };
        match kind {
            Kind::Direct => {
                let topology = (inputs.version_at)(n.name(ws), month).map(|t| t.0.as_str()).unwrap_or("");
                list.push(recipient(Kind::Direct, n.name(team), topology, "", amount));
            }
            Kind::Pool => match inputs.pool_weights.get(&(month, cur, ws, env)) {
                Some((wi, weights)) => {
                    let members = &inputs.config.workspaces[*wi].teams;
                    for (t, share) in members.iter().zip(split(amount, weights).unwrap_or_default()) {
                        let mut r = recipient(Kind::Direct, t, Topology::Shared.as_str(), "", share);
                        r.project.clear();
                        list.push(r);
                    }
                }
                None => list.push(recipient(
                    Kind::Unallocated,
                    TEAM_UNALLOCATED,
                    "",
                    "shared pool of a workspace not in force",
                    amount,
                )),
            },
            Kind::Unallocated => list.push(recipient(Kind::Unallocated, TEAM_UNALLOCATED, "", n.name(reason), amount)),
            Kind::OutOfScope => {
                let mut r = recipient(Kind::OutOfScope, TEAM_OUT_OF_SCOPE, "", "not Azure ML spend", amount);
                r.project.clear();
                r.workspace.clear();
                r.environment.clear();
                list.push(r);
            }
            // A platform pool's part goes into the pool, split with it.
            Kind::Platform => {
                let team = format!("(platform pool {})", n.name(ws));
                list.push(recipient(Kind::Platform, &team, "", "", amount));
            }
            Kind::Unused | Kind::Purchase => {}
        }
    }
    // (month, currency, commitment, team) -> (covered, unused).
    let mut by_team: BTreeMap<(Month, u32, u32, String), (Money, Money)> = BTreeMap::new();
    for (&(month, cur, c), list) in &groups {
        for r in list {
            by_team.entry((month, cur, c, r.team.clone())).or_default().0 += r.covered;
        }
    }
    unused.sort_by_key(|(k, _)| *k);
    for ((month, cur, _, _, _, _, _, c, cat), amount) in unused {
        let key = n.name(c);
        // Nothing to split or charge (FOCUS unused rows on the actual basis cost nothing): the rows are counted.
        if amount.is_zero() {
            continue;
        }
        let order = inputs.commitment_orders.get(&c).map(|&o| n.name(o));
        let configured = crate::commitment::owner_of(inputs.config, key, order);
        let by_covered = configured.is_none_or(|o| o.unused == crate::config::UnusedTo::Covered);
        let owner = configured.map(|o| o.owner.as_str());
        let currency = n.name(cur);
        let mut line = |team: &str, r: Option<&Recipient>, allocation: &str, reason: String, exact: Money| {
            let (project, ws, env, topology) = match r {
                Some(r) => (r.project.as_str(), r.workspace.as_str(), r.environment.as_str(), r.topology),
                None => ("", "", "", ""),
            };
            push(month, make_line(month, currency, team, project, ws, env, cat, topology, allocation, &reason, exact));
        };
        let recipients = groups.get(&(month, cur, c)).map(Vec::as_slice).unwrap_or_default();
        let shares = if by_covered { shares_by_team(amount, recipients) } else { None };
        match shares {
            Some(shares) => {
                for (r, share) in recipients.iter().zip(shares).filter(|(_, s)| !s.is_zero()) {
                    by_team.entry((month, cur, c, r.team.clone())).or_default().1 += share;
                    match r.kind {
                        Kind::Direct => line(&r.team, Some(r), UNUSED_COMMITMENT, reason(key), share),
                        Kind::Platform => platform((month, cur, r.pool.0, r.pool.1, cat), share),
                        Kind::OutOfScope => line(
                            TEAM_OUT_OF_SCOPE,
                            None,
                            OUT_OF_SCOPE,
                            format!("{}; unused {}", r.reason, reason(key)),
                            share,
                        ),
                        _ => line(
                            TEAM_UNALLOCATED,
                            Some(r),
                            UNALLOCATED,
                            format!("{}; unused {}", r.reason, reason(key)),
                            share,
                        ),
                    }
                }
            }
            None if owner.is_some() => {
                let owner = owner.unwrap_or_default();
                by_team.entry((month, cur, c, owner.to_string())).or_default().1 += amount;
                line(owner, None, UNUSED_COMMITMENT, reason(key), amount);
            }
            None => {
                by_team.entry((month, cur, c, TEAM_UNALLOCATED.to_string())).or_default().1 += amount;
                line(
                    TEAM_UNALLOCATED,
                    None,
                    UNALLOCATED,
                    format!("no covered usage and no owner: unused {}", reason(key)),
                    amount,
                );
            }
        }
    }
    for ((month, cur, c, team), (covered, unused)) in by_team {
        if (covered.is_zero() || !inputs.amortized) && unused.is_zero() {
            continue;
        }
        uses.entry(month).or_default().push(CommitmentUse {
            currency: n.name(cur).to_string(),
            commitment: n.name(c).to_string(),
            name: inputs.commitment_names.get(&c).map(|&x| n.name(x).to_string()).unwrap_or_default(),
            team,
            covered,
            unused,
            rounded: Money::ZERO,
            billed: Money::ZERO,
        });
    }
    for list in uses.values_mut() {
        list.sort_by(|a, b| (&a.currency, &a.commitment, &a.team).cmp(&(&b.currency, &b.commitment, &b.team)));
    }
}

/// `amount` split among `recipients` in proportion to each team's net covered cost (a team whose covered usage nets
/// to nothing or less, refunds included, weighs nothing), then within each team among its recipients by their own
/// covered cost (those netting negative weigh nothing; all of it on the first when none is positive). `None` when no
/// team's net is positive. The shares sum exactly to `amount`.
fn shares_by_team(amount: Money, recipients: &[Recipient]) -> Option<Vec<Money>> {
    let positive = |m: Money| if m.is_negative() { Money::ZERO } else { m };
    let mut teams: Vec<&str> = Vec::new();
    let mut nets: Vec<Money> = Vec::new();
    for r in recipients {
        match teams.iter().position(|t| *t == r.team) {
            Some(i) => nets[i] += r.covered,
            None => {
                teams.push(&r.team);
                nets.push(r.covered);
            }
        }
    }
    let weights: Vec<Money> = nets.into_iter().map(positive).collect();
    let team_shares = split(amount, &weights)?;
    let mut out = vec![Money::ZERO; recipients.len()];
    for (team, share) in teams.iter().zip(team_shares) {
        let members: Vec<usize> = (0..recipients.len()).filter(|&i| recipients[i].team == *team).collect();
        let inner: Vec<Money> = members.iter().map(|&i| positive(recipients[i].covered)).collect();
        match split(share, &inner) {
            Some(parts) => {
                for (&i, p) in members.iter().zip(parts) {
                    out[i] = p;
                }
            }
            None => out[members[0]] = share,
        }
    }
    Some(out)
}

/// Sets each use's `rounded` (per commitment, to add up to its unused cost rounded) and `billed` (the sum of the
/// rounded lines of its unused share, whose reasons end with the commitment).
pub(super) fn bill(uses: &mut [CommitmentUse], lines: &[Line], decimals: &dyn Fn(&str) -> u32) {
    if uses.is_empty() {
        return;
    }
    for group in uses.chunk_by_mut(|a, b| a.currency == b.currency && a.commitment == b.commitment) {
        let exact: Vec<Money> = group.iter().map(|u| u.unused).collect();
        let d = decimals(&group[0].currency);
        for (u, r) in group.iter_mut().zip(super::round_to_total(&exact, d)) {
            u.rounded = r;
        }
    }
    let mut billed: HashMap<(&str, &str, &str), Money> = HashMap::new();
    for l in lines {
        if ![UNUSED_COMMITMENT, UNALLOCATED, OUT_OF_SCOPE].contains(&l.allocation.as_str()) {
            continue;
        }
        let Some(at) = l.reason.rfind("commitment ") else { continue };
        let is_unused = l.allocation == UNUSED_COMMITMENT || l.reason[..at].ends_with("unused ");
        if is_unused {
            *billed.entry((&l.currency, &l.team, &l.reason[at + "commitment ".len()..])).or_default() += l.cost;
        }
    }
    for u in uses {
        u.billed = billed.get(&(&*u.currency, &*u.team, label(&u.commitment))).copied().unwrap_or_default();
    }
}
