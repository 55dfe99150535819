//! Unit costs: each team's compute hours and what they cost, per workspace, month and currency.

use super::{Names, PoolSplit};
use crate::dates::Month;
use crate::fasthash::FastMap;
use crate::money::Money;
use std::collections::BTreeMap;

/// Hours and cost of compute, and of it on GPU meters.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct UnitAcc {
    pub(super) hours: Money,
    pub(super) cost: Money,
    pub(super) gpu_hours: Money,
    pub(super) gpu_cost: Money,
}

/// One team's compute hours in one workspace, month and currency, and what they cost: its rows measured in hours
/// (GPU meters apart), and its busy hours on shared compute targets (a usage file). Exact; the cost per hour is
/// `cost / hours`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UnitCost {
    pub currency: String,
    pub team: String,
    pub workspace: String,
    pub hours: Money,
    pub cost: Money,
    pub gpu_hours: Money,
    pub gpu_cost: Money,
}

/// Each month's unit costs: the teams' own rows measured in hours (`units`), and their busy hours on the pools'
/// compute targets (`splits`, per month).
pub(super) fn unit_costs<'a>(
    n: &Names,
    units: &FastMap<(Month, u32, u32, u32), UnitAcc>,
    splits: impl Iterator<Item = (Month, &'a [PoolSplit])>,
) -> BTreeMap<Month, Vec<UnitCost>> {
    let mut unit_costs: BTreeMap<Month, Vec<UnitCost>> = BTreeMap::new();
    let mut keys: Vec<_> = units.iter().collect();
    keys.sort_by_key(|(k, _)| **k);
    let mut by: BTreeMap<(Month, String, String, String), UnitAcc> = BTreeMap::new();
    for (&(month, cur, team, ws), u) in keys {
        let e = by.entry((month, n.name(cur).into(), n.name(team).into(), n.name(ws).into())).or_default();
        (e.hours, e.cost, e.gpu_hours, e.gpu_cost) =
            (e.hours + u.hours, e.cost + u.cost, e.gpu_hours + u.gpu_hours, e.gpu_cost + u.gpu_cost);
    }
    for (month, splits) in splits {
        for s in splits.iter() {
            for c in &s.computes {
                for (team, hours, cost) in c.busy.iter().filter(|b| !b.1.is_zero()) {
                    let e = by.entry((month, s.currency.clone(), team.clone(), s.workspace.clone())).or_default();
                    e.hours += *hours;
                    e.cost += *cost;
                    // Busy hours on GPU meters count as GPU hours, in the part of the target's hours they are.
                    if c.gpu_hours.is_positive() && c.hours.is_positive() {
                        e.gpu_hours += hours.mul_div(c.gpu_hours, c.hours).unwrap_or_default();
                        e.gpu_cost += cost.mul_div(c.gpu_hours, c.hours).unwrap_or_default();
                    }
                }
            }
        }
    }
    for ((month, currency, team, workspace), u) in by {
        if u.hours.is_positive() {
            unit_costs.entry(month).or_default().push(UnitCost {
                currency,
                team,
                workspace,
                hours: u.hours,
                cost: u.cost,
                gpu_hours: u.gpu_hours,
                gpu_cost: u.gpu_cost,
            });
        }
    }
    unit_costs
}
