//! mlspend: monthly Azure Machine Learning chargeback from Azure cost exports.
//!
//! The pipeline, in order: [`ingest`] reads every export layout into canonical [`schema::CostRow`]s; [`check`]
//! reports what an export holds; [`generate`] writes synthetic enterprise exports. [`cli`] turns the command line
//! into calls of these stages; `main.rs` only maps the outcome to an exit code.

pub mod check;
pub mod cli;
pub mod dates;
pub mod error;
pub mod generate;
pub mod ingest;
pub mod layout;
pub mod money;
pub mod resource;
pub mod schema;
pub mod tags;

pub use error::{Error, Result};
