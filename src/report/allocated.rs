//! Machine-readable outputs: `chargeback.parquet` / `chargeback.json`, and `allocated.parquet` / `allocated.jsonl`
//! with one row per input row and its provenance.
//!
//! Column names follow FOCUS where one exists (`BillingPeriodStart`, `ChargePeriodStart`, `BillingCurrency`,
//! `BilledCost`, `EffectiveCost`, `ResourceId`, `SubAccountId`, `Tags`...) and are `x_`-prefixed otherwise, so the
//! files load beside FOCUS data. Allocated rows stream to disk while the export is read (64 Ki rows per batch, one
//! writer per month, nothing per row kept); the shares of each shared pool are only known once every row has been
//! read, so a second streaming pass copies each month's file adding `x_SplitShares`.

use crate::attribute::{Attribution, Owner};
use crate::config::{Config, Topology};
use crate::dates::Month;
use crate::error::{Error, Result};
use crate::money::Money;
use crate::rollup::{Chargeback, Line};
use crate::schema::CostRow;
use arrow_array::builder::{Date32Builder, Decimal128Builder, Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which machine-readable formats to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Formats {
    pub csv: bool,
    pub parquet: bool,
    pub json: bool,
}

impl Formats {
    pub fn allocated(&self) -> bool {
        self.parquet || self.json
    }
}

/// Cost columns of allocated.parquet: 18 fractional digits (values with more are rounded half away from zero).
const COST_SCALE: i8 = 18;

const STRING_COLUMNS: [&str; 26] = [
    "x_SourceFile",
    "BillingCurrency",
    "ResourceId",
    "ResourceName",
    "x_ResourceGroupName",
    "ResourceType",
    "SubAccountId",
    "SubAccountName",
    "ServiceName",
    "x_ServiceCategory",
    "ChargeCategory",
    "Tags",
    "x_Team",
    "x_Project",
    "x_Workspace",
    "x_Environment",
    "x_Topology",
    "x_AllocationMethod",
    "x_WorkspaceRule",
    "x_OwnerRule",
    "x_Reason",
    "x_AmlWorkspaceId",
    "x_AmlClusterType",
    "x_AmlUsageType",
    "SkuMeter",
    "ConsumedUnit",
];

fn allocated_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("x_SourceLine", DataType::UInt64, false),
        Field::new("ChargePeriodStart", DataType::Date32, false),
        Field::new("BillingPeriodStart", DataType::Date32, false),
        Field::new("BilledCost", DataType::Decimal128(38, COST_SCALE), true),
        Field::new("EffectiveCost", DataType::Decimal128(38, COST_SCALE), true),
        Field::new("ConsumedQuantity", DataType::Float64, true),
        Field::new("x_GpuHours", DataType::Float64, true),
    ];
    fields.extend(STRING_COLUMNS.iter().map(|c| Field::new(*c, DataType::Utf8, false)));
    Arc::new(Schema::new(fields))
}

fn days_since_epoch(y: i32, m: u32, d: u32) -> i32 {
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn decimal(m: Money) -> Option<i128> {
    let units = m.round(COST_SCALE as u32).raw() / ethnum::I256::new(10i128.pow(28 - COST_SCALE as u32));
    i128::try_from(units).ok()
}

/// Owner rule names for `x_OwnerRule`.
fn owner_rule(a: &Attribution, row: &CostRow, config: &Config) -> &'static str {
    let ws = a.workspace.map(|i| &config.workspaces[i]);
    match (&a.owner, ws.map(|w| w.topology)) {
        (Owner::Direct { .. }, Some(Topology::Team)) => "team-workspace",
        (Owner::Direct { .. }, Some(Topology::Project)) => "project-workspace",
        (Owner::Direct { .. }, Some(Topology::Hub)) => "hub-workspace",
        (Owner::Direct { .. }, Some(Topology::Shared))
            if ws.is_some_and(|w| !w.owners.is_empty() && crate::attribute::owned_by(row, w).is_some()) =>
        {
            "shared-owner"
        }
        (Owner::Direct { .. }, _) => "shared-team-tag",
        (Owner::Pool, _) => "shared-pool",
        (Owner::Unallocated(_), _) => "unallocated",
        (Owner::OutOfScope, _) => "out-of-scope",
        (Owner::Unused { .. }, _) => "commitment-unused",
        (Owner::Purchase { .. }, _) => "commitment-owner",
        (Owner::Platform(_), _) => "platform-pool",
    }
}

/// Column builders for one batch.
struct Batch {
    line: UInt64Builder,
    charge: Date32Builder,
    period: Date32Builder,
    billed: Decimal128Builder,
    effective: Decimal128Builder,
    quantity: Float64Builder,
    gpu_hours: Float64Builder,
    text: Vec<StringBuilder>,
    rows: usize,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            line: UInt64Builder::new(),
            charge: Date32Builder::new(),
            period: Date32Builder::new(),
            billed: Decimal128Builder::new().with_data_type(DataType::Decimal128(38, COST_SCALE)),
            effective: Decimal128Builder::new().with_data_type(DataType::Decimal128(38, COST_SCALE)),
            quantity: Float64Builder::new(),
            gpu_hours: Float64Builder::new(),
            text: STRING_COLUMNS.iter().map(|_| StringBuilder::new()).collect(),
            rows: 0,
        }
    }

    fn finish(&mut self, schema: &SchemaRef) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.line.finish()),
            Arc::new(self.charge.finish()),
            Arc::new(self.period.finish()),
            Arc::new(self.billed.finish()),
            Arc::new(self.effective.finish()),
            Arc::new(self.quantity.finish()),
            Arc::new(self.gpu_hours.finish()),
        ];
        columns.extend(self.text.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        self.rows = 0;
        RecordBatch::try_new(schema.clone(), columns)
    }
}

/// Writes allocated rows, one temporary Parquet file per month, while the export is read.
pub struct AllocatedWriter<'c> {
    /// Tells this writer's temporary files from those of the other parts.
    id: usize,
    config: &'c Config,
    dir: PathBuf,
    schema: SchemaRef,
    files: Vec<String>,
    months: HashMap<Month, (parquet::arrow::ArrowWriter<std::fs::File>, Batch)>,
    error: Option<Error>,
}

const BATCH_ROWS: usize = 64 * 1024;
/// Rows per row group of allocated.parquet.
const ROW_GROUP_ROWS: usize = 128 * 1024;

impl<'c> AllocatedWriter<'c> {
    /// `dir` is the staging folder; `files` names the sources by index.
    pub fn new(config: &'c Config, dir: &Path, files: Vec<String>) -> AllocatedWriter<'c> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        AllocatedWriter {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            config,
            dir: dir.to_path_buf(),
            schema: allocated_schema(),
            files,
            months: HashMap::new(),
            error: None,
        }
    }

    fn temp_path(&self, month: Month) -> PathBuf {
        self.dir.join(month.to_string()).join(format!("allocated.part-{}.parquet", self.id))
    }

    /// Adds one row. Errors are kept and reported by [`AllocatedWriter::finish`], so the caller's row loop stays simple.
    pub fn add(&mut self, row: &CostRow, category: usize, a: &Attribution) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_add(row, category, a) {
            self.error = Some(e);
        }
    }

    fn try_add(&mut self, row: &CostRow, category: usize, a: &Attribution) -> Result<()> {
        let month = row.month(self.config.month_by);
        if !self.months.contains_key(&month) {
            let path = self.temp_path(month);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            // Row groups of 128 Ki rows: each is encoded in memory until it is full, so this bounds a writer's
            // memory; allocated.parquet keeps them as they are (`splice_shares`).
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                .build();
            let writer = parquet::arrow::ArrowWriter::try_new(file, self.schema.clone(), Some(props))
                .map_err(|e| Error::Parquet { path: path.clone(), detail: e.to_string() })?;
            self.months.insert(month, (writer, Batch::new()));
        }
        let config = self.config;
        let file_name = self.files.get(row.file as usize).map(String::as_str).unwrap_or("");
        let Some((writer, b)) = self.months.get_mut(&month) else { return Ok(()) };
        b.line.append_value(row.line);
        let d = row.usage_date;
        b.charge.append_value(days_since_epoch(d.year as i32, d.month as u32, d.day as u32));
        // The month the row is charged back in (its billing period, by default), as in chargeback.csv.
        b.period.append_value(days_since_epoch(month.year as i32, month.month as u32, 1));
        let out_of_range = |what: &str| Error::Parquet {
            path: PathBuf::from(file_name),
            detail: format!("line {}: {what} is beyond the 10^20 that allocated.parquet holds", row.line),
        };
        match row.actual {
            Some(v) => b.billed.append_value(decimal(v).ok_or_else(|| out_of_range("the actual cost"))?),
            None => b.billed.append_null(),
        }
        match row.amortized {
            Some(v) => b.effective.append_value(decimal(v).ok_or_else(|| out_of_range("the amortized cost"))?),
            None => b.effective.append_null(),
        }
        // What was used: a measure, not money, so a double; GPU hours on N-series meters measured in hours.
        let quantity = match row.quantity_value {
            Some(v) if v.is_finite() => Some(v),
            Some(_) => None,
            None => row.quantity.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        };
        b.quantity.append_option(quantity);
        let gpu = match (quantity, crate::schema::hours_per_unit(row.unit)) {
            (Some(q), Some(per)) if crate::schema::is_gpu_meter(row.meter_name) => Some(q * per as f64),
            _ => None,
        };
        b.gpu_hours.append_option(gpu);
        let ws = a.workspace.map(|i| &config.workspaces[i]);
        let (team, project, method, reason) = match &a.owner {
            Owner::Direct { team, project } => {
                (team.to_string(), project.to_string(), "direct".to_string(), String::new())
            }
            Owner::Pool => (
                "(shared pool)".to_string(),
                String::new(),
                ws.map(|w| w.split.allocation().to_string()).unwrap_or_default(),
                String::new(),
            ),
            Owner::Unallocated(r) => ("(unallocated)".to_string(), String::new(), "unallocated".to_string(), r.text()),
            Owner::OutOfScope => {
                ("(out-of-scope)".to_string(), String::new(), "out-of-scope".to_string(), "not Azure ML spend".into())
            }
            // Split after every row is read: x_SplitShares says how.
            Owner::Unused { commitment } => (
                "(unused commitment)".to_string(),
                String::new(),
                crate::rollup::UNUSED_COMMITMENT.to_string(),
                crate::rollup::commitment_reason(commitment),
            ),
            Owner::Platform(p) => (
                "(platform pool)".to_string(),
                String::new(),
                format!(
                    "{}{}",
                    crate::rollup::PLATFORM,
                    config.pools[*p].split.allocation().trim_start_matches("shared-")
                ),
                String::new(),
            ),
            Owner::Purchase { commitment, owner } => (
                owner.to_string(),
                String::new(),
                crate::rollup::COMMITMENT_PURCHASE.to_string(),
                crate::rollup::commitment_reason(commitment),
            ),
        };
        let tags: serde_json::Map<String, serde_json::Value> =
            row.tags.list.iter().map(|t| (t.key.to_string(), serde_json::Value::String(t.value.to_string()))).collect();
        // The Azure ML fields of AdditionalInfo, parsed on ML rows only.
        let aml = row.aml().unwrap_or_default();
        let values: [&str; 26] = [
            file_name,
            &row.currency,
            row.resource_id,
            row.resource_name,
            &row.resource_group,
            &row.resource_type,
            row.subscription_id,
            row.subscription_name,
            row.service,
            crate::rollup::CATEGORIES[category],
            row.charge_type,
            &serde_json::Value::Object(tags).to_string(),
            &team,
            &project,
            ws.map(|w| w.name.as_str()).unwrap_or_else(|| match &a.owner {
                Owner::Unallocated(r) => r.workspace(),
                Owner::Platform(p) => &config.pools[*p].name,
                _ => "",
            }),
            if matches!(a.owner, Owner::Platform(_)) { "" } else { a.environment },
            match (&a.owner, ws) {
                (Owner::Platform(_), _) => "platform",
                (_, Some(w)) => w.topology.as_str(),
                _ => "",
            },
            &method,
            a.rule.as_str(),
            owner_rule(a, row, config),
            &reason,
            aml.workspace_id.as_deref().unwrap_or(""),
            aml.cluster_type.as_deref().unwrap_or(""),
            aml.usage_type.as_deref().unwrap_or(""),
            row.meter_name,
            row.unit,
        ];
        for (builder, v) in b.text.iter_mut().zip(values) {
            builder.append_value(v);
        }
        b.rows += 1;
        if b.rows >= BATCH_ROWS {
            let batch = b
                .finish(&self.schema)
                .map_err(|e| Error::Parquet { path: PathBuf::from("allocated"), detail: e.to_string() })?;
            writer
                .write(&batch)
                .map_err(|e| Error::Parquet { path: PathBuf::from("allocated"), detail: e.to_string() })?;
        }
        Ok(())
    }

    /// Closes this writer's temporary files: (month, file) for each month it saw.
    pub fn close(mut self) -> Result<Vec<(Month, PathBuf)>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut months: Vec<Month> = self.months.keys().copied().collect();
        months.sort();
        let mut out = Vec::new();
        for month in months {
            let Some((mut writer, mut batch)) = self.months.remove(&month) else { continue };
            let tmp = self.temp_path(month);
            let perr = |e: String| Error::Parquet { path: tmp.clone(), detail: e };
            if batch.rows > 0 {
                let b = batch.finish(&self.schema).map_err(|e| perr(e.to_string()))?;
                writer.write(&b).map_err(|e| perr(e.to_string()))?;
            }
            writer.close().map_err(|e| perr(e.to_string()))?;
            out.push((month, tmp));
        }
        Ok(out)
    }
}

impl Drop for AllocatedWriter<'_> {
    /// A writer dropped without [`finish`] (a part read again from the right place) leaves no file behind.
    fn drop(&mut self) {
        let months: Vec<Month> = self.months.keys().copied().collect();
        for month in months {
            let path = self.temp_path(month);
            self.months.remove(&month);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// From every part's closed temporary files, writes each month's `allocated.parquet` and/or `allocated.jsonl`: the parts' rows
/// in input order, their line numbers made the file's (each part's offset added), with the split shares of pool rows.
pub fn finish(
    parts: Vec<(Vec<(Month, PathBuf)>, u64)>,
    chargeback: &Chargeback,
    formats: Formats,
) -> Result<Vec<PathBuf>> {
    let mut by_month: std::collections::BTreeMap<Month, Vec<(PathBuf, u64)>> = std::collections::BTreeMap::new();
    for (closed, offset) in parts {
        for (month, tmp) in closed {
            by_month.entry(month).or_default().push((tmp, offset));
        }
    }
    let mut written = Vec::new();
    for (month, parts) in by_month {
        // A closed month's rows were read (to restate it) but its pack is never rewritten: drop its parts.
        if !chargeback.months.iter().any(|m| m.month == month) {
            for (tmp, _) in &parts {
                std::fs::remove_file(tmp).map_err(|e| Error::io(tmp, e))?;
                if let Some(dir) = tmp.parent() {
                    let _ = std::fs::remove_dir(dir);
                }
            }
            continue;
        }
        let shares = split_shares(chargeback, month);
        if formats.json {
            written.extend(add_shares(&parts, &shares, formats)?);
        } else {
            written.push(splice_shares(&parts, &shares)?);
        }
        for (tmp, _) in parts {
            std::fs::remove_file(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
    }
    Ok(written)
}

/// A team's name in `x_SplitShares`: `%`, `;` and `=` percent-encoded, so that the list always parses.
fn share_name(team: &str) -> std::borrow::Cow<'_, str> {
    if team.contains(['%', ';', '=']) {
        std::borrow::Cow::Owned(team.replace('%', "%25").replace(';', "%3B").replace('=', "%3D"))
    } else {
        std::borrow::Cow::Borrowed(team)
    }
}

/// `x_SplitShares` of each pool of a month: (currency, workspace, environment) -> `team=fraction;...`; and of each
/// commitment's unused capacity, under (currency, "", its lines' reason), a pool's workspace never being empty.
fn split_shares(chargeback: &Chargeback, month: Month) -> HashMap<(String, String, String), String> {
    let mut out = HashMap::new();
    for m in chargeback.months.iter().filter(|m| m.month == month) {
        for s in &m.splits {
            let total: Money = s.shares.iter().map(|x| x.1).sum();
            let text: Vec<String> = s
                .shares
                .iter()
                .map(|(team, w, _)| {
                    let fraction = w.mul_div(Money::from_minor_units(1, 0), total).unwrap_or_default();
                    format!("{}={}", share_name(team), fraction.round(10).to_plain())
                })
                .collect();
            out.insert((s.currency.clone(), s.workspace.clone(), s.environment.clone()), text.join(";"));
        }
        let mut unused: std::collections::BTreeMap<(&str, &str), Vec<(&str, Money)>> = Default::default();
        for u in &m.commitments {
            unused.entry((&u.currency, &u.commitment)).or_default().push((&u.team, u.unused));
        }
        for ((currency, commitment), parts) in unused {
            let total: Money = parts.iter().map(|p| p.1).sum();
            if total.is_zero() {
                continue;
            }
            let text: Vec<String> = parts
                .iter()
                .filter(|p| !p.1.is_zero())
                .map(|(team, v)| {
                    let fraction = v.mul_div(Money::from_minor_units(1, 0), total).unwrap_or_default();
                    format!("{}={}", share_name(team), fraction.round(10).to_plain())
                })
                .collect();
            let reason = crate::rollup::commitment_reason(commitment);
            out.insert((currency.to_string(), String::new(), reason), text.join(";"));
        }
    }
    out
}

/// `x_SplitShares` of a batch's rows, from its columns (currency, workspace, environment, method, reason).
fn shares_column(
    batch: &RecordBatch,
    [cur, ws, env, method, reason]: [usize; 5],
    shares: &HashMap<(String, String, String), String>,
) -> StringArray {
    use arrow_array::cast::AsArray;
    let col = |i: usize| batch.column(i).as_string::<i32>().clone();
    let (c, w, e, m, why) = (col(cur), col(ws), col(env), col(method), col(reason));
    (0..batch.num_rows())
        .map(|r| {
            let key = if m.value(r).starts_with("shared-") || m.value(r).starts_with(crate::rollup::PLATFORM) {
                Some((c.value(r).to_string(), w.value(r).to_string(), e.value(r).to_string()))
            } else if m.value(r) == crate::rollup::UNUSED_COMMITMENT {
                Some((c.value(r).to_string(), String::new(), why.value(r).to_string()))
            } else {
                None
            };
            Some(key.and_then(|k| shares.get(&k).cloned()).unwrap_or_default())
        })
        .collect()
}

/// allocated.parquet from a month's temporary files without decoding them: every column chunk of every row group
/// is copied as it is encoded (dictionary and compression kept), but `x_SourceLine`, read and written again with
/// the part's line offset, and `x_SplitShares`, computed from five text columns of the row group. The row path pays
/// for the allocated rows once, while reading; this pass costs little more than copying the file.
fn splice_shares(parts: &[(PathBuf, u64)], shares: &HashMap<(String, String, String), String>) -> Result<PathBuf> {
    use arrow_array::cast::AsArray;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::arrow_writer::{compute_leaves, ArrowRowGroupWriterFactory};
    use parquet::arrow::{ArrowSchemaConverter, ProjectionMask};
    use parquet::column::writer::ColumnCloseResult;
    use parquet::file::writer::SerializedFileWriter;
    let Some((first, _)) = parts.first() else {
        return Err(Error::Parquet { path: PathBuf::from("allocated"), detail: "no rows".into() });
    };
    let dir = first.parent().unwrap_or(Path::new("."));
    let path = dir.join("allocated.parquet");
    let perr = |e: String| Error::Parquet { path: path.clone(), detail: e };
    let source = allocated_schema();
    let mut fields: Vec<Field> = source.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("x_SplitShares", DataType::Utf8, false));
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let props = Arc::new(
        parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build(),
    );
    let descriptor = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)
        .map_err(|e| perr(e.to_string()))?;
    let out = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
    let mut writer =
        SerializedFileWriter::new(std::io::BufWriter::with_capacity(1 << 20, out), descriptor.root_schema_ptr(), props)
            .map_err(|e| perr(e.to_string()))?;
    let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());
    let index = |name: &str| source.index_of(name).unwrap_or(0);
    let line_col = index("x_SourceLine");
    let keys = ["x_SourceLine", "BillingCurrency", "x_Workspace", "x_Environment", "x_AllocationMethod", "x_Reason"];
    let last = schema.fields().len() - 1;
    let mut group = 0;
    for (tmp, offset) in parts {
        let terr = |e: String| Error::Parquet { path: tmp.clone(), detail: e };
        let file = std::fs::File::open(tmp).map_err(|e| Error::io(tmp, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file.try_clone().map_err(|e| Error::io(tmp, e))?)
            .map_err(|e| terr(e.to_string()))?;
        let meta = builder.metadata().clone();
        let roots: Vec<usize> = keys.iter().map(|k| index(k)).collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        for (g, rg) in meta.row_groups().iter().enumerate() {
            let reader = ParquetRecordBatchReaderBuilder::try_new(file.try_clone().map_err(|e| Error::io(tmp, e))?)
                .and_then(|b| {
                    b.with_row_groups(vec![g]).with_projection(mask.clone()).with_batch_size(BATCH_ROWS).build()
                })
                .map_err(|e| terr(e.to_string()))?;
            let mut writers = factory.create_column_writers(group).map_err(|e| perr(e.to_string()))?;
            let mut shares_writer = writers.pop().ok_or_else(|| perr("no column writers".into()))?;
            let mut line_writer = writers.swap_remove(line_col);
            for batch in reader {
                let batch = batch.map_err(|e| terr(e.to_string()))?;
                let at = |name: &str| batch.schema().index_of(name).unwrap_or(0);
                let lines = batch.column(at("x_SourceLine")).as_primitive::<arrow_array::types::UInt64Type>();
                let lines: ArrayRef =
                    Arc::new(lines.iter().map(|l| l.map(|l| l + offset)).collect::<arrow_array::UInt64Array>());
                let column: ArrayRef = Arc::new(shares_column(
                    &batch,
                    [
                        at("BillingCurrency"),
                        at("x_Workspace"),
                        at("x_Environment"),
                        at("x_AllocationMethod"),
                        at("x_Reason"),
                    ],
                    shares,
                ));
                for leaf in compute_leaves(schema.field(line_col), &lines).map_err(|e| perr(e.to_string()))? {
                    line_writer.write(&leaf).map_err(|e| perr(e.to_string()))?;
                }
                for leaf in compute_leaves(schema.field(last), &column).map_err(|e| perr(e.to_string()))? {
                    shares_writer.write(&leaf).map_err(|e| perr(e.to_string()))?;
                }
            }
            let lines = line_writer.close().map_err(|e| perr(e.to_string()))?;
            let split = shares_writer.close().map_err(|e| perr(e.to_string()))?;
            let mut out_group = writer.next_row_group().map_err(|e| perr(e.to_string()))?;
            let mut lines = Some(lines);
            for c in 0..source.fields().len() {
                if c == line_col {
                    if let Some(chunk) = lines.take() {
                        chunk.append_to_row_group(&mut out_group).map_err(|e| perr(e.to_string()))?;
                    }
                    continue;
                }
                let column = rg.column(c);
                let close = ColumnCloseResult {
                    bytes_written: column.compressed_size() as u64,
                    rows_written: rg.num_rows() as u64,
                    metadata: column.clone(),
                    bloom_filter: None,
                    column_index: None,
                    offset_index: None,
                };
                out_group.append_column(&file, close).map_err(|e| perr(e.to_string()))?;
            }
            split.append_to_row_group(&mut out_group).map_err(|e| perr(e.to_string()))?;
            out_group.close().map_err(|e| perr(e.to_string()))?;
            group += 1;
        }
    }
    writer.close().map_err(|e| perr(e.to_string()))?;
    Ok(path)
}

/// Copies a month's temporary files in order, adding each part's line offset and `x_SplitShares`, into
/// allocated.parquet and/or allocated.jsonl (the JSON lines need every value decoded; see [`splice_shares`]).
fn add_shares(
    parts: &[(PathBuf, u64)],
    shares: &HashMap<(String, String, String), String>,
    formats: Formats,
) -> Result<Vec<PathBuf>> {
    use arrow_array::cast::AsArray;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let Some((first, _)) = parts.first() else { return Ok(vec![]) };
    let dir = first.parent().unwrap_or(Path::new("."));
    let perr = |e: String| Error::Parquet { path: first.to_path_buf(), detail: e };
    let mut fields: Vec<Field> = allocated_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("x_SplitShares", DataType::Utf8, false));
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let parquet_path = dir.join("allocated.parquet");
    let json_path = dir.join("allocated.jsonl");
    let mut pq = if formats.parquet {
        let file = std::fs::File::create(&parquet_path).map_err(|e| Error::io(&parquet_path, e))?;
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build();
        Some(parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| perr(e.to_string()))?)
    } else {
        None
    };
    let mut json = if formats.json {
        let f = std::fs::File::create(&json_path).map_err(|e| Error::io(&json_path, e))?;
        Some(arrow_json::LineDelimitedWriter::new(std::io::BufWriter::new(f)))
    } else {
        None
    };
    let index = |name: &str| allocated_schema().index_of(name).unwrap_or(0);
    let (cur, ws, env, method, reason) = (
        index("BillingCurrency"),
        index("x_Workspace"),
        index("x_Environment"),
        index("x_AllocationMethod"),
        index("x_Reason"),
    );
    let line_col = index("x_SourceLine");
    for (tmp, offset) in parts {
        let file = std::fs::File::open(tmp).map_err(|e| Error::io(tmp, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
            .map_err(|e| perr(e.to_string()))?;
        for batch in reader {
            let batch = batch.map_err(|e| perr(e.to_string()))?;
            let column = shares_column(&batch, [cur, ws, env, method, reason], shares);
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            if *offset > 0 {
                let lines = batch.column(line_col).as_primitive::<arrow_array::types::UInt64Type>();
                columns[line_col] =
                    Arc::new(lines.iter().map(|l| l.map(|l| l + offset)).collect::<arrow_array::UInt64Array>());
            }
            columns.push(Arc::new(column));
            let out = RecordBatch::try_new(schema.clone(), columns).map_err(|e| perr(e.to_string()))?;
            if let Some(w) = pq.as_mut() {
                w.write(&out).map_err(|e| perr(e.to_string()))?;
            }
            if let Some(j) = json.as_mut() {
                j.write(&out).map_err(|e| perr(e.to_string()))?;
            }
        }
    }
    let mut written = Vec::new();
    if let Some(w) = pq {
        w.close().map_err(|e| perr(e.to_string()))?;
        written.push(parquet_path);
    }
    if let Some(mut j) = json {
        j.finish().map_err(|e| perr(e.to_string()))?;
        written.push(json_path);
    }
    Ok(written)
}

/// `chargeback.parquet`: the lines of `chargeback.csv` in FOCUS-style columns; the cost column is `EffectiveCost`
/// on an amortized run and `BilledCost` on an actual one, as a decimal at the month's widest minor unit.
pub fn chargeback_parquet(
    lines: &[Line],
    cost_column: &str,
    decimals: u32,
    reporting: Option<&str>,
) -> Result<Vec<u8>> {
    let perr = |e: String| Error::Parquet { path: PathBuf::from("chargeback.parquet"), detail: e };
    let batch = chargeback_batch(lines, cost_column, decimals, reporting, false).map_err(|e| perr(e.to_string()))?;
    parquet_bytes(&batch).map_err(perr)
}

/// The month's partition of the ledger's `chargeback` table: the lines of chargeback.parquet in the ledger's
/// fixed schema (`chargeback_batch`).
pub fn ledger_chargeback_parquet(lines: &[Line], cost_column: &str, reporting: Option<&str>) -> Result<Vec<u8>> {
    let perr = |e: String| Error::Parquet { path: PathBuf::from("ledger/chargeback"), detail: e };
    let batch = chargeback_batch(lines, cost_column, 0, reporting, true).map_err(|e| perr(e.to_string()))?;
    parquet_bytes(&batch).map_err(perr)
}

fn parquet_bytes(batch: &RecordBatch) -> std::result::Result<Vec<u8>, String> {
    let perr = |e: parquet::errors::ParquetError| e.to_string();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).map_err(perr)?;
    w.write(batch).map_err(perr)?;
    w.close().map_err(perr)?;
    Ok(out)
}

/// `chargeback.json`: the same lines as a JSON array.
pub fn chargeback_json(lines: &[Line], cost_column: &str, decimals: u32, reporting: Option<&str>) -> Result<Vec<u8>> {
    let perr = |e: String| Error::Write { path: PathBuf::from("chargeback.json"), source: std::io::Error::other(e) };
    let batch = chargeback_batch(lines, cost_column, decimals, reporting, false).map_err(|e| perr(e.to_string()))?;
    let mut w = arrow_json::ArrayWriter::new(Vec::new());
    w.write(&batch).map_err(|e| perr(e.to_string()))?;
    w.finish().map_err(|e| perr(e.to_string()))?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

/// The lines as one record batch. `ledger` gives the ledger's fixed schema, the same every month whatever the
/// currencies and configuration, so the months read as one table: costs at scale 18, and the reporting currency's
/// columns always there (null without one).
fn chargeback_batch(
    lines: &[Line],
    cost_column: &str,
    decimals: u32,
    reporting: Option<&str>,
    ledger: bool,
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let decimals = if ledger { COST_SCALE as u32 } else { decimals };
    let scale = decimals as i8;
    let text =
        |f: &dyn Fn(&Line) -> &str| -> ArrayRef { Arc::new(lines.iter().map(|l| Some(f(l))).collect::<StringArray>()) };
    let units = |m: Money| -> i128 { m.minor_units(decimals) };
    let mut fields = vec![
        Field::new("BillingPeriodStart", DataType::Date32, false),
        Field::new("BillingCurrency", DataType::Utf8, false),
        Field::new("x_Team", DataType::Utf8, false),
        Field::new("x_Project", DataType::Utf8, false),
        Field::new("x_Workspace", DataType::Utf8, false),
        Field::new("x_Environment", DataType::Utf8, false),
        Field::new("x_ServiceCategory", DataType::Utf8, false),
        Field::new("x_Topology", DataType::Utf8, false),
        Field::new("x_AllocationMethod", DataType::Utf8, false),
        Field::new("x_Reason", DataType::Utf8, false),
        Field::new(cost_column, DataType::Decimal128(38, scale), false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(
            lines
                .iter()
                .map(|l| Some(days_since_epoch(l.billing_month.year as i32, l.billing_month.month as u32, 1)))
                .collect::<arrow_array::Date32Array>(),
        ),
        text(&|l| &l.currency),
        text(&|l| &l.team),
        text(&|l| &l.project),
        text(&|l| &l.workspace),
        text(&|l| &l.environment),
        text(&|l| &l.service_category),
        text(&|l| &l.topology),
        text(&|l| &l.allocation),
        text(&|l| &l.reason),
        Arc::new(
            lines
                .iter()
                .map(|l| Some(units(l.cost)))
                .collect::<arrow_array::Decimal128Array>()
                .with_precision_and_scale(38, scale)?,
        ),
    ];
    if reporting.is_some() || ledger {
        fields.push(Field::new("x_ReportCurrency", DataType::Utf8, ledger));
        fields.push(Field::new("x_ReportCost", DataType::Decimal128(38, scale), true));
        columns.push(Arc::new(lines.iter().map(|_| reporting).collect::<StringArray>()));
        columns.push(Arc::new(
            lines
                .iter()
                .map(|l| l.report_cost.map(units))
                .collect::<arrow_array::Decimal128Array>()
                .with_precision_and_scale(38, scale)?,
        ));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}
