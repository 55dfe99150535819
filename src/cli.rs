//! The command line: clap types live here and nowhere else; each command turns its arguments into the stages'
//! own option types once, then calls the stages.

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::schema::CostBasis;
use crate::{check, generate, ingest};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// Where the bundled sample export lives, relative to the repository root.
pub const BUNDLED_SAMPLE: &str = "data/sample";

/// Monthly Azure Machine Learning chargeback from Azure cost exports.
#[derive(Debug, Parser)]
#[command(name = "mlspend", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report what exports hold: layouts, rows, rejects, totals per month and currency, ML spend, tag keys.
    Check(CheckArgs),
    /// Write a deterministic synthetic enterprise export.
    Generate(GenerateArgs),
}

#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Export files (.csv, .csv.gz, .parquet) or folders of them; Azure export folders are read through their
    /// manifest.json. Defaults to the bundled sample, data/sample.
    #[arg(value_name = "EXPORT")]
    pub exports: Vec<PathBuf>,
    /// What the cost column of EA and MCA files holds when neither a manifest nor the file name says.
    #[arg(long, value_enum, value_name = "BASIS")]
    pub export_type: Option<CostBasis>,
    /// Fail (exit 1) if any row is rejected.
    #[arg(long)]
    pub strict: bool,
}

impl InputArgs {
    fn paths(&self) -> Result<Vec<PathBuf>> {
        if !self.exports.is_empty() {
            return Ok(self.exports.clone());
        }
        let sample = PathBuf::from(BUNDLED_SAMPLE);
        if sample.is_dir() {
            Ok(vec![sample])
        } else {
            Err(Error::Usage(format!(
                "no EXPORT named, and no bundled sample at {BUNDLED_SAMPLE} (run from the repository root, or name export files or folders)"
            )))
        }
    }

    fn options(&self) -> ingest::Options {
        ingest::Options {
            export_type: self.export_type,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The file to write, or with --manifest the folder to write the export run folders into.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Seed of the generator: the same seed and options give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Data rows to write, spread over the months.
    #[arg(long, default_value_t = 10_000)]
    pub rows: u64,
    /// Billing months to cover.
    #[arg(long, default_value_t = 3)]
    pub months: u32,
    /// The first billing month, YYYY-MM.
    #[arg(long, default_value = "2026-08")]
    pub start: String,
    /// Export layout to write.
    #[arg(long, value_enum, default_value_t = Layout::Ea)]
    pub layout: Layout,
    /// File format to write.
    #[arg(long, value_enum, default_value_t = generate::FileFormat::Csv)]
    pub format: generate::FileFormat,
    /// Write an Azure export folder: one run folder per month with part files and a manifest.json.
    #[arg(long)]
    pub manifest: bool,
    /// What the cost column holds (EA, MCA and legacy layouts); FOCUS carries both.
    #[arg(long, value_enum, default_value_t = CostBasis::Amortized)]
    pub export_type: CostBasis,
}

/// Parses the command line and runs the command.
pub fn main() -> Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2)
            let _ = e.print();
            std::process::exit(e.exit_code());
        }
    };
    match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Generate(args) => run_generate(&args),
    }
}

fn stdout_write(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|source| Error::Write {
            path: "<stdout>".into(),
            source,
        })
}

fn warn(warnings: &[String]) {
    let mut err = std::io::stderr().lock();
    for w in warnings {
        let _ = writeln!(err, "warning: {w}");
    }
}

fn run_check(args: &CheckArgs) -> Result<()> {
    let plan = ingest::plan(&args.input.paths()?)?;
    let (report, _) = check::run(&plan, &args.input.options())?;
    if args.json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))?;
        stdout_write(&(text + "\n"))?;
    } else {
        stdout_write(&check::render_text(&report))?;
        warn(&report.warnings);
    }
    strict_check(args.input.strict, &report.rejects)
}

fn strict_check(strict: bool, rejects: &[ingest::Reject]) -> Result<()> {
    if strict {
        if let Some(first) = rejects.first() {
            let col = if first.column.is_empty() {
                String::new()
            } else {
                format!(" column {}:", first.column)
            };
            return Err(Error::Strict {
                path: None,
                count: rejects.len() as u64,
                first: format!(
                    "{}: line {}:{} {}",
                    first.file, first.line, col, first.reason
                ),
            });
        }
    }
    Ok(())
}

fn run_generate(args: &GenerateArgs) -> Result<()> {
    let start = crate::dates::Month::parse(&args.start).ok_or_else(|| {
        Error::Usage(format!(
            "--start {:?}: expected a month as YYYY-MM",
            args.start
        ))
    })?;
    if args.months == 0 || args.months > 120 {
        return Err(Error::Usage("--months: give 1 to 120 months".into()));
    }
    let spec = generate::Spec {
        seed: args.seed,
        rows: args.rows,
        months: args.months,
        start,
        layout: args.layout,
        format: args.format,
        manifest: args.manifest,
        export_type: args.export_type,
    };
    let written = generate::write(&spec, &args.out)?;
    let mut err = std::io::stderr().lock();
    for (path, rows) in written {
        let _ = writeln!(err, "wrote {} ({rows} rows)", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
