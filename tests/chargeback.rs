//! `mlspend run` and `explain`: attribution rules, split methods, balancing to the cent, real samples, bad
//! configurations, and reproducible reports.

use crate::common::{check_json, files_under, generate, mlspend, real, run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Runs `mlspend run` into `out`; returns (stdout, stderr, exit code).
fn run_into(out: &Path, config: &Path, inputs: &[&Path], extra: &[&str]) -> (String, String, i32) {
    let mut cmd = mlspend();
    cmd.arg("run").arg("--config").arg(config).arg("--out").arg(out).args(extra).args(inputs);
    run(&mut cmd)
}

/// A copy of `attribution.toml` with the shared workspace's split replaced.
fn attribution_config(dir: &Path, split: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture("attribution.toml")).unwrap().replace("split = \"even\"", split);
    let p = dir.join("config.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const HEADER: &str =
    "billing_month,currency,team,project,workspace,environment,service_category,topology,allocation,reason,cost";

/// The chargeback of attribution-amortized.csv for a split of ws-shared, worked out by hand from the fixture:
/// - ws-team (rule a: its id, and a child id in another case): compute 10.00 with project tag p1 and env tag dev;
///   compute 5.005 and -0.50 without (4.505); kv1 (rule c, listed in `resources`, id in capitals) 1.25, other;
///   acr1 (rule d, group RG-Team) 0.745, storage.
/// - st1 (rule b: `AML-Workspace` tag) 2.50 storage to beta/proj-b, environment prod from the workspace.
/// - ws-shared compute: 6.00 tagged `Team: alpha` and 3.00 tagged `team: Beta` are direct; 4.00 tagged `TEAM: delta`
///   (not a member) and 9.00 untagged make a pool of 13.00, split `alpha`, `beta`, `gamma`.
/// - ws-ghost 7.77 and the registry 1.11 are unallocated ML spend; vm1's 100.00 is out of scope despite its team tag.
/// - The month's total is 149.88. Rounding floors every line, then gives the missing cents to the largest remainders
///   (the line listed first on ties): `ws_compute` and `ws_storage` are 4.505 and 0.745 rounded that way.
fn expected(method: &str, shares: [&str; 3], ws_compute: &str, ws_storage: &str) -> String {
    let [alpha, beta, gamma] = shares;
    let lines = [
        HEADER.to_string(),
        "2026-01,USD,alpha,,ws-shared,,compute,shared,direct,,6.00".into(),
        format!("2026-01,USD,alpha,,ws-shared,,compute,shared,{method},,{alpha}"),
        format!("2026-01,USD,alpha,,ws-team,,compute,team,direct,,{ws_compute}"),
        format!("2026-01,USD,alpha,,ws-team,,storage,team,direct,,{ws_storage}"),
        "2026-01,USD,alpha,,ws-team,,other,team,direct,,1.25".into(),
        "2026-01,USD,alpha,p1,ws-team,dev,compute,team,direct,,10.00".into(),
        "2026-01,USD,beta,,ws-shared,,compute,shared,direct,,3.00".into(),
        format!("2026-01,USD,beta,,ws-shared,,compute,shared,{method},,{beta}"),
        "2026-01,USD,beta,proj-b,ws-proj,prod,storage,project,direct,,2.50".into(),
        format!("2026-01,USD,gamma,,ws-shared,,compute,shared,{method},,{gamma}"),
        "2026-01,USD,(unallocated),,,,storage,,unallocated,untagged ML resource outside any workspace,1.11".into(),
        "2026-01,USD,(unallocated),,ws-ghost,,compute,,unallocated,unknown workspace ws-ghost,7.77".into(),
        "2026-01,USD,(out-of-scope),,,,compute,,out-of-scope,not Azure ML spend,100.00".into(),
    ];
    lines.join("\r\n") + "\r\n"
}

fn chargeback_of(split: &str) -> (String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = attribution_config(dir.path(), split);
    let out = dir.path().join("reports");
    let (o, e, code) = run_into(&out, &config, &[&fixture("attribution-amortized.csv")], &[]);
    assert_eq!(code, 0, "{o}{e}");
    let summary: Value = serde_json::from_str(&read(&out.join("2026-01/summary.json"))).unwrap();
    (read(&out.join("2026-01/chargeback.csv")), summary)
}

#[test]
fn every_rule_with_an_even_split() {
    // 13.00 / 3 = 4.333... each. Floors sum to 149.86; the two missing cents go to the largest remainders, 4.505's
    // and 0.745's (0.005 each), ahead of the shares' 0.00333: the shares show 4.33 each.
    let (csv, summary) = chargeback_of("split = \"even\"");
    assert_eq!(csv, expected("shared-even", ["4.33", "4.33", "4.33"], "4.51", "0.75"));
    let usd = &summary["currencies"][0];
    assert_eq!(usd["input_total"], "149.88");
    assert_eq!(usd["chargeback_total"], "149.88");
    // The rounded lines: direct 6.00 + 4.51 + 0.75 + 1.25 + 10.00 + 3.00 + 2.50, shared 3 x 4.33.
    assert_eq!(usd["direct"], "28.01");
    assert_eq!(usd["shared"], "12.99");
    assert_eq!(usd["unallocated"], "8.88");
    assert_eq!(usd["out_of_scope"], "100.00");
    assert_eq!(
        usd["rows"],
        serde_json::json!({"input": 13, "direct": 8, "shared_pool": 2, "unallocated": 2, "out_of_scope": 1, "unused_commitment": 0, "commitment_purchase": 0, "platform_pool": 0})
    );
    assert_eq!(usd["balanced"], true);
}

#[test]
fn proportional_split_follows_direct_spend() {
    // Direct spend in ws-shared: alpha 6.00, beta 3.00, gamma none: 13 * 6/9 = 8.666..., 13 * 3/9 = 4.333..., 0.
    // The two missing cents go to 8.666... (remainder 0.00667) and 4.505 (0.005, listed before 0.745).
    let (csv, summary) = chargeback_of("split = \"proportional\"");
    assert_eq!(csv, expected("shared-proportional", ["8.67", "4.33", "0.00"], "4.51", "0.74"));
    let shares = &summary["splits"][0]["shares"];
    assert_eq!(shares[0]["weight"], "6");
    assert_eq!(shares[2]["weight"], "0");
}

#[test]
fn fixed_split_uses_the_percentages() {
    let (csv, _) = chargeback_of("split = \"fixed\"\nshares = { alpha = 50, beta = 30, gamma = 20 }");
    // One cent missing: it goes to 4.505, listed before 0.745.
    assert_eq!(csv, expected("shared-fixed", ["6.50", "3.90", "2.60"], "4.51", "0.74"));
}

#[test]
fn proportional_split_without_direct_spend_falls_back_to_even_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = read(&fixture("attribution.toml"))
        .replace("teams = [\"alpha\", \"beta\", \"gamma\"]", "teams = [\"gamma\", \"epsilon\"]")
        .replace("split = \"even\"", "split = \"proportional\"");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, text).unwrap();
    let out = dir.path().join("r");
    let (_, e, code) = run_into(&out, &config, &[&fixture("attribution-amortized.csv")], &[]);
    assert_eq!(code, 0, "{e}");
    // No team tag names a member now, so all four ws-shared rows (6 + 4 + 9 + 3) are pool: 11.00 each.
    let csv = read(&out.join("2026-01/chargeback.csv"));
    assert!(csv.contains("2026-01,USD,epsilon,,ws-shared,,compute,shared,shared-proportional,,11.00\r\n"), "{csv}");
    assert!(csv.contains("2026-01,USD,gamma,,ws-shared,,compute,shared,shared-proportional,,11.00\r\n"), "{csv}");
    let summary: Value = serde_json::from_str(&read(&out.join("2026-01/summary.json"))).unwrap();
    let note = "no member of ws-shared had positive direct spend in 2026-01 USD: split evenly";
    assert_eq!(summary["splits"][0]["note"], note);
    assert!(summary["warnings"].as_array().unwrap().iter().any(|w| w == note));
}

#[test]
fn statements_hold_a_teams_lines_and_its_total() {
    let dir = tempfile::tempdir().unwrap();
    let config = attribution_config(dir.path(), "split = \"even\"");
    let out = dir.path().join("r");
    assert_eq!(run_into(&out, &config, &[&fixture("attribution-amortized.csv")], &[]).2, 0);
    let alpha = read(&out.join("2026-01/statements/alpha.csv"));
    // 6.00 + 4.33 + 4.51 + 0.75 + 1.25 + 10.00
    assert!(alpha.ends_with("2026-01,USD,alpha,,,,,,total,,26.84\r\n"), "{alpha}");
    assert_eq!(alpha.lines().count(), 1 + 6 + 1);
    let mut names: Vec<String> = std::fs::read_dir(out.join("2026-01/statements"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["alpha.csv", "alpha.html", "beta.csv", "beta.html", "gamma.csv", "gamma.html"]);
}

#[test]
fn explain_says_which_rule_and_why() {
    let mut cmd = mlspend();
    cmd.args(["explain", "--config"])
        .arg(fixture("attribution.toml"))
        .args(["--resource", "kv1"])
        .arg(fixture("attribution-amortized.csv"));
    let (out, err, code) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("workspace rule: (c) resources: KV1 is listed in workspace ws-team's resources"), "{out}");
    assert!(out.contains("owner:          team alpha: ws-team is a team workspace"), "{out}");
    let mut cmd = mlspend();
    cmd.args(["explain", "--config"])
        .arg(fixture("attribution.toml"))
        .args([
            "--resource",
            "/subscriptions/s1/resourceGroups/rg-s/providers/Microsoft.MachineLearningServices/workspaces/ws-shared",
        ])
        .arg(fixture("attribution-amortized.csv"));
    let (out, _, code) = run(&mut cmd);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "the shared pool of ws-shared: no team tag naming one of its teams (alpha, beta, gamma); split even"
        ),
        "{out}"
    );
    assert!(out.contains("team alpha: the row's team tag names a member of shared workspace ws-shared"), "{out}");
    let mut cmd = mlspend();
    cmd.args(["explain", "--config"])
        .arg(fixture("attribution.toml"))
        .args(["--resource", "vm1"])
        .arg(fixture("attribution-amortized.csv"));
    let (out, _, _) = run(&mut cmd);
    assert!(out.contains("(out-of-scope): not Azure ML spend and in no configured workspace"), "{out}");
    let mut cmd = mlspend();
    cmd.args(["explain", "--config"])
        .arg(fixture("attribution.toml"))
        .args(["--resource", "nothing-here"])
        .arg(fixture("attribution-amortized.csv"));
    let (_, err, code) = run(&mut cmd);
    assert_eq!(code, 2);
    assert!(err.contains("no row of the exports has resource \"nothing-here\""), "{err}");
}

#[test]
fn check_with_config_reports_coverage() {
    let mut cmd = mlspend();
    cmd.args(["check", "--json", "--config"])
        .arg(fixture("attribution.toml"))
        .arg(fixture("attribution-amortized.csv"));
    let (out, err, code) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let by_rule: BTreeMap<String, (u64, String)> = r["coverage"]["ml_by_rule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_string(),
                (x["rows"].as_u64().unwrap(), x["cost"].as_str().unwrap().to_string()),
            )
        })
        .collect();
    // ML rows: ws-team 3 (10 + 5.005 - 0.5), ws-shared 4 (22), ws-ghost and the registry unallocated.
    assert_eq!(by_rule["resource-id"], (7, "36.505".to_string()));
    assert_eq!(by_rule["none"], (2, "8.88".to_string()));
    let largest = &r["coverage"]["largest_unallocated"];
    assert_eq!(largest[0]["reason"], "unknown workspace ws-ghost");
    assert_eq!(largest[0]["cost"], "7.77");
}

/// Sums a CSV cost column exactly, in 10^-`scale` units, without mlspend: (month from `date`, currency) -> units.
fn independent_totals(
    files: &[PathBuf],
    date: &str,
    currency: &str,
    cost: &str,
    scale: u32,
) -> BTreeMap<(String, String), i128> {
    let mut totals = BTreeMap::new();
    for f in files {
        let mut r = csv::Reader::from_path(f).unwrap();
        let h = r.headers().unwrap().clone();
        let col = |name: &str| h.iter().position(|x| x == name).unwrap();
        let (d, c, k) = (col(date), col(currency), col(cost));
        for rec in r.records() {
            let rec = rec.unwrap();
            let day = &rec[d];
            // MM/dd/yyyy or yyyy-MM-ddT...
            let month =
                if day.contains('/') { format!("{}-{}", &day[6..10], &day[0..2]) } else { day[..7].to_string() };
            let text = &rec[k];
            let (neg, digits) = text.strip_prefix('-').map(|t| (true, t)).unwrap_or((false, text));
            let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
            assert!(frac.len() as u32 <= scale, "{text}");
            let units = format!("{whole}{frac:0<width$}", width = scale as usize).parse::<i128>().unwrap();
            *totals.entry((month, rec[c].to_string())).or_insert(0) += if neg { -units } else { units };
        }
    }
    totals
}

/// Rounds 10^-scale units to cents, half away from zero.
fn to_cents(units: i128, scale: u32) -> i128 {
    let unit = 10i128.pow(scale - 2);
    let q = (units.abs() + unit / 2) / unit;
    if units < 0 {
        -q
    } else {
        q
    }
}

/// Sums `cost` of each chargeback.csv under `out` per (month, currency), in cents.
fn chargeback_sums(out: &Path) -> BTreeMap<(String, String), i128> {
    let mut sums = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap() {
        let p = e.unwrap().path().join("chargeback.csv");
        if !p.is_file() {
            continue;
        }
        let mut r = csv::Reader::from_path(&p).unwrap();
        for rec in r.records() {
            let rec = rec.unwrap();
            let cents: i128 = rec[10].replace('.', "").parse().unwrap();
            *sums.entry((rec[0].to_string(), rec[1].to_string())).or_insert(0) += cents;
        }
    }
    sums
}

fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(csv_files(&p));
        } else if p.extension().is_some_and(|x| x == "csv") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn bundled_sample_balances_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (o, e, code) = run_into(&out, &root.join("data/sample.toml"), &[], &[]);
    assert_eq!(code, 0, "{o}{e}");
    // The generator writes costs with 8 decimals; summed here as integers of 10^-8.
    let files = csv_files(&root.join("data/sample"));
    assert_eq!(files.len(), 3);
    let expected: BTreeMap<_, _> =
        independent_totals(&files, "Date", "BillingCurrencyCode", "CostInBillingCurrency", 8)
            .into_iter()
            .map(|(k, v)| (k, to_cents(v, 8)))
            .collect();
    assert_eq!(expected.len(), 6, "3 months x 2 currencies");
    assert_eq!(chargeback_sums(&out), expected);
}

#[test]
fn a_generated_focus_export_balances_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("focus");
    generate(
        &export,
        &["--manifest", "--layout", "focus", "--seed", "9", "--rows", "5000", "--months", "2", "--start", "2025-12"],
    );
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.toml");
    for (basis, column) in [("amortized", "EffectiveCost"), ("actual", "BilledCost")] {
        let out = dir.path().join(basis);
        let (o, e, code) = run_into(&out, &config, &[&export], &["--basis", basis]);
        assert_eq!(code, 0, "{o}{e}");
        let expected: BTreeMap<_, _> =
            independent_totals(&csv_files(&export), "ChargePeriodStart", "BillingCurrency", column, 8)
                .into_iter()
                .map(|(k, v)| (k, to_cents(v, 8)))
                .collect();
        assert_eq!(expected.keys().map(|k| k.0.as_str()).collect::<std::collections::BTreeSet<_>>().len(), 2);
        assert_eq!(chargeback_sums(&out), expected, "{basis}");
    }
}

#[test]
fn real_samples_land_on_their_configured_owners() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ea");
    let (o, e, code) = run_into(&out, &fixture("real.toml"), &[&real("EA_AmortizedCost_Small.csv")], &[]);
    assert_eq!(code, 0, "{o}{e}");
    // Worked out outside mlspend with Python's decimal module: rows grouped by owner (the workspace in the resource
    // id) and service category (from MeterCategory, or FOCUS ServiceCategory), summed exactly, floored to cents, and
    // the missing cents given to the largest remainders (earlier line first on ties). EA total
    // 16.296932136636644627485419 -> 16.30; zfinopswkspace's 0.025 (network) and the 4 zmltestplayground rows
    // (0.00006755 storage, 0.0050000264029949903488190 network) land on their owners, the rest is out of scope.
    assert_eq!(
        read(&out.join("2023-09/chargeback.csv")),
        [
            HEADER,
            // environment from the row's own `env: prod` tag
            "2023-09,USD,finops,toolkit,zfinopswkspace,prod,network,project,direct,,0.02",
            "2023-09,USD,playground,,zmltestplayground,,storage,team,direct,,0.00",
            "2023-09,USD,playground,,zmltestplayground,,network,team,direct,,0.01",
            "2023-09,USD,(out-of-scope),,,,compute,,out-of-scope,not Azure ML spend,3.14",
            "2023-09,USD,(out-of-scope),,,,storage,,out-of-scope,not Azure ML spend,4.99",
            "2023-09,USD,(out-of-scope),,,,network,,out-of-scope,not Azure ML spend,0.09",
            "2023-09,USD,(out-of-scope),,,,other,,out-of-scope,not Azure ML spend,8.05",
            ""
        ]
        .join("\r\n")
    );

    let out = dir.path().join("focus");
    let (o, e, code) = run_into(&out, &fixture("real.toml"), &[&real("focus_sample.csv")], &[]);
    assert_eq!(code, 0, "{o}{e}");
    // EffectiveCost, the same way, of the 51 Microsoft rows only (Python, Decimal), each row's category by hand from
    // what it bought: FOCUS gives Azure ML's rows the ServiceCategory "AI and Machine Learning", so their
    // ChargeDescription says what they are (a disk, a VM, a load balancer, bandwidth, IP addresses); the other rows
    // by ChargeDescription where it names a category, else their ServiceCategory. The 9 zmltestplayground rows: compute
    // -0.149, storage -0.01288992, network 0.00999235822; out of scope: compute 1.58088, storage 0.1765636355, network
    // 0.0000003702, other (Azure Database for MySQL) 0.37096774194; the Azure total 1.97651418586 -> 1.98, the cents
    // by largest remainder. The 942 AWS rows (13.00000000000) and 7 Oracle rows (0) are another cloud's bill: beside
    // it, never in it.
    assert_eq!(
        read(&out.join("2024-09/chargeback.csv")),
        [
            HEADER,
            "2024-09,USD,playground,,zmltestplayground,,compute,team,direct,,-0.15",
            "2024-09,USD,playground,,zmltestplayground,,storage,team,direct,,-0.01",
            "2024-09,USD,playground,,zmltestplayground,,network,team,direct,,0.01",
            "2024-09,USD,(out-of-scope),,,,compute,,out-of-scope,not Azure ML spend,1.58",
            "2024-09,USD,(out-of-scope),,,,storage,,out-of-scope,not Azure ML spend,0.18",
            "2024-09,USD,(out-of-scope),,,,network,,out-of-scope,not Azure ML spend,0.00",
            "2024-09,USD,(out-of-scope),,,,other,,out-of-scope,not Azure ML spend,0.37",
            ""
        ]
        .join("\r\n")
    );
    let summary: Value = serde_json::from_str(&read(&out.join("2024-09/summary.json"))).unwrap();
    let usd = &summary["currencies"][0];
    assert_eq!((usd["input_total"].as_str(), usd["input_total_exact"].as_str()), (Some("1.98"), Some("1.97651418586")));
    assert_eq!(usd["rows"]["input"], 51);
    let providers: Vec<(String, u64, String)> = summary["other_providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["provider"].as_str().unwrap().to_string(),
                p["rows"].as_u64().unwrap(),
                p["total"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Oracle's seventh row is billed in 2024-10 (its BillingPeriodStart), so it is in that month's pack.
    assert_eq!(
        providers,
        [("AWS".to_string(), 942, "13.00".to_string()), ("Oracle".to_string(), 6, "0.00".to_string())]
    );
    assert!(o.contains("not in the Azure bill: 942 rows of AWS, 13.00 USD"), "{o}");
    let page = read(&out.join("2024-09/report.html"));
    assert!(page.contains("Other cloud providers") && page.contains("AWS"), "the page shows the other clouds");
}

#[test]
fn same_inputs_give_byte_identical_reports() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        assert_eq!(run_into(out, &root.join("data/sample.toml"), &[], &[]).2, 0);
    }
    let files_a = files_under(&a);
    assert!(files_a.len() >= 3 * 6, "{files_a:?}");
    assert_eq!(files_a, files_under(&b));
    for rel in files_a {
        assert_eq!(std::fs::read(a.join(&rel)).unwrap(), std::fs::read(b.join(&rel)).unwrap(), "{}", rel.display());
    }
}

#[test]
fn month_filter_writes_only_that_month() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (o, _, code) = run_into(&out, &root.join("data/sample.toml"), &[], &["--month", "2026-09"]);
    assert_eq!(code, 0);
    assert!(o.contains("4000 rows of other months left out by --month"), "{o}");
    let mut months: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    months.sort();
    assert_eq!(months, ["2026-09", "ledger"]);
    let partitions: Vec<String> = std::fs::read_dir(out.join("ledger/chargeback"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(partitions, ["billing_month=2026-09"]);
    let (_, e, code) = run_into(&out, &root.join("data/sample.toml"), &[], &["--month", "2020-01"]);
    assert_eq!(code, 2);
    assert!(e.contains("--month 2020-01: the exports hold no rows of that month"), "{e}");
}

// ---- bad configurations and inputs ----

fn bad_config(text: &str) -> (String, i32) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, text).unwrap();
    let out = dir.path().join("r");
    let (_, err, code) = run_into(&out, &config, &[&fixture("attribution-amortized.csv")], &[]);
    assert!(!out.exists(), "a failed run leaves no reports");
    (err, code)
}

#[test]
fn bad_configurations_are_reported_all_at_once() {
    let (err, code) = bad_config(
        r#"
basis = "amortized"
rounding = 2
[[workspace]]
name = "ws-a"
topology = "team"
team = "alpha"
[[workspace]]
name = "WS-A"
topology = "team"
team = "beta"
[[workspace]]
name = "ws-s"
topology = "shared"
split = "fixed"
shares = { alpha = 60, omega = 30 }
[[workspace]]
name = "ws-t"
topology = "shared"
teams = ["alpha", "beta"]
split = "fixed"
shares = { alpha = 60, beta = 30 }
"#,
    );
    assert_eq!(code, 2);
    for needle in [
        "bad.toml: 7 problems in the configuration:",
        "unknown key `rounding` (allowed here: basis, month, closed_through, ledger_rows, tags, decimals, minor_units, exports, workspace, divisions, compare, budgets, currency, commitment, pool)",
        "workspace[2] (WS-A): workspace `WS-A` is declared twice (also workspace[1])",
        "workspace[3] (ws-s): a shared workspace needs `teams`, the teams who share it",
        "workspace[3] (ws-s): `shares` names team `alpha`, which is not in `teams`",
        "workspace[3] (ws-s): `shares` names team `omega`, which is not in `teams`",
        "workspace[4] (ws-t): `shares` sum to 90, not 100",
    ] {
        assert!(err.contains(needle), "{needle}\n{err}");
    }
}

#[test]
fn each_bad_configuration_alone() {
    let cases = [
        ("basis = \"monthly\"\n", "unknown variant `monthly`, expected `actual` or `amortized`"),
        ("[[workspace]]\nname = \"w\"\ntopology = \"team\"\n", "workspace[1] (w): a team workspace needs `team`"),
        ("[[workspace]]\nname = \"w\"\ntopology = \"project\"\nteam = \"t\"\n", "a project workspace needs `project`"),
        ("[[workspace]]\nname = \"w\"\ntopology = \"division\"\nteam = \"t\"\n", "unknown variant `division`"),
        (
            "[[workspace]]\nname = \"w\"\ntopology = \"team\"\nteam = \"t\"\nhub = \"h\"\n",
            "workspace[1] (w): `hub` applies to project workspaces, the hub's projects",
        ),
        (
            "[[workspace]]\nname = \"w\"\ntopology = \"project\"\nteam = \"t\"\nproject = \"p\"\nhub = \"h\"\n",
            "workspace `w`: `hub` names `h`, which is not a configured workspace with topology = \"hub\"",
        ),
        ("[compare]\nrequire = [\"cheap\"]\n", "compare.require: `cheap` is not a constraint"),
        ("[compare]\nconsolidation = 2\n", "compare.consolidation: give a fraction from 0 to 1"),
        ("[[workspace]]\nname = \"w\"\ntopology = \"shared\"\nteams = [\"a\"]\nshares = { a = 100 }\n", "`shares` needs split = \"fixed\""),
        ("[[workspace]]\nname = \"w\"\ntopology = \"shared\"\nteams = [\"a\", \"b\"]\nsplit = \"fixed\"\nshares = { a = 100 }\n", "team `b` has no entry in `shares`"),
        ("[[workspace]]\nname = \"w\"\ntopology = \"team\"\nteam = \"t\"\nresource_groups = [\"rg\"]\n[[workspace]]\nname = \"v\"\ntopology = \"team\"\nteam = \"u\"\nresource_groups = [\"RG\"]\n", "resource group `RG` is also claimed by `w`"),
        ("[tags]\nteem = [\"team\"]\n[[workspace]]\nname = \"w\"\ntopology = \"team\"\nteam = \"t\"\n", "unknown key `tags.teem` (allowed here: workspace, team, project, environment)"),
        ("basis = \n", "not valid TOML"),
        ("basis = \"actual\"\n", "no [[workspace]] is configured"),
        (
            "[[workspace]]\nname = \"w\"\ntopology = \"shared\"\nteams = [\"a\", \"(core)\"]\n",
            "team `(core)`: a team name can't start with `(`, which marks `(unallocated)` and `(out-of-scope)` lines",
        ),
        (
            "[[workspace]]\nname = \"w\"\ntopology = \"team\"\nteam = \"\u{200b}(unallocated)\"\n",
            "a team name can't start with `(`",
        ),
    ];
    for (text, needle) in cases {
        let (err, code) = bad_config(text);
        assert_eq!(code, 2, "{text}");
        assert!(err.contains(needle), "{needle}\n{err}");
    }
}

#[test]
fn a_missing_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, err, code) =
        run_into(&dir.path().join("r"), &dir.path().join("none.toml"), &[&fixture("attribution-amortized.csv")], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("none.toml: configuration file not found"), "{err}");
}

#[test]
fn bad_inputs_fail_the_run_and_leave_no_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    // Unknown layout.
    let bad = dir.path().join("x.csv");
    std::fs::write(&bad, "a,b\n1,2\n").unwrap();
    let (_, err, code) = run_into(&out, &fixture("attribution.toml"), &[&bad], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown export layout"), "{err}");
    // Missing file.
    let (_, err, code) = run_into(&out, &fixture("attribution.toml"), &[&dir.path().join("gone.csv")], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("gone.csv: no such file or folder"), "{err}");
    assert!(!out.exists());
    // Actual-cost file under an amortized run.
    let (_, err, code) = run_into(&out, &fixture("real.toml"), &[&real("EA_ActualCost_Small.csv")], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the run uses amortized cost but this file holds actual cost only")
            && err.contains("--basis actual"),
        "{err}"
    );
    assert!(!out.exists());
    // ...which --basis actual accepts.
    assert_eq!(run_into(&out, &fixture("real.toml"), &[&real("EA_ActualCost_Small.csv")], &["--basis", "actual"]).2, 0);
}

#[test]
fn rejected_rows_are_reported_and_strict_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = read(&fixture("attribution-amortized.csv")).replacen("01/04/2026,2.50", "01/04/2026,two fifty", 1);
    let input = dir.path().join("amortized.csv");
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("r");
    let (o, _, code) = run_into(&out, &fixture("attribution.toml"), &[&input], &[]);
    assert_eq!(code, 0);
    assert!(o.contains("1 rows rejected"), "{o}");
    let rejects = read(&out.join("2026-01/rejects.csv"));
    assert!(rejects.ends_with("amortized.csv,4,Cost,\"not a number: \"\"two fifty\"\"\"\r\n"), "{rejects}");
    let summary: Value = serde_json::from_str(&read(&out.join("2026-01/summary.json"))).unwrap();
    assert_eq!(summary["rejected_rows"], 1);
    assert_eq!(summary["currencies"][0]["input_total"], "147.38", "149.88 without the rejected 2.50");
    let strict_out = dir.path().join("strict");
    let (_, err, code) = run_into(&strict_out, &fixture("attribution.toml"), &[&input], &["--strict"]);
    assert_eq!(code, 1);
    assert!(err.contains("1 row was rejected under --strict"), "{err}");
    assert!(!strict_out.exists());
}

#[test]
fn a_failed_run_leaves_the_previous_reports_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    assert_eq!(run_into(&out, &fixture("attribution.toml"), &[&fixture("attribution-amortized.csv")], &[]).2, 0);
    let before = read(&out.join("2026-01/chargeback.csv"));
    // One run fails before it stages anything (a missing file), one after it has locked OUT and staged its pack (a
    // cost beyond the bound, found while reading): each leaves the previous pack, and nothing else, in OUT or beside.
    let overflow = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/overflow-amortized.csv");
    for input in [dir.path().join("missing.csv"), overflow] {
        let (_, e, code) = run_into(&out, &fixture("attribution.toml"), &[&input], &[]);
        assert_eq!(code, 1, "{e}");
        assert_eq!(read(&out.join("2026-01/chargeback.csv")), before);
        let mut leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
        leftovers.sort();
        assert_eq!(leftovers, ["2026-01", "ledger"]);
        let beside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(beside, ["r"]);
    }
}

#[test]
fn rows_moved_by_azure_cost_allocation_rules_count_once_where_they_now_lie() {
    // A platform cost of 10.00 in an unconfigured resource group, and Azure's allocation rule moving 4.00 of it to
    // ws-team's resource group: -4.00 on the source, +4.00 on the target, both named by CostAllocationRuleName.
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("rules.csv");
    let vm =
        |rg: &str| format!("/subscriptions/s1/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/vm1");
    std::fs::write(
        &export,
        format!(
            "Date,Cost,BillingCurrency,ResourceId,ResourceName,ResourceGroup,ConsumedService,MeterCategory,Tags,CostAllocationRuleName\n\
             01/03/2026,10.00,USD,{p},vm1,rg-platform,Microsoft.Compute,Virtual Machines,,\n\
             01/03/2026,-4.00,USD,{p},vm1,rg-platform,Microsoft.Compute,Virtual Machines,,split-platform\n\
             01/03/2026,4.00,USD,{t},vm1,rg-team,Microsoft.Compute,Virtual Machines,,split-platform\n",
            p = vm("rg-platform"),
            t = vm("rg-team")
        ),
    )
    .unwrap();
    let r = check_json(&[&export]);
    let rules = &r["inputs"][0]["allocation_rules"];
    assert_eq!((rules[0]["rule"].as_str(), rules[0]["rows"].as_u64()), (Some("split-platform"), Some(2)));
    let nets = |r: &Value| {
        r["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("do not net to zero"))
    };
    assert!(!nets(&r), "both sides are there: they net to zero");
    let out = dir.path().join("r");
    let (o, e, code) = run_into(&out, &fixture("attribution.toml"), &[&export], &["--export-type", "amortized"]);
    assert_eq!(code, 0, "{o}{e}");
    // Read once, nothing doubled: 3 rows, 10.00 in; alpha (ws-team by its resource group) 4.00, out of scope 6.00.
    let csv = read(&out.join("2026-01/chargeback.csv"));
    assert!(csv.contains("2026-01,USD,alpha,,ws-team,,compute,team,direct,,4.00\r\n"), "{csv}");
    assert!(csv.contains("2026-01,USD,(out-of-scope),,,,compute,,out-of-scope,not Azure ML spend,6.00\r\n"), "{csv}");
    let summary: Value = serde_json::from_str(&read(&out.join("2026-01/summary.json"))).unwrap();
    assert_eq!(
        (summary["currencies"][0]["input_total"].as_str(), summary["currencies"][0]["rows"]["input"].as_u64()),
        (Some("10.00"), Some(3))
    );
    // One side alone (the target): check says the rule doesn't net to zero.
    let half = dir.path().join("half.csv");
    let text = read(&export);
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&half, format!("{}\n{}\n", lines[0], lines[3])).unwrap();
    let r = check_json(&[&half]);
    assert!(nets(&r), "{r}");
}
