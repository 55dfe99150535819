//! The configuration's keys: unknown keys and values of the wrong type, each reported with its place and removed so
//! that the rest can still be checked.

use super::{commitments, RawConfig, WorkspaceConfig};
use serde::Deserialize;

const TOP_KEYS: [&str; 15] = [
    "basis",
    "month",
    "closed_through",
    "ledger_rows",
    "tags",
    "decimals",
    "minor_units",
    "exports",
    "workspace",
    "divisions",
    "compare",
    "budgets",
    "currency",
    "commitment",
    "pool",
];
const POOL_KEYS: [&str; 7] = ["name", "resources", "resource_groups", "tags", "split", "teams", "shares"];
const COMMITMENT_KEYS: [&str; 3] = ["id", "owner", "unused"];
const CURRENCY_KEYS: [&str; 2] = ["report", "rates"];
const COMPARE_KEYS: [&str; 11] = [
    "footprint_types",
    "footprint_per_workspace",
    "network_per_workspace",
    "replication_per_region",
    "egress_one_region",
    "copy_fraction",
    "instance_share",
    "consolidation",
    "production",
    "usage",
    "require",
];
const TAG_KEYS: [&str; 4] = ["workspace", "team", "project", "environment"];
const WORKSPACE_KEYS: [&str; 17] = [
    "name",
    "topology",
    "team",
    "project",
    "teams",
    "split",
    "shares",
    "environment",
    "resource_groups",
    "resources",
    "from",
    "until",
    "usage",
    "usage_meter",
    "idle",
    "owners",
    "hub",
];

fn unknown(table: &mut toml::Table, allowed: &[&str], place: &str, problems: &mut Vec<String>) {
    let bad: Vec<String> = table.keys().filter(|k| !allowed.contains(&k.as_str())).cloned().collect();
    for k in bad {
        table.remove(&k);
        problems.push(format!("unknown key `{place}{k}` (allowed here: {})", allowed.join(", ")));
    }
}

/// Records and removes every unknown key, so that the rest can still be checked.
pub(super) fn strip_unknown_keys(table: &mut toml::Table, problems: &mut Vec<String>) {
    unknown(table, &TOP_KEYS, "", problems);
    if let Some(toml::Value::Table(tags)) = table.get_mut("tags") {
        unknown(tags, &TAG_KEYS, "tags.", problems);
    }
    if let Some(toml::Value::Table(currency)) = table.get_mut("currency") {
        unknown(currency, &CURRENCY_KEYS, "currency.", problems);
    }
    if let Some(toml::Value::Table(compare)) = table.get_mut("compare") {
        unknown(compare, &COMPARE_KEYS, "compare.", problems);
    }
    if let Some(toml::Value::Array(list)) = table.get_mut("pool") {
        for (i, c) in list.iter_mut().enumerate() {
            if let toml::Value::Table(t) = c {
                unknown(t, &POOL_KEYS, &format!("pool[{}].", i + 1), problems);
            }
        }
    }
    if let Some(toml::Value::Array(list)) = table.get_mut("commitment") {
        for (i, c) in list.iter_mut().enumerate() {
            if let toml::Value::Table(t) = c {
                unknown(t, &COMMITMENT_KEYS, &format!("commitment[{}].", i + 1), problems);
            }
        }
    }
    if let Some(toml::Value::Array(list)) = table.get_mut("workspace") {
        for (i, ws) in list.iter_mut().enumerate() {
            if let toml::Value::Table(t) = ws {
                let name = t.get("name").and_then(|v| v.as_str()).map(|n| format!(" ({n})")).unwrap_or_default();
                unknown(t, &WORKSPACE_KEYS, &format!("workspace[{}]{name}.", i + 1), problems);
            }
        }
    }
}

/// A serde type error in words a configuration's author reads: what was expected, at which key.
pub(super) fn type_problem(place: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim_end();
    let msg = msg.replace("expected a sequence", "expected a list of names").replace("invalid type: ", "");
    format!("{place}: {msg}")
}

/// Records and removes every value of the wrong type, each with its place (`workspace "mlw-x": resource_groups:
/// expected a list of names`), so that the rest can still be checked; a workspace without a usable `name` or
/// `topology` is reported and left out of the other checks.
pub(super) fn strip_wrong_types(table: &mut toml::Table, problems: &mut Vec<String>) {
    commitments::strip_wrong_types(table, problems);
    let keys: Vec<String> = table.keys().filter(|k| *k != "workspace" && *k != "commitment").cloned().collect();
    for k in keys {
        let probe = |v: toml::Value| {
            let mut t = toml::Table::new();
            t.insert(k.clone(), v);
            RawConfig::deserialize(toml::Value::Table(t)).err()
        };
        let value = table[&k].clone();
        let Some(e) = probe(value.clone()) else { continue };
        match value {
            // Name the inner key at fault, one level down ([tags], [compare], [currency], [budgets]...).
            toml::Value::Table(inner) => {
                let mut kept = toml::Table::new();
                for (ik, iv) in inner {
                    let mut one = toml::Table::new();
                    one.insert(ik.clone(), iv.clone());
                    match probe(toml::Value::Table(one)) {
                        Some(e) if !e.message().contains("missing field") => {
                            problems.push(type_problem(&format!("{k}.{ik}"), &e))
                        }
                        _ => {
                            kept.insert(ik, iv);
                        }
                    }
                }
                match probe(toml::Value::Table(kept.clone())) {
                    None => {
                        table.insert(k.clone(), toml::Value::Table(kept));
                    }
                    Some(e) => {
                        problems.push(type_problem(&k, &e));
                        table.remove(&k);
                    }
                }
            }
            _ => {
                problems.push(type_problem(&k, &e));
                table.remove(&k);
            }
        }
    }
    let Some(list) = table.get_mut("workspace") else { return };
    let toml::Value::Array(list) = list else {
        problems.push("workspace: expected [[workspace]] tables".into());
        table.remove("workspace");
        return;
    };
    let mut kept = Vec::new();
    for (i, ws) in std::mem::take(list).into_iter().enumerate() {
        let toml::Value::Table(mut t) = ws else {
            problems.push(format!("workspace[{}]: expected a table with `name` and `topology`", i + 1));
            continue;
        };
        let label = match t.get("name").and_then(|v| v.as_str()) {
            Some(n) => format!("workspace \"{n}\""),
            None => format!("workspace[{}]", i + 1),
        };
        let mut usable = true;
        for required in ["name", "topology"] {
            if !t.contains_key(required) {
                let hint = if required == "topology" { " (\"team\", \"project\", \"shared\" or \"hub\")" } else { "" };
                problems.push(format!("{label}: missing `{required}`{hint}"));
                usable = false;
            }
        }
        let keys: Vec<String> = t.keys().cloned().collect();
        for k in keys {
            let mut probe = toml::Table::new();
            probe.insert("name".into(), toml::Value::String("probe".into()));
            probe.insert("topology".into(), toml::Value::String("team".into()));
            probe.insert(k.clone(), t[&k].clone());
            if let Err(e) = WorkspaceConfig::deserialize(toml::Value::Table(probe)) {
                problems.push(type_problem(&format!("{label}: {k}"), &e));
                t.remove(&k);
                if k == "name" || k == "topology" {
                    usable = false;
                }
            }
        }
        if usable {
            kept.push(toml::Value::Table(t));
        }
    }
    *list = kept;
}
