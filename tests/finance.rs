//! The finance pack: HTML pages, Parquet and JSON read back, spreadsheet safety, hostile names, atomic and
//! reproducible runs, and the reporting currency.

use crate::common::{files_under, generate, mlspend, run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn run_pack(out: &Path, config: &Path, inputs: &[&Path], extra: &[&str]) -> (String, String, i32) {
    let mut cmd = mlspend();
    cmd.arg("run").arg("--config").arg(config).arg("--out").arg(out).args(extra).args(inputs);
    run(&mut cmd)
}

#[test]
fn report_page_has_totals_reconciliation_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &fixture("attribution.toml"), &[&fixture("attribution-amortized.csv")], &[]);
    assert_eq!(code, 0, "{o}{e}");
    let html = read(&out.join("2026-01/report.html"));
    // Reconciliation: input 149.88 = direct 28.01 + shared 12.99 + unallocated 8.88 + out of scope 100.00.
    assert!(
        html.contains("<tr><td>USD</td><td class=\"n\">149.88</td><td class=\"n\">28.01</td><td class=\"n\">12.99</td><td class=\"n\">8.88</td><td class=\"n\">100.00</td><td class=\"n\">149.88</td><td class=\"n\">13</td><td><span class=\"ok\">yes</span></td></tr>"),
        "{html}"
    );
    // Per team: alpha 26.84 (see the chargeback tests), beta 9.83, gamma 4.33: direct, shared, total.
    for (team, row) in [
        ("alpha", "<td>USD</td><td class=\"n\">22.51</td><td class=\"n\">4.33</td><td class=\"n\">26.84</td>"),
        ("beta", "<td>USD</td><td class=\"n\">5.50</td><td class=\"n\">4.33</td><td class=\"n\">9.83</td>"),
        ("gamma", "<td>USD</td><td class=\"n\">0.00</td><td class=\"n\">4.33</td><td class=\"n\">4.33</td>"),
    ] {
        assert!(html.contains(&format!("<a href=\"#team-{team}\">{team}</a></td>{row}")), "{team}: {row}");
    }
    // The pool: its amount as billed (the three rounded shares, 12.99 of the exact 13.00), the weights' basis.
    assert!(html.contains("<h3>ws-shared (no environment tag)</h3>\n<p>Pool of <strong>12.99 USD</strong> from 2 rows, split even. Weights: 1 each (an even split).</p>"), "{html}");
    assert!(html.contains(
        "<td class=\"w\">unknown workspace ws-ghost</td><td>ws-ghost</td><td>USD</td><td class=\"n\">7.77</td>"
    ));
    // Self-contained: inline SVG charts, no scripts, no external resources.
    assert!(html.contains("<figure id=\"spend-by-team-USD\"><svg"));
    // (the SVG namespace URI is a name, not a resource)
    // (links go to the page's own anchors and statements: tests/pages.rs follows them)
    for banned in ["<script", "<link", "@import", "src=", "url("] {
        assert!(!html.contains(banned), "{banned}");
    }
    // The statement page: total, lines and the pool share with its method and the weights' basis.
    let statement = read(&out.join("2026-01/statements/alpha.html"));
    assert!(statement.contains("<tr><td>USD</td><td class=\"n\">26.84</td></tr>"), "{statement}");
    assert!(statement.contains("<td class=\"w\">ws-shared (no environment tag)</td><td>even</td><td>USD</td><td class=\"n\">12.99</td><td class=\"n\">1</td><td class=\"w\">1 each (an even split)</td><td class=\"n\">33.4</td><td class=\"n\">4.33</td>"), "{statement}");
}

#[test]
fn statements_compare_with_the_previous_month_and_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &root().join("bench/peer.toml"), &[], &[]);
    assert_eq!(code, 0, "{o}{e}");
    // vision's totals under the rules DuckDB implements (bench/peer.toml), pinned from outside the program: bench/duckdb_chargeback.py (DuckDB, DECIMAL(38,10)) gives
    // 10336.208884 for 2026-08 and 10750.134862 for 2026-09; summary.json's exact totals must agree to those digits.
    // A statement shows the sum of the team's rounded lines: 10336.21 and 10750.14.
    for (month, duckdb) in [("2026-08", "10336.208884"), ("2026-09", "10750.134862")] {
        let summary: Value = serde_json::from_str(&read(&out.join(month).join("summary.json"))).unwrap();
        let usd = summary["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == "USD").unwrap();
        let vision = usd["teams"].as_array().unwrap().iter().find(|t| t["team"] == "vision").unwrap();
        let exact = vision["total_exact"].as_str().unwrap();
        assert!(exact.starts_with(&duckdb[..duckdb.len() - 1]), "{month}: {exact} against DuckDB's {duckdb}");
    }
    let (aug, sep): (i128, i128) = (1_033_621, 1_075_014);
    for (month, cents) in [("2026-08", aug), ("2026-09", sep)] {
        let text = read(&out.join(month).join("statements/vision.csv"));
        let total = text.lines().find(|l| l.contains(",total,")).unwrap();
        assert!(total.ends_with(&format!(",{}.{:02}", cents / 100, cents % 100)), "{month}: {total}");
    }
    let fmt = |c: i128| {
        let s = format!("{}.{:02}", c.abs() / 100, c.abs() % 100);
        let whole = s.split('.').next().unwrap().to_string();
        let mut grouped = String::new();
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("{}{grouped}.{:02}", if c < 0 { "-" } else { "" }, c.abs() % 100)
    };
    let page = read(&out.join("2026-09/statements/vision.html"));
    assert!(page.contains("<th class=\"n\">2026-08</th><th class=\"n\">change</th>"), "{page}");
    assert!(
        page.contains(&format!(
            "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            fmt(sep),
            fmt(aug),
            fmt(sep - aug)
        )),
        "{page}"
    );
    // vision's budget is USD 10,000 (bench/peer.toml, as data/sample.toml): overspent, so what remains is negative,
    // and marked.
    assert!(
        page.contains(&format!(
            "<td class=\"n\">10,000.00</td><td class=\"n\"><span class=\"bad\">{}</span></td>",
            fmt(1_000_000 - sep)
        )),
        "{page}"
    );
    // The first month has no previous month in the input.
    assert!(!read(&out.join("2026-08/statements/vision.html")).contains("change %"));
}

#[test]
fn allocated_parquet_holds_every_input_row_and_sums_to_the_chargeback() {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &root().join("data/sample.toml"), &[], &["--format", "csv,parquet,json"]);
    assert_eq!(code, 0, "{o}{e}");
    let mut total_rows = 0usize;
    for month in ["2026-08", "2026-09", "2026-10"] {
        let m = out.join(month);
        let file = std::fs::File::open(m.join("allocated.parquet")).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        let mut lines = std::collections::BTreeSet::new();
        let mut sums: BTreeMap<String, i128> = BTreeMap::new();
        let mut pool_rows_with_shares = 0;
        for batch in reader {
            let batch = batch.unwrap();
            let schema = batch.schema();
            let col = |n: &str| batch.column(schema.index_of(n).unwrap()).clone();
            let (file_col, line_col) = (col("x_SourceFile"), col("x_SourceLine"));
            let (files, line_numbers) =
                (file_col.as_string::<i32>(), line_col.as_primitive::<arrow_array::types::UInt64Type>());
            let cur_col = col("BillingCurrency");
            let currency = cur_col.as_string::<i32>();
            let cost_col = col("EffectiveCost");
            let cost = cost_col.as_primitive::<arrow_array::types::Decimal128Type>();
            let method_col = col("x_AllocationMethod");
            let shares_col = col("x_SplitShares");
            let (method, shares) = (method_col.as_string::<i32>(), shares_col.as_string::<i32>());
            for r in 0..batch.num_rows() {
                assert!(lines.insert((files.value(r).to_string(), line_numbers.value(r))), "a row twice");
                // 18 fractional digits; the sample's costs have 8.
                *sums.entry(currency.value(r).to_string()).or_default() += cost.value(r) / 10i128.pow(10);
                assert!(!cost.is_null(r));
                if method.value(r).starts_with("shared-") {
                    assert!(shares.value(r).starts_with("vision="), "{}", shares.value(r));
                    pool_rows_with_shares += 1;
                }
            }
        }
        // Its rows are the month's input rows: one per data line 2..=2001 of the month's part file.
        assert_eq!(lines.len(), 2000, "{month}");
        assert!(lines.iter().all(|(f, l)| f.ends_with("part_0_0001.csv") && (2..=2001).contains(l)));
        assert!(pool_rows_with_shares > 0);
        total_rows += lines.len();
        // Its costs sum to the chargeback per currency (exact sums rounded to the cent = the lines' total).
        let summary: Value = serde_json::from_str(&read(&m.join("summary.json"))).unwrap();
        for c in summary["currencies"].as_array().unwrap() {
            let cur = c["currency"].as_str().unwrap();
            let exact = sums[cur];
            let cents = (exact.abs() + 500_000) / 1_000_000 * exact.signum();
            assert_eq!(
                cents,
                c["chargeback_total"].as_str().unwrap().replace('.', "").parse::<i128>().unwrap(),
                "{month} {cur}"
            );
        }
        // The JSON forms are there too, one line per input row.
        assert_eq!(read(&m.join("allocated.jsonl")).lines().count(), 2000);
        let lines_json: Value = serde_json::from_str(&read(&m.join("chargeback.json"))).unwrap();
        let csv_lines = read(&m.join("chargeback.csv")).lines().count() - 1;
        assert_eq!(lines_json.as_array().unwrap().len(), csv_lines);
    }
    assert_eq!(total_rows, 6000);
}

#[test]
fn chargeback_parquet_matches_the_csv() {
    use arrow_array::cast::AsArray;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    assert_eq!(
        run_pack(
            &out,
            &fixture("attribution.toml"),
            &[&fixture("attribution-amortized.csv")],
            &["--format", "parquet"]
        )
        .2,
        0
    );
    assert!(!out.join("2026-01/chargeback.csv").exists(), "only the formats asked for");
    let file = std::fs::File::open(out.join("2026-01/chargeback.parquet")).unwrap();
    let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "BillingPeriodStart",
            "BillingCurrency",
            "x_Team",
            "x_Project",
            "x_Workspace",
            "x_Environment",
            "x_ServiceCategory",
            "x_Topology",
            "x_AllocationMethod",
            "x_Reason",
            "EffectiveCost"
        ]
    );
    let cost = batch.column(10).as_primitive::<arrow_array::types::Decimal128Type>();
    let total: i128 = (0..batch.num_rows()).map(|r| cost.value(r)).sum();
    assert_eq!(total, 14988, "149.88 in cents");

    // Line by line: every Parquet row, written out as a CSV line, is the line of chargeback.csv at the same place.
    let both = dir.path().join("both");
    let (o, e, code) = run_pack(
        &both,
        &fixture("attribution.toml"),
        &[&fixture("attribution-amortized.csv")],
        &["--format", "csv,parquet"],
    );
    assert_eq!(code, 0, "{o}{e}");
    let csv_lines: Vec<String> = read(&both.join("2026-01/chargeback.csv")).lines().skip(1).map(String::from).collect();
    let file = std::fs::File::open(both.join("2026-01/chargeback.parquet")).unwrap();
    let mut parquet_lines = Vec::new();
    for batch in parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap()
    {
        let batch = batch.unwrap();
        let text = |c: usize, r: usize| batch.column(c).as_string::<i32>().value(r).to_string();
        let period = batch.column(0).as_primitive::<arrow_array::types::Date32Type>();
        let cost = batch.column(10).as_primitive::<arrow_array::types::Decimal128Type>();
        for r in 0..batch.num_rows() {
            // Date32 counts days since 1970-01-01: 2026-01-01 is day 20454.
            assert_eq!(period.value(r), 20454);
            let cents = cost.value(r);
            let sign = if cents < 0 { "-" } else { "" };
            let mut cells = vec!["2026-01".to_string()];
            cells.extend((1..=9).map(|c| text(c, r)));
            cells.push(format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100));
            parquet_lines.push(cells.join(","));
        }
    }
    assert_eq!(parquet_lines, csv_lines);
}

#[test]
fn tags_cannot_inject_markup_or_formulas_and_names_cannot_escape() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &fixture("hostile.toml"), &[&fixture("hostile-amortized.csv")], &[]);
    assert_eq!(code, 0, "{o}{e}");
    let m = out.join("2026-02");
    // HTML: the script tag in a project tag, and markup in a workspace tag, stay text.
    let html = read(&m.join("report.html"));
    assert!(!html.contains("<script"), "no script element");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("workspace tag names unknown workspace &lt;b&gt;ghost&lt;/b&gt;"));
    assert!(!html.contains("<b>ghost</b>"));
    // CSV: text cells starting with = + @ get a leading quote; numbers (negative ones too) stay numbers.
    let csv = read(&m.join("chargeback.csv"));
    assert!(csv.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\","), "{csv}");
    assert!(csv.contains(",'+cmd|' /C calc'!A0,") || csv.contains(",\"'+cmd|' /C calc'!A0\","), "{csv}");
    assert!(csv.contains(",'@SUM(1+1),"), "{csv}");
    assert!(csv.contains("not Azure ML spend,-5.00\r\n"), "{csv}");
    // File names: no path escapes, case-only differences kept apart.
    let mut names: Vec<String> = std::fs::read_dir(m.join("statements"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["_.._etc_passwd.csv", "_.._etc_passwd.html", "vision-2.csv", "vision-2.html", "vision.csv", "vision.html"]
    );
    assert!(!dir.path().join("etc").exists());
    // "Vision" sorts before "vision": it keeps the plain name.
    assert!(read(&m.join("statements/vision.csv")).contains(",Vision,"));
    assert!(read(&m.join("statements/vision-2.csv")).contains(",vision,"));
}

#[test]
fn reporting_currency_columns_and_a_missing_rate() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let rates = fixture("rates.csv");
    let text = read(&fixture("attribution.toml"))
        + &format!("\n[currency]\nreport = \"EUR\"\nrates = \"{}\"\n", rates.display());
    std::fs::write(&config, &text).unwrap();
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(&out, &config, &[&fixture("attribution-amortized.csv")], &[]);
    assert_eq!(code, 0, "{o}{e}");
    let csv = read(&out.join("2026-01/chargeback.csv"));
    assert!(csv.starts_with("billing_month,currency,team,project,workspace,environment,service_category,topology,allocation,reason,cost,report_currency,report_cost\r\n"));
    // 100.00 USD at 0.9 EUR per USD.
    assert!(csv.contains("not Azure ML spend,100.00,EUR,90.00\r\n"), "{csv}");
    // The converted lines sum to the converted total: 149.88 x 0.9 = 134.892 -> 134.89.
    let sum: i128 =
        csv.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().replace('.', "").parse::<i128>().unwrap()).sum();
    assert_eq!(sum, 13489);
    let summary: Value = serde_json::from_str(&read(&out.join("2026-01/summary.json"))).unwrap();
    assert_eq!(summary["report_currency"], "EUR");
    assert_eq!(summary["currencies"][0]["rate"], "0.9");
    assert_eq!(summary["currencies"][0]["input_total_report"], "134.89");
    let html = read(&out.join("2026-01/report.html"));
    assert!(
        html.contains("<th class=\"n\">total in EUR</th>") && html.contains("<td class=\"n\">134.89</td>"),
        "both currencies in the page"
    );
    let statement = read(&out.join("2026-01/statements/alpha.csv"));
    // Its converted lines: 5.40 + 3.90 + 4.05 + 0.67 + 1.13 + 9.00.
    assert!(statement.lines().last().unwrap().ends_with(",total,,26.84,EUR,24.15"), "{statement}");

    // A month without a rate: an error naming the month and currency, and no reports.
    std::fs::write(dir.path().join("rates.csv"), "month,currency,rate\n2025-12,USD,0.9\n").unwrap();
    std::fs::write(&config, text.replace(&rates.display().to_string(), "rates.csv")).unwrap();
    let out2 = dir.path().join("r2");
    let (_, err, code) = run_pack(&out2, &config, &[&fixture("attribution-amortized.csv")], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no exchange rate for 2026-01 USD in") && err.contains("add the line `2026-01,USD,<rate>`"),
        "{err}"
    );
    assert!(!out2.exists());

    // Two rates for one month and currency: which is meant? An error naming both lines.
    std::fs::write(dir.path().join("rates.csv"), "month,currency,rate\n2026-01,USD,0.9\n2026-01,usd,0.5\n").unwrap();
    let (_, err, code) = run_pack(&out2, &config, &[&fixture("attribution-amortized.csv")], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("line 3: a second rate for USD in 2026-01 (the first is on line 2); keep one"), "{err}");
    assert!(!out2.exists());
}

#[test]
fn every_format_is_byte_identical_on_a_rerun_and_timestamps_are_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        assert_eq!(
            run_pack(
                out,
                &fixture("attribution.toml"),
                &[&fixture("attribution-amortized.csv")],
                &["--format", "csv,parquet,json"]
            )
            .2,
            0
        );
    }
    let files = files_under(&a);
    assert!(files.iter().any(|f| f.ends_with("allocated.parquet")) && files.iter().any(|f| f.ends_with("report.html")));
    assert_eq!(files, files_under(&b));
    for f in &files {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{}", f.display());
    }
    assert!(!read(&a.join("2026-01/summary.json")).contains("generated_at"));
    let c = dir.path().join("c");
    assert_eq!(
        run_pack(&c, &fixture("attribution.toml"), &[&fixture("attribution-amortized.csv")], &["--timestamp"]).2,
        0
    );
    let summary: Value = serde_json::from_str(&read(&c.join("2026-01/summary.json"))).unwrap();
    let stamp = summary["generated_at"].as_str().unwrap();
    assert_eq!((stamp.len(), &stamp[10..11], &stamp[19..]), (20, "T", "Z"), "{stamp}");
}

#[test]
fn a_run_killed_halfway_leaves_the_previous_pack_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let config = root().join("data/sample.toml");
    let sample = root().join("data/sample");
    assert_eq!(run_pack(&out, &config, &[&sample], &[]).2, 0);
    let before: Vec<(PathBuf, Vec<u8>)> =
        files_under(&out).into_iter().map(|f| (f.clone(), std::fs::read(out.join(&f)).unwrap())).collect();
    // A run over a large export, killed while it reads.
    let big = dir.path().join("big");
    generate(&big, &["--manifest", "--rows", "400000", "--months", "3", "--start", "2026-08"]);
    let bin = assert_cmd::cargo::cargo_bin("mlspend");
    let mut child = std::process::Command::new(bin)
        .current_dir(root())
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .args(["--format", "parquet"])
        .arg(&big)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has started writing (its staging folder beside OUT exists), then kill it.
    let started = std::time::Instant::now();
    while !std::fs::read_dir(dir.path())
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(".r.mlspend-staging-"))
    {
        assert!(started.elapsed().as_secs() < 60, "the run never started writing");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended before it could be killed: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished");
    for (f, bytes) in before {
        assert!(std::fs::read(out.join(&f)).unwrap() == bytes, "{} changed", f.display());
    }
    // What the killed run leaves is its staging folder only: the next run is not confused by it, and removes it.
    assert_eq!(run_pack(&out, &config, &[&sample], &[]).2, 0);
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("mlspend-staging"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn allocated_rows_keep_the_azure_ml_fields_of_additional_info() {
    use arrow_array::cast::AsArray;
    // EA_AmortizedCost_Small.csv: its 5 ML rows' AdditionalInfo (read with Python's json module) hold
    // AmlWorkspaceId 32ef54ad-... (zmltestplayground, 4 rows) or 90c7fd4d-... (zfinopswkspace), ClusterType DSI,
    // and UsageType disks, publicIPAddresses, virtualmachinescalesets (twice), loadBalancers.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (o, e, code) = run_pack(
        &out,
        &fixture("real.toml"),
        &[&crate::common::real("EA_AmortizedCost_Small.csv")],
        &["--format", "parquet"],
    );
    assert_eq!(code, 0, "{o}{e}");
    let file = std::fs::File::open(out.join("2023-09/allocated.parquet")).unwrap();
    let mut found = Vec::new();
    for batch in parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap()
    {
        let batch = batch.unwrap();
        let schema = batch.schema();
        let col = |n: &str| batch.column(schema.index_of(n).unwrap()).as_string::<i32>().clone();
        let (ws, id, cluster, usage) =
            (col("x_Workspace"), col("x_AmlWorkspaceId"), col("x_AmlClusterType"), col("x_AmlUsageType"));
        for r in 0..batch.num_rows() {
            if !id.value(r).is_empty() {
                found.push((
                    ws.value(r).to_string(),
                    id.value(r).to_string(),
                    cluster.value(r).to_string(),
                    usage.value(r).to_string(),
                ));
            }
        }
    }
    found.sort();
    let pg = "32ef54ad-3016-47b1-bc5c-d1f26560cc18";
    let expected: Vec<(String, String, String, String)> = [
        ("zfinopswkspace", "90c7fd4d-a043-4a63-b232-b06086ef55a8", "loadBalancers"),
        ("zmltestplayground", pg, "disks"),
        ("zmltestplayground", pg, "publicIPAddresses"),
        ("zmltestplayground", pg, "virtualmachinescalesets"),
        ("zmltestplayground", pg, "virtualmachinescalesets"),
    ]
    .iter()
    .map(|(w, i, u)| (w.to_string(), i.to_string(), "DSI".to_string(), u.to_string()))
    .collect();
    assert_eq!(found, expected);
}
