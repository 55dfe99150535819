//! Ingest and `check`: real Azure samples, every file format, export folders, and every kind of bad input.

use crate::common::{check_json, generate, mlspend, real, run};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One month's totals: (month, currency, rows, actual, amortized, unlabelled).
type MonthRow = (String, String, u64, Option<String>, Option<String>, Option<String>);

/// The one input's per-month totals.
fn months(report: &Value) -> Vec<MonthRow> {
    report["inputs"][0]["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m.get(k).and_then(|v| v.as_str()).map(String::from);
            (
                s("month").unwrap(),
                s("currency").unwrap(),
                m["rows"].as_u64().unwrap(),
                s("actual"),
                s("amortized"),
                s("unlabelled"),
            )
        })
        .collect()
}

fn file0(report: &Value) -> &Value {
    &report["inputs"][0]["files"][0]
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

// Every pinned total below was computed outside mlspend, with Python's decimal module at 100 digits of precision:
//   csv.DictReader(open(f, newline='', encoding='utf-8-sig')); sum(Decimal(row[cost_column])) per
//   (month of the date column, currency column), printed with format(total.normalize(), 'f').
// The month comes from `Date` (MM/dd/yyyy or M/d/yyyy), `ChargePeriodStart` or `UsageDateTime`.

#[test]
fn real_ea_amortized_sample() {
    let r = check_json(&[&real("EA_AmortizedCost_Small.csv")]);
    assert_eq!(file0(&r)["layout"], "ea-portal");
    assert_eq!(file0(&r)["basis"], "amortized", "the file name says amortized");
    assert_eq!((r["rows"].as_u64(), r["rejected"].as_u64()), (Some(28), Some(0)));
    // Python: sum of Decimal(row['Cost']) over all 28 rows, all 09/xx/2023 and USD.
    assert_eq!(months(&r), vec![("2023-09".into(), "USD".into(), 28, None, some("16.296932136636644627485419"), None)]);
    // The 5 rows with ConsumedService Microsoft.MachineLearningServices (SOURCES.md); Python: sum of their Cost.
    let ml = &r["inputs"][0]["ml"][0];
    assert_eq!((ml["rows"].as_u64(), ml["amortized"].as_str()), (Some(5), Some("0.030067576402994990348819")));
}

#[test]
fn real_ea_actual_sample() {
    let r = check_json(&[&real("EA_ActualCost_Small.csv")]);
    assert_eq!(file0(&r)["layout"], "ea-portal");
    assert_eq!(file0(&r)["basis"], "actual");
    assert_eq!(r["rejected"], 0);
    // Python: sum of Decimal(row['Cost']), 11 rows, 2023-09, USD (includes the reservation Purchase row).
    assert_eq!(months(&r), vec![("2023-09".into(), "USD".into(), 11, some("8.5450077867419368"), None, None)]);
}

#[test]
fn real_focus_sample() {
    let r = check_json(&[&real("focus_sample.csv")]);
    assert_eq!(file0(&r)["layout"], "focus");
    assert_eq!(file0(&r)["basis"], "both");
    assert_eq!(r["rejected"], 0);
    // Python: sums of Decimal(row['BilledCost']) and Decimal(row['EffectiveCost']) grouped by BillingPeriodStart's
    // month (USD): 999 rows billed in 2024-09, and one Oracle row used in 2024-09 but billed in 2024-10 (0.24 billed,
    // 0 effective), a late charge the export itself carries.
    assert_eq!(
        months(&r),
        vec![
            ("2024-09".into(), "USD".into(), 999, some("20.28022672899"), some("14.97651418586"), None),
            ("2024-10".into(), "USD".into(), 1, some("0.24"), some("0"), None)
        ]
    );
    assert!(r["inputs"][0]["by_usage_date"].as_object().unwrap().is_empty(), "every FOCUS row has a billing period");
    let providers = &r["inputs"][0]["providers"];
    assert_eq!(
        (providers["AWS"].as_u64(), providers["Microsoft"].as_u64(), providers["Oracle"].as_u64()),
        (Some(942), Some(51), Some(7))
    );
    // 9 Azure ML rows (SOURCES.md); Python: their BilledCost sum is -0.15189756178.
    let ml = &r["inputs"][0]["ml"][0];
    assert_eq!((ml["rows"].as_u64(), ml["actual"].as_str()), (Some(9), Some("-0.15189756178")));
    // `org` and ` org` on one row fold to one key.
    let tags = r["inputs"][0]["tags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t["key"] == "org"));
    assert!(!tags.iter().any(|t| t["key"] == " org"));
}

#[test]
fn real_mca_invoice_sample() {
    let r = check_json(&[&real("camel_azure_version_2.csv")]);
    assert_eq!(file0(&r)["layout"], "mca");
    assert_eq!(file0(&r)["variant"], "mca-invoice");
    assert_eq!(file0(&r)["basis"], "unlabelled");
    // Python: sum of Decimal(row['costInBillingCurrency']), 4 rows, 08/xx/2023, USD.
    assert_eq!(months(&r), vec![("2023-08".into(), "USD".into(), 4, None, None, some("0.0000262412"))]);
    assert!(r["warnings"][0].as_str().unwrap().contains("actual or amortized"));
}

#[test]
fn real_ea_export_sample_with_scientific_notation() {
    let r = check_json(&[&real("sample-anonymous-ea-export-dataset.csv")]);
    assert_eq!(file0(&r)["layout"], "ea");
    assert_eq!(r["rejected"], 0);
    // Python: sum of Decimal(row['CostInBillingCurrency']) (Decimal reads 5.64902E-05 exactly), 27 rows, CAD.
    assert_eq!(months(&r), vec![("2023-09".into(), "CAD".into(), 27, None, None, some("1.26136926505726"))]);
}

#[test]
fn real_legacy_payg_sample() {
    let r = check_json(&[&real("payg_legacy_costreport.csv")]);
    assert_eq!(file0(&r)["layout"], "payg");
    // Python: sum of Decimal(row['PreTaxCost']), 3 rows, 2019-07-2x, USD. Legacy usage files hold actual cost.
    assert_eq!(file0(&r)["basis"], "actual");
    assert_eq!(months(&r), vec![("2019-07".into(), "USD".into(), 3, some("0.00011016"), None, None)]);
    assert!(r["warnings"].as_array().unwrap().iter().all(|w| !w.as_str().unwrap().contains("actual or amortized")));
}

#[test]
fn export_type_flag_labels_unlabelled_files() {
    let mut cmd = mlspend();
    cmd.args(["check", "--json", "--export-type", "actual"]).arg(real("camel_azure_version_2.csv"));
    let (out, _, code) = run(&mut cmd);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(file0(&r)["basis"], "actual");
    assert_eq!(months(&r)[0].3, some("0.0000262412"));
}

/// Replaces every path in a check report so that reports of differently named files compare equal.
fn without_paths(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "path" || k == "file" {
                        *x = Value::Null;
                    } else {
                        walk(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// Writes every cell of a CSV file as text to Parquet.
fn csv_to_parquet(csv_path: &Path, out: &Path) {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    let mut reader = csv::ReaderBuilder::new().from_path(csv_path).unwrap();
    let header: Vec<String> =
        reader.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let schema = std::sync::Arc::new(Schema::new(
        header.iter().map(|h| Field::new(h, DataType::Utf8, true)).collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..header.len())
        .map(|j| {
            std::sync::Arc::new(rows.iter().map(|r| Some(r.get(j).unwrap_or(""))).collect::<StringArray>()) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(out).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn same_content_in_every_format_gives_the_same_check() {
    // Fixture derived from EA_AmortizedCost_Small.csv (BOM, LF): the same bytes without BOM, with CRLF and a BOM,
    // gzipped, and as Parquet. "amortized" stays in every name so the basis comes from the name in all of them.
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(real("EA_AmortizedCost_Small.csv")).unwrap();
    let lf = original.trim_start_matches('\u{feff}').to_string();
    let plain = dir.path().join("amortized-plain.csv");
    std::fs::write(&plain, &lf).unwrap();
    let crlf = dir.path().join("amortized-crlf.csv");
    std::fs::write(&crlf, format!("\u{feff}{}", lf.replace('\n', "\r\n"))).unwrap();
    let gz = dir.path().join("amortized.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
    enc.write_all(lf.as_bytes()).unwrap();
    enc.finish().unwrap();
    let pq = dir.path().join("amortized.parquet");
    csv_to_parquet(&plain, &pq);

    let base = without_paths(check_json(&[&real("EA_AmortizedCost_Small.csv")]));
    for p in [&plain, &crlf, &gz, &pq] {
        assert_eq!(without_paths(check_json(&[p])), base, "{}", p.display());
    }
}

#[test]
fn generated_export_reads_the_same_as_csv_gzip_and_parquet() {
    // Parquet here carries costs as DOUBLE, as Azure's Parquet exports do.
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for format in ["csv", "csv.gz", "parquet"] {
        let out = dir.path().join(format!("export-{format}"));
        generate(&out, &["--manifest", "--rows", "3000", "--months", "2", "--format", format, "--seed", "7"]);
        reports.push(without_paths(check_json(&[&out])));
    }
    assert_eq!(reports[0]["rows"], 3000);
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}

#[test]
fn generate_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    generate(&a, &["--rows", "500", "--seed", "3", "--layout", "mca"]);
    generate(&b, &["--rows", "500", "--seed", "3", "--layout", "mca"]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn every_generated_layout_is_detected_and_has_what_the_issue_asks_for() {
    let dir = tempfile::tempdir().unwrap();
    for layout in ["ea", "ea-portal", "mca", "payg", "focus"] {
        let out = dir.path().join(format!("{layout}-amortized.csv"));
        generate(&out, &["--rows", "4000", "--layout", layout, "--months", "2"]);
        let r = check_json(&[&out]);
        assert_eq!(file0(&r)["layout"], layout);
        assert_eq!(r["rejected"], 0);
        let m = months(&r);
        let currencies: std::collections::BTreeSet<&str> = m.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(currencies.into_iter().collect::<Vec<_>>(), ["EUR", "USD"], "{layout}: two currencies");
        assert_eq!(m.iter().map(|x| x.0.as_str()).collect::<std::collections::BTreeSet<_>>().len(), 2);
        // ML spend and non-ML spend, tag casing variants, refunds.
        assert!(!r["inputs"][0]["ml"].as_array().unwrap().is_empty());
        let ml_rows: u64 = r["inputs"][0]["ml"].as_array().unwrap().iter().map(|x| x["rows"].as_u64().unwrap()).sum();
        assert!(ml_rows < 4000 && ml_rows > 1000, "{layout}: {ml_rows} ML rows");
        let team = r["inputs"][0]["tags"].as_array().unwrap().iter().find(|t| t["key"] == "team").expect("team tag");
        assert!(team["variants"].as_object().unwrap().len() >= 3, "{layout}: team, Team, TEAM");
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(",-") || text.contains(",\"-"), "{layout}: a refund");
    }
}

/// Copies a folder tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn only_subdir(p: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(p).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert_eq!(dirs.len(), 1, "{}", p.display());
    dirs.remove(0)
}

#[test]
fn two_runs_of_one_month_are_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("exports");
    generate(&root, &["--manifest", "--rows", "1200", "--months", "1", "--seed", "11"]);
    let single = check_json(&[&root]);
    // Re-run of the same date range: a second run folder with a later submittedTime.
    let range = only_subdir(&only_subdir(&root));
    let first_run = only_subdir(&range);
    let second_run = range.join("ffffffff-0000-4000-8000-000000000001");
    copy_tree(&first_run, &second_run);
    let manifest_path = second_run.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let mut manifest: Value = serde_json::from_str(&text).unwrap();
    manifest["runInfo"]["submittedTime"] = Value::String("2099-01-01T00:00:00.0000000Z".into());
    std::fs::write(&manifest_path, serde_json::to_string(&manifest).unwrap()).unwrap();

    let doubled = check_json(&[&root]);
    assert_eq!(doubled["rows"], 1200, "the re-run is read once");
    assert_eq!(doubled["months"], single["months"]);
    let skipped = &doubled["inputs"][0]["skipped_runs"];
    assert_eq!(skipped.as_array().unwrap().len(), 1);
    assert_eq!(skipped[0]["chosen_by"], "submittedTime");
    assert!(skipped[0]["kept"].as_str().unwrap().ends_with("ffffffff-0000-4000-8000-000000000001"));
    assert!(skipped[0]["skipped"].as_str().unwrap().ends_with(first_run.file_name().unwrap().to_str().unwrap()));
    // The text report says so too.
    let mut cmd = mlspend();
    cmd.arg("check").arg(&root);
    let (out, _, code) = run(&mut cmd);
    assert_eq!(code, 0);
    assert!(out.contains("skipped run"), "{out}");
}

#[test]
fn manifest_row_count_mismatch_names_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("exports");
    generate(&root, &["--manifest", "--rows", "300", "--months", "1"]);
    let run_dir = only_subdir(&only_subdir(&only_subdir(&root)));
    let mpath = run_dir.join("manifest.json");
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(&mpath).unwrap()).unwrap();
    manifest["blobs"][0]["dataRowCount"] = Value::from(301);
    std::fs::write(&mpath, serde_json::to_string(&manifest).unwrap()).unwrap();
    let mut cmd = mlspend();
    cmd.arg("check").arg(&root);
    let (_, err, code) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(err.contains("part_0_0001.csv declares 301 data rows but"), "{err}");
    assert!(err.contains("holds 300"), "{err}");
}

#[test]
fn legacy_manifest_version_is_read_and_checked() {
    // The real 2021-01-01 manifest, beside a generated 490-row blob at the path it names.
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(real("manifest_2021-01-01.json")).unwrap();
    let blob_dir =
        dir.path().join("cost/partitioned/20230101-20230131/202301041442/73746dc5-5dcc-4b83-b340-bb1bd2b1ca30");
    std::fs::create_dir_all(&blob_dir).unwrap();
    std::fs::write(blob_dir.join("manifest.json"), &manifest).unwrap();
    let blob = blob_dir.join("000001.csv");
    generate(&blob, &["--rows", "490", "--months", "1", "--start", "2023-01"]);
    let r = check_json(&[dir.path()]);
    assert_eq!(r["rows"], 490);
    // One row fewer than the manifest declares.
    let text = std::fs::read_to_string(&blob).unwrap();
    let cut = text.trim_end().rfind('\n').unwrap();
    std::fs::write(&blob, &text[..=cut]).unwrap();
    let mut cmd = mlspend();
    cmd.arg("check").arg(dir.path());
    let (_, err, code) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(err.contains("73746dc5-5dcc-4b83-b340-bb1bd2b1ca30/000001.csv declares 490 data rows"), "{err}");
}

#[test]
fn manifest_listing_a_missing_blob_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("exports");
    generate(&root, &["--manifest", "--rows", "100", "--months", "1"]);
    let run_dir = only_subdir(&only_subdir(&only_subdir(&root)));
    std::fs::remove_file(run_dir.join("part_0_0001.csv")).unwrap();
    let mut cmd = mlspend();
    cmd.arg("check").arg(&root);
    let (_, err, code) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(err.contains("part_0_0001.csv is listed but not found"), "{err}");
}

#[test]
fn the_same_file_named_twice_is_read_once() {
    let p = real("EA_ActualCost_Small.csv");
    let folder = p.parent().unwrap().to_path_buf();
    let mut cmd = mlspend();
    cmd.args(["check", "--json"]).arg(&p).arg(&p);
    let (out, _, code) = run(&mut cmd);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["rows"], 11);
    assert!(r["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("named more than once")));
    // A file and the folder holding it: still once.
    let r = check_json(&[&p, &folder]);
    let all: u64 = 11 + 28 + 1000 + 4 + 27 + 3;
    assert_eq!(r["rows"].as_u64(), Some(all));
}

#[test]
fn mixed_layouts_in_one_folder_are_allowed_and_reported() {
    let r = check_json(&[real("EA_ActualCost_Small.csv").parent().unwrap()]);
    let layouts: std::collections::BTreeSet<&str> =
        r["inputs"][0]["files"].as_array().unwrap().iter().map(|f| f["layout"].as_str().unwrap()).collect();
    assert_eq!(layouts.into_iter().collect::<Vec<_>>(), ["ea", "ea-portal", "focus", "mca", "payg"]);
    assert!(r["warnings"].as_array().unwrap().iter().any(|w| w == "mixed layouts: ea, ea-portal, focus, mca, payg"));
    assert_eq!(r["rejected"], 0);
    // Currencies stay apart: CAD and USD are separate lines of one month.
    let sept: Vec<&Value> = r["months"].as_array().unwrap().iter().filter(|m| m["month"] == "2023-09").collect();
    assert_eq!(sept.iter().map(|m| m["currency"].as_str().unwrap()).collect::<Vec<_>>(), ["CAD", "USD"]);
}

// ---- bad input: exit codes and messages ----

/// Writes a fixture into a temp dir and runs `check` on it.
fn check_file(name: &str, bytes: &[u8], extra: &[&str]) -> (String, String, i32, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    let mut cmd = mlspend();
    cmd.arg("check").args(extra).arg(&p);
    let (o, e, c) = run(&mut cmd);
    (o, e, c, dir)
}

/// EA_ActualCost_Small.csv with `edit` applied to its text.
fn derived_ea(edit: impl Fn(&str) -> String) -> Vec<u8> {
    edit(&std::fs::read_to_string(real("EA_ActualCost_Small.csv")).unwrap()).into_bytes()
}

/// EA_ActualCost_Small.csv with one cell of one data row (0-based) replaced.
fn derived_ea_cell(row: usize, column: &str, value: &str) -> Vec<u8> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(real("EA_ActualCost_Small.csv")).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let col = records[0].iter().position(|h| h.trim_start_matches('\u{feff}') == column).unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    for (i, r) in records.iter().enumerate() {
        let cells: Vec<&str> =
            r.iter().enumerate().map(|(j, c)| if i == row + 1 && j == col { value } else { c }).collect();
        w.write_record(cells).unwrap();
    }
    w.into_inner().unwrap()
}

#[test]
fn missing_required_column() {
    // Derived from EA_ActualCost_Small.csv: the `Date` header renamed.
    let bytes = derived_ea(|t| t.replacen(",Date,", ",UsageDay,", 1));
    let (_, err, code, _d) = check_file("actual.csv", &bytes, &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("actual.csv: line 1: the EA portal download layout is missing required column `Date`"),
        "{err}"
    );
}

#[test]
fn unknown_layout_names_the_closest() {
    let (_, err, code, _d) = check_file("x.csv", b"When,Amount,Currency,Resource\n2024-01-01,1.5,USD,a\n", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("x.csv: line 1: unknown export layout: the closest is legacy pay-as-you-go (found `Currency`), which needs `PreTaxCost`, `UsageDateTime`"), "{err}");
}

#[test]
fn bad_date_is_rejected_with_file_line_and_column() {
    // Derived from EA_ActualCost_Small.csv: the third data row's date made impossible.
    let bytes = derived_ea_cell(2, "Date", "13/21/2023");
    let (out, err, code, d) = check_file("actual.csv", &bytes, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rows: 11 read, 1 rejected"), "{out}");
    assert!(out.contains("actual.csv: line 4: column Date: not a date: \"13/21/2023\""), "{out}");
    // --strict turns it into an error.
    let mut cmd = mlspend();
    cmd.args(["check", "--strict"]).arg(d.path().join("actual.csv"));
    let (_, err, code) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(
        err.contains("1 row was rejected under --strict; the first:") && err.contains("line 4: column Date"),
        "{err}"
    );
}

#[test]
fn non_numeric_cost_is_rejected() {
    let header = "Date,CostInBillingCurrency,BillingCurrencyCode,ResourceId\n";
    let body = "09/01/2023,1.25,USD,/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a\n09/02/2023,12 USD,USD,x\n09/03/2023,,USD,x\n";
    let (out, _, code, _d) = check_file("amortized.csv", format!("{header}{body}").as_bytes(), &["--json"]);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["rejected"], 2);
    assert_eq!(r["rejects"][0]["line"], 3);
    assert_eq!(r["rejects"][0]["column"], "CostInBillingCurrency");
    assert_eq!(r["rejects"][0]["reason"], "not a number: \"12 USD\"");
    assert_eq!(r["rejects"][1]["reason"], "empty cost");
    assert_eq!(months(&r)[0].4, some("1.25"), "the readable row still counts");
}

#[test]
fn wrong_number_of_fields_is_rejected() {
    let text = "Date,Cost,BillingCurrency\n09/01/2023,1,USD\n09/02/2023,2\n09/03/2023,3,USD,extra\n";
    let (out, _, code, _d) = check_file("actual.csv", text.as_bytes(), &["--json"]);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["rows"], 3);
    assert_eq!(r["rejected"], 2);
    assert_eq!(r["rejects"][0]["reason"], "expected 3 fields, found 2");
    assert_eq!(r["rejects"][1]["line"], 4);
}

#[test]
fn truncated_gzip_is_an_error() {
    let text = std::fs::read(real("focus_sample.csv")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&text).unwrap();
    let gz = enc.finish().unwrap();
    let (_, err, code, _d) = check_file("focus.csv.gz", &gz[..gz.len() / 2], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("focus.csv.gz: line") && err.contains("gzip stream is truncated or corrupt"), "{err}");
}

#[test]
fn missing_file() {
    let mut cmd = mlspend();
    cmd.args(["check", "no/such/export.csv"]);
    let (_, err, code) = run(&mut cmd);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "error: no/such/export.csv: no such file or folder");
}

#[test]
fn empty_file() {
    let (_, err, code, _d) = check_file("empty.csv", b"", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("empty.csv: the file is empty; an export file starts with a header row"), "{err}");
}

#[test]
fn header_only_file_is_readable_and_says_so() {
    let header =
        std::fs::read_to_string(real("EA_ActualCost_Small.csv")).unwrap().lines().next().unwrap().to_string() + "\n";
    let (out, err, code, _d) = check_file("actual.csv", header.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ea-portal (EA portal download), actual: 0 rows, 0 rejected"), "{out}");
    assert!(err.contains("header only, no data rows"), "{err}");
}

#[test]
fn tags_that_are_not_json_are_kept_and_counted() {
    // Derived from EA_ActualCost_Small.csv: one row's tags replaced by `team=vision`.
    let bytes = derived_ea(|t| t.replacen("\"\"CostCenter\"\": \"\"1234\"\"", "team=vision", 1));
    let (out, _, code, _d) = check_file("actual.csv", &bytes, &["--json"]);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["rows"], 11);
    assert_eq!(r["rejected"], 0);
    assert_eq!(r["inputs"][0]["tags_unparsed"], 1);
    // Same total as the untouched file: the row is kept.
    assert_eq!(months(&r)[0].3, some("8.5450077867419368"));
}

#[test]
fn a_folder_without_exports_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let mut cmd = mlspend();
    cmd.arg("check").arg(dir.path());
    let (_, err, code) = run(&mut cmd);
    assert_eq!(code, 1);
    assert!(err.contains("holds no .csv, .csv.gz or .parquet export files"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let (_, err, code) = run(mlspend().args(["check", "--no-such-flag"]));
    assert_eq!(code, 2);
    assert!(err.contains("--no-such-flag"), "{err}");
    let (_, err, code) = run(mlspend().args(["generate", "--out", "/tmp/x.csv", "--start", "2026-13"]));
    assert_eq!(code, 2);
    assert!(err.contains("--start \"2026-13\": expected a month as YYYY-MM"), "{err}");
}
