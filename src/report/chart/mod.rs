//! Charts: plain data in, SVG and PNG out.
//!
//! Takes a [`Chart`] (labels, numbers as display values, the exact label of each bar, and a [`Swatch`] per series)
//! and gives an SVG document or PNG bytes. Both are drawn from one [`scene::Scene`]: every position is computed once,
//! with text measured in DejaVu Sans, the font embedded in the binary, so nothing is cut, no two texts overlap and the
//! PNG is the SVG's picture. Bar charts are horizontal (long names read in full on the left, each bar's total and note
//! in a column on the right, where no gridline crosses them) and stack their series, positive values right of zero
//! and negative ones left; line charts draw one line per series over the months. Colour means one thing: a team.
//! Teams get a colour-blind-safe palette keyed by the team's name ([`TeamColours`]), with a marker shape for lines and
//! a hatch once the palette repeats; everything else (service categories, the topology chart's cost parts) is drawn
//! in greys.

pub mod render;
pub mod scene;

/// A colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Relative luminance (WCAG), for choosing black or white text on this colour.
    pub fn luminance(self) -> f64 {
        let c = |v: u8| {
            let s = v as f64 / 255.0;
            if s <= 0.03928 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(self.0) + 0.7152 * c(self.1) + 0.0722 * c(self.2)
    }

    /// Black or white, whichever reads better on this colour.
    pub fn ink(self) -> Rgb {
        if self.luminance() > 0.22 {
            BLACK
        } else {
            WHITE
        }
    }
}

pub const BLACK: Rgb = Rgb(0x1d, 0x1d, 0x1f);
pub const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
pub const MUTED: Rgb = Rgb(0x55, 0x55, 0x55);
pub const GRID: Rgb = Rgb(0xe3, 0xe3, 0xe3);

/// The Okabe-Ito palette without black: told apart with every common colour-vision deficiency, readable on white.
pub const TEAM_PALETTE: [Rgb; 7] = [
    Rgb(0x00, 0x72, 0xb2), // blue
    Rgb(0xe6, 0x9f, 0x00), // orange
    Rgb(0x00, 0x9e, 0x73), // bluish green
    Rgb(0xd5, 0x5e, 0x00), // vermillion
    Rgb(0x56, 0xb4, 0xe9), // sky blue
    Rgb(0xcc, 0x79, 0xa7), // reddish purple
    Rgb(0xf0, 0xe4, 0x42), // yellow
];

/// Greys for what is not a team: never a team's colour.
pub const NEUTRAL: [Rgb; 4] =
    [Rgb(0x40, 0x40, 0x40), Rgb(0x85, 0x85, 0x85), Rgb(0xb5, 0xb5, 0xb5), Rgb(0xdc, 0xdc, 0xdc)];

/// What a series stands for: the SVG names it (`data-team`, `data-category`) on every shape drawn for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Team(String),
    Category(String),
}

/// How a series is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swatch {
    pub fill: Rgb,
    /// 0: solid; 1..=15: a hatch over the fill, for when the palette repeats: bit 1 rising stripes, 2 falling, 4
    /// horizontal, 8 vertical.
    pub pattern: u8,
    /// The marker shape of a line (0 circle, 1 square, 2 triangle, 3 diamond, 4 triangle down).
    pub marker: u8,
    /// A line's dashes: 0 solid, 1 dashed, 2 dotted.
    pub dash: u8,
    pub key: Key,
}

/// Team colours for a whole run: the same team has the same colour, marker and hatch in every chart and month.
/// A team's place is its rank in the sorted names of all the run's teams (configured or seen), so the colours follow
/// from the names alone and don't depend on which teams a chart happens to show. Up to 7 teams are told apart by
/// colour alone; up to 112 bars by colour and hatch, up to 105 lines by colour, marker and dashes.
#[derive(Debug, Clone, Default)]
pub struct TeamColours {
    teams: Vec<String>,
}

impl TeamColours {
    pub fn new<'a>(teams: impl IntoIterator<Item = &'a str>) -> TeamColours {
        let mut teams: Vec<String> = teams.into_iter().map(str::to_string).collect();
        teams.sort();
        teams.dedup();
        TeamColours { teams }
    }

    pub fn swatch(&self, team: &str) -> Swatch {
        let i = match self.teams.binary_search_by(|t| t.as_str().cmp(team)) {
            Ok(i) => i,
            // Not in the run's list: after every listed team, by its name's bytes, still stable.
            Err(_) => self.teams.len() + team.bytes().map(usize::from).sum::<usize>(),
        };
        Swatch {
            fill: TEAM_PALETTE[i % TEAM_PALETTE.len()],
            pattern: ((i / TEAM_PALETTE.len()) % 16) as u8,
            marker: (i % 5) as u8,
            dash: ((i / 35) % 3) as u8,
            key: Key::Team(team.to_string()),
        }
    }
}

/// A grey swatch for a series that is not a team.
pub fn neutral(name: &str, k: usize) -> Swatch {
    Swatch { fill: NEUTRAL[k % NEUTRAL.len()], pattern: 0, marker: 0, dash: 0, key: Key::Category(name.to_string()) }
}

/// A grey for the `k`-th of many categories: the four greys, then again with a hatch (cost parts of the topology
/// chart, where colour would claim to be a team).
pub fn neutral_hatched(name: &str, k: usize) -> Swatch {
    Swatch { pattern: (k / NEUTRAL.len()) as u8, ..neutral(name, k) }
}

/// One named series of values, one value per category.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// Where to draw each value.
    pub values: Vec<f64>,
    /// Each value as text, exactly (tooltips); a value without one is shown from `values`.
    pub exact: Vec<String>,
    pub swatch: Swatch,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub kind: Kind,
    pub title: String,
    /// The value axis title, naming the currency (`USD, amortized cost`).
    pub value_axis: String,
    /// The currency's decimals: value-axis steps are never finer than one minor unit, so tick labels are distinct.
    pub decimals: u32,
    /// What the categories are (`team`, `billing month`).
    pub category_axis: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Bar charts: the text right of each bar (its exact total, and any note), one per category.
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bars,
    Lines,
}

/// `1234567.891` at 2 decimals -> `1,234,567.89`; never a negative zero.
pub fn amount(v: f64, decimals: u32) -> String {
    crate::text::group_thousands(&format!("{v:.*}", decimals as usize))
}

/// Value-axis ticks over `lo..=hi`: round steps (1, 2 or 5 x 10^k), never finer than `10^-decimals`, at most
/// `max_ticks` of them. Gives (first tick, step, count, label decimals).
pub fn ticks(lo: f64, hi: f64, decimals: u32, max_ticks: usize) -> (f64, f64, usize, u32) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo.min(hi), lo.max(hi)) } else { (0.0, 0.0) };
    let min_step = 10f64.powi(-(decimals.min(9) as i32));
    let span = if hi - lo > 0.0 { hi - lo } else { min_step.max(1.0) };
    let target = (max_ticks.max(2) - 1) as f64;
    let raw = (span / target).max(min_step);
    let mut exp = raw.log10().floor() as i32;
    let mut step;
    loop {
        let base = 10f64.powi(exp);
        step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * base).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * base);
        if step >= min_step * (1.0 - 1e-9) {
            break;
        }
        exp += 1;
    }
    let first = (lo / step).floor() * step;
    let mut count = ((hi - first) / step - 1e-9).ceil().max(1.0) as usize + 1;
    if hi - lo <= 0.0 && lo == 0.0 {
        count = count.max(2);
    }
    let label_decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as u32 };
    (first, step, count, label_decimals.min(decimals.max(label_decimals)))
}

impl Chart {
    /// The same chart with every text printable: control characters (a NUL or an escape in a tag value) become
    /// U+FFFD, so the SVG stays well-formed XML and the PNG draws no garbage. A line feed stays: it breaks a label.
    fn printable(&self) -> Chart {
        let clean = |t: &String| -> String {
            if t.chars().any(|c| c.is_control() && c != '\n') {
                t.chars().map(|c| if c.is_control() && c != '\n' { '\u{fffd}' } else { c }).collect()
            } else {
                t.clone()
            }
        };
        let key = |k: &Key| match k {
            Key::Team(t) => Key::Team(clean(t)),
            Key::Category(c) => Key::Category(clean(c)),
        };
        Chart {
            kind: self.kind,
            title: clean(&self.title),
            value_axis: clean(&self.value_axis),
            decimals: self.decimals,
            category_axis: clean(&self.category_axis),
            categories: self.categories.iter().map(clean).collect(),
            series: self
                .series
                .iter()
                .map(|s| Series {
                    name: clean(&s.name),
                    values: s.values.clone(),
                    exact: s.exact.clone(),
                    swatch: Swatch { key: key(&s.swatch.key), ..s.swatch.clone() },
                })
                .collect(),
            labels: self.labels.iter().map(clean).collect(),
        }
    }

    /// The chart laid out once, and drawn as SVG; the PNG is drawn from the same layout when it is written.
    pub fn draw(&self) -> Drawn {
        let scene = scene::layout(&self.printable());
        let svg = render::svg(&scene);
        Drawn { scene, svg }
    }
}

/// A chart laid out: every shape and text placed, and the SVG of them.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub scene: scene::Scene,
    pub svg: String,
}

impl Drawn {
    /// The PNG of the same picture, at the SVG's size.
    pub fn png(&self) -> Result<Vec<u8>, String> {
        render::png(&self.scene)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_and_never_negative_zero() {
        assert_eq!(amount(1234567.891, 2), "1,234,567.89");
        assert_eq!(amount(-12.5, 2), "-12.50");
        assert_eq!(amount(-0.001, 2), "0.00");
        assert_eq!(amount(-0.0, 0), "0");
        assert_eq!(amount(999.999, 2), "1,000.00");
        assert_eq!(amount(-1500.0, 0), "-1,500");
    }

    #[test]
    fn ticks_are_round_and_distinct() {
        for (lo, hi, d) in [
            (0.0, 0.02, 2),
            (0.0, 0.0, 2),
            (-0.15, 0.0, 2),
            (0.0, 33876.88, 2),
            (-442.61, 985.85, 2),
            (0.0, 1e-9, 2),
            (0.0, 7.0, 0),
            (0.0, 123456789.0, 2),
            (-5.0, -5.0, 2),
        ] {
            for max in [3, 5, 8] {
                let (first, step, n, ld) = ticks(lo, hi, d, max);
                let labels: Vec<String> = (0..n).map(|i| amount(first + step * i as f64, ld)).collect();
                let mut unique = labels.clone();
                unique.dedup();
                assert_eq!(unique, labels, "{lo}..{hi} at {d}: {labels:?}");
                assert!(n <= max.max(2) + 1, "{lo}..{hi}: {n} ticks for {max}");
                assert!(first <= lo.min(hi) + 1e-9 && first + step * (n - 1) as f64 >= hi.max(lo) - 1e-9, "{labels:?}");
                let mantissa = step / 10f64.powi(step.log10().floor() as i32);
                assert!([1.0, 2.0, 5.0].iter().any(|m| (m - mantissa).abs() < 1e-6), "step {step}");
                assert!(labels.iter().all(|l| !(l.starts_with('-') && l[1..].bytes().all(|b| b == b'0' || b == b'.'))));
            }
        }
        let (first, step, n, ld) = ticks(0.0, 0.02, 2, 8);
        let labels: Vec<String> = (0..n).map(|i| amount(first + step * i as f64, ld)).collect();
        assert_eq!(labels, ["0.00", "0.01", "0.02"]);
    }

    #[test]
    fn team_colours_follow_names() {
        let a = TeamColours::new(["vision", "nlp", "growth"]);
        let b = TeamColours::new(["nlp", "growth", "vision", "vision"]);
        for t in ["vision", "nlp", "growth"] {
            assert_eq!(a.swatch(t), b.swatch(t));
        }
        assert_ne!(a.swatch("vision").fill, a.swatch("nlp").fill);
        let names: Vec<String> = (0..105).map(|i| format!("t{i:03}")).collect();
        let many = TeamColours::new(names.iter().map(String::as_str));
        let bars: std::collections::HashSet<(Rgb, u8)> =
            names.iter().map(|t| many.swatch(t)).map(|s| (s.fill, s.pattern)).collect();
        let lines: std::collections::HashSet<(Rgb, u8, u8)> =
            names.iter().map(|t| many.swatch(t)).map(|s| (s.fill, s.marker, s.dash)).collect();
        assert_eq!((bars.len(), lines.len()), (105, 105), "105 teams look different as bars and as lines");
        assert!(TEAM_PALETTE.iter().all(|c| !NEUTRAL.contains(c)));
    }
}
