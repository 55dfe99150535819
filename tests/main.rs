//! The one integration-test binary: every test runs the real `mlspend` binary on real or generated files.

mod backtest;
mod chargeback;
mod commitments;
mod common;
mod finance;
mod fuzz;
mod ingest;
mod ledger;
mod months;
mod pages;
mod scale;
mod topology;
mod trust;
mod usage;
