//! Which month a row is charged back in: its billing period by default, its usage date on request; late charges
//! generated with `--late-fraction` land in the month they are billed, to the cent of an independent sum.

use crate::common::{check_json, generate, mlspend, run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// An exact decimal as an integer of 10^-12 units (generated costs have at most 8 decimals).
fn units(text: &str) -> i128 {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(frac.len() <= 12, "{text}");
    let v = whole.parse::<i128>().unwrap() * 1_000_000_000_000 + format!("{frac:0<12}").parse::<i128>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

/// 10^-12 units as mlspend's plain decimal text (`12.5`, `-3`, `0`).
fn plain(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.abs();
    let frac = format!("{:012}", a % 1_000_000_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", a / 1_000_000_000_000)
    } else {
        format!("{sign}{}.{frac}", a / 1_000_000_000_000)
    }
}

/// `MM/DD/YYYY`, `YYYY-MM-DD...` -> `YYYY-MM`.
fn month_of(date: &str) -> String {
    if date.as_bytes().get(2) == Some(&b'/') {
        format!("{}-{}", &date[6..10], &date[0..2])
    } else {
        date[..7].to_string()
    }
}

/// Sums of `cost` per (month of `by`, currency), read straight from the CSV.
fn sums(path: &Path, by: &str, cost: &str, currency: &str) -> (BTreeMap<(String, String), i128>, usize) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (b, c, k) = (col(by), col(cost), col(currency));
    let mut out = BTreeMap::new();
    let mut rows = 0;
    for rec in reader.records() {
        let rec = rec.unwrap();
        *out.entry((month_of(&rec[b]), rec[k].to_string())).or_default() += units(&rec[c]);
        rows += 1;
    }
    (out, rows)
}

/// check's totals per (month, currency) on the basis the file holds.
fn check_totals(report: &Value) -> BTreeMap<(String, String), String> {
    report["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let total = ["amortized", "unlabelled"].iter().find_map(|k| m[*k].as_str()).unwrap().to_string();
            ((m["month"].as_str().unwrap().to_string(), m["currency"].as_str().unwrap().to_string()), total)
        })
        .collect()
}

#[test]
fn late_charges_land_in_their_billing_period_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    // (layout, billing period column, usage date column, cost column, currency column)
    for (layout, period, usage, cost, currency) in [
        ("ea", "BillingPeriodStartDate", "Date", "CostInBillingCurrency", "BillingCurrencyCode"),
        ("mca", "billingPeriodStartDate", "date", "costInBillingCurrency", "billingCurrency"),
        ("focus", "BillingPeriodStart", "ChargePeriodStart", "EffectiveCost", "BillingCurrency"),
    ] {
        let file = dir.path().join(format!("{layout}-late.csv"));
        generate(&file, &["--layout", layout, "--rows", "4000", "--months", "3", "--late-fraction", "0.15"]);
        let (by_period, rows) = sums(&file, period, cost, currency);
        let (by_usage, _) = sums(&file, usage, cost, currency);
        assert_eq!(rows, 4000);
        // Late charges there are, and they move money between months: the test can tell the two apart.
        assert_ne!(by_period, by_usage, "{layout}: no late charge generated");
        let expected = |sums: &BTreeMap<(String, String), i128>| -> BTreeMap<(String, String), String> {
            sums.iter().map(|(k, v)| (k.clone(), plain(*v))).collect()
        };
        // By default, the billing period.
        assert_eq!(check_totals(&check_json(&[&file])), expected(&by_period), "{layout}: check, by billing period");
        let out = dir.path().join(format!("{layout}-run"));
        let mut cmd = mlspend();
        cmd.args(["run", "--config", "data/sample.toml", "--quiet", "--format", "csv,json", "--out"])
            .arg(&out)
            .arg(&file);
        let (o, e, code) = run(&mut cmd);
        assert_eq!(code, 0, "{o}{e}");
        // Every row of a month's allocated.jsonl says that month is its billing period, late charges too.
        for month in ["2026-08", "2026-09", "2026-10"] {
            let text = std::fs::read_to_string(out.join(month).join("allocated.jsonl")).unwrap();
            let want = format!("\"BillingPeriodStart\":\"{month}-01\"");
            assert!(text.lines().all(|l| l.contains(&want)), "{layout}: {month}");
            let late = text.lines().filter(|l| !l.contains(&format!("\"ChargePeriodStart\":\"{month}"))).count();
            assert!(month == "2026-08" || late > 0, "{layout}: {month} has late charges");
        }
        for ((month, cur), total) in expected(&by_period) {
            let summary: Value =
                serde_json::from_str(&std::fs::read_to_string(out.join(&month).join("summary.json")).unwrap()).unwrap();
            let c = summary["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == cur.as_str()).unwrap();
            assert_eq!(c["input_total_exact"].as_str().unwrap(), total, "{layout}: {month} {cur}");
            assert_eq!(c["balanced"], true);
        }
        // month = "usage-date": the usage month, as before billing periods were read.
        let config = dir.path().join("usage.toml");
        let text = crate::common::sample_config().replace("basis = ", "month = \"usage-date\"\nbasis = ");
        let text = text.replace("exports = [\"sample\"]", "");
        std::fs::write(&config, text).unwrap();
        let out = dir.path().join(format!("{layout}-usage"));
        let mut cmd = mlspend();
        cmd.args(["run", "--quiet", "--config"]).arg(&config).arg("--out").arg(&out).arg(&file);
        let (o, e, code) = run(&mut cmd);
        assert_eq!(code, 0, "{o}{e}");
        for ((month, cur), total) in expected(&by_usage) {
            let summary: Value =
                serde_json::from_str(&std::fs::read_to_string(out.join(&month).join("summary.json")).unwrap()).unwrap();
            let c = summary["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == cur.as_str()).unwrap();
            assert_eq!(c["input_total_exact"].as_str().unwrap(), total, "{layout}: {month} {cur} by usage date");
        }
    }
}

#[test]
fn files_without_a_billing_period_charge_back_by_usage_date_and_check_says_so() {
    // The legacy pay-as-you-go sample has no billing period column.
    let r = check_json(&[&crate::common::real("payg_legacy_costreport.csv")]);
    let by_usage = r["inputs"][0]["by_usage_date"].as_object().unwrap();
    assert_eq!(by_usage.len(), 1, "{by_usage:?}");
    assert_eq!(by_usage.values().next().unwrap(), 3);
    let mut cmd = mlspend();
    cmd.arg("check").arg(crate::common::real("payg_legacy_costreport.csv"));
    let (o, _, code) = run(&mut cmd);
    assert_eq!(code, 0);
    assert!(o.contains("3 rows carry no billing period: charged back by their usage date"), "{o}");
    // A billing period that is not a date rejects the row, naming the column.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(
        &file,
        "Date,BillingPeriodStartDate,CostInBillingCurrency,BillingCurrencyCode,ResourceId\n\
         09/03/2026,09/01/2026,1.00,USD,/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v\n\
         09/03/2026,soon,2.00,USD,/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v\n",
    )
    .unwrap();
    let r = check_json(&[&file]);
    assert_eq!(r["rejected"], 1);
    assert_eq!(r["rejects"][0]["column"], "BillingPeriodStartDate");
    assert!(r["rejects"][0]["reason"].as_str().unwrap().contains("not a date: \"soon\""));
}

/// The bundled sample's configuration with mlw-vision moving from team vision to team nlp in 2026-09.
fn moved(versions: &str) -> String {
    let text = crate::common::sample_config();
    let old = "[[workspace]]\nname = \"mlw-vision\"\ntopology = \"team\"\nteam = \"vision\"\nresource_groups = [\"rg-vision-ml\"]\n";
    assert!(text.contains(old));
    text.replace(old, versions).replace(
        "exports = [\"sample\"]",
        &format!("exports = [\"{}\"]", std::fs::canonicalize("data/sample").unwrap().display()),
    )
}

#[test]
fn a_workspace_that_changes_team_charges_each_month_to_the_version_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moved.toml");
    std::fs::write(
        &config,
        moved(
            "[[workspace]]\nname = \"mlw-vision\"\ntopology = \"team\"\nteam = \"vision\"\nresource_groups = [\"rg-vision-ml\"]\nuntil = \"2026-08\"\n\n\
             [[workspace]]\nname = \"mlw-vision\"\ntopology = \"team\"\nteam = \"nlp\"\nresource_groups = [\"rg-vision-ml\"]\nfrom = \"2026-09\"\n",
        ),
    )
    .unwrap();
    let out = dir.path().join("r");
    let mut cmd = mlspend();
    cmd.args(["run", "--quiet", "--config"]).arg(&config).arg("--out").arg(&out);
    let (o, e, code) = run(&mut cmd);
    assert_eq!(code, 0, "{o}{e}");
    // The same sample as configured today, for the amounts.
    let base = dir.path().join("base");
    let mut cmd = mlspend();
    cmd.args(["run", "--quiet", "--out"]).arg(&base);
    assert_eq!(run(&mut cmd).2, 0);
    let direct = |root: &Path, month: &str, team: &str| -> Vec<String> {
        std::fs::read_to_string(root.join(month).join("chargeback.csv"))
            .unwrap()
            .lines()
            .filter(|l| l.contains(",mlw-vision,") && l.contains(",direct,"))
            .filter(|l| l.split(',').nth(2) == Some(team))
            .map(|l| {
                // Everything but the team: the same line, charged to another team.
                let mut cells: Vec<&str> = l.split(',').collect();
                cells.remove(2);
                cells.join(",")
            })
            .collect()
    };
    // 2026-08: vision, as before. From 2026-09: nlp, line for line what vision had.
    assert!(!direct(&out, "2026-08", "vision").is_empty());
    assert_eq!(direct(&out, "2026-08", "vision"), direct(&base, "2026-08", "vision"));
    assert!(direct(&out, "2026-08", "nlp").is_empty());
    for month in ["2026-09", "2026-10"] {
        assert!(direct(&out, month, "vision").is_empty(), "{month}");
        assert_eq!(direct(&out, month, "nlp"), direct(&base, month, "vision"), "{month}");
    }
}

#[test]
fn workspace_versions_must_not_overlap_or_leave_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "until = \"2026-09\"\n",
            "from = \"2026-09\"\n",
            "workspace[1] (mlw-vision) and workspace[2] (mlw-vision): versions of `mlw-vision` overlap (from 2026-09)",
        ),
        ("", "from = \"2026-09\"\n", "versions of `mlw-vision` overlap"),
        (
            "until = \"2026-07\"\n",
            "from = \"2026-09\"\n",
            "no version of `mlw-vision` is in force from 2026-08 to 2026-08; the second version should start in 2026-08",
        ),
        ("until = \"2026-13\"\n", "from = \"2026-09\"\n", "`until` \"2026-13\" is not a month, YYYY-MM"),
    ];
    for (first, second, needle) in cases {
        let config = dir.path().join("bad.toml");
        std::fs::write(
            &config,
            moved(&format!(
                "[[workspace]]\nname = \"mlw-vision\"\ntopology = \"team\"\nteam = \"vision\"\nresource_groups = [\"rg-vision-ml\"]\n{first}\n\
                 [[workspace]]\nname = \"mlw-vision\"\ntopology = \"team\"\nteam = \"nlp\"\nresource_groups = [\"rg-vision-ml\"]\n{second}"
            )),
        )
        .unwrap();
        let mut cmd = mlspend();
        cmd.args(["run", "--quiet", "--config"]).arg(&config).arg("--out").arg(dir.path().join("r"));
        let (_, e, code) = run(&mut cmd);
        assert_eq!(code, 2, "{first}{second}");
        assert!(e.contains(needle), "{needle}\n{e}");
        assert!(!dir.path().join("r").exists());
    }
}

#[test]
fn late_charges_in_an_export_folder_stay_with_the_run_that_billed_them() {
    // With --manifest each month is a run folder whose date range is that month; a late charge in September's run
    // carries an August usage date, a day August's run covers: it must not be taken for a copy of August's rows.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("export");
    generate(&folder, &["--manifest", "--rows", "6000", "--months", "3", "--late-fraction", "0.2"]);
    let mut by_period: BTreeMap<(String, String), i128> = BTreeMap::new();
    let mut rows = 0;
    for part in crate::common::files_under(&folder).iter().filter(|p| p.extension().is_some_and(|x| x == "csv")) {
        let (sums, n) =
            sums(&folder.join(part), "BillingPeriodStartDate", "CostInBillingCurrency", "BillingCurrencyCode");
        rows += n;
        for (k, v) in sums {
            *by_period.entry(k).or_default() += v;
        }
    }
    let r = check_json(&[&folder]);
    assert_eq!(r["rows"].as_u64(), Some(rows as u64));
    let superseded: u64 =
        r["inputs"][0]["files"].as_array().unwrap().iter().map(|f| f["superseded"].as_u64().unwrap_or(0)).sum();
    assert_eq!(superseded, 0, "no late charge is taken for a copy");
    let expected: BTreeMap<(String, String), String> = by_period.iter().map(|(k, v)| (k.clone(), plain(*v))).collect();
    assert_eq!(check_totals(&r), expected);
}

#[test]
fn a_closed_month_stays_as_booked_and_its_changes_are_carried_into_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attribution.toml");
    let ws = |name: &str| {
        format!("/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.MachineLearningServices/workspaces/{name}")
    };
    let header = "Date,BillingPeriodStartDate,Cost,BillingCurrency,ResourceId,ResourceName,ResourceGroup,ConsumedService,MeterCategory,Tags\n";
    let row = |date: &str, period: &str, cost: &str, name: &str| {
        format!(
            "{date},{period},{cost},USD,{},{name},rg-a,Microsoft.MachineLearningServices,Virtual Machines,\n",
            ws(name)
        )
    };
    // August and September as first exported and charged back.
    let base = dir.path().join("base.csv");
    std::fs::write(
        &base,
        format!(
            "{header}{}{}{}{}",
            row("08/05/2026", "08/01/2026", "100.00", "ws-team"),
            row("08/06/2026", "08/01/2026", "50.00", "ws-proj"),
            row("09/05/2026", "09/01/2026", "30.00", "ws-team"),
            row("09/06/2026", "09/01/2026", "20.00", "ws-proj"),
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let pack = |extra: &[&str], inputs: &[&Path]| {
        let mut cmd = mlspend();
        cmd.args(["run", "--quiet", "--export-type", "amortized", "--config"]).arg(&config).arg("--out").arg(&out);
        cmd.args(extra).args(inputs);
        run(&mut cmd)
    };
    let (o, e, code) = pack(&[], &[&base]);
    assert_eq!(code, 0, "{o}{e}");
    let august: Vec<(std::path::PathBuf, Vec<u8>)> = crate::common::files_under(&out.join("2026-08"))
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(out.join("2026-08").join(&p)).unwrap()))
        .collect();
    assert!(august.len() > 5);

    // August is closed. Then August's export is re-run with a late charge (+7.25 on ws-team, billed in August) and a
    // refund (-2.00 on ws-proj).
    let late = dir.path().join("late.csv");
    std::fs::write(
        &late,
        format!(
            "{header}{}{}",
            row("08/20/2026", "08/01/2026", "7.25", "ws-team"),
            row("08/21/2026", "08/01/2026", "-2.00", "ws-proj")
        ),
    )
    .unwrap();
    // Without --restate, August's rows are left out: its pack stays, September is its own rows alone.
    let (o, e, code) = pack(&["--closed-through", "2026-08"], &[&base, &late]);
    assert_eq!(code, 0, "{o}{e}");
    assert!(o.contains("4 rows of closed months left out"), "{o}");
    assert!(!std::fs::read_to_string(out.join("2026-09/chargeback.csv")).unwrap().contains("prior-period-adjustment"));
    let (o, e, code) = pack(&["--closed-through", "2026-08", "--restate"], &[&base, &late]);
    assert_eq!(code, 0, "{o}{e}");
    assert!(o.contains("2026-08 is closed: its pack stays as booked (150.00 USD); its rows now say 155.25 USD, so 5.25 USD is carried into 2026-09"), "{o}");
    // August: byte for byte as booked.
    let now: Vec<(std::path::PathBuf, Vec<u8>)> = crate::common::files_under(&out.join("2026-08"))
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(out.join("2026-08").join(&p)).unwrap()))
        .collect();
    assert!(now == august, "the closed month's files changed");
    // September: its own 50.00 plus the two adjustments, each on its team's line, and the restatement.
    let csv = std::fs::read_to_string(out.join("2026-09/chargeback.csv")).unwrap();
    assert!(
        csv.contains("2026-09,USD,alpha,,ws-team,,compute,team,prior-period-adjustment,2026-08 direct,7.25\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(
            "2026-09,USD,beta,proj-b,ws-proj,prod,compute,project,prior-period-adjustment,2026-08 direct,-2.00\r\n"
        ),
        "{csv}"
    );
    let restatement = std::fs::read_to_string(out.join("2026-09/restatement.csv")).unwrap();
    assert_eq!(
        restatement,
        "closed_month,currency,team,booked,now,delta,carried_into\r\n\
         2026-08,USD,alpha,100.00,107.25,7.25,2026-09\r\n\
         2026-08,USD,beta,50.00,48.00,-2.00,2026-09\r\n"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("2026-09/summary.json")).unwrap()).unwrap();
    let usd = &summary["currencies"][0];
    assert_eq!(
        (
            usd["input_total"].as_str(),
            usd["prior_period_adjustments"].as_str(),
            usd["chargeback_total"].as_str(),
            usd["balanced"].as_bool()
        ),
        (Some("50.00"), Some("5.25"), Some("55.25"), Some(true))
    );
    // The lines add up: 50.00 of September's rows and 5.25 of adjustments.
    let sum: i64 =
        csv.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().replace('.', "").parse::<i64>().unwrap()).sum();
    assert_eq!(sum, 5525);
    // A rerun changes nothing more: the same restatement, August still as booked.
    let (o, e, code) = pack(&["--closed-through", "2026-08", "--restate"], &[&base, &late]);
    assert_eq!(code, 0, "{o}{e}");
    assert_eq!(std::fs::read_to_string(out.join("2026-09/restatement.csv")).unwrap(), restatement);
    // Rerunning without --restate would drop September's adjustments: refused, September unchanged.
    let (_, e, code) = pack(&["--closed-through", "2026-08"], &[&base, &late]);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("holds prior-period adjustments from an earlier --restate"), "{e}");
    assert_eq!(std::fs::read_to_string(out.join("2026-09/restatement.csv")).unwrap(), restatement);
    // September is closed in turn, with its adjustments: October carries nothing again, from every input or from
    // October's alone.
    let october = dir.path().join("oct.csv");
    std::fs::write(&october, format!("{header}{}", row("10/05/2026", "10/01/2026", "12.00", "ws-team"))).unwrap();
    let september_booked = std::fs::read_to_string(out.join("2026-09/chargeback.csv")).unwrap();
    for inputs in [vec![&base, &late, &october], vec![&october]] {
        let paths: Vec<&Path> = inputs.iter().map(|p| p.as_path()).collect();
        let (o, e, code) = pack(&["--closed-through", "2026-09", "--restate"], &paths);
        assert_eq!(code, 0, "{o}{e}");
        let oct = std::fs::read_to_string(out.join("2026-10/chargeback.csv")).unwrap();
        assert!(!oct.contains("prior-period-adjustment"), "{oct}");
        assert!(oct.ends_with("2026-10,USD,alpha,,ws-team,,compute,team,direct,,12.00\r\n"), "{oct}");
        assert_eq!(std::fs::read_to_string(out.join("2026-09/chargeback.csv")).unwrap(), september_booked);
    }
    // Closing by usage date would compare partial months: refused.
    let usage = dir.path().join("usage.toml");
    std::fs::write(&usage, format!("month = \"usage-date\"\n{}", std::fs::read_to_string(&config).unwrap())).unwrap();
    let mut cmd = mlspend();
    cmd.args(["run", "--quiet", "--export-type", "amortized", "--closed-through", "2026-08", "--config"])
        .arg(&usage)
        .arg("--out")
        .arg(&out)
        .arg(&base);
    let (_, e, code) = run(&mut cmd);
    assert_eq!(code, 2);
    assert!(e.contains("needs month = \"billing-period\""), "{e}");
    // A closed month without a booked pack: an error, nothing written.
    let fresh = dir.path().join("fresh");
    let mut cmd = mlspend();
    cmd.args(["run", "--quiet", "--export-type", "amortized", "--closed-through", "2026-08", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&fresh)
        .arg(&base);
    let (_, e, code) = run(&mut cmd);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("month 2026-08 is closed (closed_through) but") && e.contains("is missing"), "{e}");
    assert!(!fresh.join("2026-09").exists());
}
