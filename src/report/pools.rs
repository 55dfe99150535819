//! Shared pools as the pages, charts and `summary.json` show them: a pool's name, each member's share as billed,
//! what the weights are (with their unit), and shares in percent that add up to 100.0.

use crate::dates::Month;
use crate::money::Money;
use crate::report::grouped;
use crate::rollup::PoolSplit;

/// A shared pool's name: its workspace, and its environment or that its rows had none.
pub fn pool_label(s: &PoolSplit) -> String {
    if s.platform {
        format!("platform pool {}", s.workspace)
    } else if s.environment.is_empty() {
        format!("{} (no environment tag)", s.workspace)
    } else {
        format!("{} ({})", s.workspace, s.environment)
    }
}

/// Each member's share of a pool as the chargeback bills it (the sum of its rounded lines of that pool).
pub fn pool_shares(s: &PoolSplit) -> Vec<(String, Money)> {
    s.shares.iter().zip(&s.billed).map(|((team, _, _), b)| (team.clone(), *b)).collect()
}

/// A pool's amount as the chargeback bills it: the sum of its members' rounded shares (the exact pool, rounded on
/// its own, can differ by a minor unit; `summary.json` holds the exact one).
pub fn pool_total(s: &PoolSplit) -> Money {
    s.billed.iter().copied().sum()
}

/// What a pool's weights are, in words: `USD of direct spend in mlw-research, 2026-10`.
pub fn weight_basis(s: &PoolSplit, month: Month) -> String {
    if s.fell_back() {
        let what = match s.method {
            crate::config::Split::Usage => "measured usage",
            _ if s.platform => "ML spend",
            _ => "positive direct spend",
        };
        return format!("1 each (an even split, as no member had {what} in {} in {month})", s.workspace);
    }
    match s.method {
        crate::config::Split::Even => "1 each (an even split)".into(),
        crate::config::Split::Fixed => "% of the pool, fixed in the configuration".into(),
        crate::config::Split::Proportional if s.platform => format!("{} of each team's ML spend, {month}", s.currency),
        crate::config::Split::Proportional => {
            format!("{} of direct spend in {}, {month}", s.currency, s.workspace)
        }
        crate::config::Split::Usage => format!("{}, {month}", s.usage.as_deref().unwrap_or("compute hours")),
    }
}

/// A member's weight as text, in the unit [`weight_basis`] names.
pub fn weight_text(s: &PoolSplit, weight: Money, decimals: u32) -> String {
    match s.method {
        crate::config::Split::Proportional if !s.fell_back() => grouped(weight, decimals),
        crate::config::Split::Usage if !s.fell_back() => format!("{} h", weight.to_plain()),
        _ => weight.to_plain(),
    }
}

/// Each weight's part of the whole in tenths of a percent, rounded so that they add up to exactly 100.0%
/// (largest remainders); all zero when the weights are.
pub fn percentages(weights: &[Money]) -> Vec<String> {
    let total: Money = weights.iter().copied().sum();
    if total.is_zero() || total.is_negative() {
        return vec!["0.0".into(); weights.len()];
    }
    let thousand = Money::from_minor_units(1000, 0);
    let parts: Vec<(i128, Money)> =
        weights.iter().map(|w| w.mul_div(thousand, total).unwrap_or_default().floor_minor_units(0)).collect();
    let mut tenths: Vec<i128> = parts.iter().map(|p| p.0).collect();
    let missing = 1000 - tenths.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].1.cmp(&parts[a].1).then(a.cmp(&b)));
    for &i in order.iter().take(missing.max(0) as usize) {
        tenths[i] += 1;
    }
    tenths.iter().map(|t| format!("{}.{}", t / 10, (t % 10).abs())).collect()
}
