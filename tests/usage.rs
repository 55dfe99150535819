//! Shared pools split by usage: a generated export's shared GPU cluster, whose teams' busy hours a usage file gives
//! (and whose tagged job hours come in known proportions), is charged by hours to the cent of an independent
//! computation; its idle capacity is the cluster's cost minus the busy cost, and lands by the configured policy.

use crate::common::{generate, mlspend, run};
use std::collections::BTreeMap;
use std::path::Path;

/// An exact decimal as an integer of 10^-8 units (generated costs and hours have at most 8 decimals).
fn units(text: &str) -> i128 {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let v = whole.parse::<i128>().unwrap() * 100_000_000 + format!("{frac:0<8}")[..8].parse::<i128>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

/// 10^-8 units rounded half away from zero to cents, as text.
fn cents(v: i128) -> String {
    let c = (v.abs() + 500_000) / 1_000_000 * v.signum();
    format!("{}{}.{:02}", if c < 0 { "-" } else { "" }, c.abs() / 100, c.abs() % 100)
}

/// The generated cluster's rows, read straight from the CSV: untagged node hours and cost, and tagged hours per team.
struct Cluster {
    cost: i128,
    hours: i128,
    tagged_hours: BTreeMap<String, i128>,
}

fn cluster_of(export: &Path) -> Cluster {
    let mut reader = csv::Reader::from_path(export).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (id, qty, cost, tags) = (col("ResourceId"), col("Quantity"), col("CostInBillingCurrency"), col("Tags"));
    let mut c = Cluster { cost: 0, hours: 0, tagged_hours: BTreeMap::new() };
    for r in reader.records() {
        let r = r.unwrap();
        if !r[id].ends_with("/computes/gpu-cluster-a") {
            continue;
        }
        let team = ["vision", "nlp", "growth"].into_iter().find(|t| r[tags].contains(&format!("\"team\": \"{t}\"")));
        match team {
            Some(t) => *c.tagged_hours.entry(t.to_string()).or_default() += units(&r[qty]),
            None => {
                c.cost += units(&r[cost]);
                c.hours += units(&r[qty]);
            }
        }
    }
    c
}

/// The sample configuration with mlw-research split by usage, and `extra` keys added to it.
fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.toml")).unwrap();
    let text = sample
        .replace("exports = [\"sample\"]", "")
        .replace("split = \"proportional\"", &format!("split = \"usage\"\n{extra}"));
    let path = dir.join(format!("c{}.toml", extra.len()));
    std::fs::write(&path, text).unwrap();
    path
}

/// Each team's cost on lines of `allocation` (and reason) in a chargeback.csv, in cents.
fn sum_lines(path: &Path, allocation: &str, reason: &str) -> BTreeMap<String, String> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (team, alloc, why, cost) = (col("team"), col("allocation"), col("reason"), col("cost"));
    let mut out: BTreeMap<String, i128> = BTreeMap::new();
    for r in reader.records() {
        let r = r.unwrap();
        if r[alloc] == *allocation && r[why] == *reason {
            *out.entry(r[team].to_string()).or_default() += units(&r[cost]);
        }
    }
    out.into_iter().map(|(t, v)| (t, cents(v))).collect()
}

#[test]
fn a_shared_gpu_cluster_is_charged_by_busy_hours_and_idle_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("e-amortizedcost.csv");
    let usage = dir.path().join("aml-usage.csv");
    generate(
        &export,
        &["--rows", "6000", "--months", "1", "--export-type", "amortized", "--usage-file", usage.to_str().unwrap()],
    );
    let cluster = cluster_of(&export);
    assert!(cluster.cost > 0 && cluster.hours > 0, "the export has the cluster's node hours");
    // The usage file's busy hours per team, read straight from it.
    let mut busy: BTreeMap<String, i128> = BTreeMap::new();
    for line in std::fs::read_to_string(&usage).unwrap().lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!((cells[1], cells[3]), ("mlw-research", "gpu-cluster-a"));
        *busy.entry(cells[2].to_string()).or_default() += units(cells[4]);
    }
    let busy_total: i128 = busy.values().sum();
    assert!(busy_total < cluster.hours, "the teams were busy for part of the node hours");

    for (idle, owner_of_idle) in [("proportional", None), ("owner:nlp", Some("nlp"))] {
        let config = config(dir.path(), &format!("usage = \"{}\"\nidle = \"{idle}\"", usage.display()));
        let out = dir.path().join(format!("out-{}", idle.replace(':', "-")));
        let (stdout, stderr, code) =
            run(mlspend().args(["run", "--quiet", "--config"]).arg(&config).arg("--out").arg(&out).arg(&export));
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(stdout.contains("yes") && !stdout.contains("NO"), "{stdout}");
        let lines = out.join("2026-08/chargeback.csv");
        // Busy: the cluster's hourly cost times each team's busy hours, computed here in 10^-8 units.
        let busy_cost: i128 = cluster.cost * busy_total / cluster.hours;
        let expected: BTreeMap<String, String> =
            busy.iter().map(|(t, h)| (t.clone(), cents(cluster.cost * h / cluster.hours))).collect();
        let got = sum_lines(&lines, "shared-usage", "busy hours on gpu-cluster-a");
        assert_eq!(got, expected, "{idle}: busy shares");
        // Idle: the cluster's cost minus the busy cost, by the policy.
        let idle_cost = cluster.cost - busy_cost;
        let got = sum_lines(&lines, "shared-idle", "idle capacity of gpu-cluster-a");
        let expected: BTreeMap<String, String> = match owner_of_idle {
            Some(owner) => [(owner.to_string(), cents(idle_cost))].into(),
            None => busy.iter().map(|(t, h)| (t.clone(), cents(idle_cost * h / busy_total))).collect(),
        };
        assert_eq!(got, expected, "{idle}: idle shares");
        let summary = std::fs::read_to_string(out.join("2026-08/summary.json")).unwrap();
        assert!(summary.contains("\"compute\": \"gpu-cluster-a\""), "summary.json names the compute target");
    }

    // Without the usage file, the pool goes by the hours of team-tagged rows on the cluster's meter: 5 : 3 : 2 in the
    // generated export (other tagged compute, on other meters, does not count).
    let config = config(dir.path(), "usage_meter = [\"NC24ads\"]");
    let out = dir.path().join("out-tagged");
    let (stdout, stderr, code) =
        run(mlspend().args(["run", "--quiet", "--config"]).arg(&config).arg("--out").arg(&out).arg(&export));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let tagged: i128 = cluster.tagged_hours.values().sum();
    assert_eq!(cluster.tagged_hours["vision"] * 10, tagged * 5);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("2026-08/summary.json")).unwrap()).unwrap();
    let pool = summary["splits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["workspace"] == "mlw-research" && s["currency"] == "USD" && s["environment"] == "prod")
        .unwrap();
    assert_eq!(pool["method"], "usage");
    for share in pool["shares"].as_array().unwrap() {
        let team = share["team"].as_str().unwrap();
        assert_eq!(
            units(share["weight"].as_str().unwrap()),
            cluster.tagged_hours[team],
            "{team}'s weight: its tagged hours"
        );
        let pct = match team {
            "vision" => "50.0",
            "nlp" => "30.0",
            _ => "20.0",
        };
        assert_eq!(share["share_pct"], pct, "{team}");
    }
}

#[test]
fn usage_files_and_policies_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("u.csv");
    std::fs::write(&usage, "month,workspace,team,compute,hours\n2026-08,mlw-research,risk,c,1\n").unwrap();
    let config = config(dir.path(), &format!("usage = \"{}\"\nidle = \"owner:risk\"", usage.display()));
    let (_, stderr, code) = run(mlspend().args(["check", "--config"]).arg(&config).arg(dir.path()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 2: team `risk` is not one of mlw-research's teams"), "{stderr}");
    assert!(stderr.contains("`idle` names team `risk`, which is not in `teams`"), "{stderr}");
    std::fs::write(&usage, "month,workspace,team,compute,hours\n2026-08,mlw-research,nlp,c,-1\n").unwrap();
    let (_, stderr, _) = run(mlspend().args(["check", "--config"]).arg(&config).arg(dir.path()));
    assert!(stderr.contains("line 2: hours \"-1\" is not a number of 0 or more"), "{stderr}");
}
