//! `mlspend generate`: a deterministic synthetic enterprise export.
//!
//! Takes a [`Spec`] (seed, rows, months, layout, format, export folder or single file) and writes an export in that
//! layout, byte-identical for the same spec. The enterprise it describes: five teams; Azure ML workspaces in all
//! three topologies (per team: `mlw-vision`, `mlw-nlp`; per project: `mlw-churn`, `mlw-pricing`, `mlw-fraud`;
//! shared: `mlw-research`, used by vision, nlp and growth) with their storage accounts, key vaults, container
//! registries, Application Insights and Log Analytics; shared compute partly tagged by team, in three casings; a
//! workspace nobody configured (`mlw-sandbox`) and an ML registry outside any workspace; non-ML spend (a platform
//! AKS cluster, SQL, networking, untagged legacy VMs); refunds; usage covered by two reservations and their unused
//! capacity (or their purchase, on actual cost); a shared GPU cluster with teams' tagged jobs and a usage file, and
//! an online endpoint; and two billing currencies (the EMEA subscription bills in EUR). `data/sample.toml` is the
//! configuration that matches it.

use crate::dates::{Date, Month};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::schema::CostBasis;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

mod estate;
pub use estate::EstateTopology;

/// Output file formats.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    Csv,
    #[value(name = "csv.gz")]
    CsvGz,
    Parquet,
}

impl FileFormat {
    fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::CsvGz => "csv.gz",
            FileFormat::Parquet => "snappy.parquet",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub rows: u64,
    pub months: u32,
    pub start: Month,
    pub layout: Layout,
    pub format: FileFormat,
    pub manifest: bool,
    pub export_type: CostBasis,
    /// End lines with CRLF, as portal downloads and many exports do (CSV formats only).
    pub crlf: bool,
    /// Without a manifest: write the rows into this many part files in the folder `out`, in order (0: one file
    /// `out`).
    /// With a manifest: the part files per month's run (0: one per million rows, as Azure splits).
    pub parts: u32,
    /// Leave the descriptive columns mlspend does not read empty: rows of ~400 bytes instead of ~800.
    pub narrow: bool,
    /// The share of rows (0 to 1) that are late charges: used in the month before the one they are billed in.
    pub late_fraction: f64,
    /// Also write the shared GPU cluster's busy hours per month and team here (`month,workspace,team,compute,hours`).
    pub usage_file: Option<PathBuf>,
    /// Write the reservations' unused capacity (amortized-cost and FOCUS exports).
    pub unused_capacity: bool,
    /// `--topology`: write one organisation's estate deployed in this topology instead (`estate.rs`).
    pub estate: Option<Estate>,
}

/// `--topology`, `--environments`, `--per-environment` and `--config-out`.
#[derive(Debug, Clone)]
pub struct Estate {
    pub topology: EstateTopology,
    pub environments: u32,
    pub per_environment: bool,
    pub config_out: Option<PathBuf>,
}

/// The shared GPU cluster of mlw-research: each day it bills [`CLUSTER_NODE_HOURS`] untagged node hours, and jobs
/// tagged with a team bill hours of their own in the proportions of [`CLUSTER_TEAMS`]; the usage file says the teams
/// were busy for [`CLUSTER_BUSY_PERCENT`] of the node hours, in the same proportions.
pub const CLUSTER: &str = "gpu-cluster-a";
pub const CLUSTER_NODE_HOURS: i64 = 20;
pub const CLUSTER_TEAMS: [(&str, i64); 3] = [("vision", 5), ("nlp", 3), ("growth", 2)];
pub const CLUSTER_BUSY_PERCENT: i64 = 75;
/// Its price per node hour, in 10^-8 units (NC24ads A100 v4).
const CLUSTER_PRICE: i64 = 340_000_000;
/// An online endpoint of mlw-research that serves one team's model: a day of one `DS3 v2` instance, untagged by team
/// but tagged `azuremlendpoint` as Azure ML tags endpoint costs.
pub const ENDPOINT: &str = "ep-churn-scoring";
const ENDPOINT_DAY: i64 = 24 * 22_900_000;

/// The columns a narrow row leaves empty: descriptive text no chargeback reads.
const NARROW_BLANK: &[&str] = &[
    "InvoiceSectionName",
    "AccountName",
    "AccountOwnerId",
    "ProductName",
    "Product",
    "MeterSubCategory",
    "MeterId",
    "MeterRegion",
    "EffectivePrice",
    "OfferId",
    "AdditionalInfo",
    "UnitPrice",
    "PublisherType",
    "PublisherName",
    "Frequency",
    "BillingAccountName",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "IsAzureCreditEligible",
    "PayGPrice",
    "ServiceFamily",
    "ResourceLocation",
    "SubscriptionName",
    "MeterName",
    "UnitOfMeasure",
    "BillingAccountId",
];

/// Rows per part file in an export folder, as Azure splits large exports.
const PART_ROWS: u64 = 1_000_000;

/// SplitMix64: small, fast, and its output never changes between versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

struct Subscription {
    id: &'static str,
    name: &'static str,
    currency: &'static str,
}

const SUBSCRIPTIONS: [Subscription; 3] = [
    Subscription { id: "6f1c2a10-4b7e-4c1d-9a51-0d3e8f2b7c01", name: "ml-prod", currency: "USD" },
    Subscription { id: "b24e9d73-1f0a-4e6b-8c2d-5a7f9e1c3b02", name: "ml-emea", currency: "EUR" },
    Subscription { id: "d8a51c4e-7b2f-4a9d-b6e3-2c1f0a9e8d03", name: "platform", currency: "USD" },
];

/// A reservation of the synthetic enterprise: its order, its id, its name, and the subscription billed for it. Each
/// covers the machines of the subscriptions of its currency.
struct Reservation {
    order: &'static str,
    id: &'static str,
    name: &'static str,
    sub: usize,
}

const RESERVATIONS: [Reservation; 2] = [
    Reservation {
        order: "7d1c6a52-3f0e-4d7b-9a3e-61c0b2f4e8a1",
        id: "2b9e4f60-8c1d-4a7e-b3f5-0e6d9c2a1b47",
        name: "ri-nc4ast4-3y",
        sub: 0,
    },
    Reservation {
        order: "e4a7c2d9-5b18-4f3e-8a6c-9d0b1e7f2a35",
        id: "91f3b8d2-6e4a-4c0f-a7d5-3b2e8c1f9a06",
        name: "ri-nc4ast4-emea-3y",
        sub: 1,
    },
];

impl Reservation {
    /// The reservation covering a subscription's machines: the one of its currency.
    fn covering(sub: usize) -> usize {
        RESERVATIONS.iter().position(|r| SUBSCRIPTIONS[r.sub].currency == SUBSCRIPTIONS[sub].currency).unwrap_or(0)
    }

    /// `benefitId` and FOCUS `CommitmentDiscountId`.
    fn path(&self) -> String {
        format!("/providers/Microsoft.Capacity/reservationOrders/{}/reservations/{}", self.order, self.id)
    }
}

/// An Azure ML workspace of the synthetic enterprise.
struct Workspace {
    name: &'static str,
    /// The teams whose compute runs in it; one for team and project workspaces.
    teams: &'static [&'static str],
    projects: &'static [&'static str],
    sub: usize,
    shared: bool,
}

const WORKSPACES: [Workspace; 7] = [
    Workspace { name: "mlw-vision", teams: &["vision"], projects: &["defects", "ocr"], sub: 0, shared: false },
    Workspace { name: "mlw-nlp", teams: &["nlp"], projects: &["chatbot", "search"], sub: 0, shared: false },
    Workspace { name: "mlw-churn", teams: &["growth"], projects: &["churn"], sub: 0, shared: false },
    Workspace { name: "mlw-pricing", teams: &["growth"], projects: &["pricing"], sub: 0, shared: false },
    Workspace { name: "mlw-fraud", teams: &["risk"], projects: &["fraud"], sub: 1, shared: false },
    Workspace {
        name: "mlw-research",
        teams: &["vision", "nlp", "growth"],
        projects: &["foundation", "eval"],
        sub: 0,
        shared: true,
    },
    // Not in the sample configuration: its spend is unallocated ML spend.
    Workspace { name: "mlw-sandbox", teams: &["nlp"], projects: &[], sub: 0, shared: false },
];

/// (meter category, subcategory, meter name, unit, price per unit) of workspace compute.
const COMPUTE_METERS: [(&str, &str, &str, &str, f64); 7] = [
    ("Virtual Machines", "NCasT4_v3 Series", "NC4as T4 v3", "1 Hour", 0.526),
    ("Virtual Machines", "Dv3/DSv3 Series", "D4s v3", "1 Hour", 0.192),
    ("Virtual Machines", "NDasrA100_v4 Series", "ND96asr A100 v4", "1 Hour", 27.197),
    ("Storage", "Premium SSD Managed Disks", "P10 LRS Disk", "1/Month", 0.0264),
    ("Bandwidth", "Rtn Preference: MGN", "Standard Data Transfer Out", "1 GB", 0.087),
    ("Load Balancer", "", "Standard Included LB Rules and Outbound Rules", "1 Hour", 0.025),
    ("Virtual Network", "IP Addresses", "Standard IPv4 Static Public IP", "1 Hour", 0.005),
];

/// An associated resource kind: (resource type, name prefix, meter category, subcategory, meter, consumed service,
/// unit, price, weight).
type Assoc =
    (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, f64, u64);

const ASSOCIATED: [Assoc; 5] = [
    (
        "Microsoft.Storage/storageAccounts",
        "st",
        "Storage",
        "General Block Blob v2",
        "Hot LRS Data Stored",
        "Microsoft.Storage",
        "1 GB/Month",
        0.0208,
        4,
    ),
    ("Microsoft.KeyVault/vaults", "kv-", "Key Vault", "", "Operations", "Microsoft.KeyVault", "10K", 0.03, 1),
    (
        "Microsoft.ContainerRegistry/registries",
        "acr",
        "Container Registry",
        "",
        "Standard Registry Unit",
        "Microsoft.ContainerRegistry",
        "1/Day",
        0.6667,
        2,
    ),
    (
        "microsoft.insights/components",
        "appi-",
        "Application Insights",
        "",
        "Enterprise Overage Data",
        "microsoft.insights",
        "1 GB",
        2.3,
        1,
    ),
    (
        "Microsoft.OperationalInsights/workspaces",
        "log-",
        "Log Analytics",
        "",
        "Pay-as-you-go Data Ingestion",
        "Microsoft.OperationalInsights",
        "1 GB",
        2.76,
        1,
    ),
];

/// Spend that is not Azure ML.
struct NonMl {
    sub: usize,
    rg: &'static str,
    kind: &'static str,
    name: &'static str,
    category: &'static str,
    subcategory: &'static str,
    meter: &'static str,
    unit: &'static str,
    service: &'static str,
    family: &'static str,
    price: f64,
    tags: &'static [(&'static str, &'static str)],
}

const NON_ML: [NonMl; 4] = [
    NonMl {
        sub: 2,
        rg: "rg-platform-aks",
        kind: "Microsoft.Compute/virtualMachineScaleSets",
        name: "aks-system-vmss",
        category: "Virtual Machines",
        subcategory: "Dv5/DSv5 Series",
        meter: "D8s v5",
        unit: "1 Hour",
        service: "Microsoft.Compute",
        family: "Compute",
        price: 0.384,
        tags: &[("team", "platform"), ("Environment", "prod")],
    },
    // A team tag on non-ML spend: still out of scope for ML chargeback.
    NonMl {
        sub: 0,
        rg: "rg-data",
        kind: "Microsoft.Sql/servers",
        name: "sql-growth",
        category: "SQL Database",
        subcategory: "General Purpose - Compute Gen5",
        meter: "vCore",
        unit: "1 Hour",
        service: "Microsoft.Sql",
        family: "Databases",
        price: 0.505,
        tags: &[("Team", "growth")],
    },
    NonMl {
        sub: 0,
        rg: "rg-network",
        kind: "Microsoft.Network/virtualNetworks",
        name: "vnet-hub",
        category: "Virtual Network",
        subcategory: "Peering",
        meter: "Intra-Region Ingress",
        unit: "1 GB",
        service: "Microsoft.Network",
        family: "Networking",
        price: 0.01,
        tags: &[],
    },
    NonMl {
        sub: 0,
        rg: "rg-legacy",
        kind: "Microsoft.Compute/virtualMachines",
        name: "vm-legacy-01",
        category: "Virtual Machines",
        subcategory: "BS Series",
        meter: "B2ms",
        unit: "1 Hour",
        service: "Microsoft.Compute",
        family: "Compute",
        price: 0.0832,
        tags: &[],
    },
];

/// One generated line, in layout-neutral form.
struct Line {
    date: Date,
    sub: usize,
    resource_group: String,
    resource_id: String,
    resource_name: String,
    location: &'static str,
    meter_category: &'static str,
    meter_subcategory: &'static str,
    meter_name: &'static str,
    unit: &'static str,
    consumed_service: &'static str,
    service_family: &'static str,
    quantity: f64,
    unit_price: f64,
    /// Cost in 10^-8 units: the billed figure and the amortized one.
    billed: i64,
    effective: i64,
    charge_type: &'static str,
    pricing_model: &'static str,
    tags: Vec<(String, String)>,
    additional_info: String,
    /// Covered by (or, when `unused`, the unused capacity of) the reservation of its subscription's currency.
    reservation: bool,
    unused: bool,
}

struct Generator {
    rng: Rng,
    workspace_ids: Vec<String>,
}

fn team_key(rng: &mut Rng) -> &'static str {
    const KEYS: [&str; 5] = ["team", "team", "team", "Team", "TEAM"];
    KEYS[rng.below(5) as usize]
}

impl Generator {
    fn new(seed: u64) -> Generator {
        let mut rng = Rng(seed);
        let workspace_ids = WORKSPACES.iter().map(|_| rng.guid()).collect();
        Generator { rng, workspace_ids }
    }

    fn rg(ws: &Workspace) -> String {
        format!("rg-{}-ml", ws.name.trim_start_matches("mlw-"))
    }

    fn arm(sub: usize, rg: &str, kind: &str, name: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}/providers/{kind}/{name}", SUBSCRIPTIONS[sub].id)
    }

    /// A cost near `scale` in 10^-8 units, never zero.
    fn amount(&mut self, scale: f64) -> i64 {
        let r = (self.rng.below(1_000_000) as f64 + 1.0) / 1_000_000.0;
        ((scale * (0.2 + 1.8 * r)) * 1e8).round().max(1.0) as i64
    }

    fn line(&mut self, date: Date) -> Line {
        let roll = self.rng.below(100);
        let mut line = if roll < 52 {
            self.compute(date)
        } else if roll < 72 {
            self.associated(date)
        } else if roll < 76 {
            self.ml_registry(date)
        } else {
            self.non_ml(date)
        };
        // About one row in two hundred is a refund or credit (never of reserved usage: a refund priced `Reservation`
        // is a reservation's own).
        if self.rng.chance(1) && self.rng.chance(50) && !line.reservation {
            line.billed = -line.billed;
            line.effective = -line.effective;
            line.charge_type = "Refund";
        }
        line
    }

    fn compute(&mut self, date: Date) -> Line {
        // Weighted towards the shared workspace and the team workspaces.
        let w = *self.rng.pick(&[0usize, 0, 1, 1, 2, 3, 4, 5, 5, 5, 6]);
        let ws = &WORKSPACES[w];
        let (category, sub, meter, unit, price) = *self.rng.pick(&COMPUTE_METERS);
        let quantity = (self.rng.below(2400) as f64 + 1.0) / 100.0;
        let billed = self.amount(price * 8.0);
        let reservation = category == "Virtual Machines" && self.rng.chance(15);
        let cluster = if self.rng.chance(40) { "ComputeInstance" } else { "AmlCompute" };
        let mut tags = vec![(
            "ComputeType".to_string(),
            if cluster == "ComputeInstance" { "Compute Instance" } else { "AmlCompute" }.to_string(),
        )];
        let team = *self.rng.pick(ws.teams);
        if ws.shared {
            // Shared compute: most jobs carry a team tag, in whatever casing their author typed.
            if self.rng.chance(70) {
                tags.push((team_key(&mut self.rng).to_string(), team.to_string()));
            }
        } else if self.rng.chance(60) {
            tags.push((team_key(&mut self.rng).to_string(), team.to_string()));
        }
        if !ws.projects.is_empty() && self.rng.chance(55) {
            let key = if self.rng.chance(80) { "project" } else { "Project" };
            tags.push((key.to_string(), self.rng.pick(ws.projects).to_string()));
        }
        tags.push(("env".to_string(), "prod".to_string()));
        if cluster == "AmlCompute" && self.rng.chance(50) {
            tags.push(("AMLResourceType".to_string(), "Provisioner.Batch".to_string()));
        }
        let rg = Self::rg(ws);
        let info = format!(
            "{{\"AmlWorkspaceId\":\"{}\",\"ClusterType\":\"{cluster}\",\"UsageType\":\"ComputeHR\",\"EmittingService\":\"AmlCompute\"}}",
            self.workspace_ids[w]
        );
        Line {
            date,
            sub: ws.sub,
            resource_id: Self::arm(ws.sub, &rg, "Microsoft.MachineLearningServices/workspaces", ws.name),
            resource_group: rg,
            resource_name: ws.name.to_string(),
            location: if ws.sub == 1 { "westeurope" } else { "eastus" },
            meter_category: category,
            meter_subcategory: sub,
            meter_name: meter,
            unit,
            consumed_service: "Microsoft.MachineLearningServices",
            service_family: "Compute",
            quantity,
            unit_price: price,
            billed,
            effective: billed,
            charge_type: "Usage",
            pricing_model: "OnDemand",
            tags,
            additional_info: info,
            reservation,
            unused: false,
        }
    }

    fn associated(&mut self, date: Date) -> Line {
        let w = self.rng.below(WORKSPACES.len() as u64) as usize;
        let ws = &WORKSPACES[w];
        let total: u64 = ASSOCIATED.iter().map(|a| a.8).sum();
        let mut k = self.rng.below(total);
        let a = ASSOCIATED.iter().find(|a| {
            if k < a.8 {
                true
            } else {
                k -= a.8;
                false
            }
        });
        let &(kind, prefix, category, sub, meter, service, unit, price, _) = a.unwrap_or(&ASSOCIATED[0]);
        let short = ws.name.trim_start_matches("mlw-");
        let name = if prefix.ends_with('-') {
            format!("{prefix}{short}")
        } else {
            format!("{prefix}{}ml", short.replace('-', ""))
        };
        let rg = Self::rg(ws);
        let mut tags = Vec::new();
        // Some associated resources carry the workspace tag, some a team tag, some nothing: the resource group
        // and the configuration's resource list are what tie them to their workspace.
        match self.rng.below(10) {
            0..=3 => tags.push((
                if self.rng.chance(85) { "aml-workspace" } else { "AML-Workspace" }.to_string(),
                ws.name.to_string(),
            )),
            4..=5 if !ws.shared => tags.push((team_key(&mut self.rng).to_string(), ws.teams[0].to_string())),
            _ => {}
        }
        let billed = self.amount(price * 3.0);
        Line {
            date,
            sub: ws.sub,
            resource_id: Self::arm(ws.sub, &rg, kind, &name),
            resource_group: rg,
            resource_name: name,
            location: if ws.sub == 1 { "westeurope" } else { "eastus" },
            meter_category: category,
            meter_subcategory: sub,
            meter_name: meter,
            unit,
            consumed_service: service,
            service_family: if category == "Storage" { "Storage" } else { "Management and Governance" },
            quantity: (self.rng.below(50_000) as f64 + 1.0) / 1000.0,
            unit_price: price,
            billed,
            effective: billed,
            charge_type: "Usage",
            pricing_model: "OnDemand",
            tags,
            additional_info: String::new(),
            reservation: false,
            unused: false,
        }
    }

    /// An Azure ML registry: ML spend that belongs to no workspace.
    fn ml_registry(&mut self, date: Date) -> Line {
        let rg = "rg-ml-common".to_string();
        let billed = self.amount(1.5);
        Line {
            date,
            sub: 0,
            resource_id: Self::arm(0, &rg, "Microsoft.MachineLearningServices/registries", "mlreg-shared"),
            resource_group: rg,
            resource_name: "mlreg-shared".into(),
            location: "eastus",
            meter_category: "Storage",
            meter_subcategory: "General Block Blob v2",
            meter_name: "Hot LRS Data Stored",
            unit: "1 GB/Month",
            consumed_service: "Microsoft.MachineLearningServices",
            service_family: "Storage",
            quantity: (self.rng.below(10_000) as f64 + 1.0) / 100.0,
            unit_price: 0.0208,
            billed,
            effective: billed,
            charge_type: "Usage",
            pricing_model: "OnDemand",
            tags: vec![],
            additional_info: String::new(),
            reservation: false,
            unused: false,
        }
    }

    fn non_ml(&mut self, date: Date) -> Line {
        let kind = self.rng.below(10) as usize;
        let n = &NON_ML[match kind {
            0..=4 => 0,
            5..=6 => 1,
            7 => 2,
            _ => 3,
        }];
        let billed = self.amount(n.price * 10.0);
        Line {
            date,
            sub: n.sub,
            resource_id: Self::arm(n.sub, n.rg, n.kind, n.name),
            resource_group: n.rg.to_string(),
            resource_name: n.name.to_string(),
            location: "eastus",
            meter_category: n.category,
            meter_subcategory: n.subcategory,
            meter_name: n.meter,
            unit: n.unit,
            consumed_service: n.service,
            service_family: n.family,
            quantity: (self.rng.below(2400) as f64 + 1.0) / 100.0,
            unit_price: n.price,
            billed,
            effective: billed,
            charge_type: "Usage",
            pricing_model: "OnDemand",
            tags: n.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            additional_info: String::new(),
            reservation: kind <= 4 && self.rng.chance(30),
            unused: false,
        }
    }

    /// One day's row of the shared GPU cluster: its untagged node hours (`team` none) or a team's tagged job hours.
    fn cluster(&mut self, date: Date, team: Option<&str>, hours: i64) -> Line {
        let w = WORKSPACES.iter().position(|w| w.name == "mlw-research").unwrap_or(0);
        let ws = &WORKSPACES[w];
        let rg = Self::rg(ws);
        let mut tags = vec![("ComputeType".to_string(), "AmlCompute".to_string())];
        if let Some(t) = team {
            tags.push(("team".to_string(), t.to_string()));
        }
        tags.push(("env".to_string(), "prod".to_string()));
        Line {
            date,
            sub: ws.sub,
            resource_id: format!(
                "{}/computes/{CLUSTER}",
                Self::arm(ws.sub, &rg, "Microsoft.MachineLearningServices/workspaces", ws.name)
            ),
            resource_group: rg,
            resource_name: CLUSTER.to_string(),
            location: "eastus",
            meter_category: "Virtual Machines",
            meter_subcategory: "NCadsA100v4 Series",
            meter_name: "NC24ads A100 v4",
            unit: "1 Hour",
            consumed_service: "Microsoft.MachineLearningServices",
            service_family: "Compute",
            quantity: hours as f64,
            unit_price: CLUSTER_PRICE as f64 / 1e8,
            billed: hours * CLUSTER_PRICE,
            effective: hours * CLUSTER_PRICE,
            charge_type: "Usage",
            pricing_model: "OnDemand",
            tags,
            additional_info: format!(
                "{{\"AmlWorkspaceId\":\"{}\",\"ClusterType\":\"AmlCompute\",\"UsageType\":\"ComputeHR\"}}",
                self.workspace_ids[w]
            ),
            reservation: false,
            unused: false,
        }
    }

    /// One day of the shared workspace's online endpoint.
    fn endpoint(&mut self, date: Date) -> Line {
        let mut line = self.cluster(date, None, 24);
        line.resource_id =
            line.resource_id.replace(&format!("/computes/{CLUSTER}"), &format!("/onlineEndpoints/{ENDPOINT}"));
        line.resource_name = ENDPOINT.to_string();
        line.meter_subcategory = "Dv2/DSv2 Series";
        line.meter_name = "DS3 v2";
        line.unit_price = 0.229;
        line.billed = ENDPOINT_DAY;
        line.effective = ENDPOINT_DAY;
        line.tags = vec![
            ("azuremlendpoint".to_string(), ENDPOINT.to_string()),
            ("azuremldeployment".to_string(), "blue".to_string()),
            ("env".to_string(), "prod".to_string()),
        ];
        line
    }

    /// A line of a reservation itself (its unused capacity, its purchase), billed to subscription `sub`: no resource,
    /// the reserved machine's meter.
    fn reservation_line(date: Date, sub: usize) -> Line {
        Line {
            date,
            sub,
            resource_id: String::new(),
            resource_group: String::new(),
            resource_name: String::new(),
            location: if sub == 1 { "westeurope" } else { "eastus" },
            meter_category: "Virtual Machines",
            meter_subcategory: "NCasT4_v3 Series",
            meter_name: "NC4as T4 v3",
            unit: "1 Hour",
            consumed_service: "Microsoft.Capacity",
            service_family: "Compute",
            quantity: 1.0,
            unit_price: 0.0,
            billed: 0,
            effective: 0,
            charge_type: "Usage",
            pricing_model: "Reservation",
            tags: vec![],
            additional_info: String::new(),
            reservation: false,
            unused: false,
        }
    }

    /// A reservation's unused capacity for one day (amortized cost only; `UnusedReservation`, FOCUS `Unused`).
    fn unused(&mut self, date: Date, reservation: usize) -> Line {
        let effective = self.amount(60.0);
        Line {
            effective,
            charge_type: "UnusedReservation",
            reservation: true,
            unused: true,
            ..Self::reservation_line(date, RESERVATIONS[reservation].sub)
        }
    }

    /// The month's reservation purchase (actual cost only; amortized cost spreads it over usage instead): the first
    /// reservation's order.
    fn purchase(&mut self, month: Month) -> Line {
        Line {
            resource_id: format!(
                "/providers/Microsoft.Capacity/reservationOrders/{}/reservations/",
                RESERVATIONS[0].order
            ),
            unit_price: 2500.0,
            billed: 250_000_000_000,
            charge_type: "Purchase",
            ..Self::reservation_line(month.day(1), RESERVATIONS[0].sub)
        }
    }
}

fn format_cost(units: i64) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let a = units.unsigned_abs();
    format!("{sign}{}.{:08}", a / 100_000_000, a % 100_000_000)
}

fn tags_text(tags: &[(String, String)], braces: bool) -> String {
    let mut s = String::new();
    for (i, (k, v)) in tags.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "\"{k}\": \"{v}\"");
    }
    if braces {
        format!("{{{s}}}")
    } else {
        s
    }
}

fn headers(layout: Layout) -> &'static str {
    match layout {
        Layout::Ea => "InvoiceSectionName,AccountName,AccountOwnerId,SubscriptionId,SubscriptionName,ResourceGroup,ResourceLocation,Date,ProductName,MeterCategory,MeterSubCategory,MeterId,MeterName,MeterRegion,UnitOfMeasure,Quantity,EffectivePrice,CostInBillingCurrency,CostCenter,ConsumedService,ResourceId,Tags,OfferId,AdditionalInfo,ServiceInfo1,ServiceInfo2,ResourceName,ReservationId,ReservationName,UnitPrice,ProductOrderId,ProductOrderName,Term,PublisherType,PublisherName,ChargeType,Frequency,PricingModel,AvailabilityZone,BillingAccountId,BillingAccountName,BillingCurrencyCode,BillingPeriodStartDate,BillingPeriodEndDate,BillingProfileId,BillingProfileName,InvoiceSectionId,IsAzureCreditEligible,PartNumber,PayGPrice,PlanName,ServiceFamily,CostAllocationRuleName,benefitId,benefitName",
        Layout::EaPortal => "BillingAccountId,BillingAccountName,BillingPeriodStartDate,BillingPeriodEndDate,BillingProfileId,BillingProfileName,AccountOwnerId,AccountName,SubscriptionId,SubscriptionName,Date,Product,PartNumber,MeterId,ServiceFamily,MeterCategory,MeterSubCategory,MeterRegion,MeterName,Quantity,EffectivePrice,Cost,UnitPrice,BillingCurrency,ResourceLocation,AvailabilityZone,ConsumedService,ResourceId,ResourceName,ServiceInfo1,ServiceInfo2,AdditionalInfo,Tags,InvoiceSectionId,InvoiceSection,CostCenter,UnitOfMeasure,ResourceGroup,ReservationId,ReservationName,ProductOrderId,ProductOrderName,OfferId,IsAzureCreditEligible,Term,PublisherName,PlanName,ChargeType,Frequency,PublisherType,PayGPrice,PricingModel,CostAllocationRuleName,benefitId,benefitName",
        Layout::Mca => "invoiceId,previousInvoiceId,billingAccountId,billingAccountName,billingProfileId,billingProfileName,invoiceSectionId,invoiceSectionName,resellerName,resellerMpnId,costCenter,billingPeriodEndDate,billingPeriodStartDate,servicePeriodEndDate,servicePeriodStartDate,date,serviceFamily,productOrderId,productOrderName,consumedService,meterId,meterName,meterCategory,meterSubCategory,meterRegion,ProductId,ProductName,SubscriptionId,subscriptionName,publisherType,publisherId,publisherName,resourceGroupName,ResourceId,resourceLocation,location,effectivePrice,quantity,unitOfMeasure,chargeType,billingCurrency,pricingCurrency,costInBillingCurrency,costInPricingCurrency,costInUsd,paygCostInBillingCurrency,paygCostInUsd,exchangeRatePricingToBilling,exchangeRateDate,isAzureCreditEligible,serviceInfo1,serviceInfo2,additionalInfo,tags,PayGPrice,frequency,term,reservationId,reservationName,pricingModel,unitPrice,costAllocationRuleName,benefitId,benefitName",
        Layout::Payg => "SubscriptionGuid,ResourceGroup,ResourceLocation,UsageDateTime,MeterCategory,MeterSubcategory,MeterId,MeterName,MeterRegion,UsageQuantity,ResourceRate,PreTaxCost,ConsumedService,ResourceType,InstanceId,Tags,OfferId,AdditionalInfo,ServiceInfo1,ServiceInfo2,ServiceName,ServiceTier,Currency,UnitOfMeasure",
        Layout::Focus => "AvailabilityZone,BilledCost,BillingAccountId,BillingAccountName,BillingAccountType,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,ChargePeriodEnd,ChargePeriodStart,CommitmentDiscountCategory,CommitmentDiscountId,CommitmentDiscountName,CommitmentDiscountStatus,CommitmentDiscountType,ConsumedQuantity,ConsumedUnit,ContractedCost,ContractedUnitPrice,EffectiveCost,InvoiceId,InvoiceIssuerName,ListCost,ListUnitPrice,PricingCategory,PricingCurrency,PricingQuantity,PricingUnit,ProviderName,PublisherName,RegionId,RegionName,ResourceId,ResourceName,ResourceType,ServiceCategory,ServiceName,SkuId,SkuPriceId,SubAccountId,SubAccountName,SubAccountType,Tags,x_ResourceGroupName,x_SkuMeterCategory,x_SkuMeterSubcategory,x_SkuMeterName,x_CostAllocationRuleName",
    }
}

fn focus_category(line: &Line) -> &'static str {
    match line.meter_category {
        "Virtual Machines" | "Load Balancer" => "Compute",
        "Storage" | "Container Registry" => "Storage",
        "Bandwidth" | "Virtual Network" => "Networking",
        "SQL Database" => "Databases",
        _ => "Management and Governance",
    }
}

/// The cells of one line in the layout's column order.
/// `billing` is the month the line is billed in: its usage month, or the next one for a late charge.
fn cells(line: &Line, billing: Month, layout: Layout, basis: CostBasis, columns: &[&str], out: &mut Vec<String>) {
    out.clear();
    let s = &SUBSCRIPTIONS[line.sub];
    let cost = match basis {
        CostBasis::Actual if line.reservation => 0,
        CostBasis::Actual => line.billed,
        CostBasis::Amortized => line.effective,
    };
    let cost_text = format_cost(cost);
    let mdy = format!("{:02}/{:02}/{:04}", line.date.month, line.date.day, line.date.year);
    let month = line.date.month();
    let first = format!("{:02}/01/{:04}", billing.month, billing.year);
    let last = format!("{:02}/{:02}/{:04}", billing.month, billing.days(), billing.year);
    let service_first = format!("{:02}/01/{:04}", month.month, month.year);
    let service_last = format!("{:02}/{:02}/{:04}", month.month, month.days(), month.year);
    let pricing = if line.reservation { "Reservation" } else { line.pricing_model };
    let purchase = line.charge_type == "Purchase";
    let reservation = &RESERVATIONS[Reservation::covering(line.sub)];
    let braces = !matches!(layout, Layout::Ea | Layout::EaPortal);
    for col in columns {
        let v: String = match *col {
            "SubscriptionId" | "SubscriptionGuid" => s.id.into(),
            "SubAccountId" => format!("/subscriptions/{}", s.id),
            "SubscriptionName" | "subscriptionName" | "SubAccountName" => s.name.into(),
            "SubAccountType" => "Subscription".into(),
            "ResourceGroup" | "resourceGroupName" | "x_ResourceGroupName" => line.resource_group.clone(),
            "ResourceLocation" | "resourceLocation" | "location" => line.location.into(),
            "Date" | "date" => mdy.clone(),
            "UsageDateTime" => format!("{} 00:00:00", line.date),
            "ChargePeriodStart" => format!("{}T00:00:00Z", line.date),
            "ChargePeriodEnd" => {
                let d = line.date;
                let next = if d.day < month.days() {
                    Date { day: d.day + 1, ..d }
                } else {
                    let n = month.next();
                    Date { year: n.year, month: n.month, day: 1 }
                };
                format!("{next}T00:00:00Z")
            }
            "BillingPeriodStart" => format!("{}-01T00:00:00Z", billing),
            "BillingPeriodEnd" => format!("{}-01T00:00:00Z", billing.next()),
            "BillingPeriodStartDate" | "billingPeriodStartDate" => first.clone(),
            "BillingPeriodEndDate" | "billingPeriodEndDate" => last.clone(),
            "servicePeriodStartDate" => service_first.clone(),
            "servicePeriodEndDate" => service_last.clone(),
            "MeterCategory" | "meterCategory" | "x_SkuMeterCategory" | "ServiceName"
                if layout != Layout::Focus || *col != "ServiceName" =>
            {
                line.meter_category.into()
            }
            "ServiceName" => {
                if line.consumed_service == "Microsoft.MachineLearningServices" {
                    "Azure Machine Learning".into()
                } else {
                    line.meter_category.into()
                }
            }
            "ServiceCategory" => focus_category(line).into(),
            "MeterSubCategory" | "MeterSubcategory" | "meterSubCategory" | "x_SkuMeterSubcategory" | "ServiceTier" => {
                line.meter_subcategory.into()
            }
            "MeterName" | "meterName" | "x_SkuMeterName" => line.meter_name.into(),
            "ChargeDescription" => format!("{} - {}", line.meter_category, line.meter_name),
            "MeterId" | "meterId" | "SkuId" => "1f4c8e2a-7b3d-4e5f-9a6b-0c1d2e3f4a5b".into(),
            "MeterRegion" | "meterRegion" | "RegionName" => {
                if line.location == "westeurope" { "EU West" } else { "US East" }.into()
            }
            "RegionId" => line.location.into(),
            "UnitOfMeasure" | "unitOfMeasure" | "ConsumedUnit" | "PricingUnit" => line.unit.into(),
            "Quantity" | "quantity" | "UsageQuantity" | "ConsumedQuantity" | "PricingQuantity" => {
                format!("{:.2}", line.quantity)
            }
            "EffectivePrice"
            | "effectivePrice"
            | "UnitPrice"
            | "unitPrice"
            | "ResourceRate"
            | "PayGPrice"
            | "payGPrice"
            | "ListUnitPrice"
            | "ContractedUnitPrice" => format!("{}", line.unit_price),
            "CostInBillingCurrency"
            | "Cost"
            | "costInBillingCurrency"
            | "PreTaxCost"
            | "costInPricingCurrency"
            | "paygCostInBillingCurrency" => cost_text.clone(),
            "BilledCost" => format_cost(if line.reservation { 0 } else { line.billed }),
            "EffectiveCost" => format_cost(line.effective),
            "ListCost" | "ContractedCost" => format_cost(line.billed.max(line.effective)),
            "ConsumedService" | "consumedService" => line.consumed_service.into(),
            "ResourceId" | "InstanceId" => line.resource_id.clone(),
            "ResourceName" => line.resource_name.clone(),
            "ResourceType" if layout == Layout::Payg => line
                .resource_id
                .split("/providers/")
                .nth(1)
                .map(|p| p.rsplit_once('/').map(|x| x.0).unwrap_or(p))
                .unwrap_or("")
                .to_string(),
            "ResourceType" => {
                if line.consumed_service == "Microsoft.MachineLearningServices" {
                    "Azure Machine Learning workspace".into()
                } else {
                    line.meter_category.into()
                }
            }
            "Tags" | "tags" => tags_text(&line.tags, braces),
            "AdditionalInfo" | "additionalInfo" => line.additional_info.clone(),
            "ChargeType" | "chargeType" => line.charge_type.into(),
            "ChargeCategory" => match line.charge_type {
                "Refund" => "Credit",
                "UnusedReservation" => "Usage",
                c => c,
            }
            .into(),
            "ChargeClass" => String::new(),
            "ChargeFrequency" | "Frequency" | "frequency" => {
                if line.charge_type == "Purchase" { "One-Time" } else { "UsageBased" }.into()
            }
            "PricingModel" | "pricingModel" => pricing.into(),
            "PricingCategory" => if line.reservation { "Committed" } else { "Standard" }.into(),
            "CommitmentDiscountCategory" if line.reservation => "Usage".into(),
            "CommitmentDiscountType" if line.reservation => "Reservation".into(),
            "CommitmentDiscountStatus" if line.reservation => if line.unused { "Unused" } else { "Used" }.into(),
            "ReservationName" | "reservationName" | "CommitmentDiscountName" | "benefitName"
                if line.reservation || purchase =>
            {
                reservation.name.into()
            }
            // A purchase names its order; usage and unused capacity their reservation.
            "ReservationId" | "reservationId" if purchase => reservation.order.into(),
            "ReservationId" | "reservationId" if line.reservation => reservation.id.into(),
            "benefitId" | "CommitmentDiscountId" if purchase => {
                format!("/providers/Microsoft.Capacity/reservationOrders/{}/reservations/", reservation.order)
            }
            "benefitId" | "CommitmentDiscountId" if line.reservation => reservation.path(),
            "BillingCurrencyCode"
            | "BillingCurrency"
            | "billingCurrency"
            | "Currency"
            | "pricingCurrency"
            | "PricingCurrency" => s.currency.into(),
            "BillingAccountId" | "billingAccountId" => "80123456".into(),
            "BillingAccountName" | "billingAccountName" => "Contoso ML Platform".into(),
            "BillingAccountType" => "Billing Profile".into(),
            "BillingProfileId" | "billingProfileId" => {
                if s.currency == "EUR" { "BP-EMEA-01" } else { "BP-US-01" }.into()
            }
            "BillingProfileName" | "billingProfileName" => {
                if s.currency == "EUR" { "Contoso EMEA" } else { "Contoso US" }.into()
            }
            "AccountName" => "ML Platform".into(),
            "AccountOwnerId" => "ml-platform@contoso.example".into(),
            "InvoiceSectionName" | "invoiceSectionName" | "InvoiceSection" => "Machine Learning".into(),
            "InvoiceIssuerName" | "PublisherName" | "publisherName" => "Microsoft".into(),
            "ProviderName" => "Microsoft".into(),
            "PublisherType" | "publisherType" => "Azure".into(),
            "OfferId" => "MS-AZR-0017P".into(),
            "ServiceFamily" | "serviceFamily" => line.service_family.into(),
            "ProductName" | "Product" => format!(
                "{} {} - {}",
                line.meter_category,
                line.meter_name,
                if line.location == "westeurope" { "EU West" } else { "US East" }
            ),
            "IsAzureCreditEligible" | "isAzureCreditEligible" => "True".into(),
            "exchangeRatePricingToBilling" => "1".into(),
            "costInUsd" | "paygCostInUsd" if s.currency == "USD" => cost_text.clone(),
            "InvoiceId" => format!("G{}{:02}0001", month.year, month.month),
            _ => String::new(),
        };
        out.push(v);
    }
}

/// Writes the export; returns each file written with its data row count.
pub fn write(spec: &Spec, out: &Path) -> Result<Vec<(PathBuf, u64)>> {
    if let Some(e) = &spec.estate {
        return estate::write(spec, e.topology, e.environments, e.per_environment, e.config_out.as_deref(), out);
    }
    let mut cluster_days = Vec::new();
    let written = write_export(spec, out, &mut cluster_days)?;
    if let Some(path) = &spec.usage_file {
        write_usage(path, &cluster_days)?;
    }
    Ok(written)
}

/// The usage file of the shared GPU cluster: each month, each team's busy hours ([`CLUSTER_BUSY_PERCENT`] of the
/// node hours billed, in the proportions of [`CLUSTER_TEAMS`]).
fn write_usage(path: &Path, cluster_days: &[(Month, i64)]) -> Result<()> {
    let mut text = String::from("month,workspace,team,compute,hours\n");
    let weight: i64 = CLUSTER_TEAMS.iter().map(|(_, w)| w).sum();
    for (month, days) in cluster_days.iter().filter(|(_, d)| *d > 0) {
        let busy_hundredths = days * CLUSTER_NODE_HOURS * CLUSTER_BUSY_PERCENT;
        for (team, w) in CLUSTER_TEAMS {
            // hundredths of an hour: exact for these proportions
            let h = busy_hundredths * w / weight;
            let _ = writeln!(text, "{month},mlw-research,{team},{CLUSTER},{}.{:02}", h / 100, h % 100);
        }
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Writes the export; gives each file written with its data row count, and the days of GPU cluster rows per month.
fn write_export(spec: &Spec, out: &Path, cluster_days: &mut Vec<(Month, i64)>) -> Result<Vec<(PathBuf, u64)>> {
    let mut gen = Generator::new(spec.seed);
    let columns: Vec<&str> = headers(spec.layout).split(',').collect();
    let months: Vec<Month> =
        std::iter::successors(Some(spec.start), |m| Some(m.next())).take(spec.months as usize).collect();
    let mut written = Vec::new();
    let type_name = match (spec.layout, spec.export_type) {
        (Layout::Focus, _) => "FocusCost",
        (_, CostBasis::Actual) => "ActualCost",
        (_, CostBasis::Amortized) => "AmortizedCost",
    };
    let per_month = |i: usize| spec.rows / spec.months as u64 + u64::from((i as u64) < spec.rows % spec.months as u64);

    if !spec.manifest {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        if spec.parts >= 1 {
            std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
            let mut sink =
                SplitWriter { dir: out, spec, columns: &columns, next: 0, current: None, written: Vec::new() };
            for (i, &month) in months.iter().enumerate() {
                cluster_days.push((month, emit_month(&mut gen, spec, month, per_month(i), true, &columns, &mut sink)?));
            }
            return sink.finish();
        }
        let mut sink = PartWriter::create(out, spec, &columns)?;
        for (i, &month) in months.iter().enumerate() {
            cluster_days.push((month, emit_month(&mut gen, spec, month, per_month(i), true, &columns, &mut sink)?));
        }
        let rows = sink.rows;
        sink.finish()?;
        written.push((out.to_path_buf(), rows));
        return Ok(written);
    }

    let export_name = format!("mlspend-{}-{}", spec.layout.id(), type_name.to_ascii_lowercase());
    for (i, &month) in months.iter().enumerate() {
        let range = format!("{}{:02}01-{}{:02}{:02}", month.year, month.month, month.year, month.month, month.days());
        let run_id = gen.rng.guid();
        let dir = out.join(&export_name).join(&range).join(&run_id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let rows = per_month(i);
        let parts = if spec.parts == 0 { rows.div_ceil(PART_ROWS).max(1) } else { u64::from(spec.parts) };
        let mut blobs = Vec::new();
        let mut left = rows;
        for p in 0..parts {
            let n = if spec.parts == 0 { left.min(PART_ROWS) } else { share(rows, parts, p) };
            left -= n;
            let name = format!("part_{p}_0001.{}", spec.format.extension());
            let path = dir.join(&name);
            let mut sink = PartWriter::create(&path, spec, &columns)?;
            // Purchases go in the first part only.
            let days = emit_month(&mut gen, spec, month, n, p == 0, &columns, &mut sink)?;
            if p == 0 {
                cluster_days.push((month, days));
            }
            let part_rows = sink.rows;
            sink.finish()?;
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            blobs.push((format!("exports/{export_name}/{range}/{run_id}/{name}"), bytes, part_rows));
            written.push((path, part_rows));
        }
        let manifest = serde_json::json!({
            "manifestVersion": "2024-04-01",
            "byteCount": blobs.iter().map(|b| b.1).sum::<u64>(),
            "blobCount": blobs.len(),
            "dataRowCount": blobs.iter().map(|b| b.2).sum::<u64>(),
            "exportConfig": {
                "exportName": export_name,
                "resourceId": format!("/providers/Microsoft.Billing/billingAccounts/80123456/providers/Microsoft.CostManagement/exports/{export_name}"),
                "dataVersion": if spec.layout == Layout::Focus { "1.2-preview" } else { "2023-12-01-preview" },
                "apiVersion": "2023-07-01-preview",
                "type": type_name,
                "timeFrame": "MonthToDate",
                "granularity": "Daily"
            },
            "deliveryConfig": {
                "partitionData": true,
                "dataOverwriteBehavior": "CreateNewReport",
                "fileFormat": if spec.format == FileFormat::Parquet { "Parquet" } else { "Csv" },
                "compressionMode": match spec.format { FileFormat::Csv => "None", FileFormat::CsvGz => "Gzip", FileFormat::Parquet => "Snappy" },
                "containerUri": "/subscriptions/6f1c2a10-4b7e-4c1d-9a51-0d3e8f2b7c01/resourceGroups/rg-finops/providers/Microsoft.Storage/storageAccounts/stfinopsexports",
                "rootFolderPath": "exports"
            },
            "runInfo": {
                "executionType": "Scheduled",
                "submittedTime": format!("{}-02T06:00:00.0000000Z", month.next()),
                "runId": run_id,
                "startDate": format!("{month}-01T00:00:00"),
                "endDate": format!("{month}-{:02}T00:00:00", month.days())
            },
            "blobs": blobs.iter().map(|(name, bytes, rows)| serde_json::json!({"blobName": name, "byteCount": bytes, "dataRowCount": rows})).collect::<Vec<_>>()
        });
        let mpath = dir.join("manifest.json");
        let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
        std::fs::write(&mpath, text + "\n").map_err(|e| Error::io(&mpath, e))?;
    }
    Ok(written)
}

/// Which columns a row leaves empty: with `--narrow`, those of [`NARROW_BLANK`] (AdditionalInfo too: the AML
/// details it carries only refine what the resource id says already).
fn blanked(spec: &Spec, columns: &[&str]) -> Vec<bool> {
    columns.iter().map(|c| spec.narrow && NARROW_BLANK.contains(c)).collect()
}

fn narrow(blank: &[bool], cells: &mut [String]) {
    for (cell, _) in cells.iter_mut().zip(blank).filter(|(_, b)| **b) {
        cell.clear();
    }
}

fn emit_month(
    gen: &mut Generator,
    spec: &Spec,
    month: Month,
    rows: u64,
    first: bool,
    columns: &[&str],
    sink: &mut dyn RowOut,
) -> Result<i64> {
    let mut buf = Vec::with_capacity(columns.len());
    let blank = blanked(spec, columns);
    // One line as a row of the layout, written.
    let mut write = |line: &Line| -> Result<()> {
        cells(line, month, spec.layout, spec.export_type, columns, &mut buf);
        narrow(&blank, &mut buf);
        sink.row(&buf)
    };
    let mut produced = 0;
    let with_purchase = first && (spec.layout == Layout::Focus || spec.export_type == CostBasis::Actual);
    if with_purchase && rows > 0 {
        let line = gen.purchase(month);
        write(&line)?;
        produced += 1;
    }
    // Each reservation's unused capacity on the first day (amortized cost: EA/MCA amortized exports and FOCUS).
    let with_unused =
        first && spec.unused_capacity && (spec.layout == Layout::Focus || spec.export_type == CostBasis::Amortized);
    if with_unused && spec.layout != Layout::Payg {
        let first = month.day(1);
        for r in 0..RESERVATIONS.len() {
            if produced >= rows {
                break;
            }
            let line = gen.unused(first, r);
            write(&line)?;
            produced += 1;
        }
    }
    // The shared GPU cluster, one day after another while its rows stay within a twentieth of the month's (in the
    // first part of a month only): its untagged node hours and the teams' tagged job hours.
    let mut cluster_days = 0;
    if first && spec.layout != Layout::Payg {
        let per_day = 2 + CLUSTER_TEAMS.len() as u64;
        for day in 1..=month.days() {
            if produced + per_day > rows || (u64::from(day) * per_day) > rows / 20 {
                break;
            }
            let date = month.day(day);
            let shares = CLUSTER_TEAMS.iter().map(|(t, h)| (Some(*t), *h));
            for (team, hours) in std::iter::once((None, CLUSTER_NODE_HOURS)).chain(shares) {
                let line = gen.cluster(date, team, hours);
                write(&line)?;
                produced += 1;
            }
            let line = gen.endpoint(date);
            write(&line)?;
            produced += 1;
            cluster_days += 1;
        }
    }
    // Days in order, rows spread evenly over them.
    let days = month.days() as u64;
    for k in produced..rows {
        let day = (k * days / rows.max(1)) as u8 + 1;
        let date = month.day(day);
        // A late charge: used on the same day of the month before, billed in this one. (No draw at all without
        // --late-fraction, so other exports stay byte for byte what they were.)
        let late = spec.late_fraction > 0.0 && (gen.rng.below(1_000_000) as f64) < spec.late_fraction * 1_000_000.0;
        let date = if late {
            let before = month.previous();
            Date::new(before.year, before.month, date.day.min(before.days())).unwrap_or(date)
        } else {
            date
        };
        let line = gen.line(date);
        write(&line)?;
    }
    Ok(cluster_days)
}

/// Where generated rows go: one file, or a folder of parts.
trait RowOut {
    fn row(&mut self, cells: &[String]) -> Result<()>;
}

/// Part `k` of `n`'s share of `rows`, spread evenly (the first parts take the remainder).
fn share(rows: u64, n: u64, k: u64) -> u64 {
    rows / n + u64::from(k < rows % n)
}

/// Writes the rows, in order, into `spec.parts` files `part_00000.csv`... of `dir`, spread evenly.
struct SplitWriter<'a> {
    dir: &'a Path,
    spec: &'a Spec,
    columns: &'a [&'a str],
    /// The part the next file is.
    next: u64,
    current: Option<PartWriter>,
    written: Vec<(PathBuf, u64)>,
}

impl SplitWriter<'_> {
    fn close_current(&mut self) -> Result<()> {
        if let Some(w) = self.current.take() {
            let (path, rows) = (w.path.clone(), w.rows);
            w.finish()?;
            self.written.push((path, rows));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<(PathBuf, u64)>> {
        self.close_current()?;
        Ok(self.written)
    }
}

impl RowOut for SplitWriter<'_> {
    fn row(&mut self, cells: &[String]) -> Result<()> {
        let parts = u64::from(self.spec.parts);
        let full = self.current.as_ref().is_some_and(|w| w.rows >= share(self.spec.rows, parts, self.next - 1));
        if self.current.is_none() || full {
            self.close_current()?;
            let path = self.dir.join(format!("part_{:05}.{}", self.next, self.spec.format.extension()));
            self.current = Some(PartWriter::create(&path, self.spec, self.columns)?);
            self.next += 1;
        }
        match self.current.as_mut() {
            Some(w) => w.row(cells),
            None => Ok(()),
        }
    }
}

/// One part file being written.
enum PartSink {
    Csv(csv::Writer<std::io::BufWriter<std::fs::File>>),
    // (boxed: a gzip encoder's state is large beside the other writers)
    CsvGz(Box<csv::Writer<flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>>>),
    Parquet {
        writer: parquet::arrow::ArrowWriter<std::fs::File>,
        pending: Vec<Vec<String>>,
        schema: arrow_schema::SchemaRef,
    },
}

struct PartWriter {
    path: PathBuf,
    sink: PartSink,
    rows: u64,
}

/// Columns written to Parquet as DOUBLE, as Azure's own Parquet exports do for costs and quantities.
fn numeric_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("cost") && !n.contains("allocation") && !n.contains("center")
        || matches!(n.as_str(), "quantity" | "usagequantity" | "consumedquantity" | "pricingquantity")
}

impl RowOut for PartWriter {
    fn row(&mut self, cells: &[String]) -> Result<()> {
        self.rows += 1;
        match &mut self.sink {
            PartSink::Csv(w) => w.write_record(cells).map_err(|e| write_error(&self.path, e)),
            PartSink::CsvGz(w) => w.write_record(cells).map_err(|e| write_error(&self.path, e)),
            PartSink::Parquet { pending, .. } => {
                pending.push(cells.to_vec());
                if pending.len() >= 65_536 {
                    self.flush_parquet()?;
                }
                Ok(())
            }
        }
    }
}

impl PartWriter {
    fn create(path: &Path, spec: &Spec, columns: &[&str]) -> Result<PartWriter> {
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let mut csv_builder = csv::WriterBuilder::new();
        if spec.crlf {
            csv_builder.terminator(csv::Terminator::CRLF);
        }
        let sink = match spec.format {
            FileFormat::Csv => {
                let mut w = csv_builder.from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
                w.write_record(columns).map_err(|e| write_error(path, e))?;
                PartSink::Csv(w)
            }
            FileFormat::CsvGz => {
                let gz = flate2::write::GzEncoder::new(
                    std::io::BufWriter::with_capacity(1 << 20, file),
                    flate2::Compression::fast(),
                );
                let mut w = csv_builder.from_writer(gz);
                w.write_record(columns).map_err(|e| write_error(path, e))?;
                PartSink::CsvGz(Box::new(w))
            }
            FileFormat::Parquet => {
                use arrow_schema::{DataType, Field, Schema};
                let fields: Vec<Field> = columns
                    .iter()
                    .map(|c| Field::new(*c, if numeric_column(c) { DataType::Float64 } else { DataType::Utf8 }, true))
                    .collect();
                let schema = std::sync::Arc::new(Schema::new(fields));
                // Row groups of 64 Ki rows, as Azure's own Parquet parts have many: readers can spread them over cores.
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(65_536))
                    .build();
                let writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props))
                    .map_err(|e| Error::Parquet { path: path.to_path_buf(), detail: e.to_string() })?;
                PartSink::Parquet { writer, pending: vec![], schema }
            }
        };
        Ok(PartWriter { path: path.to_path_buf(), sink, rows: 0 })
    }

    fn flush_parquet(&mut self) -> Result<()> {
        use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
        let PartSink::Parquet { writer, pending, schema } = &mut self.sink else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        let perr = |e: String| Error::Parquet { path: self.path.clone(), detail: e };
        let arrays: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(j, f)| -> ArrayRef {
                if f.data_type() == &arrow_schema::DataType::Float64 {
                    std::sync::Arc::new(pending.iter().map(|r| r[j].parse::<f64>().ok()).collect::<Float64Array>())
                } else {
                    std::sync::Arc::new(
                        pending
                            .iter()
                            .map(|r| if r[j].is_empty() { None } else { Some(r[j].as_str()) })
                            .collect::<StringArray>(),
                    )
                }
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| perr(e.to_string()))?;
        writer.write(&batch).map_err(|e| perr(e.to_string()))?;
        pending.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush_parquet()?;
        let path = self.path.clone();
        match self.sink {
            PartSink::Csv(w) => {
                let mut inner = w.into_inner().map_err(|e| Error::io(&path, std::io::Error::other(e.to_string())))?;
                inner.flush().map_err(|e| Error::io(&path, e))
            }
            PartSink::CsvGz(w) => {
                let gz = (*w).into_inner().map_err(|e| Error::io(&path, std::io::Error::other(e.to_string())))?;
                let mut inner = gz.finish().map_err(|e| Error::io(&path, e))?;
                inner.flush().map_err(|e| Error::io(&path, e))
            }
            PartSink::Parquet { writer, .. } => {
                writer.close().map_err(|e| Error::Parquet { path, detail: e.to_string() })?;
                Ok(())
            }
        }
    }
}

fn write_error(path: &Path, e: csv::Error) -> Error {
    Error::Write { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) }
}
