//! The rollup's books: lines that don't balance are caught.

use super::*;

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

#[test]
fn azure_rows_by_provider_name() {
    for azure in ["", " ", "Microsoft", "microsoft", "Microsoft Azure", "Azure", "AZURE"] {
        assert!(is_azure(azure), "{azure:?}");
    }
    for other in ["AWS", "Oracle", "Google Cloud", "Azure Stack Partner", "Micro"] {
        assert!(!is_azure(other), "{other:?}");
    }
}

#[test]
fn books_that_do_not_balance_are_caught() {
    let month = Month::parse("2026-01").unwrap();
    let line = Line {
        billing_month: month,
        currency: "USD".into(),
        team: "a".into(),
        project: String::new(),
        workspace: String::new(),
        environment: String::new(),
        service_category: "compute".into(),
        topology: String::new(),
        allocation: DIRECT.into(),
        reason: String::new(),
        exact: m("10"),
        cost: m("10"),
        report_cost: None,
    };
    let totals = |input: &str, rows: u64| CurrencyTotals {
        input_total: m(input).round(2),
        input_total_exact: m(input),
        direct: m("10"),
        chargeback_total: m("10"),
        rows: RowCounts { input: rows, direct: 1, ..RowCounts::default() },
        ..CurrencyTotals::empty("USD", 2)
    };
    let mut good = MonthChargeback {
        month,
        lines: vec![line.clone()],
        totals: vec![totals("10", 1)],
        splits: vec![],
        commitments: vec![],
        unit_costs: vec![],
        other_providers: vec![],
    };
    good.mark_balanced();
    assert!(Chargeback { months: vec![good] }.verify().is_ok());
    // A cent missing from the lines, or a row counted nowhere: both refused.
    for (input, rows) in [("10.01", 1), ("10", 2)] {
        let mut bad = MonthChargeback {
            month,
            lines: vec![line.clone()],
            totals: vec![totals(input, rows)],
            splits: vec![],
            commitments: vec![],
            unit_costs: vec![],
            other_providers: vec![],
        };
        bad.mark_balanced();
        let err = Chargeback { months: vec![bad] }.verify().unwrap_err();
        assert!(err.starts_with("2026-01 USD: input"), "{err}");
    }
}
