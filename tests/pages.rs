//! What a person sees: every chart of the bundled sample and of each real sample read from its SVG (a team keeps
//! its colour, ticks are distinct and round, nothing is cut, no two texts overlap, measured with the embedded font);
//! no output file holds a negative zero; the pages say only what is true; categories follow what each row says.

use crate::common::{files_under, mlspend, real, run};
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A run of `mlspend run` into `out`; gives stdout, and fails the test on a non-zero exit.
fn pack(out: &Path, args: &[&str], inputs: &[&Path]) -> String {
    let mut cmd = mlspend();
    cmd.arg("run").arg("--out").arg(out).args(args).args(inputs);
    let (o, e, code) = run(&mut cmd);
    assert_eq!(code, 0, "{args:?} {inputs:?}\n{o}{e}");
    o
}

/// Every run the checks below look at: the bundled sample, each real sample on the basis it holds, and a run with
/// long team, workspace and reason names. (name, output folder, stdout).
fn every_sample(dir: &Path) -> Vec<(String, PathBuf, String)> {
    let mut runs = Vec::new();
    let out = dir.join("bundled");
    let stdout = pack(&out, &["--format", "csv,parquet,json"], &[]);
    runs.push(("bundled sample".to_string(), out, stdout));
    let config = fixture("real.toml");
    for (name, basis) in [
        ("EA_AmortizedCost_Small.csv", "amortized"),
        ("EA_ActualCost_Small.csv", "actual"),
        ("focus_sample.csv", "amortized"),
        ("sample-anonymous-ea-export-dataset.csv", "amortized"),
        ("camel_azure_version_2.csv", "amortized"),
        ("payg_legacy_costreport.csv", "actual"),
    ] {
        let out = dir.join(name);
        let args = ["--config", config.to_str().unwrap(), "--basis", basis, "--format", "csv,json", "--quiet"];
        let stdout = pack(&out, &args, &[&real(name)]);
        runs.push((name.to_string(), out, stdout));
    }
    // Long names: the attribution fixture with its teams, a workspace and an unknown workspace renamed.
    let long = dir.join("long");
    std::fs::create_dir_all(&long).unwrap();
    let rename = |text: String| {
        text.replace("alpha", "alpha-platform-engineering-and-research-team")
            .replace("gamma", "gamma-computer-vision-for-industrial-inspection")
            .replace("ws-ghost", "mlw-sandbox-experiments-westeurope-temporary-2026")
            .replace("ws-shared", "mlw-shared-research-workspace-for-all-teams")
    };
    std::fs::write(long.join("c.toml"), rename(read(&fixture("attribution.toml")))).unwrap();
    std::fs::write(long.join("e.csv"), rename(read(&fixture("attribution-amortized.csv")))).unwrap();
    let out = dir.join("long-out");
    let config = long.join("c.toml");
    let stdout = pack(&out, &["--config", config.to_str().unwrap(), "--quiet"], &[&long.join("e.csv")]);
    runs.push(("long names".to_string(), out, stdout));
    // Many teams: 45 team workspaces and one pool they all share, over two months.
    let many = dir.join("many");
    std::fs::create_dir_all(&many).unwrap();
    let mut config = String::from("basis = \"amortized\"\n");
    let mut export = String::from(
        "Date,Cost,BillingCurrency,ResourceId,ResourceName,ResourceGroup,ConsumedService,MeterCategory,Tags\n",
    );
    let id = |ws: &str| {
        format!("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/{ws}")
    };
    let teams: Vec<String> = (0..45).map(|i| format!("team-{i:02}")).collect();
    for (i, t) in teams.iter().enumerate() {
        config += &format!("[[workspace]]\nname = \"ws-{t}\"\ntopology = \"team\"\nteam = \"{t}\"\n");
        for month in ["01", "02"] {
            export += &format!(
                "{month}/03/2026,{}.25,USD,{},ws-{t},rg,Microsoft.MachineLearningServices,Virtual Machines,\n",
                10 + i,
                id(&format!("ws-{t}"))
            );
        }
    }
    let list: Vec<String> = teams.iter().map(|t| format!("\"{t}\"")).collect();
    config += &format!(
        "[[workspace]]\nname = \"ws-pool\"\ntopology = \"shared\"\nteams = [{}]\nsplit = \"proportional\"\n",
        list.join(", ")
    );
    for month in ["01", "02"] {
        export += &format!(
            "{month}/04/2026,900.00,USD,{},ws-pool,rg,Microsoft.MachineLearningServices,Storage,\n",
            id("ws-pool")
        );
    }
    std::fs::write(many.join("c.toml"), config).unwrap();
    std::fs::write(many.join("e.csv"), export).unwrap();
    let out = dir.join("many-out");
    let config = many.join("c.toml");
    let stdout = pack(&out, &["--config", config.to_str().unwrap(), "--quiet"], &[&many.join("e.csv")]);
    runs.push(("many teams".to_string(), out, stdout));
    // Commitments: a generated amortized export with reservation-covered usage and unused capacity.
    let generated = dir.join("commitments.csv");
    crate::common::generate(&generated, &["--rows", "3000", "--months", "2", "--export-type", "amortized"]);
    let out = dir.join("commitments-out");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.toml");
    let args = ["--config", sample.to_str().unwrap(), "--format", "csv,json", "--quiet"];
    let stdout = pack(&out, &args, &[&generated]);
    assert!(stdout.contains("commitments"), "{stdout}");
    runs.push(("generated, with commitments".to_string(), out, stdout));
    runs
}

/// The value of attribute `name` in the start tag `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

struct SvgText {
    x: f64,
    y: f64,
    size: f64,
    bold: bool,
    anchor: String,
    text: String,
    tick: bool,
}

struct Shape {
    team: Option<String>,
    category: Option<String>,
    /// The fill of an area or marker, the stroke of a line.
    colour: String,
    /// How else it looks: element, hatch, marker, dashes.
    look: String,
}

struct Svg {
    width: f64,
    height: f64,
    texts: Vec<SvgText>,
    shapes: Vec<Shape>,
}

fn parse_svg(svg: &str) -> Svg {
    let open = &svg[..svg.find('>').expect("an svg element")];
    let num = |tag: &str, name: &str| attr(tag, name).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    let mut out = Svg { width: num(open, "width"), height: num(open, "height"), texts: Vec::new(), shapes: Vec::new() };
    let mut rest = &svg[open.len()..];
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let end = rest.find('>').expect("a closed tag");
        let tag = &rest[..end + 1];
        let name: String = tag[1..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        match name.as_str() {
            "text" => {
                let close = rest.find("</text>").expect("a closed text");
                out.texts.push(SvgText {
                    x: num(tag, "x"),
                    y: num(tag, "y"),
                    size: num(tag, "font-size"),
                    bold: attr(tag, "font-weight").is_some_and(|w| w == "bold"),
                    anchor: attr(tag, "text-anchor").unwrap_or_else(|| "start".into()),
                    text: unescape(&rest[end + 1..close]),
                    tick: attr(tag, "class").is_some_and(|c| c == "tick"),
                });
            }
            "rect" | "circle" | "polygon" | "polyline" => {
                let colour = if name == "polyline" { attr(tag, "stroke") } else { attr(tag, "fill") };
                let look = format!(
                    "{name}/{}/{}/{}",
                    attr(tag, "data-pattern").unwrap_or_default(),
                    attr(tag, "data-marker").unwrap_or_default(),
                    attr(tag, "stroke-dasharray").unwrap_or_default()
                );
                out.shapes.push(Shape {
                    team: attr(tag, "data-team"),
                    category: attr(tag, "data-category"),
                    colour: colour.clone().unwrap_or_default(),
                    look: format!("{look}/{}", colour.unwrap_or_default()),
                });
            }
            _ => {}
        }
        rest = &rest[end + 1..];
    }
    out
}

/// DejaVu Sans, the font the charts embed, measured here on its own.
struct Metrics {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl Metrics {
    fn new() -> Metrics {
        Metrics {
            regular: FontRef::try_from_slice(dejavu::sans::regular()).unwrap(),
            bold: FontRef::try_from_slice(dejavu::sans::bold()).unwrap(),
        }
    }

    /// (left, top, right, bottom) of a text: advance widths with kerning, the font's ascent and descent at its size.
    fn text_box(&self, t: &SvgText) -> (f64, f64, f64, f64) {
        let f = if t.bold { &self.bold } else { &self.regular };
        let upem = f.units_per_em().unwrap() as f64;
        let scaled = f.as_scaled(PxScale::from((t.size * f.height_unscaled() as f64 / upem) as f32));
        let mut w = 0.0f64;
        let mut last = None;
        for c in t.text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = last {
                w += scaled.kern(p, id) as f64;
            }
            w += scaled.h_advance(id) as f64;
            last = Some(id);
        }
        let left = match t.anchor.as_str() {
            "middle" => t.x - w / 2.0,
            "end" => t.x - w,
            _ => t.x,
        };
        let ascent = f.ascent_unscaled() as f64 / upem * t.size;
        let descent = -(f.descent_unscaled() as f64) / upem * t.size;
        (left, t.y - ascent, left + w, t.y + descent)
    }
}

/// The charts of a run: (path relative to the pack, parsed SVG).
fn charts_of(out: &Path) -> Vec<(String, Svg)> {
    files_under(out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .map(|p| (p.display().to_string(), parse_svg(&read(&out.join(&p)))))
        .collect()
}

#[test]
fn every_chart_of_every_sample_reads_at_a_glance() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let mut charts_seen = 0;
    for (name, out, _) in every_sample(dir.path()) {
        let charts = charts_of(&out);
        let mut team_colours: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut other_colours: BTreeSet<String> = BTreeSet::new();
        for (path, svg) in &charts {
            charts_seen += 1;
            let at = format!("{name}: {path}");
            assert!(svg.width > 0.0 && svg.height > 0.0, "{at}: a size");
            // Within a chart, different teams look different: by colour, and past seven teams by colour and hatch,
            // marker or dashes.
            let mut looks: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for s in &svg.shapes {
                if let Some(team) = &s.team {
                    team_colours.entry(team.clone()).or_default().insert(s.colour.clone());
                    looks.entry(team).or_default().insert(&s.look);
                }
                if s.category.is_some() {
                    other_colours.insert(s.colour.clone());
                }
            }
            let mut seen: BTreeMap<&BTreeSet<&str>, &str> = BTreeMap::new();
            for (team, look) in &looks {
                if let Some(other) = seen.insert(look, team) {
                    panic!("{at}: {team} and {other} look the same: {look:?}");
                }
            }
            // Tick labels: distinct, and at one round step.
            let ticks: Vec<&str> = svg.texts.iter().filter(|t| t.tick).map(|t| t.text.as_str()).collect();
            assert!(ticks.len() >= 2, "{at}: an axis with ticks");
            let unique: BTreeSet<&str> = ticks.iter().copied().collect();
            assert_eq!(unique.len(), ticks.len(), "{at}: repeated tick labels {ticks:?}");
            let values: Vec<f64> = ticks.iter().map(|t| t.replace(',', "").parse::<f64>().unwrap()).collect();
            let step = (values[1] - values[0]).abs();
            let mantissa = step / 10f64.powi(step.log10().floor() as i32);
            assert!([1.0, 2.0, 5.0].iter().any(|m| (m - mantissa).abs() < 1e-6), "{at}: step {step} in {ticks:?}");
            for w in values.windows(2) {
                assert!(((w[1] - w[0]).abs() - step).abs() < step * 1e-6, "{at}: uneven ticks {ticks:?}");
            }
            // Nothing cut, nothing outside the picture, no two texts on top of each other.
            let boxes: Vec<(f64, f64, f64, f64)> = svg.texts.iter().map(|t| metrics.text_box(t)).collect();
            for (t, b) in svg.texts.iter().zip(&boxes) {
                assert!(!t.text.contains('…'), "{at}: {:?} is cut", t.text);
                assert!(!t.text.contains('\u{fffd}'), "{at}: {:?} holds a replaced character", t.text);
                assert!(
                    b.0 >= -0.5 && b.1 >= -0.5 && b.2 <= svg.width + 0.5 && b.3 <= svg.height + 0.5,
                    "{at}: {:?} at {b:?} leaves the {}x{} picture",
                    t.text,
                    svg.width,
                    svg.height
                );
            }
            for i in 0..boxes.len() {
                for j in i + 1..boxes.len() {
                    let (a, b) = (boxes[i], boxes[j]);
                    let overlap = a.0 < b.2 - 0.5 && b.0 < a.2 - 0.5 && a.1 < b.3 - 0.5 && b.1 < a.3 - 0.5;
                    assert!(!overlap, "{at}: {:?} {a:?} overlaps {:?} {b:?}", svg.texts[i].text, svg.texts[j].text);
                }
            }
        }
        // A team has one colour in every chart of every month; no grey of a category is a team's colour.
        for (team, colours) in &team_colours {
            assert_eq!(colours.len(), 1, "{name}: {team} is drawn in {colours:?}");
            assert!(colours.is_disjoint(&other_colours), "{name}: {team}'s colour is also a category's");
        }
        // (EUR's one project workspace has no topology chart: every combination costs the same)
        if name == "bundled sample" {
            assert!(team_colours.len() >= 4 && charts.len() >= 19, "{name}: {} charts", charts.len());
        }
    }
    assert!(charts_seen > 30, "{charts_seen} charts checked");
}

/// Where `text` holds a negative zero (`-0`, `-0.00`, `−0%`), the text around it.
fn negative_zero(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for i in 0..chars.len() {
        if !(chars[i] == '-' || chars[i] == '\u{2212}') {
            continue;
        }
        if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == '-') {
            continue;
        }
        let mut j = i + 1;
        let mut zeros = 0;
        while j < chars.len() && (chars[j] == '0' || chars[j] == '.' || chars[j] == ',') {
            zeros += usize::from(chars[j] == '0');
            j += 1;
        }
        let next_digit = j < chars.len() && chars[j].is_ascii_digit();
        if zeros > 0 && !next_digit && chars[i + 1] == '0' {
            let from = i.saturating_sub(40);
            return Some(chars[from..(j + 20).min(chars.len())].iter().collect());
        }
    }
    None
}

#[test]
fn negative_zero_is_found_and_real_negatives_are_not() {
    for bad in ["-0", "-0.00", "x,-0.0,y", "team −0%", "(-0.00)", "\"-0.0\""] {
        assert!(negative_zero(bad).is_some(), "{bad}");
    }
    for fine in ["-0.15", "2026-08", "-10", "part-0", "-0.001", "mlw-0", "a -0.5 b", "0.00", "-0.05%"] {
        assert!(negative_zero(fine).is_none(), "{fine}");
    }
}

#[test]
fn no_output_of_any_sample_holds_a_negative_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = 0;
    for (name, out, stdout) in every_sample(dir.path()) {
        assert!(negative_zero(&stdout).is_none(), "{name}: stdout {:?}", negative_zero(&stdout));
        for rel in files_under(&out) {
            let text = match rel.extension().and_then(|x| x.to_str()) {
                Some("csv" | "json" | "jsonl" | "html" | "svg") => read(&out.join(&rel)),
                // Parquet holds decimals as integers, PNG pixels: neither can spell a negative zero.
                _ => continue,
            };
            files += 1;
            if let Some(at) = negative_zero(&text) {
                panic!("{name}: {} holds a negative zero: {at:?}", rel.display());
            }
        }
        // compare prints the topology table, with its percentages.
        let mut cmd = mlspend();
        let config = if name == "bundled sample" { root().join("data/sample.toml") } else { fixture("real.toml") };
        cmd.arg("compare").arg("--config").arg(&config).arg("--out").arg(dir.path().join("compare"));
        if name.ends_with(".csv") {
            cmd.arg("--quiet").arg(real(&name));
            if name.contains("Actual") || name.starts_with("payg") {
                cmd.args(["--basis", "actual"]);
            }
        }
        if name == "long names" || name == "many teams" || name.starts_with("generated") {
            continue;
        }
        let (o, e, code) = run(&mut cmd);
        assert_eq!(code, 0, "{name}: {o}{e}");
        assert!(negative_zero(&o).is_none(), "{name}: compare prints {:?}", negative_zero(&o));
    }
    assert!(files > 50, "{files} files read");
}

#[test]
fn the_report_page_says_only_what_is_true() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    pack(&out, &["--format", "parquet,json"], &[]);
    let page = read(&out.join("2026-10/report.html"));
    assert!(!out.join("2026-10/chargeback.csv").exists());
    assert!(!page.contains("chargeback.csv"), "no chargeback.csv is written, so the page must not name it");
    assert!(page.contains("<code>chargeback.parquet</code> and <code>chargeback.json</code>"));
    // The pool without an environment says so, beside the prod one.
    assert!(
        page.contains("<h3>mlw-research (no environment tag)</h3>") && page.contains("<h3>mlw-research (prod)</h3>")
    );
    // Weights with their basis and unit; shares as a percentage (adding up to 100.0) and as an amount.
    assert!(page.contains("Weights: compute hours in aml-usage.csv, 2026-10."), "weights name their unit");
    assert!(page
        .contains("<th class=\"n\">weight (hours)</th><th class=\"n\">share %</th><th class=\"n\">share (USD)</th>"));
    // The bundled sample's configuration shows its shared costs: gpu-cluster-a's busy hours and idle capacity (20 days
    // of 20 node hours at 3.40, 75% busy), the platform pool, and unit costs.
    assert!(page.contains("Compute target <code>gpu-cluster-a</code> billed <strong>400 node hours</strong> for 1,360.00 USD; the members were busy for 300 of them (75.0%), which cost 1,020.00. Its idle capacity, <strong>340.00 USD</strong>, is charged to the members in proportion to their busy hours."), "the idle line");
    assert!(page.contains("<h3>platform pool ml-platform</h3>"), "the platform pool");
    assert!(page.contains("<h2 id=\"unit-costs\">Unit costs</h2>") && page.contains("per GPU hour"), "unit costs");
    // Contents, anchors that resolve, links only inside the pack; sticky headers and an A4 print stylesheet.
    assert!(page.contains("<nav class=\"toc\""));
    let ids: BTreeSet<String> = page.match_indices(" id=\"").map(|(i, _)| attr(&page[i..], "id").unwrap()).collect();
    let mut links = 0;
    for (i, _) in page.match_indices(" href=\"") {
        let href = attr(&page[i..], "href").unwrap();
        links += 1;
        match href.strip_prefix('#') {
            Some(id) => assert!(ids.contains(id), "#{id} goes nowhere"),
            None => {
                assert!(
                    !href.contains(':') && !href.starts_with('/') && !href.contains(".."),
                    "{href} leaves the pack"
                );
                assert!(out.join("2026-10").join(&href).is_file(), "{href} is not in the pack");
            }
        }
    }
    assert!(links > 10, "{links} links");
    // Each statement links back to its team's section of the report.
    for rel in
        files_under(&out.join("2026-10/statements")).iter().filter(|p| p.extension().is_some_and(|x| x == "html"))
    {
        let statement = read(&out.join("2026-10/statements").join(rel));
        let hrefs: Vec<String> =
            statement.match_indices(" href=\"").map(|(i, _)| attr(&statement[i..], "href").unwrap()).collect();
        assert_eq!(hrefs.len(), 1, "{}: {hrefs:?}", rel.display());
        let id = hrefs[0].strip_prefix("../report.html#").expect("a link to the report");
        assert!(ids.contains(id), "{}: #{id} is not in the report", rel.display());
    }
    for css in ["position:sticky", "@page{size:A4", "@media print", "tabular-nums"] {
        assert!(page.contains(css), "{css}");
    }
    for banned in ["<script", "<link", "@import", "src=", "url(", "http://", "https://"] {
        let without_ns = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains(banned), "{banned}");
    }
    // A team's section: its number, what it is made of and the change since last month.
    assert!(page.contains("<h3 id=\"team-vision\">"));
    assert!(page.contains("in 2026-10; ") && page.contains("USD in 2026-09, so "));
    // The charts that have nothing to show are left out, with why: the EUR pools and unallocated charts.
    assert!(!out.join("2026-10/charts/shared-pools-EUR.svg").exists());
    assert!(page.contains("<code>shared-pools-EUR</code>: no shared pool held EUR spend in 2026-10"));
}

#[test]
fn a_one_month_run_leaves_out_the_trend_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let config = fixture("real.toml");
    pack(&out, &["--config", config.to_str().unwrap()], &[&real("EA_AmortizedCost_Small.csv")]);
    let charts: Vec<String> =
        files_under(&out.join("2023-09/charts")).iter().map(|p| p.display().to_string()).collect();
    assert!(!charts.iter().any(|c| c.starts_with("trend-")), "{charts:?}");
    let page = read(&out.join("2023-09/report.html"));
    assert!(page.contains("<code>trend-USD</code>: a trend needs two months or more; this run holds one (2023-09)"));
    assert!(!page.contains("2023-09 to 2023-09"));
}

#[test]
fn the_terminal_says_when_a_split_fell_back_and_explain_names_its_basis() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let text = read(&fixture("attribution.toml"))
        .replace("teams = [\"alpha\", \"beta\", \"gamma\"]", "teams = [\"gamma\", \"epsilon\"]")
        .replace("split = \"even\"", "split = \"proportional\"");
    std::fs::write(&config, text).unwrap();
    let o =
        pack(&dir.path().join("r"), &["--config", config.to_str().unwrap()], &[&fixture("attribution-amortized.csv")]);
    assert!(
        o.contains("shared pool ws-shared (no environment tag): no member of ws-shared had positive direct spend in 2026-01 USD: split evenly"),
        "{o}"
    );
    let mut cmd = mlspend();
    cmd.args(["explain", "--config", "data/sample.toml", "--resource", "mlw-vision"]);
    let (o, e, code) = run(&mut cmd);
    assert_eq!(code, 0, "{e}");
    assert!(o.contains("  amortized cost: "), "{o}");
    cmd = mlspend();
    cmd.args(["explain", "--config", "data/sample.toml", "--resource", "mlw-vision", "--basis", "actual", "--json"]);
    let (o, _, code) = run(&mut cmd);
    assert_eq!(code, 0);
    assert!(o.contains("\"basis\": \"actual\""), "{o}");
}

#[test]
fn categories_of_every_real_ml_row_follow_what_the_row_says() {
    // Made by hand from each row's MeterCategory (EA) or ChargeDescription (FOCUS, whose ServiceCategory for all of
    // Azure ML's rows is "AI and Machine Learning"): (sample, line) -> category. The other samples have no ML rows.
    let expected: BTreeMap<(&str, u64), &str> = [
        (("EA_AmortizedCost_Small.csv", 4), "storage"),  // Storage
        (("EA_AmortizedCost_Small.csv", 10), "network"), // Virtual Network
        (("EA_AmortizedCost_Small.csv", 13), "network"), // Bandwidth
        (("EA_AmortizedCost_Small.csv", 15), "network"), // Bandwidth
        (("EA_AmortizedCost_Small.csv", 16), "network"), // Load Balancer
        (("focus_sample.csv", 956), "storage"),          // Premium SSD Managed Disks - P6 LRS
        (("focus_sample.csv", 963), "network"),          // Load Balancer - Standard Data Processed
        (("focus_sample.csv", 965), "compute"),          // Virtual Machines Dv2/DSv2 Series - D11 v2
        (("focus_sample.csv", 969), "network"),          // Bandwidth Inter-Region
        (("focus_sample.csv", 970), "network"),          // Bandwidth Inter-Region
        (("focus_sample.csv", 975), "network"),          // IP Addresses - Standard IPv4 Static Public IP
        (("focus_sample.csv", 979), "network"),          // Rtn Preference: MGN - Standard Data Transfer Out
        (("focus_sample.csv", 995), "network"),          // IP Addresses
        (("focus_sample.csv", 1000), "network"),         // Rtn Preference: MGN
    ]
    .into_iter()
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut found: BTreeMap<(&str, u64), String> = BTreeMap::new();
    for (name, out, _) in every_sample(dir.path()).iter().filter(|(n, _, _)| n.ends_with(".csv")) {
        // (the bundled sample, long names and many teams are made up: no hand-made table for them)
        for rel in files_under(out).iter().filter(|p| p.ends_with("allocated.jsonl")) {
            for line in read(&out.join(rel)).lines() {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                // (a commitment's purchase or unused capacity is not ML usage, though it may go unallocated)
                if row["x_AllocationMethod"] == "out-of-scope" || row["x_WorkspaceRule"] == "commitment" {
                    continue;
                }
                let key = (
                    expected.keys().map(|k| k.0).find(|n| n == name).unwrap_or("other sample"),
                    row["x_SourceLine"].as_u64().unwrap(),
                );
                assert_ne!(key.0, "other sample", "{name} has ML rows the table doesn't list: line {}", key.1);
                found.insert(key, row["x_ServiceCategory"].as_str().unwrap().to_string());
            }
        }
    }
    let found: BTreeMap<(&str, u64), &str> = found.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(found, expected);
}

#[test]
fn names_from_the_configuration_stay_text_and_teams_keep_their_statement_names() {
    let dir = tempfile::tempdir().unwrap();
    // A project name with markup: text in every page.
    let config = dir.path().join("c.toml");
    std::fs::write(&config, read(&fixture("attribution.toml")).replace("proj-b", "<script>alert(1)</script>")).unwrap();
    let out = dir.path().join("r");
    pack(&out, &["--config", config.to_str().unwrap()], &[&fixture("attribution-amortized.csv")]);
    for rel in files_under(&out).iter().filter(|p| p.extension().is_some_and(|x| x == "html")) {
        let page = read(&out.join(rel));
        assert!(!page.contains("<script"), "{}", rel.display());
    }
    assert!(read(&out.join("2026-01/report.html")).contains("direct: project workspace of &lt;script&gt;"));

    // Two months: "a b" and "a?b" share the safe name a_b; "a?b" has spend in both months, "a b" only in the second,
    // and "a?b" only in USD then only in EUR.
    let config = dir.path().join("two.toml");
    std::fs::write(
        &config,
        "basis = \"amortized\"\n[[workspace]]\nname = \"w1\"\ntopology = \"team\"\nteam = \"a?b\"\n\
         [[workspace]]\nname = \"w2\"\ntopology = \"team\"\nteam = \"a b\"\n",
    )
    .unwrap();
    let id = |ws: &str| {
        format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/{ws}")
    };
    let export = dir.path().join("two.csv");
    std::fs::write(
        &export,
        format!(
            "Date,Cost,BillingCurrency,ResourceId,ResourceName,ResourceGroup,ConsumedService,MeterCategory,Tags\n\
             01/05/2026,10.00,USD,{w1},w1,rg,Microsoft.MachineLearningServices,Virtual Machines,\n\
             02/05/2026,7.00,EUR,{w1},w1,rg,Microsoft.MachineLearningServices,Virtual Machines,\n\
             02/05/2026,3.00,USD,{w2},w2,rg,Microsoft.MachineLearningServices,Virtual Machines,\n",
            w1 = id("w1"),
            w2 = id("w2")
        ),
    )
    .unwrap();
    let out = dir.path().join("two");
    pack(&out, &["--config", config.to_str().unwrap()], &[&export]);
    // The names come from the run's teams, sorted: "a b" is a_b and "a?b" a_b-2, in both months.
    assert!(out.join("2026-01/statements/a_b-2.html").is_file() && !out.join("2026-01/statements/a_b.html").exists());
    assert!(read(&out.join("2026-02/statements/a_b-2.csv")).contains(",a?b,"));
    assert!(read(&out.join("2026-02/statements/a_b.csv")).contains(",a b,"));
    // "a?b"'s USD spend stopped: the February page shows it at zero, down from January.
    let page = read(&out.join("2026-02/report.html"));
    assert!(
        page.contains("<strong>0.00 USD</strong> in 2026-02; 10.00 USD in 2026-01, so down 10.00 (-100.0%)."),
        "{page}"
    );
    assert!(page.contains("<td>USD</td><td class=\"n\">0.00</td><td class=\"n\">0.00</td><td class=\"n\">0.00</td><td class=\"n\">10.00</td><td class=\"n\">-10.00</td><td class=\"n\">-100.0</td>"), "{page}");
    // The Teams table totals each currency.
    assert!(page.contains("<td class=\"w\">all teams</td><td>USD</td><td class=\"n\">3.00</td>"), "{page}");
    // A month's pack shows no later month: January's has no trend (nothing before it), February's runs to February.
    assert!(!out.join("2026-01/charts/trend-USD.svg").exists());
    assert!(read(&out.join("2026-01/report.html")).contains("2026-01 is the first month of this run"));
}
