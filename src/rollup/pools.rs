//! Shared pools: each pool of a month, currency, workspace and environment divided among the workspace's teams.
//!
//! The weights are 1 each (`even`), the configured percentages (`fixed`), each member's direct spend in the workspace
//! that month (`proportional`), or each member's measured usage there (`usage`: compute hours from the workspace's
//! usage file, else hours of rows tagged with the member's team, optionally only on the meters `usage_meter` names).
//! With a usage file, a compute target whose pool rows measure hours and whose busy hours the file gives is charged
//! apart: each member pays the cluster's hourly cost for its busy hours (`shared-usage` lines), and the cost no busy
//! hour accounts for is its idle capacity (`shared-idle` lines), charged by the workspace's `idle` policy. Shares are
//! exact: a pool's lines sum to the pool to the last 10^-28.

use super::{make_line, split, Acc, Line, Names, PoolKey, PoolSplit, PLATFORM};
use crate::config::{Idle, PlatformPool, Split, Topology, Workspace};
use crate::dates::Month;
use crate::fasthash::FastMap;
use crate::money::Money;
use crate::schema::CostRow;
use std::collections::HashMap;

/// The allocation of idle capacity lines.
pub const IDLE: &str = "shared-idle";

/// A compute target's busy and idle cost in one pool.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ComputeUse {
    /// Its name, lower-cased, from the resource id (`.../workspaces/<ws>/computes/<name>`).
    pub compute: String,
    /// Its pool cost and the hours its rows measured (node hours, as billed), and of them on GPU meters.
    pub cost: Money,
    pub hours: Money,
    pub gpu_hours: Money,
    /// Each member's busy hours on it, from the usage file, and the cost of them (the hourly cost times the hours).
    pub busy: Vec<(String, Money, Money)>,
    /// The cost no busy hour accounts for, who paid it, and by which policy, in words.
    pub idle: Money,
    pub idle_to: Vec<(String, Money)>,
    pub idle_policy: String,
}

/// The hours a row tagged with a member's team counts towards `split = "usage"` in workspace `w` (no usage file):
/// its hours, when its unit is hours and its meter is one `usage_meter` names (any, when it names none).
pub fn tagged_hours(row: &CostRow, w: &Workspace) -> Option<Money> {
    if w.split != Split::Usage || w.topology != Topology::Shared || w.usage.is_some() {
        return None;
    }
    if !w.usage_meter.is_empty() {
        let (meter, product) = (row.meter_name.to_ascii_lowercase(), row.product.to_ascii_lowercase());
        if !w.usage_meter.iter().any(|m| meter.contains(m.as_str()) || product.contains(m.as_str())) {
            return None;
        }
    }
    row.hours()
}

/// What a pool's split needs from the rollup.
pub(super) struct PoolInputs<'a> {
    pub names: &'a Names,
    /// Direct spend per (month, currency, workspace, team), all categories.
    pub direct_by_member: &'a HashMap<(Month, u32, u32, u32), Money>,
    pub usage_hours: &'a FastMap<(Month, u32, u32), Money>,
    /// Each compute target's node hours that month, over all its pools: (month, workspace, compute).
    pub compute_hours: &'a HashMap<(Month, u32, u32), Money>,
    pub workspace: &'a Workspace,
}

/// Splits one pool: pushes its lines, and gives its [`PoolSplit`] and the weights it was split by.
pub(super) fn split_pool(
    inputs: &PoolInputs,
    (month, cur, ws, env): PoolKey,
    parts: &[(u8, u32, Acc)],
    push: &mut dyn FnMut(Line),
) -> (PoolSplit, Vec<Money>) {
    let (n, w) = (inputs.names, inputs.workspace);
    let one = Money::from_minor_units(1, 0);
    let even = vec![one; w.teams.len()];
    let member_hours = |t: &str| -> Money {
        match &w.usage {
            Some(file) => {
                file.hours.iter().filter(|((m, _), _)| *m == month).filter_map(|(_, by)| by.get(t)).copied().sum()
            }
            None => n.get(t).and_then(|tid| inputs.usage_hours.get(&(month, ws, tid))).copied().unwrap_or_default(),
        }
    };
    let weights: Vec<Money> = match w.split {
        Split::Even => even.clone(),
        Split::Fixed => w.shares.clone(),
        Split::Proportional => w
            .teams
            .iter()
            .map(|t| {
                let spend =
                    n.get(t.as_str()).and_then(|tid| inputs.direct_by_member.get(&(month, cur, ws, tid))).copied();
                // A member whose direct spend nets to a credit carries no weight.
                spend.filter(|s| !s.is_negative()).unwrap_or(Money::ZERO)
            })
            .collect(),
        // (hours netting negative, a reversal, weigh nothing)
        Split::Usage => {
            w.teams.iter().map(|t| member_hours(t)).map(|h| if h.is_negative() { Money::ZERO } else { h }).collect()
        }
    };
    let usage = (w.split == Split::Usage).then(|| match &w.usage {
        Some(file) => format!(
            "compute hours in {}",
            file.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
        ),
        None if w.usage_meter.is_empty() => "compute hours of rows tagged with the team".to_string(),
        None => format!("compute hours of rows tagged with the team, on meters {}", w.usage_meter.join(", ")),
    });
    let fallback = weights.iter().copied().sum::<Money>().is_zero();
    let note = fallback.then(|| match w.split {
        Split::Usage => format!("no member of {} had measured usage in {month}: split evenly", w.name),
        _ => format!("no member of {} had positive direct spend in {month} {}: split evenly", w.name, n.name(cur)),
    });
    let used = if fallback { even.clone() } else { weights };
    let mut team_shares = vec![Money::ZERO; w.teams.len()];
    let mut total = Acc::default();
    let mut computes: Vec<ComputeUse> = Vec::new();
    for &(cat, compute, acc) in parts {
        total.rows += acc.rows;
        total.cost += acc.cost;
        let mut line = |team: &str, allocation: &str, reason: &str, exact: Money| {
            push(make_line(
                month,
                n.name(cur),
                team,
                "",
                &w.name,
                n.name(env),
                cat,
                Topology::Shared.as_str(),
                allocation,
                reason,
                exact,
            ))
        };
        // A compute target with busy hours in the usage file and hours of its own: busy and idle apart.
        let name = n.name(compute);
        let busy: Vec<Money> = match &w.usage {
            Some(file) if compute != 0 && acc.hours.is_positive() => {
                let by = file.hours.get(&(month, name.to_string()));
                w.teams.iter().map(|t| by.and_then(|b| b.get(t)).copied().unwrap_or_default()).collect()
            }
            _ => Vec::new(),
        };
        // The file gives a month's busy hours for the whole target; this part (one environment and category) takes
        // its share of them, in proportion to the node hours it billed.
        let all_hours = inputs.compute_hours.get(&(month, ws, compute)).copied().unwrap_or(acc.hours);
        let busy_total: Money = busy.iter().copied().sum();
        if !busy_total.is_positive() || !all_hours.is_positive() {
            for ((t, share), sum) in
                w.teams.iter().zip(split(acc.cost, &used).unwrap_or_default()).zip(&mut team_shares)
            {
                *sum += share;
                line(t, w.split.allocation(), "", share);
            }
            continue;
        }
        // The hourly cost times the busy hours, unless the busy hours exceed those billed (then it all is busy).
        let busy_cost = if busy_total >= all_hours { Some(acc.cost) } else { acc.cost.mul_div(busy_total, all_hours) };
        let busy_cost = busy_cost.unwrap_or(acc.cost);
        let idle = acc.cost - busy_cost;
        let busy_shares = split(busy_cost, &busy).unwrap_or_default();
        let idle_shares: Vec<Money> = match &w.idle {
            Idle::Proportional => split(idle, &busy).unwrap_or_default(),
            Idle::Pool => split(idle, &used).unwrap_or_default(),
            Idle::Owner(owner) => w.teams.iter().map(|t| if t == owner { idle } else { Money::ZERO }).collect(),
        };
        let (busy_reason, idle_reason) = (format!("busy hours on {name}"), format!("idle capacity of {name}"));
        for (i, t) in w.teams.iter().enumerate() {
            let (b, d) =
                (busy_shares.get(i).copied().unwrap_or_default(), idle_shares.get(i).copied().unwrap_or_default());
            team_shares[i] += b + d;
            if !b.is_zero() {
                line(t, Split::Usage.allocation(), &busy_reason, b);
            }
            if !d.is_zero() {
                line(t, IDLE, &idle_reason, d);
            }
        }
        let at = match computes.iter().position(|c| c.compute == name) {
            Some(i) => i,
            None => {
                computes.push(ComputeUse {
                    compute: name.to_string(),
                    cost: Money::ZERO,
                    hours: Money::ZERO,
                    gpu_hours: Money::ZERO,
                    busy: w.teams.iter().map(|t| (t.clone(), Money::ZERO, Money::ZERO)).collect(),
                    idle: Money::ZERO,
                    idle_to: w.teams.iter().map(|t| (t.clone(), Money::ZERO)).collect(),
                    idle_policy: match &w.idle {
                        Idle::Proportional => "to the members in proportion to their busy hours".into(),
                        Idle::Pool => format!("to the members by the pool's split ({})", w.split.allocation()),
                        Idle::Owner(t) => format!("to {t}, by the configuration"),
                    },
                });
                computes.len() - 1
            }
        };
        let c = &mut computes[at];
        c.cost += acc.cost;
        c.hours += acc.hours;
        c.gpu_hours += acc.gpu_hours;
        c.idle += idle;
        for (i, b) in c.busy.iter_mut().enumerate() {
            // this part's share of the member's busy hours
            b.1 += busy[i].mul_div(acc.hours, all_hours).unwrap_or_default();
            b.2 += busy_shares.get(i).copied().unwrap_or_default();
        }
        for (to, d) in c.idle_to.iter_mut().zip(&idle_shares) {
            to.1 += *d;
        }
    }
    let split = PoolSplit {
        workspace: w.name.clone(),
        currency: n.name(cur).to_string(),
        environment: n.name(env).to_string(),
        method: w.split,
        rows: total.rows,
        pool: total.cost,
        shares: w.teams.iter().zip(&used).zip(team_shares).map(|((t, wt), s)| (t.clone(), *wt, s)).collect(),
        billed: Vec::new(),
        note,
        usage,
        computes,
        platform: false,
    };
    (split, used)
}

/// Splits a platform pool of one month and currency among its teams: evenly, by fixed shares, or in proportion to
/// each team's ML spend that month and currency (its lines so far: direct, shared, commitments); even when no team
/// has any. Its lines carry no environment (a platform pool serves them all).
pub(super) fn split_platform(
    n: &Names,
    p: &PlatformPool,
    (month, cur): (Month, u32),
    parts: &[(u32, u8, Acc)],
    lines: &mut Vec<Line>,
) -> PoolSplit {
    let currency = n.name(cur);
    let even = vec![Money::from_minor_units(1, 0); p.teams.len()];
    let weights: Vec<Money> = match p.split {
        Split::Fixed => p.shares.clone(),
        Split::Proportional => p
            .teams
            .iter()
            .map(|t| {
                let spend: Money = lines
                    .iter()
                    .filter(|l| l.currency == currency && l.team == *t && !l.allocation.starts_with(PLATFORM))
                    .map(|l| l.exact)
                    .sum();
                if spend.is_negative() {
                    Money::ZERO
                } else {
                    spend
                }
            })
            .collect(),
        Split::Even | Split::Usage => even.clone(),
    };
    let fallback = weights.iter().copied().sum::<Money>().is_zero();
    let note = fallback
        .then(|| format!("no team of platform pool {} had ML spend in {month} {currency}: split evenly", p.name));
    let used = if fallback { even } else { weights };
    let allocation = format!("{PLATFORM}{}", p.split.allocation().trim_start_matches("shared-"));
    let mut total = Acc::default();
    let mut team_shares = vec![Money::ZERO; p.teams.len()];
    for &(_, cat, acc) in parts {
        total.rows += acc.rows;
        total.cost += acc.cost;
        for ((t, share), sum) in p.teams.iter().zip(split(acc.cost, &used).unwrap_or_default()).zip(&mut team_shares) {
            *sum += share;
            if !share.is_zero() {
                lines.push(make_line(month, currency, t, "", &p.name, "", cat, "platform", &allocation, "", share));
            }
        }
    }
    PoolSplit {
        workspace: p.name.clone(),
        currency: currency.to_string(),
        environment: String::new(),
        method: p.split,
        rows: total.rows,
        pool: total.cost,
        shares: p.teams.iter().zip(&used).zip(team_shares).map(|((t, w), s)| (t.clone(), *w, s)).collect(),
        billed: Vec::new(),
        note,
        usage: None,
        computes: Vec::new(),
        platform: true,
    }
}
