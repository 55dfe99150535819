//! No bill, manifest or configuration makes mlspend count money twice, print a wrong total, or write outside its
//! folder. Each test runs the real binary on real samples or on hostile files made here, and names the inputs it
//! makes; the hostile ones are also kept as a corpus in `tests/fixtures/hostile/`.

use crate::common::{check_json, files_under, mlspend, real, run, source_lines, string_columns};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn hostile(name: &str) -> PathBuf {
    root().join("tests/fixtures/hostile").join(name)
}

fn run_pack(out: &Path, config: &Path, inputs: &[&Path], extra: &[&str]) -> (String, String, i32) {
    let mut cmd = mlspend();
    cmd.arg("run").arg("--config").arg(config).arg("--out").arg(out).args(extra).args(inputs);
    run(&mut cmd)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn summary(out: &Path, month: &str) -> Value {
    serde_json::from_str(&read(&out.join(month).join("summary.json"))).unwrap()
}

/// (input_total_exact, rows input) of a month and currency in summary.json.
fn totals(out: &Path, month: &str, currency: &str) -> (String, u64) {
    let s = summary(out, month);
    let c = s["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == currency).expect("the currency");
    (c["input_total_exact"].as_str().unwrap().to_string(), c["rows"]["input"].as_u64().unwrap())
}

/// The month totals `check --json` reports: (month, currency, rows, the cost of whichever basis the file carries).
fn check_months(r: &Value) -> Vec<(String, String, u64, String)> {
    r["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let t = m;
            let cost = ["actual", "amortized", "unlabelled"].iter().find_map(|k| t[k].as_str()).unwrap_or("");
            (
                m["month"].as_str().unwrap().to_string(),
                m["currency"].as_str().unwrap().to_string(),
                t["rows"].as_u64().unwrap(),
                cost.to_string(),
            )
        })
        .collect()
}

/// Every file below `dir` (recursively), with absolute paths.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir).into_iter().map(|f| dir.join(f)).collect()
}

// The real EA amortized sample: 28 rows, USD, 2023-09; Python's Decimal sum of its `Cost` column.
const EA_AMORTIZED_TOTAL: &str = "16.296932136636644627485419";

#[test]
fn the_same_export_under_two_names_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("downloads");
    std::fs::create_dir_all(folder.join("again")).unwrap();
    for p in [folder.join("a.csv"), folder.join("b.csv"), folder.join("again/a.csv")] {
        std::fs::copy(real("EA_AmortizedCost_Small.csv"), p).unwrap();
    }
    let r = check_json(&[&folder]);
    assert_eq!(check_months(&r), [("2023-09".into(), "USD".into(), 28, EA_AMORTIZED_TOTAL.into())]);
    let skipped: Vec<&str> =
        r["inputs"][0]["duplicate_files"].as_array().unwrap().iter().map(|d| d["skipped"].as_str().unwrap()).collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("b.csv: the same bytes as") && warnings.contains("a.csv; read once"), "{warnings}");

    // Named as two inputs, too; and `run` agrees.
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &fixture("real.toml"), &[&folder.join("a.csv"), &folder.join("b.csv")], &[]);
    assert_eq!(code, 0, "{o}{e}");
    assert_eq!(totals(&out, "2023-09", "USD"), (EA_AMORTIZED_TOTAL.into(), 28));
    assert!(e.contains("the same bytes as"), "{e}");

    // Files that differ by one byte are both read.
    let text = read(&folder.join("a.csv"));
    std::fs::write(folder.join("b.csv"), text.replacen("Trey", "Trez", 1)).unwrap();
    let r = check_json(&[&folder.join("a.csv"), &folder.join("b.csv")]);
    assert_eq!(r["rows"], 56);
}

/// An export folder with two runs of overlapping date ranges, each holding the bundled sample's August rows of its
/// days: `<export>/20260801-20260831/<run>/part.csv` and `<export>/20260801-20260815/<run>/part.csv`.
fn overlapping_runs(dir: &Path, newer_is_partial: bool) -> (PathBuf, u64, u64) {
    let sample = root().join("data/sample/mlspend-ea-amortizedcost/20260801-20260831");
    let part = files_under(&sample).into_iter().find(|f| f.extension().is_some_and(|x| x == "csv")).unwrap();
    let text = read(&sample.join(part));
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let early: Vec<&str> = rows.iter().copied().filter(|r| r.contains(",08/0") || r.contains(",08/1")).collect();
    let early: Vec<&str> = early
        .into_iter()
        .filter(|r| {
            let day = r.split(",08/").nth(1).map(|d| &d[..2]).unwrap_or("99");
            day.parse::<u32>().is_ok_and(|d| d <= 15)
        })
        .collect();
    let export = dir.join("export");
    let (whole, partial) =
        if newer_is_partial { ("202608010000", "202608160000") } else { ("202609010000", "202608160000") };
    for (range, run, body) in [("20260801-20260831", whole, &rows), ("20260801-20260815", partial, &early)] {
        let d = export.join(range).join(run);
        std::fs::create_dir_all(&d).unwrap();
        let mut t = String::from(header);
        t.push('\n');
        for r in body.iter() {
            t.push_str(r);
            t.push('\n');
        }
        std::fs::write(d.join("part_0_0001.csv"), t).unwrap();
    }
    (export, rows.len() as u64, early.len() as u64)
}

#[test]
fn overlapping_runs_of_one_export_count_each_day_once() {
    let dir = tempfile::tempdir().unwrap();
    // The reference: the August run alone.
    let alone = dir.path().join("alone");
    let sample = root().join("data/sample/mlspend-ea-amortizedcost/20260801-20260831");
    let config = root().join("data/sample.toml");
    assert_eq!(run_pack(&alone, &config, &[&sample], &["--export-type", "amortized"]).2, 0);
    let reference = totals(&alone, "2026-08", "USD");

    for newer_is_partial in [true, false] {
        let case = dir.path().join(format!("case-{newer_is_partial}"));
        let (export, all, early) = overlapping_runs(&case, newer_is_partial);
        assert!(early > 100 && early < all, "{early} of {all}");
        let out = case.join("r");
        let (o, e, code) = run_pack(&out, &config, &[&export], &["--export-type", "amortized"]);
        assert_eq!(code, 0, "{o}{e}");
        assert_eq!(totals(&out, "2026-08", "USD"), reference, "newer is partial: {newer_is_partial}");
        let r = check_json(&[&export]);
        let skipped = &r["inputs"][0]["skipped_runs"];
        if newer_is_partial {
            // The monthly run is read for the 16th to the 31st; its rows of the 1st to the 15th are superseded.
            assert!(e.contains("skipped the days 2026-08-01 to 2026-08-15 of run"), "{e}");
            assert_eq!(skipped[0]["days"], "2026-08-01 to 2026-08-15");
            let superseded: u64 =
                r["inputs"][0]["files"].as_array().unwrap().iter().map(|f| f["superseded"].as_u64().unwrap_or(0)).sum();
            assert_eq!(superseded, early);
            assert!(check_text(&export).contains("superseded by a newer run"));
        } else {
            // The newer monthly run covers every day of the half-month run: that one is skipped whole.
            assert!(e.contains("skipped run") && e.contains("20260801-20260815"), "{e}");
            assert!(skipped[0]["days"].is_null());
            assert_eq!(skipped[0]["chosen_by"], "run folder name");
        }
        // --allow-overlap sums them, knowingly.
        let both = case.join("both");
        let (_, e, code) = run_pack(&both, &config, &[&export], &["--export-type", "amortized", "--allow-overlap"]);
        assert_eq!(code, 0);
        assert!(e.contains("--allow-overlap"), "{e}");
        let s = summary(&both, "2026-08");
        let rows: u64 = s["currencies"].as_array().unwrap().iter().map(|c| c["rows"]["input"].as_u64().unwrap()).sum();
        assert_eq!(rows, all + early);
    }
}

fn check_text(export: &Path) -> String {
    let mut cmd = mlspend();
    cmd.arg("check").arg(export);
    run(&mut cmd).0
}

#[test]
fn a_folder_with_actual_and_amortized_exports_reads_the_runs_basis() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("exports");
    std::fs::create_dir_all(folder.join("ea-actualcost")).unwrap();
    std::fs::create_dir_all(folder.join("ea-amortizedcost")).unwrap();
    std::fs::copy(real("EA_ActualCost_Small.csv"), folder.join("ea-actualcost/part.csv")).unwrap();
    std::fs::copy(real("EA_AmortizedCost_Small.csv"), folder.join("ea-amortizedcost/part.csv")).unwrap();
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &fixture("real.toml"), &[&folder], &[]);
    assert_eq!(code, 0, "{o}{e}");
    assert_eq!(totals(&out, "2023-09", "USD"), (EA_AMORTIZED_TOTAL.into(), 28));
    assert!(e.contains("read the amortized-cost exports; skipped 1 actual-cost file"), "{e}");
    // The reverse: an actual run over amortized files only is refused (exit 2), naming what to do.
    let (_, e, code) = run_pack(
        &dir.path().join("x"),
        &fixture("real.toml"),
        &[&real("EA_AmortizedCost_Small.csv")],
        &["--basis", "actual"],
    );
    assert_eq!(code, 2);
    assert!(e.contains("the run uses actual cost") && e.contains("--basis amortized"), "{e}");
    assert!(!dir.path().join("x").exists(), "a refused run leaves no folder");
}

#[test]
fn an_amount_that_cannot_be_held_exactly_is_an_error_never_a_wrong_total() {
    let dir = tempfile::tempdir().unwrap();
    for cost in ["2E36", "12345678901234567890123456789012345678", "-1e16", "1e999"] {
        let f = dir.path().join("big-amortized.csv");
        std::fs::write(
            &f,
            format!("Date,Cost,BillingCurrency,ResourceId\n08/01/2026,1.00,USD,x\n08/02/2026,{cost},USD,y\n"),
        )
        .unwrap();
        let out = dir.path().join("r");
        let (o, e, code) = run_pack(&out, &fixture("real.toml"), &[&f], &[]);
        assert_eq!(code, 1, "{cost}: {o}{e}");
        assert!(
            e.contains("big-amortized.csv: line 3: column Cost") && e.contains("largest cost a row may carry"),
            "{e}"
        );
        assert!(!out.exists(), "nothing written");
        let mut cmd = mlspend();
        cmd.arg("check").arg(&f);
        assert_eq!(run(&mut cmd).2, 1);
    }
    // The largest a row may carry is accepted, exactly.
    let f = dir.path().join("edge-amortized.csv");
    std::fs::write(
        &f,
        "Date,Cost,BillingCurrency,ResourceId\n08/01/2026,999999999999999.99,USD,x\n08/01/2026,-0.01,USD,x\n",
    )
    .unwrap();
    let out = dir.path().join("edge");
    assert_eq!(run_pack(&out, &fixture("real.toml"), &[&f], &[]).2, 0);
    assert_eq!(totals(&out, "2026-08", "USD").0, "999999999999999.98");

    // A month whose total passes 10^20: 120,000 rows of 9 x 10^14 (1.08 x 10^20).
    let f = dir.path().join("sum-amortized.csv");
    let mut t = String::from("Date,Cost,BillingCurrency,ResourceId\n");
    for _ in 0..120_000 {
        t.push_str("08/01/2026,900000000000000,USD,x\n");
    }
    std::fs::write(&f, t).unwrap();
    let out = dir.path().join("sum");
    let (_, e, code) = run_pack(&out, &fixture("real.toml"), &[&f], &[]);
    assert_eq!(code, 1, "{e}");
    assert!(e.contains("2026-08 USD") && e.contains("beyond the largest amount mlspend holds exactly"), "{e}");
    assert!(!out.exists());
}

#[test]
fn minor_units_are_validated_like_decimals() {
    let dir = tempfile::tempdir().unwrap();
    let base = read(&fixture("real.toml"));
    for (extra, needle) in [
        ("minor_units = { USD = 30 }", "minor_units.USD: give 0 to 6 fractional digits, not 30"),
        ("minor_units = { dollars = 2 }", "minor_units.dollars: not an ISO 4217 currency code"),
    ] {
        let c = dir.path().join("c.toml");
        std::fs::write(&c, format!("{extra}\n{base}")).unwrap();
        let (_, e, code) = run_pack(&dir.path().join("r"), &c, &[&real("EA_AmortizedCost_Small.csv")], &[]);
        assert_eq!(code, 2, "{e}");
        assert!(e.contains(needle), "{e}");
    }
    // KWD has three minor units (ISO 4217): its totals keep three decimals.
    let f = dir.path().join("kwd-amortized.csv");
    std::fs::write(&f, "Date,Cost,BillingCurrency,ResourceId\n08/01/2026,1.2345,kwd,x\n08/01/2026,2.0004,KWD,y\n")
        .unwrap();
    let out = dir.path().join("kwd");
    let (o, e, code) = run_pack(&out, &fixture("real.toml"), &[&f], &[]);
    assert_eq!(code, 0, "{o}{e}");
    let s = summary(&out, "2026-08");
    let c = &s["currencies"][0];
    assert_eq!(
        (c["currency"].as_str(), c["decimals"].as_u64(), c["input_total"].as_str()),
        (Some("KWD"), Some(3), Some("3.235"))
    );
}

#[test]
fn currency_codes_are_normalised_and_anything_else_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cur-amortized.csv");
    std::fs::write(
        &f,
        "Date,Cost,BillingCurrency,ResourceId\n08/01/2026,1.00,usd,x\n08/01/2026,2.00,USD,x\n08/01/2026,4.00, Usd ,x\n\
         08/01/2026,8.00,US,x\n08/01/2026,16.00,U$D,x\n08/01/2026,32.00,USDX,x\n",
    )
    .unwrap();
    let r = check_json(&[&f]);
    assert_eq!(check_months(&r), [("2026-08".into(), "USD".into(), 3, "7".into())]);
    let rejects: Vec<(u64, String)> = r["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["line"].as_u64().unwrap(), x["reason"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(rejects.len(), 3);
    assert_eq!(rejects[0].0, 5);
    assert!(rejects.iter().all(|(_, why)| why.starts_with("not an ISO 4217 currency code")), "{rejects:?}");
}

/// Every path-like value, in every field that names a file: the currency (chart files) and team names (statements).
#[test]
fn nothing_from_a_bill_or_a_configuration_reaches_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let long = "a".repeat(5000);
    let values = [
        "/",
        "..",
        "../../outside/PWNED",
        "a\u{0}b",
        long.as_str(),
        "<b>",
        "X/../../../../tmp/PWNED",
        "CON",
        ".hidden",
    ];
    // Currencies: every one is refused as a currency and rejected with its reason; none names a file.
    let f = dir.path().join("paths-amortized.csv");
    let mut t = String::from("Date,Cost,BillingCurrency,ResourceId,Tags\n08/01/2026,1.00,USD,x,\n");
    for v in &values {
        t.push_str(&format!("08/01/2026,1.00,\"{v}\",x,\n"));
    }
    std::fs::write(&f, t).unwrap();
    // Teams: a configuration naming teams after every value.
    let toml_str = |v: &str| {
        let mut t = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => t.push_str("\\\""),
                '\\' => t.push_str("\\\\"),
                c if c.is_control() => t.push_str(&format!("\\u{:04X}", c as u32)),
                c => t.push(c),
            }
        }
        t + "\""
    };
    let teams: Vec<String> = values.iter().map(|v| toml_str(v)).collect();
    let config = format!(
        "[[workspace]]\nname = \"ws\"\ntopology = \"shared\"\nresources = [\"x\"]\nteams = [{}]\n",
        teams.join(", ")
    );
    let started = std::time::SystemTime::now();
    let c = dir.path().join("paths.toml");
    std::fs::write(&c, config).unwrap();
    for command in ["run", "compare"] {
        let out = dir.path().join(format!("out-{command}"));
        let mut cmd = mlspend();
        cmd.arg(command).arg("--config").arg(&c).arg("--out").arg(&out).arg(&f);
        let (o, e, code) = run(&mut cmd);
        assert_eq!(code, 0, "{command}: {o}{e}");
        // Nothing outside OUT: the temp folder holds only what the test made, and OUT.
        let mut top: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        top.sort();
        assert!(
            top.iter()
                .all(|n| ["outside", "paths-amortized.csv", "paths.toml", "out-run", "out-compare"]
                    .contains(&n.as_str())),
            "{top:?}"
        );
        assert!(std::fs::read_dir(&outside).unwrap().next().is_none(), "nothing written outside");
        // The attack of the issue: a currency `X/../../../../tmp/PWNED` wrote /tmp/PWNED.svg.
        if let Ok(m) = std::fs::metadata("/tmp/PWNED.svg") {
            assert!(m.modified().unwrap() < started, "/tmp/PWNED.svg was written");
        }
        for file in all_files(&out) {
            let rel = file.strip_prefix(&out).unwrap();
            if let Ok(part) = rel.strip_prefix("ledger") {
                // ledger/<table>/billing_month=YYYY-MM/part-0.parquet, every part of it fixed but the month.
                let parts: Vec<String> =
                    part.components().map(|c| c.as_os_str().to_string_lossy().to_string()).collect();
                assert!(
                    parts.len() == 3 && ["chargeback", "allocated"].contains(&parts[0].as_str()),
                    "{}",
                    rel.display()
                );
                let month = parts[1].strip_prefix("billing_month=").unwrap_or("");
                assert!(
                    month.len() == 7
                        && month.bytes().enumerate().all(|(i, b)| if i == 4 { b == b'-' } else { b.is_ascii_digit() }),
                    "{}",
                    rel.display()
                );
                assert_eq!(parts[2], "part-0.parquet");
                continue;
            }
            assert!(rel.components().count() <= 3, "{}", rel.display());
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            assert!(name.len() <= 110, "{name}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{name}");
            assert!(!name.starts_with('.') || name == ".mlspend-lock", "{name}");
        }
    }
    let statements: Vec<String> = std::fs::read_dir(dir.path().join("out-run/2026-08/statements"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(statements.len(), 2 * values.len(), "{statements:?}");
}

#[test]
fn a_manifest_never_reads_outside_its_export() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::copy(real("EA_AmortizedCost_Small.csv"), secret.join("outside.csv")).unwrap();
    let run_dir = dir.path().join("export/x/20230901-20230930/run1");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::copy(real("EA_AmortizedCost_Small.csv"), run_dir.join("part_0_0001.csv")).unwrap();
    let manifest = |blobs: &str, total: u64| {
        format!(
            r#"{{"manifestVersion":"2024-04-01","dataRowCount":{total},"blobCount":2,"blobs":[{{"blobName":"x/20230901-20230930/run1/part_0_0001.csv","dataRowCount":28}},{blobs}]}}"#
        )
    };
    for blob in [
        r#"{"blobName":"../../../../secret/outside.csv","dataRowCount":28}"#,
        r#"{"blobName":"x/20230901-20230930/run1/../../../../secret/outside.csv","dataRowCount":28}"#,
        r#"{"blobName":"/..\\..\\secret\\outside.csv","dataRowCount":28}"#,
    ] {
        std::fs::write(run_dir.join("manifest.json"), manifest(blob, 56)).unwrap();
        let mut cmd = mlspend();
        cmd.arg("check").arg(dir.path().join("export"));
        let (o, e, code) = run(&mut cmd);
        assert_eq!(code, 1, "{blob}: {o}{e}");
        assert!(e.contains("manifest.json") && e.contains("outside the export folder"), "{e}");
    }
    // A link out of the export folder is refused the same way.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(secret.join("outside.csv"), run_dir.join("part_0_0002.csv")).unwrap();
        let blob = r#"{"blobName":"x/20230901-20230930/run1/part_0_0002.csv","dataRowCount":28}"#;
        std::fs::write(run_dir.join("manifest.json"), manifest(blob, 56)).unwrap();
        let mut cmd = mlspend();
        cmd.arg("check").arg(dir.path().join("export"));
        let (_, e, code) = run(&mut cmd);
        assert_eq!(code, 1);
        assert!(e.contains("(a link out)"), "{e}");
        std::fs::remove_file(run_dir.join("part_0_0002.csv")).unwrap();
    }
    // The manifest's top-level dataRowCount is checked like each blob's.
    std::fs::write(
        run_dir.join("manifest.json"),
        r#"{"manifestVersion":"2024-04-01","dataRowCount":30,"blobCount":1,"blobs":[{"blobName":"x/20230901-20230930/run1/part_0_0001.csv","dataRowCount":28}]}"#,
    )
    .unwrap();
    let mut cmd = mlspend();
    cmd.arg("check").arg(dir.path().join("export"));
    let (_, e, code) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(e.contains("declares dataRowCount 30 but its blobs hold 28 data rows"), "{e}");
}

#[test]
fn hostile_cells_stay_linear_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // A tags cell of 400,000 keys (6.7 MB): duplicate keys are checked in linear time.
    let mut tags = String::from("\"{");
    for i in 0..400_000 {
        if i > 0 {
            tags.push(',');
        }
        tags.push_str(&format!("\"\"k{i}\"\": \"\"v\"\""));
    }
    tags.push_str(",\"\"K0\"\": \"\"dup\"\"}\"");
    let f = dir.path().join("tags-amortized.csv");
    std::fs::write(&f, format!("Date,Cost,BillingCurrency,ResourceId,Tags\n08/01/2026,1.00,USD,x,{tags}\n")).unwrap();
    assert!(std::fs::metadata(&f).unwrap().len() > 6_000_000);
    let r = check_json(&[&f]);
    assert_eq!(r["rows"], 1);
    assert_eq!(r["inputs"][0]["tags"].as_array().unwrap().len(), 400_000, "K0 folds onto k0: the first wins");

    // A 2 MB .csv.gz that inflates to one field of 200 MiB: refused at the 64 MiB record bound, not read into memory.
    use std::io::Write;
    let gz = dir.path().join("bomb.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::best());
    enc.write_all(b"Date,Cost,BillingCurrency,ResourceId\n08/01/2026,1.00,USD,\"").unwrap();
    let block = vec![b'a'; 1 << 20];
    for _ in 0..200 {
        enc.write_all(&block).unwrap();
    }
    enc.write_all(b"\"\n").unwrap();
    enc.finish().unwrap();
    assert!(std::fs::metadata(&gz).unwrap().len() < 3_000_000);
    let mut cmd = mlspend();
    cmd.arg("check").arg(&gz);
    let (_, e, code) = run(&mut cmd);
    assert_eq!(code, 1, "{e}");
    assert!(e.contains("bomb.csv.gz: line 2: a record longer than 64 MiB"), "{e}");
}

#[test]
fn a_parquet_file_of_two_thousand_row_groups_reads_in_linear_time() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("groups-amortized.parquet");
    // As wide as a real export (56 columns): every row group's metadata names every column, so a reader that parses
    // the footer again for each group does work quadratic in the groups (minutes, before this was fixed).
    let mut names: Vec<String> = ["Date", "Cost", "BillingCurrency", "ResourceId"].map(String::from).to_vec();
    names.extend((0..52).map(|i| format!("Extra{i}")));
    let schema = Arc::new(arrow_schema::Schema::new(
        names.iter().map(|n| arrow_schema::Field::new(n, arrow_schema::DataType::Utf8, false)).collect::<Vec<_>>(),
    ));
    let props = parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(1)).build();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema.clone(), Some(props))
            .unwrap();
    for i in 0..2000 {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["2026-08-01"])),
            Arc::new(StringArray::from(vec![format!("0.{:02}", i % 100)])),
            Arc::new(StringArray::from(vec!["USD"])),
            Arc::new(StringArray::from(vec![format!("r{i}")])),
        ];
        cols.extend((0..52).map(|_| Arc::new(StringArray::from(vec!["x"])) as ArrayRef));
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap()).unwrap();
        w.flush().unwrap();
    }
    let meta = w.close().unwrap();
    assert_eq!(meta.num_row_groups(), 2000);
    let r = check_json(&[&path]);
    // 20 x (0.00 + 0.01 + ... + 0.99) = 20 x 49.50
    assert_eq!(check_months(&r), [("2026-08".into(), "USD".into(), 2000, "990".into())]);
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &fixture("real.toml"), &[&path], &["--format", "parquet"]);
    assert_eq!(code, 0, "{o}{e}");
    assert_eq!(totals(&out, "2026-08", "USD"), ("990".into(), 2000));
    // Groups read together keep their rows' numbers.
    assert_eq!(source_lines(&out.join("2026-08/allocated.parquet")), (1..=2000).collect::<Vec<u64>>());
}

/// The real EA sample with CRLF (or CR-only) line endings and a bad cost on line 5.
fn with_endings(dir: &Path, ending: &str, name: &str) -> PathBuf {
    let text = read(&real("EA_AmortizedCost_Small.csv"));
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let cols: Vec<&str> = lines[0].trim_start_matches('\u{feff}').split(',').collect();
    let cost = cols.iter().position(|c| *c == "Cost").unwrap();
    // Line 5 is the 4th data row; its cost is the `cost`-th field (no quoted commas before it in this file).
    let mut fields: Vec<String> = lines[4].split(',').map(String::from).collect();
    fields[cost] = "not-a-cost".into();
    lines[4] = fields.join(",");
    let p = dir.join(name);
    std::fs::write(&p, lines.join(ending) + ending).unwrap();
    p
}

#[test]
fn reject_line_numbers_are_right_for_lf_crlf_and_cr_files() {
    let dir = tempfile::tempdir().unwrap();
    for (ending, name) in [("\n", "lf-amortized.csv"), ("\r\n", "crlf-amortized.csv"), ("\r", "cr-amortized.csv")] {
        let f = with_endings(dir.path(), ending, name);
        for chunk in [None, Some("700")] {
            let mut cmd = mlspend();
            cmd.args(["check", "--json"]).arg(&f);
            if let Some(c) = chunk {
                cmd.env("MLSPEND_CHUNK_BYTES", c);
            }
            let (o, e, code) = run(&mut cmd);
            assert_eq!(code, 0, "{e}");
            let r: Value = serde_json::from_str(&o).unwrap();
            let lines: Vec<u64> =
                r["rejects"].as_array().unwrap().iter().map(|x| x["line"].as_u64().unwrap()).collect();
            assert_eq!(lines, [5], "{name} chunked {chunk:?}");
            assert_eq!(r["rows"], 28);
        }
        let out = dir.path().join(format!("out-{name}"));
        let (o, e, code) = run_pack(&out, &fixture("real.toml"), &[&f], &["--format", "parquet"]);
        assert_eq!(code, 0, "{o}{e}");
        assert!(read(&out.join("2023-09/rejects.csv")).contains(&format!("{name},5,Cost,")), "{name}");
        // x_SourceLine: the data rows are lines 2..=29 but 5.
        let lines = source_lines(&out.join("2023-09/allocated.parquet"));
        let expected: Vec<u64> = (2..=29).filter(|l| *l != 5).collect();
        assert_eq!(lines, expected, "{name}");
    }
}

#[test]
fn control_characters_in_tags_never_reach_an_svg() {
    let dir = tempfile::tempdir().unwrap();
    let f = hostile("nul-tag-amortized.csv");
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &fixture("real.toml"), &[&f], &[]);
    assert_eq!(code, 0, "{o}{e}");
    let svgs: Vec<PathBuf> =
        all_files(&out).into_iter().filter(|p| p.extension().is_some_and(|x| x == "svg")).collect();
    assert!(svgs.iter().any(|p| p.to_string_lossy().contains("unallocated")), "{svgs:?}");
    for svg in svgs {
        let text = read(&svg);
        assert!(!text.chars().any(|c| c.is_control() && !"\n\r\t".contains(c)), "{}", svg.display());
    }
    // The CSV keeps the bill's text as it is (it is data, quoted as needed); only the pictures replace it.
    let csv = read(&out.join("2026-08/chargeback.csv"));
    assert!(csv.contains("unknown workspace w\u{0}nul") && csv.contains("unknown workspace w\u{7}bel"), "{csv}");
}

#[test]
fn duplicate_header_names_are_refused_when_read_and_noted_when_not() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("dup-amortized.csv");
    std::fs::write(&f, "Date,Cost,BillingCurrency,ResourceId,cost\n08/01/2026,1.00,USD,x,2.00\n").unwrap();
    let mut cmd = mlspend();
    cmd.arg("check").arg(&f);
    let (_, e, code) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(e.contains("column `cost` appears twice in the header"), "{e}");
    std::fs::write(&f, "Date,Cost,BillingCurrency,ResourceId,Note,note\n08/01/2026,1.00,USD,x,a,b\n").unwrap();
    let r = check_json(&[&f]);
    assert_eq!(r["rows"], 1);
    assert!(r["warnings"].to_string().contains("the header names `note` more than once"), "{}", r["warnings"]);
}

#[test]
fn formula_cells_with_leading_spaces_are_neutralised_in_every_csv() {
    let dir = tempfile::tempdir().unwrap();
    let f = hostile("formula-amortized.csv");
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &hostile("formula.toml"), &[&f], &[]);
    assert_eq!(code, 0, "{o}{e}");
    for csv in all_files(&out).into_iter().filter(|p| p.extension().is_some_and(|x| x == "csv")) {
        let text = read(&csv);
        for cell in text.split(['\n', ',']) {
            let c = cell.trim_end_matches('\r').trim_start_matches('"');
            let first = c.bytes().find(|b| *b != b' ');
            let number = c.parse::<f64>().is_ok();
            assert!(number || !matches!(first, Some(b'=' | b'+' | b'-' | b'@')), "{}: {cell:?}", csv.display());
        }
    }
    let chargeback = read(&out.join("2026-08/chargeback.csv"));
    // Names are trimmed where they are read (the team ` =1+1` is `=1+1`); what is left is neutralised.
    for cell in ["'=1+1,'+x", "'=1+1,'-2+3", "'=1+1,'=1+1", "'  @SUM(A1)", "\"'\r=cmd\""] {
        assert!(chargeback.contains(cell), "{cell} in {chargeback}");
    }
}

#[test]
fn configuration_problems_are_all_reported_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("bad.toml");
    std::fs::write(
        &c,
        r#"
decimals = "two"
[tags]
team = "team"
[[workspace]]
name = "mlw-x"
topology = "team"
team = "vision"
resource_groups = "rg-x"
[[workspace]]
name = "mlw-y"
team = "nlp"
[[workspace]]
name = "mlw-z"
topology = "pool"
[[workspace]]
name = "mlw-v"
topology = "team"
team = "Vision"
"#,
    )
    .unwrap();
    let mut cmd = mlspend();
    cmd.args(["check", "--config"]).arg(&c).arg(real("EA_AmortizedCost_Small.csv"));
    let (_, e, code) = run(&mut cmd);
    assert_eq!(code, 2, "{e}");
    for needle in [
        "decimals: string \"two\", expected u32",
        "tags.team: string \"team\", expected a list of names",
        "workspace \"mlw-x\": resource_groups: string \"rg-x\", expected a list of names",
        "workspace \"mlw-y\": missing `topology`",
        "workspace \"mlw-z\": topology: unknown variant `pool`",
        "5 problems",
    ] {
        assert!(e.contains(needle), "{needle} in {e}");
    }
    // Teams that differ only in case: allowed, with a warning at configuration time.
    let c = dir.path().join("case.toml");
    std::fs::write(
        &c,
        "[[workspace]]\nname = \"a\"\ntopology = \"team\"\nteam = \"Vision\"\n[[workspace]]\nname = \"b\"\ntopology = \"team\"\nteam = \"vision\"\n",
    )
    .unwrap();
    let (_, e, code) = run_pack(&dir.path().join("r"), &c, &[&real("EA_AmortizedCost_Small.csv")], &[]);
    assert_eq!(code, 0, "{e}");
    assert!(e.contains("teams `Vision` and `vision` differ only in case"), "{e}");
}

#[test]
fn usage_mistakes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (_, e, code) = run_pack(&file, &fixture("real.toml"), &[&real("EA_AmortizedCost_Small.csv")], &[]);
    assert_eq!(code, 2);
    assert!(e.contains("is a file; --out names the folder"), "{e}");
    let (_, e, code) = run_pack(
        &dir.path().join("r"),
        &fixture("real.toml"),
        &[&real("EA_AmortizedCost_Small.csv")],
        &["--month", "2024-01"],
    );
    assert_eq!(code, 2);
    assert!(e.contains("--month 2024-01: the exports hold no rows of that month; they hold 2023-09"), "{e}");
    // A legacy file is actual cost; an --export-type that disagrees with a file's name is named.
    let mut cmd = mlspend();
    cmd.args(["check", "--json", "--export-type", "actual"]).arg(real("EA_AmortizedCost_Small.csv"));
    let (o, _, code) = run(&mut cmd);
    assert_eq!(code, 0);
    assert!(o.contains("--export-type actual disagrees with its name, which says amortized"), "{o}");
}

/// Every file of a pack and its bytes, the lock file left out (it names the last run's pid).
fn snapshot(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(out)
        .into_iter()
        .filter(|f| f != Path::new(".mlspend-lock"))
        .map(|f| (f.clone(), std::fs::read(out.join(&f)).unwrap()))
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    for f in files_under(from) {
        std::fs::create_dir_all(to.join(&f).parent().unwrap()).unwrap();
        std::fs::copy(from.join(&f), to.join(&f)).unwrap();
    }
}

#[test]
fn the_pack_changes_in_one_step_whenever_the_run_dies() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("data/sample.toml");
    let sample = root().join("data/sample");
    // The old pack (CSV) and what the new run writes (CSV and Parquet), each made whole once.
    let old = dir.path().join("old");
    let new = dir.path().join("new");
    assert_eq!(run_pack(&old, &config, &[&sample], &[]).2, 0);
    assert_eq!(run_pack(&new, &config, &[&sample], &["--format", "csv,parquet"]).2, 0);
    let (old_files, new_files) = (snapshot(&old), snapshot(&new));
    assert_ne!(old_files.len(), new_files.len());
    for (point, expect_new) in [("staged", false), ("before-swap", false), ("after-swap", true), ("unbalance", false)] {
        let out = dir.path().join(format!("out-{point}"));
        copy_tree(&old, &out);
        std::fs::write(out.join("notes.txt"), "a file of the user's own").unwrap();
        let mut cmd = mlspend();
        cmd.env("MLSPEND_FAULT", point).arg("run").arg("--config").arg(&config).arg("--out").arg(&out);
        cmd.args(["--format", "csv,parquet"]).arg(&sample);
        let (o, e, code) = run(&mut cmd);
        assert_ne!(code, 0, "{point}: {o}{e}");
        let mut now = snapshot(&out);
        now.retain(|(f, _)| f != Path::new("notes.txt"));
        if expect_new {
            assert!(now == new_files, "{point}: the new pack, whole");
        } else {
            assert!(now == old_files, "{point}: the old pack, whole");
        }
        assert_eq!(read(&out.join("notes.txt")), "a file of the user's own");
        if point == "unbalance" {
            assert_eq!(code, 3, "{e}");
            assert!(e.contains("the books don't balance: 2026-08"), "{e}");
        }
        // The next run cleans up whatever the dead one left beside OUT, and writes the new pack.
        assert_eq!(run_pack(&out, &config, &[&sample], &["--format", "csv,parquet"]).2, 0);
        let mut now = snapshot(&out);
        now.retain(|(f, _)| f != Path::new("notes.txt"));
        assert!(now == new_files, "{point}: rerun");
        let beside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.contains("mlspend"))
            .collect();
        assert!(beside.is_empty(), "{beside:?}");
    }
}

#[test]
fn two_runs_into_one_folder_never_mix() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("data/sample.toml");
    let sample = root().join("data/sample");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_eq!(run_pack(&a, &config, &[&sample], &[]).2, 0);
    assert_eq!(run_pack(&b, &config, &[&sample], &["--format", "csv,json"]).2, 0);
    let (pack_a, pack_b) = (snapshot(&a), snapshot(&b));
    let mut refused = 0;
    for trial in 0..8 {
        let out = dir.path().join(format!("out-{trial}"));
        let spawn = |format: &str| {
            let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("mlspend"));
            cmd.current_dir(root()).arg("run").arg("--config").arg(&config).arg("--out").arg(&out);
            cmd.args(["--format", format]).arg(&sample);
            cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        };
        let (ca, cb) = (spawn("csv"), spawn("csv,json"));
        for child in [ca, cb] {
            let output = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&output.stderr);
            match output.status.code() {
                Some(0) => {}
                Some(1) => {
                    assert!(err.contains("another mlspend run is writing this pack (pid "), "{err}");
                    refused += 1;
                }
                other => panic!("{other:?}: {err}"),
            }
        }
        let now = snapshot(&out);
        assert!(now == pack_a || now == pack_b, "trial {trial}: one whole pack");
    }
    eprintln!("{refused} of 16 runs were refused while the other held the lock");
}

#[test]
fn compare_leaves_the_month_folders_other_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("data/sample.toml");
    let sample = root().join("data/sample");
    let out = dir.path().join("r");
    assert_eq!(run_pack(&out, &config, &[&sample], &["--format", "csv,parquet"]).2, 0);
    std::fs::write(out.join("2026-10/notes.txt"), "mine").unwrap();
    std::fs::write(out.join("2026-10/topology.csv"), "stale").unwrap();
    let before = snapshot(&out);
    let mut cmd = mlspend();
    cmd.arg("compare").arg("--config").arg(&config).arg("--out").arg(&out).arg(&sample);
    let (o, e, code) = run(&mut cmd);
    assert_eq!(code, 0, "{o}{e}");
    let after = snapshot(&out);
    assert_eq!(before.len(), after.len());
    for ((f, a), (g, b)) in before.iter().zip(&after) {
        assert_eq!(f, g);
        let topology =
            f.ends_with("topology.csv") || f.starts_with("2026-10/charts") && f.to_string_lossy().contains("topology-");
        if f == Path::new("2026-10/topology.csv") {
            assert!(b.starts_with(b"billing_month,currency,topology"), "rewritten");
        } else if !topology {
            assert!(a == b, "{} changed", f.display());
        }
    }
}

#[test]
fn the_newest_run_is_chosen_by_folder_name_or_by_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let text = read(&real("EA_AmortizedCost_Small.csv"));
    let changed = text.replacen(",0.0200016,", ",1000.0200016,", 1);
    assert_ne!(text, changed);
    for (names, by) in [(["20230930", "20231001"], "run folder name"), (["run-b", "run-a"], "file modification time")] {
        let export = dir.path().join(by.replace(' ', "-")).join("20230901-20230930");
        // The first run holds the real file; the second (newer by name, or written later) the changed one.
        for (i, name) in names.iter().enumerate() {
            let d = export.join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("part_0_0001.csv"), if i == 0 { &text } else { &changed }).unwrap();
            let f = std::fs::File::options().write(true).open(d.join("part_0_0001.csv")).unwrap();
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000 + 1000 * i as u64);
            f.set_modified(t).unwrap();
        }
        let r = check_json(&[export.parent().unwrap()]);
        let skipped = &r["inputs"][0]["skipped_runs"][0];
        assert_eq!(skipped["chosen_by"], by);
        assert!(skipped["skipped"].as_str().unwrap().ends_with(names[0]), "{skipped}");
        // The newer run's total: the real one plus 1000.
        assert_eq!(check_months(&r)[0].3, "1016.296932136636644627485419");
    }
}

/// A configuration and export made here, run, and its chargeback.csv lines without the header.
fn chargeback_lines(dir: &Path, config: &str, rows: &str) -> Vec<String> {
    let c = dir.join("c.toml");
    std::fs::write(&c, config).unwrap();
    let f = dir.join("e-amortized.csv");
    std::fs::write(&f, format!("Date,Cost,BillingCurrency,ResourceId,ResourceGroup,ConsumedService,Tags\n{rows}"))
        .unwrap();
    let out = dir.join("r");
    let (o, e, code) = run_pack(&out, &c, &[&f], &[]);
    assert_eq!(code, 0, "{o}{e}");
    read(&out.join("2026-01/chargeback.csv")).lines().skip(1).map(String::from).collect()
}

const ML: &str = "Microsoft.MachineLearningServices";

#[test]
fn a_member_whose_direct_spend_nets_negative_weighs_nothing_in_a_proportional_split() {
    let dir = tempfile::tempdir().unwrap();
    let ws = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-shared";
    let config = "[[workspace]]\nname = \"ws-shared\"\ntopology = \"shared\"\nteams = [\"alpha\", \"beta\"]\nsplit = \"proportional\"\n";
    // alpha's direct spend 6.00; beta's a refund of -3.00; an untagged pool of 13.00. By hand: beta weighs 0, so
    // alpha carries the whole pool: alpha 6.00 + 13.00, beta -3.00 + 0.00.
    let rows = format!(
        "01/02/2026,6.00,USD,{ws},rg,{ML},\"{{\"\"team\"\": \"\"alpha\"\"}}\"\n\
         01/02/2026,-3.00,USD,{ws},rg,{ML},\"{{\"\"team\"\": \"\"beta\"\"}}\"\n\
         01/03/2026,13.00,USD,{ws},rg,{ML},\n"
    );
    let lines = chargeback_lines(dir.path(), config, &rows);
    assert_eq!(
        lines,
        [
            "2026-01,USD,alpha,,ws-shared,,other,shared,direct,,6.00",
            "2026-01,USD,alpha,,ws-shared,,other,shared,shared-proportional,,13.00",
            "2026-01,USD,beta,,ws-shared,,other,shared,direct,,-3.00",
            "2026-01,USD,beta,,ws-shared,,other,shared,shared-proportional,,0.00",
        ]
    );
    let out = dir.path().join("pq");
    let (o, e, code) =
        run_pack(&out, &dir.path().join("c.toml"), &[&dir.path().join("e-amortized.csv")], &["--format", "parquet"]);
    assert_eq!(code, 0, "{o}{e}");
    let rows = string_columns(&out.join("2026-01/allocated.parquet"), &["x_Team", "x_OwnerRule", "x_SplitShares"]);
    assert_eq!(
        rows,
        [
            ["alpha", "shared-team-tag", ""],
            ["beta", "shared-team-tag", ""],
            ["(shared pool)", "shared-pool", "alpha=1;beta=0"]
        ]
    );
}

#[test]
fn the_first_matching_rule_wins() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[[workspace]]\nname = \"ws-a\"\ntopology = \"team\"\nteam = \"alpha\"\nresources = [\"kv1\"]\n\
                  [[workspace]]\nname = \"ws-b\"\ntopology = \"team\"\nteam = \"beta\"\nresource_groups = [\"rg-b\"]\n";
    // 1. The resource id lies under ws-a, and a workspace tag names ws-b: the resource id (rule a) wins.
    // 2. The resource is ws-a's kv1 (rule c), in ws-b's resource group rg-b (rule d): the resource wins.
    // 3. A workspace tag names ws-a (rule b), in ws-b's resource group (rule d): the tag wins.
    let rows = format!(
        "01/02/2026,1.00,USD,/subscriptions/s/resourceGroups/rg-b/providers/{ML}/workspaces/ws-a,rg-b,{ML},\"{{\"\"aml-workspace\"\": \"\"ws-b\"\"}}\"\n\
         01/02/2026,2.00,USD,/subscriptions/s/resourceGroups/rg-b/providers/Microsoft.KeyVault/vaults/kv1,rg-b,Microsoft.KeyVault,\n\
         01/02/2026,4.00,USD,/subscriptions/s/resourceGroups/rg-b/providers/Microsoft.Storage/storageAccounts/st1,rg-b,Microsoft.Storage,\"{{\"\"aml-workspace\"\": \"\"ws-a\"\"}}\"\n"
    );
    let lines = chargeback_lines(dir.path(), config, &rows);
    assert_eq!(lines, ["2026-01,USD,alpha,,ws-a,,other,team,direct,,7.00"]);
    // And explain names the rule of each.
    let mut cmd = mlspend();
    cmd.arg("explain").arg("--config").arg(dir.path().join("c.toml")).args(["--resource", "kv1"]);
    cmd.arg(dir.path().join("e-amortized.csv"));
    let (o, e, code) = run(&mut cmd);
    assert_eq!(code, 0, "{e}");
    assert!(o.contains("(c) resources: kv1 is listed in workspace ws-a"), "{o}");
    // allocated.parquet records the rule and the owner rule of every row, by its line.
    let out = dir.path().join("pq");
    let (o, e, code) =
        run_pack(&out, &dir.path().join("c.toml"), &[&dir.path().join("e-amortized.csv")], &["--format", "parquet"]);
    assert_eq!(code, 0, "{o}{e}");
    let rules = string_columns(&out.join("2026-01/allocated.parquet"), &["x_WorkspaceRule", "x_OwnerRule"]);
    assert_eq!(
        rules,
        [["resource-id", "team-workspace"], ["resource", "team-workspace"], ["workspace-tag", "team-workspace"]]
    );
}

#[cfg(unix)]
#[test]
fn an_out_folder_behind_a_link_or_with_its_own_permissions_keeps_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("data/sample.toml");
    let sample = root().join("data/sample");
    let real_out = dir.path().join("share/reports");
    std::fs::create_dir_all(&real_out).unwrap();
    std::fs::set_permissions(&real_out, std::fs::Permissions::from_mode(0o2775)).unwrap();
    let link = dir.path().join("reports");
    std::os::unix::fs::symlink(&real_out, &link).unwrap();
    for _ in 0..2 {
        let (o, e, code) = run_pack(&link, &config, &[&sample], &["--month", "2026-09"]);
        assert_eq!(code, 0, "{o}{e}");
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    assert!(real_out.join("2026-09/chargeback.csv").is_file());
    let mode = std::fs::metadata(&real_out).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o2775);
    let beside: Vec<String> = std::fs::read_dir(dir.path().join("share"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(beside, ["reports"]);
}

/// A minimal EA export of one row a day from `first` to `last` (days of August 2026), at `cost` each.
fn daily_rows(path: &Path, first: u32, last: u32, cost: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut t = String::from("Date,Cost,BillingCurrency,ResourceId\n");
    for d in first..=last {
        t.push_str(&format!("08/{d:02}/2026,{cost},USD,x\n"));
    }
    std::fs::write(path, t).unwrap();
}

#[test]
fn runs_named_one_by_one_or_beside_a_copy_are_never_summed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("exp-amortized");
    let (month, half) = (export.join("20260801-20260831/202608310000"), export.join("20260801-20260815/202609010000"));
    daily_rows(&month.join("part.csv"), 1, 31, "1");
    daily_rows(&half.join("part.csv"), 1, 15, "10");
    // The export folder named once: days 1-15 from the newer half-month run, 16-31 from the monthly: 150 + 16.
    let r = check_json(&[&export]);
    assert_eq!(check_months(&r), [("2026-08".into(), "USD".into(), 31, "166".into())]);
    // Its run folders named one by one, or a run's file beside the export folder: refused, naming both.
    for inputs in [
        vec![export.join("20260801-20260831"), export.join("20260801-20260815")],
        vec![month.clone(), half.clone()],
        vec![month.join("part.csv"), export.clone()],
    ] {
        let mut cmd = mlspend();
        cmd.arg("check").args(&inputs);
        let (_, e, code) = run(&mut cmd);
        assert_eq!(code, 2, "{inputs:?}: {e}");
        assert!(e.contains("whose dates overlap, named as separate inputs") && e.contains("--allow-overlap"), "{e}");
        let mut cmd = mlspend();
        cmd.args(["check", "--json", "--allow-overlap"]).args(&inputs);
        let (o, e, code) = run(&mut cmd);
        assert_eq!(code, 0, "{e}");
        let r: Value = serde_json::from_str(&o).unwrap();
        assert_eq!(r["rows"], 46, "summed, knowingly");
    }
    // A copy of the monthly run's file outside the export, named first: read once, and still without days 1-15.
    let copy = dir.path().join("copy-amortized.csv");
    std::fs::copy(month.join("part.csv"), &copy).unwrap();
    for inputs in [[&copy, &export], [&export, &copy]] {
        let r = check_json(&inputs.map(|p| p.as_path()));
        assert_eq!(check_months(&r), [("2026-08".into(), "USD".into(), 31, "166".into())], "{inputs:?}");
    }
    // A run holding rows outside its own range (the half-month run with rows up to the 20th): the monthly run covers
    // the 16th to the 20th, so they are read from it, once.
    daily_rows(&half.join("part.csv"), 1, 20, "10");
    let r = check_json(&[&export]);
    assert_eq!(check_months(&r), [("2026-08".into(), "USD".into(), 31, "166".into())]);
}

#[test]
fn an_export_folder_named_as_an_input_keeps_the_basis_its_name_says() {
    let dir = tempfile::tempdir().unwrap();
    daily_rows(&dir.path().join("x-actualcost/20260801-20260831/r1/part.csv"), 1, 31, "1");
    daily_rows(&dir.path().join("x-amortizedcost/20260801-20260831/r1/part.csv"), 1, 31, "2");
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(
        &out,
        &fixture("real.toml"),
        &[&dir.path().join("x-actualcost"), &dir.path().join("x-amortizedcost")],
        &[],
    );
    assert_eq!(code, 0, "{o}{e}");
    assert_eq!(totals(&out, "2026-08", "USD"), ("62".into(), 31));
    assert!(e.contains("skipped 1 actual-cost file"), "{e}");
}
