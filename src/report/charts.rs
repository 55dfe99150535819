//! The charts of a run: what each month's pack draws, from the chargeback and the topology estimates.
//!
//! Every number a chart shows is a number of the pack: team totals are sums of the rounded chargeback lines, bar
//! labels are exact sums formatted at the currency's decimals, topology figures are the rounded ones `topology.csv`
//! holds. A chart with nothing to show is left out, with a one-line reason the pages print instead.

use crate::compare::Estimate;
use crate::config::Config;
use crate::dates::Month;
use crate::money::Money;
use crate::report::chart::{neutral, neutral_hatched, Chart, Drawn, Kind, Series, Swatch, TeamColours};
use crate::report::{grouped, pool_label, pool_shares};
use crate::rollup::{Chargeback, CATEGORIES, UNALLOCATED};
use crate::schema::CostBasis;
use std::collections::{BTreeMap, BTreeSet};

/// The charts of a run, and those left out with why.
#[derive(Default)]
pub struct Charts {
    /// (month, file stem, the chart laid out and drawn once).
    pub drawn: Vec<(Month, String, Drawn)>,
    /// (month, file stem, why it is not drawn).
    pub omitted: Vec<(Month, String, String)>,
    /// Each team's colour, for the pages too.
    pub colours: TeamColours,
}

impl Charts {
    pub fn of_month(&self, month: Month) -> impl Iterator<Item = &(Month, String, Drawn)> {
        self.drawn.iter().filter(move |(m, _, _)| *m == month)
    }

    pub fn omitted_in(&self, month: Month) -> impl Iterator<Item = &(Month, String, String)> {
        self.omitted.iter().filter(move |(m, _, _)| *m == month)
    }
}

/// A series of amounts: drawn from their display values, labelled with the exact figures at `d` decimals.
pub(crate) fn series(name: &str, swatch: Swatch, amounts: impl Iterator<Item = Money>, d: u32) -> Series {
    let amounts: Vec<Money> = amounts.collect();
    Series {
        name: name.to_string(),
        values: amounts.iter().map(|m| m.to_f64()).collect(),
        exact: amounts.iter().map(|m| grouped(*m, d)).collect(),
        swatch,
    }
}

/// Every chart of every month and currency.
pub fn build(config: &Config, chargeback: &Chargeback, estimates: &[Estimate], basis: CostBasis) -> Charts {
    let basis = if basis == CostBasis::Actual { "actual" } else { "amortized" };
    // Colours from the run's teams, so a team has one colour in every chart and month.
    let colours = TeamColours::new(crate::report::run_teams(config, chargeback));
    let mut out = Charts { colours: colours.clone(), ..Charts::default() };
    let all_months: Vec<Month> = chargeback.months.iter().map(|m| m.month).collect();
    // Team totals per currency and month, from the rounded lines, for the trends.
    let mut trend: BTreeMap<&str, BTreeMap<&str, BTreeMap<Month, Money>>> = BTreeMap::new();
    for m in &chargeback.months {
        for l in m.lines.iter().filter(|l| !l.team.starts_with('(')) {
            *trend.entry(&l.currency).or_default().entry(&l.team).or_default().entry(m.month).or_default() += l.cost;
        }
    }
    for m in &chargeback.months {
        let month = m.month;
        for t in &m.totals {
            let (cur, d) = (t.currency.as_str(), t.decimals);
            let axis = format!("{cur}, {basis} cost");
            let chart = |title: String, category_axis: &str| Chart {
                kind: Kind::Bars,
                title: format!("{title}, {month} ({basis} cost, {cur})"),
                value_axis: axis.clone(),
                decimals: d,
                category_axis: category_axis.to_string(),
                categories: Vec::new(),
                series: Vec::new(),
                labels: Vec::new(),
            };
            let mut push = |stem: &str, result: Result<Chart, String>| match result {
                // Bars of nothing: a month whose figures all net to zero has nothing to show either.
                Ok(c) if c.series.iter().all(|s| s.values.iter().all(|v| *v == 0.0)) => out.omitted.push((
                    month,
                    format!("{stem}-{cur}"),
                    format!("its {cur} figures in {month} are all zero"),
                )),
                Ok(c) => out.drawn.push((month, format!("{stem}-{cur}"), c.draw())),
                Err(why) => out.omitted.push((month, format!("{stem}-{cur}"), why)),
            };

            // Spend by team, stacked by service category (greys: colour is for teams).
            let mut by_team: BTreeMap<&str, [Money; 4]> = BTreeMap::new();
            for l in m.lines.iter().filter(|l| l.currency == cur && !l.team.starts_with('(')) {
                let k = CATEGORIES.iter().position(|c| *c == l.service_category).unwrap_or(3);
                by_team.entry(&l.team).or_default()[k] += l.cost;
            }
            push(
                "spend-by-team",
                if by_team.is_empty() {
                    Err(format!("no {cur} spend reached a team in {month}"))
                } else {
                    let mut c = chart("ML spend by team and service".into(), "team");
                    c.categories = by_team.keys().map(|t| t.to_string()).collect();
                    c.series = CATEGORIES
                        .iter()
                        .enumerate()
                        .map(|(k, name)| series(name, neutral(name, k), by_team.values().map(|v| v[k]), d))
                        .collect();
                    c.labels = by_team.values().map(|v| grouped(v.iter().copied().sum(), d)).collect();
                    Ok(c)
                },
            );

            // The trend per team over the run's months up to this one: a month's pack never shows a later month, so
            // it reads the same when filed and when a later run adds months.
            let so_far: Vec<Month> = all_months.iter().copied().filter(|x| *x <= month).collect();
            let teams: BTreeMap<&str, BTreeMap<Month, Money>> = trend
                .get(cur)
                .map(|t| {
                    t.iter()
                        .filter(|(_, by_month)| by_month.keys().any(|x| *x <= month))
                        .map(|(team, by_month)| (*team, by_month.clone()))
                        .collect()
                })
                .unwrap_or_default();
            push(
                "trend",
                if all_months.len() < 2 {
                    Err(format!("a trend needs two months or more; this run holds one ({month})"))
                } else if so_far.len() < 2 {
                    Err(format!("a trend needs two months or more; {month} is the first month of this run"))
                } else if teams.is_empty() {
                    Err(format!("no {cur} spend reached a team in {} to {month}", so_far[0]))
                } else {
                    Ok(Chart {
                        kind: Kind::Lines,
                        title: format!("Monthly ML spend per team, {} to {month} ({basis} cost, {cur})", so_far[0]),
                        value_axis: axis.clone(),
                        decimals: d,
                        category_axis: "billing month".into(),
                        categories: so_far.iter().map(|x| x.to_string()).collect(),
                        series: teams
                            .iter()
                            .map(|(team, by_month)| {
                                let amounts = so_far.iter().map(|x| by_month.get(x).copied().unwrap_or_default());
                                series(team, colours.swatch(team), amounts, d)
                            })
                            .collect(),
                        labels: Vec::new(),
                    })
                },
            );

            // Shared pools and how each was split: one bar per pool, one colour per team.
            let pools: Vec<&crate::rollup::PoolSplit> = m.splits.iter().filter(|s| s.currency == cur).collect();
            push(
                "shared-pools",
                if pools.is_empty() {
                    Err(format!("no shared pool held {cur} spend in {month}"))
                } else {
                    let shares: Vec<Vec<(String, Money)>> = pools.iter().map(|p| pool_shares(p)).collect();
                    let members: BTreeSet<&str> =
                        pools.iter().flat_map(|p| p.shares.iter().map(|s| s.0.as_str())).collect();
                    let mut c = chart("Shared pools and their split".into(), "shared pool");
                    c.categories = pools.iter().map(|p| pool_label(p)).collect();
                    c.series = members
                        .iter()
                        .map(|team| {
                            let amounts = shares
                                .iter()
                                .map(|s| s.iter().find(|(t, _)| t == team).map(|(_, v)| *v).unwrap_or_default());
                            series(team, colours.swatch(team), amounts, d)
                        })
                        .collect();
                    c.labels = pools
                        .iter()
                        .zip(&shares)
                        .map(|(p, s)| {
                            let total: Money = s.iter().map(|x| x.1).sum();
                            let how = if p.fell_back() {
                                "split evenly (nothing to weigh it by)".to_string()
                            } else {
                                format!("split {}", p.method.allocation().trim_start_matches("shared-"))
                            };
                            format!("{}\n{how}", grouped(total, d))
                        })
                        .collect();
                    Ok(c)
                },
            );

            // The topology comparison: each combination's difference from the configured workspaces, by cost part
            // (usage is the same in every one, so it is left out: the zero line is today's bill).
            let est: Vec<&Estimate> = estimates.iter().filter(|e| e.month == month && e.currency == cur).collect();
            push(
                "topology",
                match est.iter().find(|e| e.structure == "as-configured") {
                    None => Err(format!("no {cur} spend was attributed to a workspace in {month}")),
                    Some(now) => {
                        let pct = |p: Option<f64>| {
                            p.map(|v| format!("{}%", crate::compare::percent(v, 1))).unwrap_or_else(|| "-".into())
                        };
                        let base = now.rounded(d);
                        let others: Vec<&&Estimate> = est.iter().filter(|e| e.structure != "as-configured").collect();
                        let rounded: Vec<_> = others.iter().map(|e| e.rounded(d)).collect();
                        let mut c = chart(
                            "Workspace topologies: cost against the configured workspaces, by part".into(),
                            "topology",
                        );
                        c.categories = others
                            .iter()
                            .map(|e| {
                                let mut name = e.topology.clone();
                                if e.current {
                                    name.push_str(" (current)");
                                }
                                if e.recommended {
                                    name.push_str(" (recommended)");
                                }
                                name
                            })
                            .collect();
                        c.series = crate::compare::PARTS
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| rounded.iter().any(|r| r.parts[*i] != base.parts[*i]))
                            .enumerate()
                            .map(|(k, (i, p))| {
                                let amounts = rounded.iter().map(|r| r.parts[i] - base.parts[i]);
                                series(p.label(), neutral_hatched(p.label(), k), amounts, d)
                            })
                            .collect();
                        c.labels = others
                            .iter()
                            .zip(&rounded)
                            .map(|(e, r)| {
                                let delta = r.total - base.total;
                                let sign = if delta.is_positive() { "+" } else { "" };
                                format!(
                                    "{} ({sign}{})\n{} workspace{} · team {} · project {}",
                                    grouped(r.total, d),
                                    grouped(delta, d),
                                    e.workspaces,
                                    if e.workspaces == 1 { "" } else { "s" },
                                    pct(e.team_attributable_pct),
                                    pct(e.project_attributable_pct)
                                )
                            })
                            .collect();
                        if c.series.is_empty() {
                            Err(format!("no {cur} cost part differs between the topologies in {month}"))
                        } else {
                            Ok(c)
                        }
                    }
                },
            );

            // Unallocated ML spend by reason.
            let mut reasons: BTreeMap<&str, Money> = BTreeMap::new();
            for l in m.lines.iter().filter(|l| l.currency == cur && l.allocation == UNALLOCATED) {
                *reasons.entry(l.reason.as_str()).or_default() += l.cost;
            }
            push(
                "unallocated",
                if reasons.is_empty() {
                    Err(format!("no unallocated {cur} ML spend in {month}"))
                } else {
                    let mut c = chart("Unallocated ML spend by reason".into(), "reason");
                    c.categories = reasons.keys().map(|r| r.to_string()).collect();
                    c.series = vec![series("unallocated", neutral("unallocated", 1), reasons.values().copied(), d)];
                    c.labels = reasons.values().map(|v| grouped(*v, d)).collect();
                    Ok(c)
                },
            );
        }
    }
    out
}
