//! Shared costs the way ML teams use them. A generated export's shared GPU cluster, whose teams' busy hours a usage
//! file gives (and whose tagged job hours come in known proportions), is charged by hours to the cent of an
//! independent computation; its idle capacity is the cluster's cost minus the busy cost, and lands by the configured
//! policy. Endpoints and compute targets named in `owners` go to their owner, and platform pools outside any
//! workspace are split and shown; the books balance.

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
    // (the sample's own usage file and idle policy give way to the test's)
    let text: Vec<String> = crate::common::sample_config()
        .replace("exports = [\"sample\"]", "")
        .lines()
        .filter(|l| !l.starts_with("usage = ") && !l.starts_with("idle = "))
        .map(|l| if l.starts_with("split = \"usage\"") { format!("split = \"usage\"\n{extra}") } else { l.to_string() })
        .collect();
    let text = text.join("\n");
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

#[test]
fn owned_endpoints_go_to_their_owner_and_platform_pools_are_split() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        r#"
[[workspace]]
name = "mlw-a"
topology = "team"
team = "alpha"
resource_groups = ["rg-a"]

[[workspace]]
name = "mlw-s"
topology = "shared"
teams = ["alpha", "gamma"]
split = "even"
resource_groups = ["rg-s"]
owners = { "ep-fraud-scoring" = "gamma", "GPU-A" = "alpha" }

[[pool]]
name = "hub-network"
resource_groups = ["rg-hub"]
tags = { cost-pool = "ml" }
split = "fixed"
shares = { alpha = 75, gamma = 25 }

[[pool]]
name = "registry"
resources = ["mlreg-shared"]
split = "proportional"
"#,
    )
    .unwrap();
    let ml = "Microsoft.MachineLearningServices";
    let id = |rg: &str, rest: &str| format!("/subscriptions/s1/resourceGroups/{rg}/providers/{rest}");
    let rows = [
        // An endpoint of the shared workspace, tagged as Azure ML tags it: gamma's.
        (
            "30.00",
            id("rg-s", &format!("{ml}/workspaces/mlw-s/onlineEndpoints/ep-fraud-scoring")),
            ml,
            r#"{"azuremlendpoint": "ep-fraud-scoring"}"#,
        ),
        // A deployment's row naming the endpoint by tag only.
        (
            "5.00",
            id("rg-s", &format!("{ml}/workspaces/mlw-s")),
            ml,
            r#"{"azuremlendpoint": "ep-fraud-scoring", "azuremldeployment": "blue"}"#,
        ),
        // A compute target named in owners: alpha's.
        ("40.00", id("rg-s", &format!("{ml}/workspaces/mlw-s/computes/gpu-a")), ml, "GPU"),
        // The rest of the shared workspace: the pool, split evenly.
        ("10.00", id("rg-s", &format!("{ml}/workspaces/mlw-s")), ml, ""),
        // alpha's own workspace: its ML spend, the registry pool's only weight.
        ("100.00", id("rg-a", &format!("{ml}/workspaces/mlw-a")), ml, "CPU"),
        // The hub's firewall (not ML, no workspace) and a DNS zone tagged into the same pool: 75 / 25.
        ("16.00", id("rg-hub", "Microsoft.Network/azureFirewalls/fw-hub"), "Microsoft.Network", ""),
        ("4.00", id("rg-dns", "Microsoft.Network/privateDnsZones/zone"), "Microsoft.Network", r#"{"cost-pool": "ml"}"#),
        // The registry, outside any workspace: proportional to ML spend (alpha 100 + 40 + 5, gamma 35 + 5).
        ("18.50", id("rg-common", &format!("{ml}/registries/mlreg-shared")), ml, ""),
    ];
    // Quantities: alpha's workspace 10 hours on a CPU meter; the GPU cluster 4 units of `10 Hours` on a GPU meter.
    let mut csv = String::from(
        "Date,Cost,BillingCurrency,ResourceId,ConsumedService,MeterCategory,MeterName,Quantity,UnitOfMeasure,Tags\n",
    );
    for (cost, rid, service, tags) in rows {
        let (meter, qty, unit, tags) = match tags {
            "GPU" => ("NC24ads A100 v4", "4", "10 Hours", ""),
            "CPU" => ("D4s v3", "10", "1 Hour", ""),
            t => ("", "", "", t),
        };
        csv += &format!(
            "09/03/2026,{cost},USD,{rid},{service},Virtual Machines,{meter},{qty},{unit},\"{}\"\n",
            tags.replace('"', "\"\"")
        );
    }
    let export = dir.path().join("e.csv");
    std::fs::write(&export, csv).unwrap();
    let out = dir.path().join("out");
    let (stdout, stderr, code) = run(mlspend()
        .args(["run", "--quiet", "--export-type", "amortized", "--format", "csv,json", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .arg(&export));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("platform") && stdout.contains("yes"), "{stdout}");
    let lines = out.join("2026-09/chargeback.csv");
    let direct = sum_lines(&lines, "direct", "");
    assert_eq!(direct["gamma"], "35.00", "the endpoint's two rows");
    assert_eq!(direct["alpha"], "140.00", "its workspace and the owned compute target");
    assert_eq!(sum_lines(&lines, "shared-even", "")["gamma"], "5.00");
    let hub = sum_lines(&lines, "platform-fixed", "");
    assert_eq!((hub["alpha"].as_str(), hub["gamma"].as_str()), ("15.00", "5.00"));
    // The registry by ML spend: alpha 145, gamma 40 (direct and pool shares) of 185.
    let registry = sum_lines(&lines, "platform-proportional", "");
    assert_eq!((registry["alpha"].as_str(), registry["gamma"].as_str()), ("14.50", "4.00"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("2026-09/summary.json")).unwrap()).unwrap();
    let usd = &summary["currencies"][0];
    assert_eq!((usd["platform_pools"].as_str(), usd["balanced"].as_bool()), (Some("38.50"), Some(true)));
    assert_eq!(usd["rows"]["platform_pool"], 3);
    // Unit costs: alpha's 10 CPU hours for 100.00 in mlw-a, 40 GPU hours for 40.00 in mlw-s.
    let units: Vec<(String, String, String, String, String)> = summary["unit_costs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let s = |k: &str| u[k].as_str().unwrap_or("-").to_string();
            (s("workspace"), s("hours"), s("cost_per_hour"), s("gpu_hours"), s("cost_per_gpu_hour"))
        })
        .collect();
    let expected = [("mlw-a", "10", "10", "0", "-"), ("mlw-s", "40", "1", "40", "1")];
    let expected: Vec<(String, String, String, String, String)> = expected
        .iter()
        .map(|(a, b, c, d, e)| (a.to_string(), b.to_string(), c.to_string(), d.to_string(), e.to_string()))
        .collect();
    assert_eq!(units, expected);
    let statement = std::fs::read_to_string(out.join("2026-09/statements/alpha.html")).unwrap();
    assert!(statement.contains("id=\"unit-costs\""), "alpha's statement shows its unit costs");
    let report = std::fs::read_to_string(out.join("2026-09/report.html")).unwrap();
    assert!(report.contains("platform pool hub-network") && report.contains("platform pool registry"));
    let allocated = std::fs::read_to_string(out.join("2026-09/allocated.jsonl")).unwrap();
    let firewall: serde_json::Value = allocated
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["x_SourceLine"] == 7)
        .unwrap();
    assert_eq!(firewall["x_OwnerRule"], "platform-pool");
    assert_eq!(firewall["x_Workspace"], "hub-network");
    assert_eq!(firewall["x_SplitShares"], "alpha=0.75;gamma=0.25");
    let endpoint: serde_json::Value = allocated
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["x_SourceLine"] == 2)
        .unwrap();
    assert_eq!(endpoint["x_OwnerRule"], "shared-owner");
}

/// `tests/fixtures/shared-costs/`: a compute target billed in two environments, and tagged hours netting negative.
fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shared-costs").join(name)
}

#[test]
fn busy_hours_are_the_targets_however_its_rows_fall_and_negative_hours_weigh_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // gpu1 billed 100 node hours for 300.00, half its rows tagged env=prod and half env=dev; the usage file says a
    // was busy 30 hours and b 20: a pays 90.00 and b 60.00 of busy hours, c (the idle owner) the other 150.00.
    let out = dir.path().join("env");
    let (stdout, stderr, code) = run(mlspend()
        .args(["run", "--quiet", "--config"])
        .arg(fixture("idle-by-environment.toml"))
        .arg("--out")
        .arg(&out)
        .arg(fixture("cluster-in-two-environments.csv")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines = out.join("2026-09/chargeback.csv");
    let busy = sum_lines(&lines, "shared-usage", "busy hours on gpu1");
    assert_eq!((busy["a"].as_str(), busy["b"].as_str()), ("90.00", "60.00"));
    assert_eq!(sum_lines(&lines, "shared-idle", "idle capacity of gpu1")["c"], "150.00");
    // Without a usage file: a's tagged hours net to -5 (a reversal) and weigh nothing; b's 10 take the pool.
    let out = dir.path().join("negative");
    let (stdout, stderr, code) = run(mlspend()
        .args(["run", "--quiet", "--config"])
        .arg(fixture("tagged.toml"))
        .arg("--out")
        .arg(&out)
        .arg(fixture("negative-hours.csv")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let shares = sum_lines(&out.join("2026-09/chargeback.csv"), "shared-usage", "");
    assert_eq!(shares["b"], "100.00");
    assert!(shares.get("a").is_none_or(|a| a == "0.00"), "{shares:?}");
}

#[test]
fn platform_pool_and_owner_mistakes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        r#"
[[workspace]]
name = "mlw-s"
topology = "shared"
teams = ["a", "b"]
owners = { "EP1" = "a", "ep1" = "b" }

[[pool]]
name = "(unallocated)"
resource_groups = ["rg-hub"]
teams = ["a", "b", "A"]
"#,
    )
    .unwrap();
    let (_, stderr, code) = run(mlspend().args(["check", "--config"]).arg(&config).arg(dir.path()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`owners` names `ep1` twice") || stderr.contains("`owners` names `EP1` twice"), "{stderr}");
    assert!(stderr.contains("a pool's name can't start with `(`"), "{stderr}");
    assert!(stderr.contains("team `A` is listed twice in `teams`"), "{stderr}");
}

#[test]
fn usage_keys_that_would_do_nothing_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let usage = crate::common::sample_config();
    // usage_meter beside a usage file, and idle without one.
    for (extra, expected) in [
        ("usage = \"aml-usage.csv\"", "`usage_meter` picks the team-tagged rows"),
        ("idle = \"pool\"", "`idle` applies to compute targets whose busy hours a usage file gives"),
    ] {
        let text: Vec<String> = usage
            .lines()
            .filter(|l| !l.starts_with("usage = ") && !l.starts_with("idle = "))
            .map(|l| {
                if l.starts_with("split = \"usage\"") {
                    format!("split = \"usage\"\nusage_meter = [\"NC\"]\n{extra}")
                } else {
                    l.replace("exports = [\"sample\"]", "")
                }
            })
            .collect();
        let config = dir.path().join("c.toml");
        let text = text.join("\n").replace(
            "usage = \"aml-usage.csv\"",
            &format!("usage = \"{}\"", Path::new(env!("CARGO_MANIFEST_DIR")).join("data/aml-usage.csv").display()),
        );
        std::fs::write(&config, text).unwrap();
        let (_, stderr, code) = run(mlspend().args(["check", "--config"]).arg(&config).arg(dir.path()));
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}
