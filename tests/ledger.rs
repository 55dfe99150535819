//! The ledger (OUT/ledger, Hive-partitioned Parquet), `mlspend history` and `mlspend sql`: totals that agree with
//! the months' chargeback.csv to the cent, partitions replaced whole on a rerun, budgets that fail a pipeline, and
//! hostile ledgers and queries.

use crate::common::{files_under, mlspend, run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A decimal as an integer of 10^-4 units, exactly (`-12.3` -> -123000).
fn units(text: &str) -> i128 {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(frac.len() <= 4 || frac[4..].bytes().all(|b| b == b'0'), "{text}: more than 4 decimals");
    let frac = format!("{:0<4}", &frac[..frac.len().min(4)]);
    let v: i128 = format!("{int}{frac}").parse().unwrap_or_else(|_| panic!("{text}: not a decimal"));
    if neg {
        -v
    } else {
        v
    }
}

fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect()).collect()
}

/// (month, currency, team) -> cost, from the months' chargeback.csv files under `out`.
fn chargeback_sums(out: &Path) -> BTreeMap<(String, String, String), i128> {
    let mut sums = BTreeMap::new();
    for f in files_under(out).into_iter().filter(|f| f.ends_with("chargeback.csv")) {
        for r in read_csv(&out.join(f)) {
            *sums.entry((r["billing_month"].clone(), r["currency"].clone(), r["team"].clone())).or_insert(0) +=
                units(&r["cost"]);
        }
    }
    sums
}

/// Three runs of one month each into one folder: the ledger gathers them.
fn three_runs(out: &Path) {
    for month in ["2026-08", "2026-09", "2026-10"] {
        let (o, e, code) = run(mlspend().args(["run", "--quiet", "--month", month, "--out"]).arg(out));
        assert_eq!(code, 0, "{month}: {o}{e}");
    }
}

#[test]
fn history_and_sql_agree_with_every_months_chargeback_csv_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    three_runs(&out);
    for table in ["chargeback", "allocated"] {
        for month in ["2026-08", "2026-09", "2026-10"] {
            let part = out.join("ledger").join(table).join(format!("billing_month={month}")).join("part-0.parquet");
            assert!(part.is_file(), "{} is missing", part.display());
        }
    }
    let expected = chargeback_sums(&out);
    // Three months of five USD teams (unallocated and out of scope included) and one EUR team.
    assert_eq!(expected.len(), 18, "{expected:?}");

    // history.csv: every team's actual month, exactly the sum of that month's chargeback.csv lines.
    let hist = dir.path().join("history");
    let (o, e, code) = run(mlspend().args(["history", "--ledger"]).arg(out.join("ledger")).arg("--out").arg(&hist));
    assert_eq!(code, 0, "{o}{e}");
    assert!(o.contains("3 ledger months, 2026-08 to 2026-10 (amortized cost)"), "{o}");
    let rows = read_csv(&hist.join("history.csv"));
    let mut got = BTreeMap::new();
    let mut totals: BTreeMap<(String, String), i128> = BTreeMap::new();
    for r in rows.iter().filter(|r| r["kind"] == "actual") {
        match r["level"].as_str() {
            "team" => {
                got.insert((r["billing_month"].clone(), r["currency"].clone(), r["name"].clone()), units(&r["cost"]));
            }
            "total" => {
                totals.insert((r["billing_month"].clone(), r["currency"].clone()), units(&r["cost"]));
            }
            _ => {}
        }
    }
    assert_eq!(got, expected, "history's team months differ from chargeback.csv");
    // And each month's total is the sum of its teams (unallocated and out of scope included).
    for ((month, currency), total) in &totals {
        let teams: i128 = expected.iter().filter(|((m, c, _), _)| m == month && c == currency).map(|(_, v)| v).sum();
        assert_eq!(*total, teams, "{month} {currency}");
    }
    // Every series has its two forecasts, each with its back-test (3 months: 2 back-tested months).
    let forecasts: Vec<_> = rows.iter().filter(|r| r["kind"] == "forecast" && r["level"] == "team").collect();
    assert!(!forecasts.is_empty());
    for f in &forecasts {
        assert_eq!(f["billing_month"], "2026-11");
        assert_eq!(f["backtest_months"], "2", "{f:?}");
        assert!(!f["backtest_error_pct"].is_empty(), "{f:?}");
    }
    let html = std::fs::read_to_string(hist.join("history.html")).unwrap();
    // Beside every team's two forecasts (and the total's), its back-tested error.
    let beside = html.matches("<span class=\"muted\">±").count();
    assert!(beside >= 2 * (forecasts.len() + 2), "{beside} errors printed for {} team forecasts", forecasts.len());
    for f in &forecasts {
        let err = format!("<span class=\"muted\">±{}%</span>", f["backtest_error_pct"]);
        assert!(html.contains(&err), "{err}");
    }
    assert!(hist.join("charts/trend-USD.svg").is_file());
    assert!(hist.join("charts/budget-USD.svg").is_file());

    // sql: the same group-by over the chargeback table, to a CSV file, agrees to the cent.
    let result = dir.path().join("by-team.csv");
    let (o, e, code) = run(
        mlspend()
            .args(["sql", "--ledger"])
            .arg(out.join("ledger"))
            .arg("--out")
            .arg(&result)
            .arg("select billing_month, BillingCurrency, x_Team, sum(EffectiveCost) as cost from chargeback group by billing_month, BillingCurrency, x_Team"),
    );
    assert_eq!(code, 0, "{o}{e}");
    let mut from_sql = BTreeMap::new();
    for r in read_csv(&result) {
        from_sql
            .insert((r["billing_month"].clone(), r["BillingCurrency"].clone(), r["x_Team"].clone()), units(&r["cost"]));
    }
    assert_eq!(from_sql, expected, "sql's group-by differs from chargeback.csv");

    // Printed: a table with the exact sums; and to Parquet.
    let (o, e, code) = run(mlspend().args(["sql", "--ledger"]).arg(out.join("ledger")).arg(
        "select BillingCurrency, sum(EffectiveCost) as cost from chargeback where billing_month = '2026-10' group by BillingCurrency order by BillingCurrency",
    ));
    assert_eq!(code, 0, "{o}{e}");
    let usd: i128 = expected.iter().filter(|((m, c, _), _)| m == "2026-10" && c == "USD").map(|(_, v)| v).sum();
    let line = o.lines().find(|l| l.starts_with("USD")).unwrap_or_else(|| panic!("{o}"));
    assert_eq!(units(line.split_whitespace().nth(1).unwrap()), usd, "{o}");
    let pq = dir.path().join("by-team.parquet");
    let (o, e, code) = run(mlspend()
        .args(["sql", "--ledger"])
        .arg(out.join("ledger"))
        .arg("--out")
        .arg(&pq)
        .arg("select * from chargeback"));
    assert_eq!(code, 0, "{o}{e}");
    assert!(std::fs::read(&pq).unwrap().starts_with(b"PAR1"));
}

#[test]
fn the_allocated_table_holds_every_input_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let (o, e, code) = run(mlspend().args(["run", "--quiet", "--out"]).arg(&out));
    assert_eq!(code, 0, "{o}{e}");
    // Rows per month in the pack's summary.json against the allocated table's count.
    let mut rows = BTreeMap::new();
    for month in ["2026-08", "2026-09", "2026-10"] {
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(month).join("summary.json")).unwrap()).unwrap();
        let n: u64 =
            summary["currencies"].as_array().unwrap().iter().map(|c| c["rows"]["input"].as_u64().unwrap()).sum();
        rows.insert(month.to_string(), n);
    }
    let (o, e, code) = run(mlspend()
        .args(["sql", "--ledger"])
        .arg(out.join("ledger"))
        .arg("select billing_month, count(*) as n from allocated group by billing_month order by billing_month"));
    assert_eq!(code, 0, "{o}{e}");
    let got: BTreeMap<String, u64> = o
        .lines()
        .skip(1)
        .map(|l| {
            let mut it = l.split_whitespace();
            (it.next().unwrap().to_string(), it.next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(got, rows, "{o}");
    // --format csv (the default) keeps allocated rows in the ledger only; --format parquet in both, one file.
    assert!(!out.join("2026-10/allocated.parquet").exists());
}

#[test]
fn a_rerun_replaces_its_months_partitions_whole_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    three_runs(&out);
    let ledger = out.join("ledger");
    let oct = ledger.join("chargeback/billing_month=2026-10");
    let aug = ledger.join("chargeback/billing_month=2026-08/part-0.parquet");
    let before_aug = std::fs::read(&aug).unwrap();
    // A stray file in October's partition: a rerun of October replaces the partition, so it goes.
    std::fs::write(oct.join("part-9.parquet"), b"stray").unwrap();
    let (o, e, code) =
        run(mlspend().args(["run", "--quiet", "--format", "csv,parquet", "--month", "2026-10", "--out"]).arg(&out));
    assert_eq!(code, 0, "{o}{e}");
    assert!(!oct.join("part-9.parquet").exists(), "the old partition was merged, not replaced");
    assert!(oct.join("part-0.parquet").is_file());
    assert_eq!(std::fs::read(&aug).unwrap(), before_aug, "August's partition changed");
    // With --format parquet the month's allocated.parquet and the ledger's partition are one file.
    let a = std::fs::read(out.join("2026-10/allocated.parquet")).unwrap();
    let b = std::fs::read(ledger.join("allocated/billing_month=2026-10/part-0.parquet")).unwrap();
    assert_eq!(a, b);
    // No staging or old folders are left behind.
    let names: Vec<String> = std::fs::read_dir(ledger.join("chargeback"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");

    // A run of the other basis into the same ledger is refused before it reads, and leaves it as it was.
    let actual = dir.path().join("actual.csv");
    crate::common::generate(
        &actual,
        &["--rows", "2000", "--months", "1", "--start", "2026-10", "--export-type", "actual"],
    );
    let (o, e, code) = run(mlspend()
        .args(["run", "--quiet", "--config", "data/sample.toml", "--basis", "actual", "--out"])
        .arg(&out)
        .arg(&actual));
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("the ledger holds months of amortized cost") && e.contains("--basis amortized"), "{e}");
    assert!(oct.join("part-0.parquet").is_file());
}

#[test]
fn fail_if_over_exits_4_after_writing_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let (o, e, code) = run(mlspend().args(["run", "--quiet", "--out"]).arg(&out));
    assert_eq!(code, 0, "{o}{e}");
    let sample = std::fs::read_to_string(root().join("data/sample.toml")).unwrap();
    let budgets = |vision: &str| {
        // The configuration names its files relative to itself: the bundled sample's, from wherever this one is.
        let data = root().join("data");
        let text = sample
            .lines()
            .map(|l| if l.starts_with("vision = {") { format!("vision = {{ USD = {vision} }}") } else { l.to_string() })
            .map(|l| l.replace("\"sample\"", &format!("{:?}", data.join("sample"))))
            .map(|l| l.replace("\"aml-usage.csv\"", &format!("{:?}", data.join("aml-usage.csv"))))
            .collect::<Vec<_>>()
            .join("\n");
        let path = dir.path().join(format!("budget-{vision}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let history = |config: &Path| {
        let hist = dir.path().join("history");
        let mut cmd = mlspend();
        cmd.args(["history", "--fail-if-over", "--ledger"]).arg(out.join("ledger")).arg("--out").arg(&hist);
        cmd.arg("--config").arg(config);
        let r = run(&mut cmd);
        (r, hist)
    };
    let generous: Vec<PathBuf> = vec![budgets("1000000")];
    let ((o, e, code), _) = history(&generous[0]);
    // Every other team's sample budget may or may not hold; only vision is asserted on.
    assert!(!e.contains("vision (USD)"), "{o}{e}");
    let ((o, e, code2), hist) = history(&budgets("10"));
    assert_eq!(code2, 4, "{o}{e}");
    assert!(e.contains("over budget: ") && e.contains("vision (USD) spent "), "{e}");
    assert!(hist.join("history.html").is_file() && hist.join("history.csv").is_file(), "written before exiting 4");
    let html = std::fs::read_to_string(hist.join("history.html")).unwrap();
    assert!(html.contains("over budget"));
    let _ = code;
}

#[test]
fn hostile_ledgers_and_queries_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // No ledger at all.
    let (o, e, code) = run(mlspend().args(["sql", "--ledger"]).arg(dir.path().join("none")).arg("select 1"));
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("none: no such folder; `mlspend run` writes the ledger"), "{e}");
    let (_, e, code) = run(mlspend()
        .args(["history", "--ledger"])
        .arg(dir.path().join("none"))
        .arg("--out")
        .arg(dir.path().join("h")));
    assert_eq!(code, 2, "{e}");
    assert!(!dir.path().join("h").exists(), "a failed history leaves no folder");

    // A path with glob characters and a `key=value` naming a column of its own reads as itself: no column from
    // the path, none overridden.
    let out = dir.path().join("EffectiveCost=1 [x=1]").join("reports");
    let (o, e, code) = run(mlspend().args(["run", "--quiet", "--month", "2026-10", "--out"]).arg(&out));
    assert_eq!(code, 0, "{o}{e}");
    let ledger = out.join("ledger");
    let (o, e, code) = run(mlspend().args(["sql", "--ledger"]).arg(&ledger).arg("select * from chargeback limit 1"));
    assert_eq!(code, 0, "{o}{e}");
    let header = o.lines().next().unwrap();
    assert!(!header.contains("[x") && header.split_whitespace().filter(|c| *c == "EffectiveCost").count() == 1, "{o}");
    let usd: i128 = chargeback_sums(&out).iter().filter(|((_, c, _), _)| c == "USD").map(|(_, v)| v).sum();
    let (o, e, code) = run(mlspend()
        .args(["sql", "--ledger"])
        .arg(&ledger)
        .arg("select sum(EffectiveCost) as usd from chargeback where BillingCurrency = 'USD'"));
    assert_eq!(code, 0, "{o}{e}");
    assert_eq!(units(o.lines().nth(1).unwrap().trim()), usd, "{o}");
    // Queries polars' streaming engine stops on (a count over the months, a top-k of a decimal) run in memory.
    for q in [
        "select count(*) as n from chargeback",
        "select x_Team, sum(EffectiveCost) as cost from chargeback group by x_Team order by cost desc limit 2",
        "select ResourceId, EffectiveCost from allocated order by EffectiveCost desc limit 3",
    ] {
        let (o, e, code) = run(mlspend().args(["sql", "--ledger"]).arg(&ledger).arg(q));
        assert_eq!(code, 0, "{q}: {o}{e}");
        assert!(!e.contains("panicked"), "{q}: {e}");
    }
    // A query that is not SQL, a table that is not there, a column that is not there.
    for q in ["selec nothing", "select * from nowhere", "select NoSuchColumn from chargeback"] {
        let (o, e, code) = run(mlspend().args(["sql", "--ledger"]).arg(&ledger).arg(q));
        assert_eq!(code, 2, "{q}: {o}{e}");
        assert!(e.starts_with("error: sql: "), "{q}: {e}");
    }
    // --out of another kind, and a failed query leaves no file.
    let (_, e, code) = run(mlspend().args(["sql", "--ledger"]).arg(&ledger).args(["--out", "x.xlsx", "select 1"]));
    assert_eq!(code, 2);
    assert!(e.contains("name a .csv or a .parquet file"), "{e}");
    let target = dir.path().join("q.csv");
    let (_, _, code) = run(mlspend()
        .args(["sql", "--ledger"])
        .arg(&ledger)
        .arg("--out")
        .arg(&target)
        .arg("select NoSuchColumn from chargeback"));
    assert_eq!(code, 2);
    assert!(
        !target.exists()
            && std::fs::read_dir(dir.path()).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("mlspend-tmp"))
    );
    // A partition folder that names no month is an error, not rows quietly missed.
    std::fs::create_dir_all(ledger.join("chargeback/billing_month=..%2F..%2Fetc")).unwrap();
    std::fs::write(ledger.join("chargeback/billing_month=..%2F..%2Fetc/part-0.parquet"), b"x").unwrap();
    let (_, e, code) = run(mlspend().args(["sql", "--ledger"]).arg(&ledger).arg("select count(*) from chargeback"));
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("a ledger partition names a billing month as YYYY-MM"), "{e}");
    std::fs::remove_dir_all(ledger.join("chargeback/billing_month=..%2F..%2Fetc")).unwrap();
    // A second file in a partition (a copy made by hand) would count the month twice: an error naming it.
    let part = ledger.join("chargeback/billing_month=2026-10");
    std::fs::copy(part.join("part-0.parquet"), part.join("part-0 copy.parquet")).unwrap();
    let (_, e, code) = run(mlspend().args(["sql", "--ledger"]).arg(&ledger).arg("select count(*) from chargeback"));
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("part-0 copy.parquet: a ledger partition holds one file"), "{e}");
    std::fs::remove_file(part.join("part-0 copy.parquet")).unwrap();
    // A partition file that is not Parquet, or of other columns: an error naming the file, never a panic.
    let good = std::fs::read(part.join("part-0.parquet")).unwrap();
    std::fs::write(part.join("part-0.parquet"), &good[..good.len() / 2]).unwrap();
    let (_, e, code) =
        run(mlspend().args(["history", "--ledger"]).arg(&ledger).arg("--out").arg(dir.path().join("h2")));
    assert_eq!(code, 1, "{e}");
    assert!(e.contains("billing_month=2026-10/part-0.parquet: ") && e.contains("not whole Parquet"), "{e}");
    let other = dir.path().join("other");
    let (o, e, code) =
        run(mlspend().args(["run", "--quiet", "--format", "parquet", "--month", "2026-09", "--out"]).arg(&other));
    assert_eq!(code, 0, "{o}{e}");
    std::fs::copy(other.join("2026-09/allocated.parquet"), part.join("part-0.parquet")).unwrap();
    let (_, e, code) =
        run(mlspend().args(["history", "--ledger"]).arg(&ledger).arg("--out").arg(dir.path().join("h2")));
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("holds other columns than the chargeback table") && !e.contains("panicked"), "{e}");
}

#[test]
fn every_real_sample_lands_in_the_ledger_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
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
        cmd.args(["run", "--quiet", "--config"]).arg(root().join("tests/fixtures/real.toml"));
        cmd.arg("--out").arg(&out).args(["--basis", basis]).arg(crate::common::real(name));
        let (o, e, code) = run(&mut cmd);
        assert_eq!(code, 0, "{name}: {o}{e}");
        let expected = chargeback_sums(&out);
        let column = if basis == "actual" { "BilledCost" } else { "EffectiveCost" };
        let result = dir.path().join(format!("{name}.csv"));
        let (o, e, code) =
            run(mlspend().args(["sql", "--ledger"]).arg(out.join("ledger")).arg("--out").arg(&result).arg(format!(
                "select billing_month, BillingCurrency, x_Team, sum({column}) as cost from chargeback group by 1, 2, 3"
            )));
        assert_eq!(code, 0, "{name}: {o}{e}");
        let got: BTreeMap<_, _> = read_csv(&result)
            .into_iter()
            .map(|r| {
                ((r["billing_month"].clone(), r["BillingCurrency"].clone(), r["x_Team"].clone()), units(&r["cost"]))
            })
            .collect();
        assert_eq!(got, expected, "{name}");
        let hist = dir.path().join(format!("{name}-history"));
        let (o, e, code) = run(mlspend().args(["history", "--ledger"]).arg(out.join("ledger")).arg("--out").arg(&hist));
        assert_eq!(code, 0, "{name}: {o}{e}");
        assert!(hist.join("history.html").is_file(), "{name}");
    }
}

#[test]
fn ledger_rows_false_keeps_the_chargeback_lines_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("data");
    let sample = std::fs::read_to_string(data.join("sample.toml")).unwrap();
    let text = sample
        .replace("\"sample\"", &format!("{:?}", data.join("sample")))
        .replace("\"aml-usage.csv\"", &format!("{:?}", data.join("aml-usage.csv")));
    let config = dir.path().join("rows.toml");
    std::fs::write(&config, format!("ledger_rows = false\n{text}")).unwrap();
    let out = dir.path().join("reports");
    let (o, e, code) = run(mlspend().args(["run", "--quiet", "--config"]).arg(&config).arg("--out").arg(&out));
    assert_eq!(code, 0, "{o}{e}");
    assert!(out.join("ledger/chargeback/billing_month=2026-10/part-0.parquet").is_file());
    assert!(!out.join("ledger/allocated").exists());
    let (o, e, code) =
        run(mlspend().args(["sql", "--ledger"]).arg(out.join("ledger")).arg("select count(*) as n from allocated"));
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.starts_with("error: sql: "), "{e}");
}
