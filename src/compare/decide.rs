//! The recommendation: per month and currency, the cheapest combination that meets the configuration's constraints
//! (`[compare] require`), and what each constraint costs.

use super::model::Estimate;
use crate::config::Constraint;
use crate::dates::Month;
use crate::money::Money;

/// What `compare` recommends for one month and currency.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Decision {
    pub month: Month,
    pub currency: String,
    /// The constraints assumed: `[compare] require`, as configured.
    pub require: Vec<Constraint>,
    /// The combination the configured workspaces are, when they are one (`None`: a mix of structures).
    pub observed: Option<String>,
    /// The cheapest combination meeting every required constraint.
    pub recommended: Option<String>,
    /// Per constraint: the cheapest combination with it (and the required others), and the cheapest without it.
    pub costs: Vec<(Constraint, Option<(String, String)>)>,
    /// Constraints every combination meets (one environment, one region): they cost nothing because they cannot
    /// apply, which is not the same as free.
    pub moot: Vec<Constraint>,
    /// Where the model priced a part from the configuration, or could not measure it.
    pub notes: Vec<String>,
}

/// The cheapest estimate meeting every constraint in `need`, by its total as the tables show it (at `decimals`):
/// fewest workspaces on a tie, then the first listed.
fn cheapest<'a>(estimates: &'a [Estimate], need: &[Constraint], decimals: u32) -> Option<&'a Estimate> {
    estimates
        .iter()
        .filter(|e| e.structure != "as-configured" && need.iter().all(|c| e.satisfies.contains(c)))
        .min_by_key(|e| (e.rounded(decimals).total, e.workspaces, !e.current))
}

pub(super) fn decide(
    estimates: &mut [Estimate],
    month: Month,
    currency: &str,
    require: &[Constraint],
    observed: Option<String>,
    notes: Vec<String>,
    decimals: u32,
) -> Decision {
    let best = cheapest(estimates, require, decimals).map(|e| e.topology.clone());
    let moot: Vec<Constraint> = Constraint::ALL
        .iter()
        .copied()
        .filter(|c| estimates.iter().filter(|e| e.structure != "as-configured").all(|e| e.satisfies.contains(c)))
        .collect();
    let costs = Constraint::ALL
        .iter()
        .map(|c| {
            let mut with: Vec<Constraint> = require.to_vec();
            if !with.contains(c) {
                with.push(*c);
            }
            let without: Vec<Constraint> = require.iter().copied().filter(|r| r != c).collect();
            let cost = match (cheapest(estimates, &with, decimals), cheapest(estimates, &without, decimals)) {
                (Some(a), Some(b)) => Some((a.topology.clone(), b.topology.clone())),
                _ => None,
            };
            (*c, cost)
        })
        .collect();
    if let Some(name) = &best {
        for e in estimates.iter_mut() {
            e.recommended = &e.topology == name;
        }
    }
    Decision {
        month,
        currency: currency.to_string(),
        require: require.to_vec(),
        observed,
        recommended: best,
        moot,
        costs,
        notes,
    }
}

/// An amount with its sign (`+120.00`, `-35.50`, `0.00`).
pub(super) fn signed(m: Money, decimals: u32) -> String {
    let r = m.round(decimals);
    let text = crate::text::group_thousands(&r.to_fixed(decimals));
    if r.is_positive() {
        format!("+{text}")
    } else {
        text
    }
}

impl Decision {
    /// The rounded total of the combination named `name` among `estimates` (this decision's month and currency).
    fn total(&self, estimates: &[Estimate], name: &str, decimals: u32) -> Option<Money> {
        estimates
            .iter()
            .find(|e| e.month == self.month && e.currency == self.currency && e.topology == name)
            .map(|e| e.rounded(decimals).total)
    }

    /// What constraint `c` costs a month, at `decimals`: the cheapest with it less the cheapest without it, as the
    /// tables show them.
    pub fn cost(&self, estimates: &[Estimate], c: Constraint, decimals: u32) -> Option<Money> {
        if self.moot.contains(&c) {
            return None;
        }
        let (with, without) = self.costs.iter().find(|x| x.0 == c)?.1.as_ref()?;
        Some(self.total(estimates, with, decimals)? - self.total(estimates, without, decimals)?)
    }

    /// The decision in one sentence, amounts at `decimals` as the tables show them: what is recommended, against
    /// what the configured workspaces cost, under which constraints, and what each constraint would cost a month.
    pub fn sentence(&self, estimates: &[Estimate], decimals: u32) -> String {
        let assumed = if self.require.is_empty() {
            "no constraint ([compare] require is empty)".to_string()
        } else {
            self.require.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        };
        let Some(best) = &self.recommended else {
            return format!("No combination meets {assumed}.");
        };
        let total = self.total(estimates, best, decimals).unwrap_or_default();
        let now = self.total(estimates, "as-configured", decimals).unwrap_or_default();
        let mut text = format!(
            "Cheapest meeting {assumed}: {best}, {} a month ({} against the configured workspaces{}).",
            crate::text::group_thousands(&total.to_fixed(decimals)),
            signed(total - now, decimals),
            match &self.observed {
                Some(o) => format!(", which are {o}"),
                None => ", a mix of structures".to_string(),
            }
        );
        let costs: Vec<String> = Constraint::ALL
            .iter()
            .filter_map(|c| match self.cost(estimates, *c, decimals) {
                Some(v) => Some(format!("{} {}", c.as_str(), signed(v, decimals))),
                None if self.moot.contains(c) => Some(format!("{} n/a (every combination meets it)", c.as_str())),
                None => None,
            })
            .collect();
        if !costs.is_empty() {
            text.push_str(&format!(" Each constraint's cost a month: {}.", costs.join(", ")));
        }
        text
    }
}
