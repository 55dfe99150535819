//! `mlspend compare` and the charts: the model's invariants on the bundled sample, workspace counts from the
//! configuration, chart contents, and the committed chart SVGs being current.

use crate::common::{mlspend, run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// topology.csv rows keyed by (currency, topology), each a map of column -> value.
fn topology(path: &Path) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let m: BTreeMap<String, String> = header.iter().cloned().zip(rec.iter().map(String::from)).collect();
            ((m["currency"].clone(), m["topology"].clone()), m)
        })
        .collect()
}

fn compare(config: &Path, out: &Path, extra: &[&str]) -> String {
    let mut cmd = mlspend();
    cmd.arg("compare").arg("--config").arg(config).arg("--out").arg(out).args(extra);
    let (o, e, code) = run(&mut cmd);
    assert_eq!(code, 0, "{o}{e}");
    o
}

/// The attributed (direct + shared) total of a month and currency, from chargeback.csv.
fn attributed_total(chargeback: &Path, currency: &str) -> i128 {
    let mut r = csv::Reader::from_path(chargeback).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[1] == currency && (&x[8] == "direct" || x[8].starts_with("shared-")))
        .map(|x| x[10].replace('.', "").parse::<i128>().unwrap())
        .sum()
}

fn cents(text: &str) -> i128 {
    text.replace('.', "").parse().unwrap()
}

/// The cost part columns of topology.csv.
pub const PARTS: [&str; 9] = [
    "standing",
    "monitoring_standing",
    "monitoring_ingestion",
    "network",
    "instances",
    "cluster_idle",
    "data_copies",
    "replication",
    "egress",
];

#[test]
fn compare_on_the_bundled_sample() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let printed = compare(&root().join("data/sample.toml"), &out, &[]);
    assert!(printed.contains("2026-08 USD (amortized cost)"), "{printed}");
    // The recommendation names the constraint the configuration assumes.
    assert!(printed.contains("Cheapest meeting team-isolation: "), "{printed}");
    // And says whether it rests on what no bill shows.
    let sensitivity = printed.matches("note: the recommendation holds for any consolidation and copy_fraction").count()
        + printed.matches("note: the recommendation rests on the assumptions: with ").count();
    assert_eq!(sensitivity, printed.matches("Cheapest meeting").count(), "{printed}");
    // The bundled sample's idle is measured: what team isolation costs depends on the consolidation assumed.
    assert!(printed.contains("a constraint's cost a month ranges: team-isolation +"), "{printed}");
    // compare writes only topology.csv, constraints.csv and the topology charts.
    for month in ["2026-08", "2026-09", "2026-10"] {
        let m = out.join(month);
        let mut names: Vec<String> =
            std::fs::read_dir(&m).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["charts", "constraints.csv", "topology.csv"]);
        let t = topology(&m.join("topology.csv"));
        for cur in ["EUR", "USD"] {
            let rows: Vec<&BTreeMap<String, String>> = t.iter().filter(|(k, _)| k.0 == cur).map(|(_, v)| v).collect();
            let actual = &t[&(cur.to_string(), "as-configured".to_string())];
            for row in &rows {
                // Every combination's usage is the same usage, and each row adds up: usage + parts = total.
                assert_eq!(row["usage"], actual["usage"], "{month} {cur} {}", row["topology"]);
                let parts: i128 = PARTS.iter().map(|p| cents(&row[*p])).sum();
                assert_eq!(cents(&row["usage"]) + parts, cents(&row["total"]), "{month} {cur} {}", row["topology"]);
                assert_eq!(cents(&row["total"]) - cents(&actual["total"]), cents(&row["delta"]));
                // Parts that scale with nothing are the same in every row.
                assert_eq!(row["monitoring_ingestion"], actual["monitoring_ingestion"]);
            }
            // The topology in use reproduces the actual bill: no error at all (docs/compare.md).
            assert_eq!(actual["delta"], "0.00", "{month} {cur}");
            assert_eq!(t[&(cur.to_string(), "single".to_string())]["workspaces"], "1");
            assert_eq!(t[&(cur.to_string(), "per-project".to_string())]["project_attributable_pct"], "100.0");
            // The recommendation: the cheapest row meeting team-isolation, and only one.
            let recommended: Vec<&&BTreeMap<String, String>> =
                rows.iter().filter(|r| r["recommended"] == "yes").collect();
            assert_eq!(recommended.len(), 1, "{month} {cur}");
            let cheapest = rows
                .iter()
                .filter(|r| {
                    r["topology"] != "as-configured" && r["satisfies"].split(' ').any(|c| c == "team-isolation")
                })
                .map(|r| cents(&r["total"]))
                .min()
                .unwrap();
            assert_eq!(cents(&recommended[0]["total"]), cheapest, "{month} {cur}");
        }
        // Each constraint's cost, with the required one marked.
        let text = std::fs::read_to_string(m.join("constraints.csv")).unwrap();
        assert!(text.starts_with("billing_month,currency,constraint,required,applies,cost,recommended"), "{text}");
        assert!(text.contains(&format!("{month},USD,team-isolation,yes,yes,")), "{text}");
        assert!(text.contains(&format!("{month},USD,project-isolation,no,yes,")), "{text}");
        // One environment, one region: those constraints cannot apply, and have no cost rather than a free one.
        assert!(text.contains(&format!("{month},USD,environment-isolation,no,no,,")), "{text}");
        // Workspace counts follow the configuration: in USD the configured workspaces with spend are mlw-vision,
        // mlw-nlp, mlw-churn, mlw-pricing and mlw-research; their teams vision, nlp and growth. EUR holds only
        // mlw-fraud, team risk.
        assert_eq!(t[&("USD".into(), "as-configured".into())]["workspaces"], "5");
        assert_eq!(t[&("USD".into(), "per-team".into())]["workspaces"], "3");
        assert_eq!(t[&("EUR".into(), "as-configured".into())]["workspaces"], "1");
        assert_eq!(t[&("EUR".into(), "per-team".into())]["workspaces"], "1");
        // The shared GPU cluster's idle hours (100 of 600 node hours at 3.40) are measured from the usage file, and
        // fewer, larger clusters idle less than more, smaller ones.
        let usd = |topo: &str| t[&("USD".to_string(), topo.to_string())].clone();
        assert_eq!(usd("as-configured")["cluster_idle"], "340.00", "{month}");
        assert!(cents(&usd("single")["cluster_idle"]) < cents(&usd("per-team")["cluster_idle"]));
        assert!(cents(&usd("per-team")["cluster_idle"]) < cents(&usd("per-project")["cluster_idle"]));
    }
    // The topology charts are there, as SVG and PNG.
    let charts = out.join("2026-10/charts");
    assert!(charts.join("topology-USD.svg").is_file() && charts.join("topology-USD.png").is_file());
}

#[test]
fn the_estimate_in_use_is_the_attributed_bill() {
    // The attributed total of run's chargeback.csv equals compare's as-configured total, per currency.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let mut cmd = mlspend();
    cmd.arg("run").arg("--out").arg(&out);
    assert_eq!(run(&mut cmd).2, 0);
    for month in ["2026-08", "2026-09", "2026-10"] {
        let t = topology(&out.join(month).join("topology.csv"));
        for cur in ["EUR", "USD"] {
            let estimate = cents(&t[&(cur.to_string(), "as-configured".to_string())]["total"]);
            let billed = attributed_total(&out.join(month).join("chargeback.csv"), cur);
            // Each is rounded on its own; the lines were rounded to sum to the export's rounded total, so the two
            // can differ by the rounding of the unallocated and out-of-scope lines: at most a cent each.
            assert!((estimate - billed).abs() <= 2, "{month} {cur}: {estimate} vs {billed}");
        }
    }
}

#[test]
fn per_team_topology_in_use_is_reproduced_and_divisions_are_counted() {
    // The bundled sample's exports, configured as one workspace per team (and the shared and per-project workspaces
    // left out), with two divisions.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("per-team.toml");
    std::fs::write(
        &config,
        format!(
            r#"
basis = "amortized"
exports = ["{}"]
[divisions]
research = ["vision", "nlp"]
commercial = ["growth"]
[[workspace]]
name = "mlw-vision"
topology = "team"
team = "vision"
resource_groups = ["rg-vision-ml"]
[[workspace]]
name = "mlw-nlp"
topology = "team"
team = "nlp"
resources = ["stnlpml", "kv-nlp", "acrnlpml", "appi-nlp", "log-nlp"]
[[workspace]]
name = "mlw-churn"
topology = "team"
team = "growth"
resource_groups = ["rg-churn-ml"]
"#,
            root().join("data/sample").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("r");
    compare(&config, &out, &["--month", "2026-09"]);
    let t = topology(&out.join("2026-09/topology.csv"));
    let usd = |topo: &str| t[&("USD".to_string(), topo.to_string())].clone();
    assert_eq!(usd("as-configured")["workspaces"], "3");
    assert_eq!(usd("per-team")["workspaces"], "3");
    assert_eq!(usd("per-team")["total"], usd("as-configured")["total"]);
    assert_eq!(usd("per-team")["delta"], "0.00");
    assert_eq!(usd("per-division")["workspaces"], "2");
    // One workspace less than per-team: one workspace's standing resources, monitoring and network less (each
    // rounded on its own), the rest alike.
    let standing = |row: &BTreeMap<String, String>| -> i128 {
        ["standing", "monitoring_standing", "network"].iter().map(|p| cents(&row[*p])).sum()
    };
    let one = cents(&usd("per-team")["standing"]) - cents(&usd("per-division")["standing"]);
    assert!((one * 3 - cents(&usd("per-team")["standing"])).abs() <= 3, "one of three workspaces: {one}");
    assert_eq!(
        cents(&usd("per-team")["total"]) - cents(&usd("per-division")["total"]),
        standing(&usd("per-team")) - standing(&usd("per-division"))
    );
    assert_eq!(usd("per-team")["team_attributable_pct"], "100.0");
}

#[test]
fn footprint_can_be_given_in_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::common::sample_config()
        .replace("exports = [\"sample\"]", &format!("exports = [\"{}\"]", root().join("data/sample").display()))
        .replace(
            "require = [\"team-isolation\"]",
            "require = [\"team-isolation\"]\nfootprint_per_workspace = { USD = 250 }",
        );
    let config = dir.path().join("c.toml");
    std::fs::write(&config, text).unwrap();
    let out = dir.path().join("r");
    compare(&config, &out, &["--month", "2026-08"]);
    let t = topology(&out.join("2026-08/topology.csv"));
    let single = &t[&("USD".to_string(), "single".to_string())];
    assert_eq!(single["standing"], "250.00");
    assert_eq!(t[&("USD".to_string(), "per-team".to_string())]["standing"], "750.00");
    // The configured workspaces (5 with spend) are priced alike: their estimate is 5 x 250 against what was billed.
    assert_eq!(t[&("USD".to_string(), "as-configured".to_string())]["standing"], "1250.00");
}

/// Text of an SVG text element.
/// Whether the SVG has a text element holding exactly `text` (`tests/pages.rs` reads every text's box).
fn svg_has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">{text}</text>"))
}

#[test]
fn charts_of_a_run_show_their_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let config = root().join("tests/fixtures/attribution.toml");
    let input = root().join("tests/fixtures/attribution-amortized.csv");
    let mut cmd = mlspend();
    cmd.arg("run").arg("--config").arg(&config).arg("--out").arg(&out).arg(&input);
    assert_eq!(run(&mut cmd).2, 0);
    let charts = out.join("2026-01/charts");
    let read = |name: &str| std::fs::read_to_string(charts.join(name)).unwrap();
    // Spend by team: alpha 26.84, beta 9.83, gamma 4.33 (see the chargeback tests), stacked by service.
    let svg = read("spend-by-team-USD.svg");
    for text in [
        "alpha",
        "beta",
        "gamma",
        "compute",
        "storage",
        "network",
        "other",
        "USD, amortized cost",
        "team",
        "26.84",
        "9.83",
        "4.33",
    ] {
        assert!(svg_has_text(&svg, text), "spend-by-team: {text}");
    }
    assert!(svg_has_text(&svg, "ML spend by team and service, 2026-01 (amortized cost, USD)"));
    // The shared pool of 13.00, split evenly: 12.99 as billed (three rounded shares of 4.33).
    let svg = read("shared-pools-USD.svg");
    for text in ["ws-shared (no environment tag)", "12.99", "split even", "alpha", "beta", "gamma"] {
        assert!(svg_has_text(&svg, text), "shared-pools: {text}");
    }
    // Unallocated by reason.
    let svg = read("unallocated-USD.svg");
    for text in ["unknown workspace ws-ghost", "7.77", "1.11"] {
        assert!(svg_has_text(&svg, text), "unallocated: {text}");
    }
    // Topology: each combination's difference from the configured workspaces by part, its total and difference,
    // annotated with workspace counts. The fixture's workspaces bill 2.00 of standing resources (3 workspaces), its
    // rows carry two environments, and production's storage is 2.50: one workspace costs 0.67 more or less, and
    // environments of their own copy 25% of production's data (0.63).
    let svg = read("topology-USD.svg");
    for text in [
        "per-team",
        "per-project",
        "single (recommended)",
        "hub+per-env",
        "standing resources",
        "data copies",
        "41.00 (0.00)",
        "39.67 (-1.33)",
        "1 workspace · team 22.0% · project 24.4%",
    ] {
        assert!(svg_has_text(&svg, text), "topology: {text}");
    }
    assert!(!svg_has_text(&svg, "as-configured"), "the configured workspaces are the zero line, not a bar");
    // Every PNG decodes, at the size of its SVG.
    for e in std::fs::read_dir(&charts).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "png") {
            let img = image::open(&p).unwrap();
            let svg = std::fs::read_to_string(p.with_extension("svg")).unwrap();
            assert!(svg.contains(&format!("width=\"{}\" height=\"{}\"", img.width(), img.height())), "{}", p.display());
        }
    }
}

fn svgs_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(months) = std::fs::read_dir(dir) else { return out };
    for m in months {
        let charts = m.unwrap().path().join("charts");
        if let Ok(files) = std::fs::read_dir(&charts) {
            for f in files {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|x| x == "svg") {
                    out.push(p.strip_prefix(dir).unwrap().to_path_buf());
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn committed_chart_svgs_are_current() {
    // The README and docs/compare.md show reports/<month>/charts/*.svg; `cargo run --release -- run` regenerates them.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut cmd = mlspend();
    cmd.arg("run").arg("--out").arg(&out);
    assert_eq!(run(&mut cmd).2, 0);
    let fresh = svgs_under(&out);
    // (per month: 7 charts; EUR's one workspace has no topology chart, as every combination costs the same)
    assert_eq!(fresh.len(), 19);
    assert_eq!(
        svgs_under(&root().join("reports")),
        fresh,
        "run `cargo run --release -- run` and commit reports/*/charts/*.svg"
    );
    for rel in fresh {
        let committed = std::fs::read_to_string(root().join("reports").join(&rel)).unwrap();
        let now = std::fs::read_to_string(out.join(&rel)).unwrap();
        assert!(committed == now, "{} is stale: run `cargo run --release -- run` and commit it", rel.display());
    }
}

/// `compare` on a fixture of tests/fixtures/topology/ (bill.csv and c.toml, written from a hostile review's
/// reproductions): its topology.csv rows of 2026-08 USD (JPY for `tie`) by topology.
fn fixture(name: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    compare(&root().join("tests/fixtures/topology").join(name).join("c.toml"), &out, &[]);
    topology(&out.join("2026-08/topology.csv")).into_iter().map(|((_, t), row)| (t, row)).collect()
}

#[test]
fn each_meter_lands_in_its_part() {
    // Real meter names, one amount each: what a resource bills per GB or per operation is usage; the hours it bills
    // whatever it does are a part.
    let t = fixture("meters");
    let now = &t["as-configured"];
    for (part, amount) in [
        // a VM hour 1000, registry storage 64, the firewall's and an endpoint's data processed 128 and 256
        ("usage", "1448.00"),
        // the registry unit
        ("standing", "1.00"),
        // firewall deployment 4 and private endpoint hours 8
        ("network", "12.00"),
        // a Log Analytics commitment tier 16 and data ingestion 32: neither is standing
        ("monitoring_ingestion", "48.00"),
        ("monitoring_standing", "0.00"),
        // the registry's replica, by its id
        ("replication", "2.00"),
        // intra-continent transfer between regions
        ("egress", "512.00"),
    ] {
        assert_eq!(now[part], amount, "{part}");
    }
    // The replica's region is not where the work runs: one region, no per-region rows.
    assert!(t.keys().all(|k| !k.contains("per-region")), "{:?}", t.keys());
}

#[test]
fn the_current_combination_is_its_bill_and_counts_hold() {
    let same = |t: &BTreeMap<String, BTreeMap<String, String>>, current: &str| {
        let (now, cur) = (&t["as-configured"], &t[current]);
        assert_eq!(cur["current"], "yes", "{current}");
        for part in PARTS.iter().chain(&["total"]) {
            assert_eq!(cur[*part], now[*part], "{current}: {part}");
        }
    };
    // Two clusters in one team workspace: the team workspace idles as it does.
    same(&fixture("cl2"), "per-team");
    // Production and development workspaces, storage only in development: its copies are measured.
    let t = fixture("e2");
    same(&t, "per-team+per-env");
    assert_eq!(t["per-team+per-env"]["data_copies"], "40.00");
    assert_eq!(t["per-team"]["data_copies"], "0.00");
    // A registry replicated into another region while the work stays in one.
    same(&fixture("rep"), "per-team");
    // One shared workspace of three teams, no tags: a workspace per project needs at least one per team.
    let t = fixture("sh");
    same(&t, "single");
    assert_eq!(t["per-team"]["workspaces"], "3");
    assert_eq!(t["per-project"]["workspaces"], "3");
    // `prod` and `production` are one environment; `US East 2` and `eastus2` one region.
    let t = fixture("e3");
    assert!(t.keys().all(|k| !k.contains("per-env")), "{:?}", t.keys());
    let t = fixture("rg2");
    assert!(t.keys().all(|k| !k.contains("per-region")), "{:?}", t.keys());
    // A refund of the standing resources is not multiplied by the workspaces: three project workspaces bill the key
    // vault three times (3 x 5.00) and the refund (-40.00) once.
    let t = fixture("neg");
    assert_eq!(t["per-project"]["workspaces"], "3");
    assert_eq!(t["per-project"]["standing"], "-25.00");
    // One team with two team workspaces is not the per-team the model prices (one workspace): that row is an
    // estimate, not the bill.
    let t = fixture("two");
    assert_eq!(t["per-team"]["current"], "no");
    assert_eq!((t["per-team"]["workspaces"].as_str(), t["per-team"]["standing"].as_str()), ("1", "10.00"));
    assert_eq!(t["as-configured"]["standing"], "20.00");
    assert_eq!(t["per-team"]["recommended"], "yes");
    // Equal totals as shown (0 decimals): the one with fewer workspaces is recommended.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    compare(&root().join("tests/fixtures/topology/tie/c.toml"), &out, &[]);
    let t = topology(&out.join("2026-08/topology.csv"));
    let recommended: Vec<&String> = t.iter().filter(|(_, r)| r["recommended"] == "yes").map(|(k, _)| &k.1).collect();
    assert_eq!(recommended, ["per-team"]);
}

#[test]
fn compare_runs_on_every_real_sample_and_names_its_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("real.toml");
    let text = std::fs::read_to_string(root().join("tests/fixtures/real.toml")).unwrap();
    std::fs::write(&config, format!("{text}\n[compare]\nrequire = [\"project-isolation\"]\n")).unwrap();
    for (name, basis) in [
        ("EA_AmortizedCost_Small.csv", "amortized"),
        ("EA_ActualCost_Small.csv", "actual"),
        ("camel_azure_version_2.csv", "amortized"),
        ("focus_sample.csv", "amortized"),
        ("payg_legacy_costreport.csv", "actual"),
        ("sample-anonymous-ea-export-dataset.csv", "amortized"),
    ] {
        let out = dir.path().join(name);
        let mut cmd = mlspend();
        cmd.arg("compare").arg("--config").arg(&config).arg("--out").arg(&out).args(["--basis", basis]);
        let (o, e, code) = run(cmd.arg(crate::common::real(name)));
        assert_eq!(code, 0, "{name}: {o}{e}");
        // Every month and currency says what it recommends under the constraint assumed, or that it has nothing
        // to compare; the samples with Azure ML workspaces recommend.
        let heads = o.lines().filter(|l| l.contains(" cost)")).count();
        let said = o.matches("Cheapest meeting project-isolation: ").count() + o.matches("nothing to compare").count();
        assert!(heads > 0 && said == heads, "{name}: {o}");
        if name == "EA_AmortizedCost_Small.csv" || name == "focus_sample.csv" {
            assert!(o.contains("Cheapest meeting project-isolation: per-project"), "{name}: {o}");
        }
    }
}

#[test]
fn instance_share_prices_fewer_instances_per_project() {
    // With half of a team's project workspaces holding each member's instance, a workspace per project costs fewer
    // instances than with all of them (the default, an upper bound).
    let dir = tempfile::tempdir().unwrap();
    let instances = |extra: &str| -> i128 {
        let text = crate::common::sample_config()
            .replace("exports = [\"sample\"]", &format!("exports = [\"{}\"]", root().join("data/sample").display()))
            .replace("require = [\"team-isolation\"]", &format!("require = [\"team-isolation\"]\n{extra}"));
        let config = dir.path().join(format!("c{}.toml", extra.len()));
        std::fs::write(&config, text).unwrap();
        let out = dir.path().join(format!("r{}", extra.len()));
        compare(&config, &out, &["--month", "2026-09"]);
        cents(
            &topology(&out.join("2026-09/topology.csv"))[&("USD".to_string(), "per-project".to_string())]["instances"],
        )
    };
    let (all, half) = (instances(""), instances("instance_share = 0.5"));
    assert!(half < all, "{half} vs {all}");
}
