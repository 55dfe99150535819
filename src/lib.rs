//! mlspend: monthly Azure Machine Learning chargeback from Azure cost exports.
//!
//! The pipeline, in order ([`pipeline`] is the one place that knows it): [`ingest`] reads every export layout into
//! canonical [`schema::CostRow`]s; [`attribute`] gives each row a workspace and an owner under a [`config::Config`];
//! [`rollup`] sums, splits shared pools and rounds to the cent; [`report`] writes the files. [`check`] reports what
//! an export holds; [`generate`] writes synthetic enterprise exports. [`cli`] turns the command line into calls of
//! these stages; `main.rs` only maps the outcome to an exit code.

pub mod attribute;
pub mod check;
pub mod cli;
pub mod close;
pub mod commitment;
pub mod compare;
pub mod config;
pub mod dates;
pub mod error;
pub mod fasthash;
pub mod generate;
pub mod ingest;
pub mod layout;
pub mod ledger;
pub mod money;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod resource;
pub mod rollup;
pub mod schema;
pub mod tags;
pub mod text;

pub use error::{Error, Result};
