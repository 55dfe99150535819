//! Files a configuration names: a usage file, a rates file.

use crate::money::Money;
use std::collections::BTreeMap;
use std::path::Path;

/// A CSV file of the configuration's, cells trimmed, and its header lower-cased (a UTF-8 BOM dropped).
fn open(path: &Path) -> std::result::Result<(csv::Reader<std::fs::File>, Vec<String>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    Ok((reader, header))
}

/// One line of a usage file: (line, month, workspace, team, lower-cased compute, hours).
type UsageLine = (usize, crate::dates::Month, String, String, String, Money);

/// Reads a usage file: CSV with the header `month,workspace,team,compute,hours`. A workspace that is not configured,
/// a month that is not `YYYY-MM` and hours that are not a number of 0 or more are errors naming the line.
fn usage_lines(path: &Path, known: &[String]) -> std::result::Result<Vec<UsageLine>, String> {
    let (mut reader, header) = open(path)?;
    let expected = ["month", "workspace", "team", "compute", "hours"];
    if header != expected {
        return Err(format!(
            "{}: the header must be `{}`, not `{}`",
            path.display(),
            expected.join(","),
            header.join(",")
        ));
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let at = |what: String| format!("{}: line {line}: {what}", path.display());
        let r = record.map_err(|e| at(e.to_string()))?;
        let ws = r.get(1).unwrap_or("");
        if !known.iter().any(|k| k.eq_ignore_ascii_case(ws)) {
            return Err(at(format!("workspace `{ws}` is not configured")));
        }
        let month = crate::dates::Month::parse(r.get(0).unwrap_or(""))
            .ok_or_else(|| at(format!("{:?} is not a month, YYYY-MM", r.get(0).unwrap_or(""))))?;
        let hours = Money::parse(r.get(4).unwrap_or(""))
            .ok()
            .filter(|h| !h.is_negative() && h.within_total_bound())
            .ok_or_else(|| at(format!("hours {:?} is not a number of 0 or more", r.get(4).unwrap_or(""))))?;
        let compute = r.get(3).unwrap_or("").to_ascii_lowercase();
        out.push((line, month, ws.to_string(), r.get(2).unwrap_or("").to_string(), compute, hours));
    }
    Ok(out)
}

/// Reads a usage file for workspace `workspace`, one line per month, workspace, team and compute (lines that repeat
/// one add up). Lines of another configured workspace are skipped (one file may serve several); a team that is not a
/// member is an error naming the line.
type UsageHours = BTreeMap<(crate::dates::Month, String), BTreeMap<String, Money>>;
pub(super) fn read_usage(
    path: &Path,
    workspace: &str,
    teams: &[String],
    known: &[String],
) -> std::result::Result<UsageHours, String> {
    let mut out: UsageHours = BTreeMap::new();
    for (line, month, ws, team, compute, hours) in usage_lines(path, known)? {
        if !ws.eq_ignore_ascii_case(workspace) {
            continue;
        }
        let team = teams.iter().find(|t| t.eq_ignore_ascii_case(&team)).ok_or_else(|| {
            format!(
                "{}: line {line}: team `{team}` is not one of {workspace}'s teams ({})",
                path.display(),
                teams.join(", ")
            )
        })?;
        *out.entry((month, compute)).or_default().entry(team.clone()).or_default() += hours;
    }
    Ok(out)
}

/// Reads `[compare] usage`: the busy hours of every workspace's compute targets, whoever ran them.
pub(super) fn read_busy(
    path: &Path,
    known: &[String],
) -> std::result::Result<BTreeMap<(crate::dates::Month, String, String), Money>, String> {
    let mut out = BTreeMap::new();
    for (_, month, ws, _, compute, hours) in usage_lines(path, known)? {
        *out.entry((month, ws.to_ascii_lowercase(), compute)).or_default() += hours;
    }
    Ok(out)
}

/// Reads a rates file: CSV with the header `month,currency,rate`, one line per month and billing currency, the rate
/// being units of the reporting currency per unit of the billing currency.
pub(super) fn read_rates(path: &Path) -> std::result::Result<BTreeMap<(crate::dates::Month, String), Money>, String> {
    let (mut reader, header) = open(path)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(m), Some(c), Some(r)) = (col("month"), col("currency"), col("rate")) else {
        return Err(format!("{}: line 1: expected the header `month,currency,rate`", path.display()));
    };
    let mut rates = BTreeMap::new();
    let mut lines: BTreeMap<(crate::dates::Month, String), (usize, Money)> = BTreeMap::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
        let month = crate::dates::Month::parse(rec.get(m).unwrap_or("")).ok_or_else(|| {
            format!("{}: line {line}: month {:?} is not YYYY-MM", path.display(), rec.get(m).unwrap_or(""))
        })?;
        let rate = Money::parse(rec.get(r).unwrap_or(""))
            .ok()
            .filter(|r| !r.is_negative() && !r.is_zero())
            .ok_or_else(|| {
                format!("{}: line {line}: rate {:?} is not a positive number", path.display(), rec.get(r).unwrap_or(""))
            })?;
        let currency = rec.get(c).unwrap_or("").to_ascii_uppercase();
        // A second rate for the same month and currency would silently replace the first: which one is meant?
        if let Some((first, _)) = lines.insert((month, currency.clone()), (line, rate)) {
            return Err(format!(
                "{}: line {line}: a second rate for {currency} in {month} (the first is on line {first}); keep one",
                path.display()
            ));
        }
        rates.insert((month, currency), rate);
    }
    Ok(rates)
}
