//! Commitments: a reservation's or savings plan's unused capacity is split among the teams whose usage it covered, in
//! proportion to their covered cost (checked by hand on a small export, and against an independent sum on a generated
//! one); a commitment nobody's usage took goes to its configured owner, else stays unallocated; purchases go to their
//! owner or stay unallocated as `commitment purchase`.

use crate::common::{generate, mlspend, real, run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const HEADER: &str = "Date,BillingPeriodStartDate,CostInBillingCurrency,BillingCurrencyCode,ResourceId,ResourceGroup,MeterCategory,ConsumedService,ChargeType,PricingModel,ReservationId,ReservationName,benefitId,benefitName,Tags";

const R1_PATH: &str = "/providers/Microsoft.Capacity/reservationOrders/o1/reservations/R1";
const P2_PATH: &str = "/providers/Microsoft.BillingBenefits/savingsPlanOrders/o2/savingsPlans/p2";

const CONFIG: &str = r#"
basis = "amortized"

[[workspace]]
name = "mlw-a"
topology = "team"
team = "alpha"
resource_groups = ["rg-a"]

[[workspace]]
name = "mlw-b"
topology = "team"
team = "beta"
resource_groups = ["rg-b"]

[[workspace]]
name = "mlw-s"
topology = "shared"
teams = ["alpha", "gamma"]
split = "even"
resource_groups = ["rg-s"]

[[commitment]]
id = "p2"
owner = "platform"
"#;

/// One EA amortized row.
fn row(cost: &str, rg: &str, ml: bool, charge: &str, pricing: &str, reservation_id: &str, benefit: &str) -> String {
    let resource = if rg.is_empty() {
        String::new()
    } else {
        format!("/subscriptions/s1/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/vm-{rg}")
    };
    let consumed = if ml { "Microsoft.MachineLearningServices" } else { "Microsoft.Compute" };
    let name = if benefit.is_empty() && reservation_id.is_empty() { "" } else { "the-commitment" };
    format!(
        "09/15/2026,09/01/2026,{cost},USD,{resource},{rg},Virtual Machines,{consumed},{charge},{pricing},{reservation_id},{name},{benefit},{name},\n"
    )
}

fn write_export(dir: &Path) -> std::path::PathBuf {
    let mut csv = format!("{HEADER}\n");
    // Covered by reservation R1: 30 (alpha's workspace), 10 (beta's, named by ReservationId alone: the older
    // form), 20 (the shared pool of mlw-s, split evenly between alpha and gamma), 20 (a machine that is not ML).
    csv += &row("30.00", "rg-a", true, "Usage", "Reservation", "", R1_PATH);
    csv += &row("10.00", "rg-b", true, "Usage", "Reservation", "r1", "");
    csv += &row("20.00", "rg-s", true, "Usage", "Reservation", "R1", R1_PATH);
    csv += &row("20.00", "rg-web", false, "Usage", "Reservation", "R1", R1_PATH);
    // Not covered.
    csv += &row("100.00", "rg-a", true, "Usage", "OnDemand", "", "");
    // R1's unused capacity, 16.00; savings plan p2 covered nothing and has an owner; R3 neither.
    csv += &row("16.00", "", false, "UnusedReservation", "Reservation", "R1", R1_PATH);
    csv += &row("5.00", "", false, "UnusedSavingsPlan", "SavingsPlan", "", P2_PATH);
    csv += &row("12.34", "", false, "UnusedReservation", "Reservation", "r3", "");
    let path = dir.join("ea-amortized.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// The lines of a `chargeback.csv`, as maps of column to value.
fn lines(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| header.iter().zip(r.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect())
        .collect()
}

fn cost_where(lines: &[BTreeMap<String, String>], f: impl Fn(&BTreeMap<String, String>) -> bool) -> String {
    let cents: i64 =
        lines.iter().filter(|l| f(l)).map(|l| (l["cost"].parse::<f64>().unwrap() * 100.0).round() as i64).sum();
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[test]
fn unused_capacity_is_split_by_covered_usage_checked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let export = write_export(dir.path());
    let config = dir.path().join("c.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = dir.path().join("out");
    let (stdout, stderr, code) = run(mlspend()
        .args(["run", "--quiet", "--format", "csv,json", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .arg(&export));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("commitments"), "{stdout}");
    // allocated.jsonl: R1's unused row (line 7 of the file) says how it was split.
    let allocated = std::fs::read_to_string(out.join("2026-09/allocated.jsonl")).unwrap();
    let unused_row: Value =
        allocated.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|r| r["x_SourceLine"] == 7).unwrap();
    assert_eq!(unused_row["x_AllocationMethod"], "unused-commitment");
    assert_eq!(unused_row["x_WorkspaceRule"], "commitment");
    assert_eq!(unused_row["x_SplitShares"], "(out-of-scope)=0.25;alpha=0.5;beta=0.125;gamma=0.125");
    let l = lines(&out.join("2026-09/chargeback.csv"));
    let unused = |team: &str, ws: &str| {
        cost_where(&l, |x| {
            x["team"] == team && x["allocation"] == "unused-commitment" && (ws.is_empty() || x["workspace"] == ws)
        })
    };
    // R1 covered 80.00: alpha 30 + 10 (half the pool's 20), beta 10, gamma 10, out of scope 20. Its 16.00 unused
    // goes 30/80, 10/80, 10/80, 10/80 and 20/80: alpha 6.00 + 2.00, beta 2.00, gamma 2.00, out of scope 4.00.
    assert_eq!(unused("alpha", "mlw-a"), "6.00");
    assert_eq!(unused("alpha", "mlw-s"), "2.00");
    assert_eq!(unused("beta", ""), "2.00");
    assert_eq!(unused("gamma", ""), "2.00");
    let oos = cost_where(&l, |x| x["team"] == "(out-of-scope)" && x["reason"].ends_with("unused commitment r1"));
    assert_eq!(oos, "4.00");
    // p2 covered nothing this month: all of it to its owner.
    assert_eq!(unused("platform", ""), "5.00");
    // r3 covered nothing and has no owner: unallocated, saying so.
    let r3 = l.iter().find(|x| x["team"] == "(unallocated)" && x["reason"].contains("r3")).expect("r3's line");
    assert_eq!(r3["reason"], "no covered usage and no owner: unused commitment r3");
    assert_eq!(r3["cost"], "12.34");
    // The books balance: every line adds up to the export.
    assert_eq!(cost_where(&l, |_| true), "213.34");

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("2026-09/summary.json")).unwrap()).unwrap();
    let usd = &summary["currencies"][0];
    assert_eq!(usd["balanced"], true);
    assert_eq!(usd["unused_commitment"], "17.00", "{usd}");
    assert_eq!(usd["rows"]["unused_commitment"], 3);
    let r1: Vec<(String, String, String, String)> = summary["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["commitment"] == "r1")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("team"), s("covered"), s("covered_pct"), s("unused_share_rounded"))
        })
        .collect();
    let expected = [
        ("(out-of-scope)", "20", "25.0", "4.00"),
        ("alpha", "40", "50.0", "8.00"),
        ("beta", "10", "12.5", "2.00"),
        ("gamma", "10", "12.5", "2.00"),
    ];
    let expected: Vec<(String, String, String, String)> =
        expected.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())).collect();
    assert_eq!(r1, expected);
    let alpha = summary["commitments"].as_array().unwrap().iter().find(|c| c["team"] == "alpha").unwrap();
    assert_eq!(alpha["unused_share_billed"], "8.00");
    let r3 = summary["commitments"].as_array().unwrap().iter().find(|c| c["commitment"] == "r3").unwrap();
    assert_eq!(
        (&r3["team"], &r3["covered_pct"], &r3["unused_share_rounded"]),
        (&Value::from("(unallocated)"), &Value::Null, &Value::from("12.34"))
    );

    // alpha's statement shows its covered usage and its share.
    let statement = std::fs::read_to_string(out.join("2026-09/statements/alpha.html")).unwrap();
    let section = &statement[statement.find("id=\"commitments\"").expect("a commitments section")..];
    for text in ["the-commitment", "40.00", "80.00", "50.0%", "16.00", "8.00"] {
        assert!(section.contains(text), "{text} missing from alpha's commitments section");
    }
    // explain says why an unused row goes where it goes.
    let (stdout, stderr, code) =
        run(mlspend().args(["explain", "--config"]).arg(&config).arg(&export).args(["--resource", "R1"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("split among the teams whose usage the commitment covered"), "{stdout}");
}

#[test]
fn owners_are_found_by_reservation_or_order_and_refunds_of_covered_usage_net() {
    let dir = tempfile::tempdir().unwrap();
    let path =
        |order: &str, r: &str| format!("/providers/Microsoft.Capacity/reservationOrders/{order}/reservations/{r}");
    let mut csv = format!("{HEADER}\n");
    // r4 and r5 belong to order o4; r4's unused rows come in both forms, one of them not naming the order.
    csv += &row("3.00", "", false, "UnusedReservation", "Reservation", "r4", &path("o4", "r4"));
    csv += &row("2.00", "", false, "UnusedReservation", "Reservation", "r4", "");
    csv += &row("1.00", "", false, "UnusedReservation", "Reservation", "r5", &path("o4", "r5"));
    // r6 covered 30 of alpha's usage, refunded in full, and 10 of beta's: its 10 unused all go to beta.
    csv += &row("30.00", "rg-a", true, "Usage", "Reservation", "r6", &path("o6", "r6"));
    csv += &row("-30.00", "rg-a", true, "Refund", "Reservation", "r6", &path("o6", "r6"));
    csv += &row("10.00", "rg-b", true, "Usage", "Reservation", "r6", &path("o6", "r6"));
    csv += &row("10.00", "", false, "UnusedReservation", "Reservation", "r6", &path("o6", "r6"));
    let export = dir.path().join("e.csv");
    std::fs::write(&export, csv).unwrap();
    let config = dir.path().join("c.toml");
    // The order's owner, spelt in another case than the team; r5's own entry, more specific, wins for r5.
    let owners = format!(
        "{CONFIG}\n[[commitment]]\nid = \"O4\"\nowner = \"BETA\"\n\n[[commitment]]\nid = \"{}\"\nowner = \"gamma\"\n",
        path("o4", "r5")
    );
    std::fs::write(&config, owners).unwrap();
    let out = dir.path().join("out");
    let (_, stderr, code) = run(mlspend().args(["run", "--config"]).arg(&config).arg("--out").arg(&out).arg(&export));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("BETA"), "the owner is the team beta: {stderr}");
    let l = lines(&out.join("2026-09/chargeback.csv"));
    let unused = |team: &str, id: &str| {
        cost_where(&l, |x| {
            x["team"] == team && x["allocation"] == "unused-commitment" && x["reason"] == format!("commitment {id}")
        })
    };
    assert_eq!(unused("beta", "r4"), "5.00");
    assert_eq!(unused("gamma", "r5"), "1.00");
    assert_eq!(unused("beta", "r6"), "10.00");
    assert_eq!(unused("alpha", "r6"), "0.00");
    assert!(!l.iter().any(|x| x["team"] == "BETA" || x["team"] == "(unallocated)"), "{l:?}");
}

#[test]
fn a_team_weighs_by_its_net_covered_cost_and_a_month_run_alone_finds_the_same_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path =
        |order: &str, r: &str| format!("/providers/Microsoft.Capacity/reservationOrders/{order}/reservations/{r}");
    let mut csv = format!("{HEADER}\n");
    // r7: alpha covered 10; beta covered 10 (tagged prod) and was refunded 30 on the same machine, untagged: beta
    // nets -20 and weighs nothing, however its lines fall.
    csv += &row("10.00", "rg-a", true, "Usage", "Reservation", "r7", &path("o7", "r7"));
    csv += &row("10.00", "rg-b", true, "Usage", "Reservation", "r7", &path("o7", "r7"))
        .replace(",\n", ",\"{\"\"env\"\": \"\"prod\"\"}\"\n");
    csv += &row("-30.00", "rg-b", true, "Refund", "Reservation", "r7", &path("o7", "r7"));
    csv += &row("10.00", "", false, "UnusedReservation", "Reservation", "r7", &path("o7", "r7"));
    // r8 of order o8: September names it by ReservationId alone; October's row names its order.
    csv += &row("6.00", "", false, "UnusedReservation", "Reservation", "r8", "");
    csv += &row("4.00", "", false, "UnusedReservation", "Reservation", "r8", &path("o8", "r8"))
        .replace("09/15/2026,09/01/2026", "10/15/2026,10/01/2026");
    let export = dir.path().join("e.csv");
    std::fs::write(&export, csv).unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, format!("{CONFIG}\n[[commitment]]\nid = \"o8\"\nowner = \"gamma\"\n")).unwrap();
    let go = |out: &Path, extra: &[&str]| {
        let (_, stderr, code) = run(mlspend()
            .args(["run", "--quiet", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(out)
            .args(extra)
            .arg(&export));
        assert_eq!(code, 0, "{stderr}");
        lines(&out.join("2026-09/chargeback.csv"))
    };
    let all = go(&dir.path().join("all"), &[]);
    let unused = |l: &[BTreeMap<String, String>], team: &str, id: &str| {
        cost_where(l, |x| {
            x["team"] == team && x["allocation"] == "unused-commitment" && x["reason"] == format!("commitment {id}")
        })
    };
    assert_eq!(unused(&all, "alpha", "r7"), "10.00");
    assert_eq!(unused(&all, "beta", "r7"), "0.00");
    assert_eq!(unused(&all, "gamma", "r8"), "6.00");
    let alone = go(&dir.path().join("alone"), &["--month", "2026-09"]);
    assert_eq!(alone, all, "--month 2026-09 gives September's lines of the full run");
}

#[test]
fn a_focus_purchase_naming_only_its_order_goes_to_the_order_owner() {
    let dir = tempfile::tempdir().unwrap();
    let order = "/providers/Microsoft.Capacity/reservationOrders/0F8A";
    let csv = format!(
        "BilledCost,EffectiveCost,BillingCurrency,ChargePeriodStart,BillingPeriodStart,ChargeCategory,ResourceId,CommitmentDiscountId,ProviderName\n\
         500.00,0,USD,2026-09-03T00:00:00Z,2026-09-01T00:00:00Z,Purchase,{order},,Microsoft\n\
         7.00,7.00,USD,2026-09-03T00:00:00Z,2026-09-01T00:00:00Z,Usage,/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/v,,Microsoft\n"
    );
    let export = dir.path().join("focus.csv");
    std::fs::write(&export, csv).unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, format!("{CONFIG}\n[[commitment]]\nid = \"0f8a\"\nowner = \"beta\"\n")).unwrap();
    let out = dir.path().join("out");
    let (_, stderr, code) = run(mlspend()
        .args(["run", "--quiet", "--basis", "actual", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .arg(&export));
    assert_eq!(code, 0, "{stderr}");
    let l = lines(&out.join("2026-09/chargeback.csv"));
    let purchase = l.iter().find(|x| x["allocation"] == "commitment-purchase").expect("the purchase, owned");
    assert_eq!((purchase["team"].as_str(), purchase["cost"].as_str()), ("beta", "500.00"));
    // On the amortized basis the purchase costs nothing: counted, with no line.
    let out = dir.path().join("amortized");
    let (_, stderr, code) =
        run(mlspend().args(["run", "--quiet", "--config"]).arg(&config).arg("--out").arg(&out).arg(&export));
    assert_eq!(code, 0, "{stderr}");
    let l = lines(&out.join("2026-09/chargeback.csv"));
    assert!(!l.iter().any(|x| x["allocation"] == "commitment-purchase"), "{l:?}");
}

#[test]
fn unused_reservations_of_a_generated_export_follow_covered_usage() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("ea-amortizedcost.csv");
    generate(&export, &["--rows", "6000", "--months", "2", "--export-type", "amortized"]);
    // Independent sums from the CSV: each reservation's unused cost and its covered cost, per month.
    let mut reader = csv::Reader::from_path(&export).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (date, cost, charge, id, cur) = (
        col("Date"),
        col("CostInBillingCurrency"),
        col("ChargeType"),
        col("ReservationId"),
        col("BillingCurrencyCode"),
    );
    let mut unused: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut covered: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in reader.records() {
        let r = r.unwrap();
        if r[id].is_empty() {
            continue;
        }
        let month = format!("{}-{}", &r[date][6..10], &r[date][0..2]);
        let key = (month, format!("{} {}", &r[cur], r[id].to_ascii_lowercase()));
        let v: f64 = r[cost].parse().unwrap();
        match &r[charge] {
            "UnusedReservation" => *unused.entry(key).or_default() += v,
            "Usage" => *covered.entry(key).or_default() += v,
            other => panic!("unexpected charge type {other} on a reservation row"),
        }
    }
    assert_eq!(unused.len(), 4, "two reservations over two months: {unused:?}");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.toml");
    let out = dir.path().join("out");
    let (_, stderr, code) =
        run(mlspend().args(["run", "--quiet", "--config"]).arg(&config).arg("--out").arg(&out).arg(&export));
    assert_eq!(code, 0, "{stderr}");
    // (the EUR reservation covers one team's workspace; the USD one several)
    let mut widest = 0;
    for ((month, key), unused_cost) in &unused {
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(month).join("summary.json")).unwrap()).unwrap();
        let (currency, reservation) = key.split_once(' ').unwrap();
        let parts: Vec<&Value> = summary["commitments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["currency"] == currency && c["commitment"] == reservation)
            .collect();
        assert!(!parts.is_empty(), "{month} {key}: no part in summary.json");
        widest = widest.max(parts.len());
        let num = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
        let covered_total: f64 = parts.iter().map(|c| num(&c["covered"])).sum();
        let unused_total: f64 = parts.iter().map(|c| num(&c["unused_share"])).sum();
        assert!((covered_total - covered[&(month.clone(), key.clone())]).abs() < 1e-6, "{month} {key}: covered");
        assert!((unused_total - unused_cost).abs() < 1e-9, "{month} {key}: unused {unused_total} vs {unused_cost}");
        // Each part in proportion to its covered usage.
        for c in &parts {
            let expected = unused_cost * num(&c["covered"]) / covered_total;
            assert!((num(&c["unused_share"]) - expected).abs() < 1e-9, "{month} {key} {}: {c}", c["team"]);
        }
    }
    assert!(widest > 3, "no reservation's unused capacity was split among several teams");
}

#[test]
fn purchases_go_to_their_owner_or_stay_unallocated() {
    let dir = tempfile::tempdir().unwrap();
    let sample = real("EA_ActualCost_Small.csv");
    let base = "basis = \"actual\"\n[[workspace]]\nname = \"mlw-x\"\ntopology = \"team\"\nteam = \"x\"\nresource_groups = [\"rg-x\"]\n";
    let go = |config_text: &str, name: &str| -> Vec<BTreeMap<String, String>> {
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(&config, config_text).unwrap();
        let out = dir.path().join(name);
        let (_, stderr, code) = run(mlspend()
            .args(["run", "--quiet", "--export-type", "actual", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .arg(&sample));
        assert_eq!(code, 0, "{stderr}");
        // The one month folder (beside the ledger).
        let month = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().is_some_and(|n| n != "ledger"))
            .unwrap();
        lines(&month.join("chargeback.csv"))
    };
    let without = go(base, "without");
    let purchase = without.iter().find(|l| l["reason"] == "commitment purchase").expect("the purchase, unallocated");
    assert_eq!(purchase["team"], "(unallocated)");
    // The real sample's purchase names its order (ReservationId, and benefitId ending at `reservations/`).
    let owned = format!("{base}[[commitment]]\nid = \"49ED0E4D-8E0C-4F1F-AF2C-67C865056615\"\nowner = \"platform\"\n");
    let with = go(&owned, "with");
    let line = with.iter().find(|l| l["allocation"] == "commitment-purchase").expect("the purchase, owned");
    assert_eq!(line["team"], "platform");
    assert_eq!(line["cost"], purchase["cost"]);
    assert!(!with.iter().any(|l| l["reason"] == "commitment purchase"));
}

#[test]
fn commitment_configuration_errors_name_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let check = |extra: &str| -> String {
        let config = dir.path().join("c.toml");
        std::fs::write(&config, format!("{CONFIG}\n{extra}")).unwrap();
        let (_, stderr, code) = run(mlspend().args(["check", "--config"]).arg(&config).arg(dir.path()));
        assert_eq!(code, 2, "{stderr}");
        stderr
    };
    let e = check("[[commitment]]\nid = \"/providers/Microsoft.BillingBenefits/savingsPlanOrders/o9/savingsPlans/P2\"\nowner = \"beta\"\n\n[[commitment]]\nid = \" \"\nowner = \"beta\"\n\n[[commitment]]\nid = \"x\"\nowner = \"(unallocated)\"\n");
    assert!(e.contains("commitment[2]") && e.contains("also commitment[1] (p2)"), "{e}");
    assert!(e.contains("commitment[3]: `id` is empty"), "{e}");
    assert!(e.contains("commitment[4] (x): owner `(unallocated)` can't start with `(`"), "{e}");
    let e = check("[[commitment]]\nid = \"x\"\nowner = \"beta\"\nunused = \"nobody\"\nsplit = 1\n\n[[commitment]]\nowner = \"beta\"\n\n[[commitment]]\nid = \"/providers/Microsoft.Capacity/reservationOrders/*/reservations/*\"\nowner = \"beta\"\n");
    assert!(e.contains("commitment[2]: unused:") && e.contains("nobody"), "{e}");
    assert!(e.contains("unknown key `commitment[2].split`"), "{e}");
    assert!(e.contains("commitment[3]: missing `id`"), "{e}");
    assert!(
        e.contains(
            "commitment[4] (/providers/Microsoft.Capacity/reservationOrders/*/reservations/*): `*` stands alone"
        ),
        "{e}"
    );
    let config = dir.path().join("table.toml");
    let workspace = "[[workspace]]\nname = \"w\"\ntopology = \"team\"\nteam = \"t\"\n";
    std::fs::write(&config, format!("[commitment]\nid = \"x\"\nowner = \"t\"\n\n{workspace}")).unwrap();
    let (_, e, code) = run(mlspend().args(["check", "--config"]).arg(&config).arg(dir.path()));
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("commitment: expected [[commitment]] tables"), "{e}");
}

#[test]
fn a_commitment_entry_naming_nothing_in_the_exports_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let export = write_export(dir.path());
    let config = dir.path().join("c.toml");
    std::fs::write(&config, format!("{CONFIG}\n[[commitment]]\nid = \"typo-1234\"\nowner = \"beta\"\n")).unwrap();
    let (_, stderr, code) =
        run(mlspend().args(["run", "--config"]).arg(&config).arg("--out").arg(dir.path().join("out")).arg(&export));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("commitment[2] (typo-1234) names no reservation, order or savings plan of the exports"),
        "{stderr}"
    );
    assert!(!stderr.contains("commitment[1] (p2) names no"), "p2 is in the exports: {stderr}");
}
