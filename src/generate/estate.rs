//! `generate --topology`: one organisation's Azure ML usage deployed in a given topology, for the topology backtest.
//!
//! The organisation is fixed: four teams, eight projects, their members, and work in `--environments` environments
//! (prod, dev, test, ...). Its *usage* (the clusters' busy hours, served endpoints, production data, monitoring data
//! ingested) is drawn from a random stream keyed by (seed, project, environment, day, what), so it is the same in
//! every topology. What the topology implies is drawn per workspace: each workspace's standing resources (key vault,
//! registry), its managed network (private endpoints and the firewall), a compute instance per
//! member per workspace the member works in, one cluster per workspace whose idle time shrinks as more workloads
//! share it, and, with `--per-environment`, copies of production data in each other environment. It writes the
//! export, the busy hours of every cluster (`--usage-file`) and the configuration that describes the estate
//! (`--config-out`), so that `compare` can be run on it and its predictions checked against another topology's bill.

use super::{cells, headers, Line, PartWriter, RowOut, Spec};
use crate::dates::{Date, Month};
use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How the estate's workspaces are organised.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EstateTopology {
    /// A workspace per team.
    Team,
    /// A workspace per project.
    Project,
    /// One shared workspace.
    Single,
    /// A hub per team, with a project workspace per project sharing the hub's resources and compute.
    Hub,
}

/// The organisation: (team, members, projects).
const TEAMS: [(&str, u64, &[&str]); 4] = [
    ("vision", 6, &["defects", "ocr", "inspection"]),
    ("nlp", 4, &["chatbot", "search"]),
    ("growth", 3, &["churn", "pricing"]),
    ("risk", 2, &["fraud"]),
];
const DIVISIONS: [(&str, &[&str]); 2] = [("research", &["vision", "nlp"]), ("business", &["growth", "risk"])];
const ENVIRONMENTS: [&str; 4] = ["prod", "dev", "test", "staging"];
const SUBSCRIPTION: usize = 0;
const LOCATION: &str = "eastus";
/// The share of a separate cluster's idle time that sharing it with another workload saves (the model's default).
const CONSOLIDATION: f64 = 0.5;
const GPU_PRICE: f64 = 3.4;

/// A value in `lo..hi` from the stream of `(seed, key)`: the same key gives the same value in every topology.
fn draw(seed: u64, key: &str, lo: f64, hi: f64) -> f64 {
    let mut h: u64 = seed ^ 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = super::Rng(h);
    let r = rng.next() as f64 / u64::MAX as f64;
    lo + (hi - lo) * r
}

/// 10^-8 units of an amount, rounded.
fn units(amount: f64) -> i64 {
    (amount * 1e8).round() as i64
}

/// One workspace of the estate.
struct Ws {
    name: String,
    /// Its resource group: where its standing resources live.
    rg: String,
    /// `team`, `project`, `shared` or `hub`.
    kind: &'static str,
    team: &'static str,
    project: &'static str,
    environment: Option<&'static str>,
    /// For a project workspace of a hub: the hub.
    hub: Option<String>,
}

/// The workspace a project's work in an environment runs in, and the one holding its standing resources and compute.
struct Placement {
    work: usize,
    home: usize,
}

struct Estate {
    workspaces: Vec<Ws>,
    /// (team, project, environment) -> placement.
    placement: Vec<((&'static str, &'static str, &'static str), Placement)>,
    environments: Vec<&'static str>,
    per_environment: bool,
}

fn estate(topology: EstateTopology, environments: u32, per_environment: bool) -> Estate {
    let envs: Vec<&'static str> = ENVIRONMENTS[..environments as usize].to_vec();
    let mut workspaces: Vec<Ws> = Vec::new();
    let mut find_or_add = |ws: Ws| -> usize {
        match workspaces.iter().position(|w| w.name == ws.name) {
            Some(i) => i,
            None => {
                workspaces.push(ws);
                workspaces.len() - 1
            }
        }
    };
    let mut placement = Vec::new();
    for (team, _, projects) in TEAMS {
        for &project in projects {
            for &env in &envs {
                let (suffix, environment) =
                    if per_environment { (format!("-{env}"), Some(env)) } else { (String::new(), None) };
                let ws = |name: String, kind, team, project, hub| Ws {
                    rg: format!("rg-{name}"),
                    name,
                    kind,
                    team,
                    project,
                    environment,
                    hub,
                };
                let p = match topology {
                    EstateTopology::Team => {
                        let i = find_or_add(ws(format!("mlw-{team}{suffix}"), "team", team, "", None));
                        Placement { work: i, home: i }
                    }
                    EstateTopology::Project => {
                        let i = find_or_add(ws(format!("mlw-{project}{suffix}"), "project", team, project, None));
                        Placement { work: i, home: i }
                    }
                    EstateTopology::Single => {
                        let i = find_or_add(ws(format!("mlw-shared{suffix}"), "shared", "", "", None));
                        Placement { work: i, home: i }
                    }
                    EstateTopology::Hub => {
                        let hub = format!("hub-{team}{suffix}");
                        let home = find_or_add(ws(hub.clone(), "hub", team, "", None));
                        let work =
                            find_or_add(ws(format!("prj-{project}{suffix}"), "project", team, project, Some(hub)));
                        Placement { work, home }
                    }
                };
                placement.push(((team, project, env), p));
            }
        }
    }
    Estate { workspaces, placement, environments: envs, per_environment }
}

impl Estate {
    /// Whether workspace `i` holds standing resources (a hub's projects share the hub's).
    fn standing(&self, i: usize) -> bool {
        self.workspaces[i].hub.is_none()
    }

    /// The environment where members keep their compute instances: development, where there is one of its own.
    fn instance_environment(&self) -> &'static str {
        if self.per_environment && self.environments.len() > 1 {
            self.environments[1]
        } else {
            self.environments[0]
        }
    }
}

/// A line of the estate, everything not given left as a usage row of the ML provider.
#[allow(clippy::too_many_arguments)]
fn line(
    date: Date,
    ws: &Ws,
    resource: (&str, &str),
    meter: (&'static str, &'static str, &'static str, &'static str),
    quantity: f64,
    cost: i64,
    tags: Vec<(String, String)>,
) -> Line {
    let (kind, name) = resource;
    let (category, subcategory, meter_name, unit) = meter;
    let id = if kind.is_empty() {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}/{name}",
            super::SUBSCRIPTIONS[SUBSCRIPTION].id,
            ws.rg,
            ws.name
        )
    } else {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{kind}/{name}",
            super::SUBSCRIPTIONS[SUBSCRIPTION].id,
            ws.rg
        )
    };
    let ml = kind.is_empty();
    Line {
        date,
        sub: SUBSCRIPTION,
        resource_group: ws.rg.clone(),
        resource_name: if ml { ws.name.clone() } else { name.to_string() },
        resource_id: id,
        location: LOCATION,
        meter_category: category,
        meter_subcategory: subcategory,
        meter_name,
        unit,
        consumed_service: if ml { "Microsoft.MachineLearningServices" } else { "Microsoft.Resources" },
        service_family: "Compute",
        quantity,
        unit_price: if quantity > 0.0 { cost as f64 / 1e8 / quantity } else { 0.0 },
        billed: cost,
        effective: cost,
        charge_type: "Usage",
        pricing_model: "OnDemand",
        tags,
        additional_info: String::new(),
        reservation: false,
        unused: false,
    }
}

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Writes the estate's export to `out`, and its usage file and configuration where asked.
pub fn write(
    spec: &Spec,
    topology: EstateTopology,
    environments: u32,
    per_environment: bool,
    config_out: Option<&Path>,
    out: &Path,
) -> Result<Vec<(PathBuf, u64)>> {
    let e = estate(topology, environments, per_environment);
    let seed = spec.seed;
    let columns: Vec<&str> = headers(spec.layout).split(',').collect();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|err| Error::io(parent, err))?;
    }
    let mut sink = PartWriter::create(out, spec, &columns)?;
    let mut buf = Vec::new();
    let mut usage = String::from("month,workspace,team,compute,hours\n");
    let months: Vec<Month> =
        std::iter::successors(Some(spec.start), |m| Some(m.next())).take(spec.months as usize).collect();
    for &month in &months {
        let mut write = |l: &Line| -> Result<()> {
            cells(l, month, spec.layout, spec.export_type, &columns, &mut buf);
            sink.row(&buf)
        };
        // Busy hours per (cluster workspace, team) over the month, for the usage file.
        let mut busy_month: Vec<(usize, &str, f64)> = Vec::new();
        for day in 1..=month.days() {
            let date = month.day(day);
            let key = |what: &str, a: &str, b: &str| format!("{month}-{day}/{what}/{a}/{b}");
            // Standing resources, network and monitoring's standing part: per workspace that holds them.
            for (_, ws) in e.workspaces.iter().enumerate().filter(|(i, _)| e.standing(*i)) {
                let n = &ws.name;
                let t = tags(&[("team", ws.team), ("env", ws.environment.unwrap_or(""))]);
                let kv = draw(seed, &key("kv", n, ""), 0.1, 0.3);
                write(&line(
                    date,
                    ws,
                    ("Microsoft.KeyVault/vaults", &format!("kv-{n}")),
                    ("Key Vault", "", "Operations", "10K"),
                    kv / 0.03,
                    units(kv),
                    t.clone(),
                ))?;
                write(&line(
                    date,
                    ws,
                    ("Microsoft.ContainerRegistry/registries", &format!("acr{}", n.replace('-', ""))),
                    ("Container Registry", "", "Premium Registry Unit", "1/Day"),
                    1.0,
                    units(1.6667),
                    t.clone(),
                ))?;
                // 4 to 6 private endpoints (workspace, storage blob and file, key vault, registry, ...).
                let pe = (draw(seed, &format!("pe/{n}"), 4.0, 7.0).floor()) * 0.24;
                write(&line(
                    date,
                    ws,
                    ("Microsoft.Network/privateEndpoints", &format!("pe-{n}")),
                    ("Virtual Network", "Private Link", "Standard Private Endpoint", "1 Hour"),
                    120.0,
                    units(pe),
                    t.clone(),
                ))?;
                write(&line(
                    date,
                    ws,
                    ("Microsoft.Network/azureFirewalls", &format!("afw-{n}")),
                    ("Azure Firewall", "Standard", "Standard Deployment", "1 Hour"),
                    24.0,
                    units(24.0 * 1.25),
                    t.clone(),
                ))?;
            }
            // Compute instances: one per member in each workspace the member works in, in the instances'
            // environment. Their load balancer and disk bill every day, running or not.
            for (team, members, projects) in TEAMS {
                let mut homes: Vec<usize> = e
                    .placement
                    .iter()
                    .filter(|((t, p, env), _)| *t == team && projects.contains(p) && *env == e.instance_environment())
                    .map(|(_, pl)| pl.home)
                    .collect();
                homes.sort_unstable();
                homes.dedup();
                let many = homes.len() > 1;
                for h in homes {
                    let ws = &e.workspaces[h];
                    for m in 0..members {
                        // With a workspace per project, not every member keeps an instance in every one of them: the
                        // model assumes they do, so the backtest sees what that assumption costs.
                        if many && draw(seed, &format!("ci/{team}-{m}/{}", ws.name), 0.0, 1.0) >= 0.8 {
                            continue;
                        }
                        let ci = format!("computes/ci-{team}-{m}");
                        let t = tags(&[("team", team), ("env", ws.environment.unwrap_or(""))]);
                        let lb = draw(seed, &key("lb", &ws.name, &ci), 0.28, 0.38);
                        write(&line(
                            date,
                            ws,
                            ("", &ci),
                            ("Load Balancer", "", "Standard Included LB Rules and Outbound Rules", "1 Hour"),
                            24.0,
                            units(lb),
                            t.clone(),
                        ))?;
                        write(&line(
                            date,
                            ws,
                            ("", &ci),
                            ("Storage", "Premium SSD Managed Disks", "P10 LRS Disk", "1/Month"),
                            1.0 / 30.0,
                            units(0.66),
                            t,
                        ))?;
                    }
                }
            }
            // The work: the same in every topology.
            let mut busy_day: Vec<(usize, f64, f64)> = Vec::new(); // (home, busy, separate idle)
            for ((team, project, env), pl) in &e.placement {
                // The work's own resource in its workspace; its data and monitoring in the workspace holding them.
                let (ws, home) = (&e.workspaces[pl.work], &e.workspaces[pl.home]);
                let t = tags(&[("team", team), ("project", project), ("env", env)]);
                let prod = *env == e.environments[0];
                let (lo, hi) = if prod { (4.0, 12.0) } else { (1.0, 6.0) };
                let busy = (draw(seed, &key("busy", project, env), lo, hi) * 4.0).round() / 4.0;
                // The idle tail a cluster of its own would add after its jobs.
                let tail = draw(seed, &key("tail", project, env), 1.0, 3.0);
                busy_day.push((pl.home, busy, tail));
                match busy_month.iter_mut().find(|(h, tm, _)| *h == pl.home && *tm == *team) {
                    Some(b) => b.2 += busy,
                    None => busy_month.push((pl.home, team, busy)),
                }
                let ingest = draw(seed, &key("ingest", project, env), 1.0, 3.0);
                write(&line(
                    date,
                    home,
                    ("microsoft.insights/components", &format!("appi-{}", home.name)),
                    ("Application Insights", "", "Data Ingestion", "1 GB"),
                    ingest / 2.3,
                    units(ingest),
                    t.clone(),
                ))?;
                let data = draw(seed, &key("data", project, ""), 8.0, 20.0);
                if prod {
                    let store = format!("st{}", home.name.replace('-', ""));
                    write(&line(
                        date,
                        home,
                        ("Microsoft.Storage/storageAccounts", &store),
                        ("Storage", "General Block Blob v2", "Hot LRS Data Stored", "1 GB/Month"),
                        data / 0.0208,
                        units(data),
                        t.clone(),
                    ))?;
                    let serve = draw(seed, &key("serve", project, env), 3.0, 7.0);
                    write(&line(
                        date,
                        ws,
                        ("", &format!("onlineEndpoints/ep-{project}")),
                        ("Virtual Machines", "Dv2/DSv2 Series", "DS3 v2", "1 Hour"),
                        24.0,
                        units(serve),
                        t.clone(),
                    ))?;
                } else if e.per_environment {
                    // A copy of production's data in this environment.
                    let fraction = draw(seed, &key("copy", project, env), 0.2, 0.3);
                    let store = format!("st{}", home.name.replace('-', ""));
                    write(&line(
                        date,
                        home,
                        ("Microsoft.Storage/storageAccounts", &store),
                        ("Storage", "General Block Blob v2", "Hot LRS Data Stored", "1 GB/Month"),
                        data * fraction / 0.0208,
                        units(data * fraction),
                        t,
                    ))?;
                }
            }
            // One cluster per workspace holding compute: its node hours are its workloads' busy hours and idle tails,
            // shared tails overlapping as the consolidation factor says.
            let mut homes: Vec<usize> = busy_day.iter().map(|b| b.0).collect();
            homes.sort_unstable();
            homes.dedup();
            for h in homes {
                let ws = &e.workspaces[h];
                let jobs: Vec<&(usize, f64, f64)> = busy_day.iter().filter(|b| b.0 == h).collect();
                let k = jobs.len() as f64;
                let busy: f64 = jobs.iter().map(|b| b.1).sum();
                let tails: f64 = jobs.iter().map(|b| b.2).sum();
                let idle = tails * (1.0 + (1.0 - CONSOLIDATION) * (k - 1.0)) / k;
                let hours = ((busy + idle) * 100.0).round() / 100.0;
                let t = tags(&[("env", ws.environment.unwrap_or(""))]);
                write(&line(
                    date,
                    ws,
                    ("", "computes/gpu-cluster"),
                    ("Virtual Machines", "NCadsA100v4 Series", "NC24ads A100 v4", "1 Hour"),
                    hours,
                    units(hours * GPU_PRICE),
                    t,
                ))?;
            }
        }
        for (h, team, hours) in busy_month {
            let _ = writeln!(usage, "{month},{},{team},gpu-cluster,{hours:.2}", e.workspaces[h].name);
        }
    }
    let rows = sink.rows;
    sink.finish()?;
    if let Some(path) = &spec.usage_file {
        std::fs::write(path, &usage).map_err(|err| Error::io(path, err))?;
    }
    if let Some(path) = config_out {
        std::fs::write(path, configuration(&e, out, spec.usage_file.as_deref())).map_err(|err| Error::io(path, err))?;
    }
    Ok(vec![(out.to_path_buf(), rows)])
}

/// The mlspend configuration of the estate.
fn configuration(e: &Estate, export: &Path, usage: Option<&Path>) -> String {
    let mut t =
        String::from("# Written by `mlspend generate --topology`: the estate's workspaces.\nbasis = \"amortized\"\n");
    let _ = writeln!(t, "exports = [{:?}]", export.display().to_string());
    t.push_str("\n[divisions]\n");
    for (d, teams) in DIVISIONS {
        let _ = writeln!(t, "{d} = [{}]", teams.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", "));
    }
    if let Some(u) = usage {
        let _ = write!(t, "\n[compare]\nusage = {:?}\n", u.display().to_string());
    }
    for ws in &e.workspaces {
        let _ = write!(t, "\n[[workspace]]\nname = {:?}\ntopology = {:?}\n", ws.name, ws.kind);
        match ws.kind {
            "shared" => {
                let teams: Vec<String> = TEAMS.iter().map(|x| format!("{:?}", x.0)).collect();
                let _ = writeln!(t, "teams = [{}]", teams.join(", "));
            }
            "project" => {
                let _ = writeln!(t, "team = {:?}\nproject = {:?}", ws.team, ws.project);
            }
            _ => {
                let _ = writeln!(t, "team = {:?}", ws.team);
            }
        }
        if let Some(env) = ws.environment {
            let _ = writeln!(t, "environment = {env:?}");
        }
        match &ws.hub {
            Some(hub) => {
                let _ = writeln!(t, "hub = {hub:?}");
            }
            None => {
                let _ = writeln!(t, "resource_groups = [{:?}]", ws.rg);
            }
        }
    }
    t
}
