//! The canonical cost table.
//!
//! Every export layout is mapped onto one row type, [`CostRow`], one per input row, whatever the layout; the stages
//! after ingest see only this type, never an export's own column names (those live in `layout.rs`). A row borrows
//! its text from the record it was read from, so reading a file allocates almost nothing per row. The table is
//! written out, with each row's attribution, as `allocated.parquet` / `allocated.jsonl` (`allocated.rs`).

use crate::dates::{Date, Month};
use crate::money::Money;
use crate::tags::Tags;
use std::borrow::Cow;

/// Which cost a file's cost column holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Billed cost: reservation purchases as they are paid.
    Actual,
    /// Effective cost: reservation and savings-plan benefits spread over the usage they cover.
    Amortized,
    /// FOCUS: both, on every row.
    Both,
    /// An EA or MCA file that nothing labels: its cost serves whichever basis is asked for.
    Unlabelled,
}

/// The cost a row carries for one basis.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum CostBasis {
    Actual,
    Amortized,
}

/// Azure ML details from a row's `AdditionalInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmlInfo {
    pub workspace_id: Option<String>,
    pub cluster_type: Option<String>,
    pub usage_type: Option<String>,
}

/// Which month a row is charged back in: `month = "billing-period"` (the default) or `"usage-date"` in the
/// configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MonthBy {
    /// The billing period the row was invoiced in: late charges book into the month they were billed.
    #[default]
    BillingPeriod,
    /// The month of the usage date.
    UsageDate,
}

/// One input row in canonical form.
#[derive(Debug, Clone)]
pub struct CostRow<'a> {
    /// Index into the run's list of source files.
    pub file: u32,
    /// 1-based physical line of the row in its file (the row number for Parquet).
    pub line: u64,
    pub usage_date: Date,
    /// The billing period the row was invoiced in (EA `BillingPeriodStartDate`, MCA `billingPeriodStartDate`, FOCUS
    /// `BillingPeriodStart`), when the layout carries one and the cell is not empty.
    pub billing_period: Option<Month>,
    /// ISO 4217, upper-case.
    pub currency: Cow<'a, str>,
    pub actual: Option<Money>,
    pub amortized: Option<Money>,
    pub basis: Basis,
    pub subscription_id: &'a str,
    pub subscription_name: &'a str,
    /// Lower-cased: Azure compares resource groups case-insensitively and exports mix casings.
    pub resource_group: Cow<'a, str>,
    pub resource_id: &'a str,
    pub resource_name: &'a str,
    pub resource_provider: &'a str,
    pub resource_type: Cow<'a, str>,
    /// The Azure ML workspace the resource id is, or lies under; empty when none.
    pub ml_workspace: &'a str,
    /// Meter category, else the FOCUS service name or the legacy service name.
    pub service: &'a str,
    /// The meter category alone (`MeterCategory`, FOCUS `x_SkuMeterCategory`); empty when the layout has none.
    pub meter_category: &'a str,
    pub consumed_service: &'a str,
    /// FOCUS `ServiceCategory` when present.
    pub service_category: &'a str,
    /// What was bought, in words: EA `Product`, MCA `ProductName`, FOCUS `ChargeDescription`
    /// (`Premium SSD Managed Disks - P6 LRS - US East 2`).
    pub product: &'a str,
    pub meter_name: &'a str,
    pub charge_type: &'a str,
    pub pricing_model: &'a str,
    pub tags: Tags<'a>,
    /// The raw `Tags` cell when it was not a JSON object in either format.
    pub tags_unparsed: Option<&'a str>,
    pub is_ml: bool,
    /// The raw `AdditionalInfo` cell; see [`CostRow::aml`].
    pub additional_info: &'a str,
    /// FOCUS `ProviderName` (`Microsoft`, `AWS`...); empty in Azure-only layouts.
    pub provider: &'a str,
    pub cost_allocation_rule: &'a str,
    /// The reservation or savings plan the row belongs to: EA/MCA `benefitId`, else `ReservationId`; FOCUS
    /// `CommitmentDiscountId`; else the resource id when it is a reservation order (a FOCUS purchase). Empty when
    /// none.
    pub commitment: &'a str,
    /// FOCUS `CommitmentDiscountStatus` (`Used`, `Unused`); empty in other layouts.
    pub commitment_status: &'a str,
    /// Its name (`benefitName`, `ReservationName`, FOCUS `CommitmentDiscountName`).
    pub commitment_name: &'a str,
    /// How much was used, as the export writes it (`Quantity`, FOCUS `ConsumedQuantity`), and in what unit
    /// (`UnitOfMeasure`, `ConsumedUnit`: `1 Hour`, `10 Hours`, `1 GB/Month`). Read on demand: see [`CostRow::hours`].
    pub quantity: &'a str,
    pub unit: &'a str,
    /// The quantity of a Parquet file's numeric column, kept as read (its text is formatted only when asked for).
    pub quantity_value: Option<f64>,
    /// Where the resource runs, as the export writes it (`ResourceLocation`, MCA `resourceLocation`, FOCUS
    /// `RegionId`): `eastus`, `EastUS2`, `US East 2`. Compared through [`region`].
    pub location: &'a str,
}

impl CostRow<'_> {
    /// The day that says which run of an export a row belongs to, when runs overlap: its usage date, or for a late
    /// charge (billed in a later month than its usage) the first day of its billing period, so that it stays with
    /// the run that billed it instead of being taken for a copy of its usage month's rows.
    pub fn run_day(&self) -> Date {
        match self.billing_period {
            Some(p) if p != self.usage_date.month() => p.day(1),
            _ => self.usage_date,
        }
    }

    /// The month the row is charged back in: its billing period (else, when it has none, its usage month), or its
    /// usage month.
    pub fn month(&self, by: MonthBy) -> Month {
        match (by, self.billing_period) {
            (MonthBy::BillingPeriod, Some(period)) => period,
            _ => self.usage_date.month(),
        }
    }

    /// The Azure ML fields of `AdditionalInfo` (workspace id, cluster type, usage type), on ML rows that have them.
    /// Parsed on demand: most consumers never ask, and JSON parsing every row was measurable.
    pub fn aml(&self) -> Option<AmlInfo> {
        if !self.is_ml || self.additional_info.is_empty() {
            return None;
        }
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(self.additional_info).ok()?;
        let find = |key: &str| {
            map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).and_then(|(_, v)| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            })
        };
        let info = AmlInfo {
            workspace_id: find("AmlWorkspaceId"),
            cluster_type: find("ClusterType"),
            usage_type: find("UsageType"),
        };
        (info != AmlInfo::default()).then_some(info)
    }

    /// The hours the row measures, when its unit is hours: the quantity times the unit's count (`10 Hours` x 3 is 30
    /// hours). `None` for other units, or a quantity that is not a number.
    pub fn hours(&self) -> Option<Money> {
        let per = hours_per_unit(self.unit)?;
        let q = match self.quantity_value {
            // The shortest text that reads back as the same double, as a cast to text would give.
            Some(v) if v.is_finite() => Money::parse(&v.to_string()).ok()?,
            Some(_) => return None,
            None => Money::parse(self.quantity).ok()?,
        };
        if per == 1 {
            Some(q)
        } else {
            q.mul_div(Money::from_minor_units(per as i128, 0), Money::from_minor_units(1, 0))
        }
    }

    /// The row's cost on `basis`; an unlabelled file's cost serves either.
    pub fn cost(&self, basis: CostBasis) -> Option<Money> {
        match basis {
            CostBasis::Actual => self.actual,
            CostBasis::Amortized => self.amortized,
        }
    }
}

/// How many hours one unit of `unit` is: `1 Hour` and `Hours` 1, `10 Hours` 10, `100 Hrs` 100; `None` when the unit
/// is not hours (`1 GB/Month`, `1/Hour` rates, `10K`).
pub fn hours_per_unit(unit: &str) -> Option<u64> {
    let u = unit.trim();
    let digits = u.bytes().take_while(u8::is_ascii_digit).count();
    let count: u64 = if digits == 0 { 1 } else { u[..digits].parse().ok()? };
    let base = u[digits..].trim();
    let hours = ["hour", "hours", "hr", "hrs", "h"].iter().any(|h| base.eq_ignore_ascii_case(h));
    (hours && count > 0).then_some(count)
}

/// Whether a meter is a GPU virtual machine's: an N-series size (`NC24ads A100 v4`, `ND96asr v4`, `NV6`,
/// `Standard_NC6s_v3`, `NC4as T4 v3 Low Priority`).
pub fn is_gpu_meter(meter: &str) -> bool {
    let m = meter.trim();
    let m = m.strip_prefix("Standard_").or_else(|| m.strip_prefix("standard_")).unwrap_or(m);
    let b = m.as_bytes();
    // (`NCC40ads H100 v5`: the confidential sizes put a C before the digits)
    let digit_at = if b.len() > 2 && b[2].eq_ignore_ascii_case(&b'C') { 3 } else { 2 };
    b.len() > digit_at
        && b[0].eq_ignore_ascii_case(&b'N')
        && matches!(b[1].to_ascii_uppercase(), b'C' | b'D' | b'V')
        && b[digit_at].is_ascii_digit()
}

/// A location as a region key: lower-cased, spaces and hyphens dropped (`East US 2`, `eastus2` and `EastUS2` are one
/// region); empty for a row that names none (or `global`, `unassigned`, `unknown`: no region to place a workspace in).
/// The legacy display names (`US East 2`, `EU West`, `JA East`) are read as the region they name (`eastus2`,
/// `westeurope`, `japaneast`). Borrows the cell when it is a key already, as Azure's `eastus` is: nothing is allocated
/// for most rows.
pub fn region(location: &str) -> Cow<'_, str> {
    let key: Cow<'_, str> = if location.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        Cow::Borrowed(location)
    } else if let Some(name) = legacy_region(location) {
        Cow::Owned(name)
    } else {
        Cow::Owned(
            location.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_lowercase()).collect(),
        )
    };
    match key.as_ref() {
        "global" | "unassigned" | "unknown" | "all" | "intercontinental" => Cow::Borrowed(""),
        _ => key,
    }
}

/// A legacy display name (`US East 2`: a geography code, then directions, then a number) as the region's name.
fn legacy_region(location: &str) -> Option<String> {
    // (code, the geography in the region's name, whether the directions come first: `eastus`, `japaneast`)
    const GEOGRAPHIES: [(&str, &str, bool); 17] = [
        ("US", "us", true),
        ("EU", "europe", true),
        ("AP", "asia", true),
        ("IN", "india", true),
        ("JA", "japan", false),
        ("BR", "brazil", false),
        ("CA", "canada", false),
        ("UK", "uk", false),
        ("AU", "australia", false),
        ("KR", "korea", false),
        ("FR", "france", false),
        ("DE", "germany", false),
        ("CH", "switzerland", false),
        ("NO", "norway", false),
        ("AE", "uae", false),
        ("ZA", "southafrica", false),
        ("SE", "sweden", false),
    ];
    let mut words = location.split_whitespace();
    let code = words.next()?;
    let (_, geography, directions_first) = GEOGRAPHIES.iter().find(|g| g.0 == code)?;
    let rest: Vec<String> = words.map(|w| w.to_ascii_lowercase()).collect();
    let (number, directions): (Vec<&String>, Vec<&String>) =
        rest.iter().partition(|w| w.bytes().all(|b| b.is_ascii_digit()));
    let known = ["east", "west", "north", "south", "central", "southeast", "northeast"];
    if directions.is_empty() || number.len() > 1 || !directions.iter().all(|d| known.contains(&d.as_str())) {
        return None;
    }
    let directions: String = directions.iter().map(|d| d.as_str()).collect();
    let number = number.first().map(|n| n.as_str()).unwrap_or("");
    Some(if *directions_first {
        format!("{directions}{geography}{number}")
    } else {
        format!("{geography}{directions}{number}")
    })
}

#[cfg(test)]
mod hours_tests {
    #[test]
    fn regions_in_every_form_are_one_key() {
        for (text, key) in [
            ("eastus2", "eastus2"),
            ("EastUS2", "eastus2"),
            ("East US 2", "eastus2"),
            ("US East 2", "eastus2"),
            ("EU West", "westeurope"),
            ("AP Southeast", "southeastasia"),
            ("JA East", "japaneast"),
            ("US North Central", "northcentralus"),
            ("UK South", "uksouth"),
            ("us-east-1", "useast1"),
            ("Global", ""),
            ("", ""),
        ] {
            assert_eq!(super::region(text), key, "{text}");
        }
    }

    use super::hours_per_unit;

    #[test]
    fn gpu_meters() {
        for m in [
            "NC24ads A100 v4",
            "ND96asr A100 v4",
            "NV6",
            "Standard_NC6s_v3",
            "NC4as T4 v3 Low Priority",
            "NCC40ads H100 v5",
        ] {
            assert!(super::is_gpu_meter(m), "{m}");
        }
        for m in ["D4s v3", "NCv3", "Hot LRS Data Stored", "", "N"] {
            assert!(!super::is_gpu_meter(m), "{m}");
        }
    }

    #[test]
    fn units_of_hours() {
        for (unit, per) in [("1 Hour", Some(1)), ("10 Hours", Some(10)), ("Hours", Some(1)), ("100 Hrs", Some(100))] {
            assert_eq!(hours_per_unit(unit), per, "{unit}");
        }
        for unit in ["1 GB/Month", "1/Hour", "10K", "", "0 Hours", "1 GB Hour"] {
            assert_eq!(hours_per_unit(unit), None, "{unit}");
        }
    }
}
