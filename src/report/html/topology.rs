//! The report's topology section: the recommendation in a sentence per currency, and each combination by cost part.

use super::{decimals, escape, money, table};
use crate::compare::{Estimate, PARTS};
use crate::report::Comparison;
use crate::rollup::MonthChargeback;
use std::fmt::Write as _;

pub(super) fn section(body: &mut String, m: &MonthChargeback, (estimates, decisions): Comparison) {
    body.push_str("<h2 id=\"topologies\">Workspace topologies</h2>\n");
    let est: Vec<&Estimate> = estimates.iter().filter(|e| e.month == m.month).collect();
    if est.is_empty() {
        body.push_str("<p class=\"muted\">No spend was attributed to a workspace this month.</p>\n");
        return;
    }
    body.push_str("<p>What this month's spend in the configured workspaces would cost organised another way: by team, by project, in one workspace, by division or in hubs, with environments in one workspace or one each, in one region or one per region. Usage costs the same in every row; each cost part is what that organisation changes (docs/compare.md says how each is measured or priced). \"vs actual\" is the estimate minus this month's bill.</p>\n");
    for d in decisions.iter().filter(|d| d.month == m.month) {
        let _ = writeln!(
            body,
            "<p><strong>{}</strong>: {}</p>",
            escape(&d.currency),
            escape(&d.sentence(estimates, decimals(m, &d.currency)))
        );
        for note in &d.notes {
            let _ = writeln!(body, "<p class=\"muted\">{}: {}</p>", escape(&d.currency), escape(note));
        }
    }
    // Only the parts that hold spend in some row: the rest would be columns of zeros.
    let shown = crate::compare::shown_parts(&est);
    let rows: Vec<Vec<String>> = est
        .iter()
        .map(|e| {
            let d = decimals(m, &e.currency);
            let r = e.rounded(d);
            let pct = |p: Option<f64>| p.map(|v| crate::compare::percent(v, 1)).unwrap_or_else(|| "-".into());
            let mut row = vec![
                escape(&e.currency),
                format!(
                    "{}{}{}",
                    escape(&e.topology),
                    if e.current && e.structure != "as-configured" { " (current)" } else { "" },
                    if e.recommended { " (recommended)" } else { "" }
                ),
                e.workspaces.to_string(),
                money(r.usage, d),
            ];
            row.extend(shown.iter().map(|&i| money(r.parts[i], d)));
            row.extend([
                money(r.total, d),
                money(r.delta, d),
                pct(e.team_attributable_pct),
                pct(e.project_attributable_pct),
            ]);
            row
        })
        .collect();
    let heads: Vec<String> = shown.iter().map(|&i| format!("#{}", PARTS[i].label())).collect();
    let mut header = vec!["currency", "~topology", "#workspaces", "#usage"];
    header.extend(heads.iter().map(String::as_str));
    header.extend(["#total", "#vs actual", "#team %", "#project %"]);
    table(body, &header, &rows, vec![]);
}
