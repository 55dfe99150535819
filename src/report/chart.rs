//! Charts: plain data in, SVG and PNG out.
//!
//! Takes a [`Chart`] (labels and numbers, no DataFrames and no money types: amounts arrive as display values) and
//! gives an SVG document or PNG bytes. Bar charts stack their series (positive values up from zero, negative values
//! down), print each bar's total above it, and may carry a note per bar; line charts draw one line per series. Every
//! chart has a title, a value axis naming its currency, and a legend. PNG text is drawn from DejaVu Sans embedded in
//! the binary, so a machine without fonts renders the same picture. Zero categories, forty, long names and negative
//! totals all render.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::Once;

/// One named series of values, one value per category.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub kind: Kind,
    pub title: String,
    /// The value axis title, naming the currency (`USD, amortized`).
    pub value_axis: String,
    pub category_axis: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Optional text under each bar's total (bar charts).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    StackedBars,
    Lines,
}

/// Tableau 10 and two more: distinguishable, and readable on white.
const PALETTE: [RGBColor; 12] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
    RGBColor(31, 119, 180),
    RGBColor(148, 103, 189),
];

const FONT: &str = "sans-serif";
const LABEL_MAX: usize = 28;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // DejaVu Sans is a valid TrueType font; if registration failed, text would be skipped, not panic.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// A label cut to a readable length.
pub fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_MAX {
        label.to_string()
    } else {
        label.chars().take(LABEL_MAX - 1).collect::<String>() + "…"
    }
}

/// `1234567.891` -> `1,234,567.89`.
pub fn amount(v: f64) -> String {
    let text = format!("{:.2}", v.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && text != "0.00" { "-" } else { "" };
    format!("{sign}{grouped}.{frac}")
}

impl Chart {
    /// Pixel size: wider with more categories, taller when labels are rotated.
    pub fn size(&self) -> (u32, u32) {
        let n = self.categories.len() as u32;
        let width = (260 + 70 * n).clamp(900, 3600);
        let height = if self.rotated() { 700 } else { 560 };
        (width, height)
    }

    /// Category labels turn vertical when the widest would not fit its slot (about 7.5 px a character at 13 px).
    fn rotated(&self) -> bool {
        let n = self.categories.len().max(1) as f64;
        let slot = (260.0 + 70.0 * n).clamp(900.0, 3600.0) - 360.0;
        let widest = self.categories.iter().map(|c| short(c).chars().count()).max().unwrap_or(0) as f64 * 7.5;
        widest > slot / n * 0.9
    }

    fn totals(&self) -> (Vec<f64>, f64, f64) {
        let n = self.categories.len();
        let mut top = vec![0.0f64; n];
        let mut bottom = vec![0.0f64; n];
        let mut total = vec![0.0f64; n];
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for s in &self.series {
            for (i, v) in s.values.iter().enumerate().take(n) {
                if !v.is_finite() {
                    continue;
                }
                total[i] += v;
                match self.kind {
                    Kind::StackedBars => {
                        if *v >= 0.0 {
                            top[i] += v;
                        } else {
                            bottom[i] += v;
                        }
                        hi = hi.max(top[i]);
                        lo = lo.min(bottom[i]);
                    }
                    Kind::Lines => {
                        hi = hi.max(*v);
                        lo = lo.min(*v);
                    }
                }
            }
        }
        if hi == lo {
            hi = lo + 1.0;
        }
        // Room above the bars for their totals and notes.
        let pad = (hi - lo) * 0.25;
        (total, if lo < 0.0 { lo - pad } else { 0.0 }, hi + pad)
    }

    /// The same chart with every text printable: control characters (a NUL or an escape in a tag value) become
    /// U+FFFD, so the SVG stays well-formed XML and the PNG draws no garbage.
    fn printable(&self) -> Chart {
        let clean = |t: &String| -> String {
            if t.chars().any(|c| c.is_control() && c != '\n') {
                t.chars().map(|c| if c.is_control() && c != '\n' { '\u{fffd}' } else { c }).collect()
            } else {
                t.clone()
            }
        };
        Chart {
            kind: self.kind,
            title: clean(&self.title),
            value_axis: clean(&self.value_axis),
            category_axis: clean(&self.category_axis),
            categories: self.categories.iter().map(clean).collect(),
            series: self.series.iter().map(|s| Series { name: clean(&s.name), values: s.values.clone() }).collect(),
            notes: self.notes.iter().map(clean).collect(),
        }
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String, String> {
        register_font();
        let chart = self.printable();
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, chart.size()).into_drawing_area();
            chart.draw(&root).map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(out)
    }

    /// The chart as PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>, String> {
        register_font();
        let (w, h) = self.size();
        let mut pixels = vec![255u8; (w * h * 3) as usize];
        let chart = self.printable();
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            chart.draw(&root).map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        let mut png = Vec::new();
        use image::ImageEncoder;
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&pixels, w, h, image::ColorType::Rgb8)
            .map_err(|e| e.to_string())?;
        Ok(png)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let (w, _) = root.dim_in_pixel();
        let titled = root.titled(&self.title, (FONT, 22).into_font().style(FontStyle::Bold))?;
        let legend_width = 230u32.min(w / 3);
        let (plot, legend) = titled.split_horizontally(w - legend_width);
        self.draw_legend(&legend)?;
        let n = self.categories.len();
        if n == 0 || self.series.is_empty() {
            plot.draw(&Text::new(
                "no data for this month".to_string(),
                (40, 60),
                (FONT, 18).into_font().color(&BLACK),
            ))?;
            return Ok(());
        }
        let (totals, lo, hi) = self.totals();
        let bottom_margin = if self.rotated() { 210 } else { 60 };
        let mut chart = ChartBuilder::on(&plot)
            .margin(16)
            .x_label_area_size(bottom_margin)
            .y_label_area_size(100)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..hi)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(0)
            .y_labels(8)
            .y_label_formatter(&|v| amount(*v))
            .y_desc(self.value_axis.clone())
            .axis_desc_style((FONT, 15))
            .label_style((FONT, 13))
            .draw()?;
        match self.kind {
            Kind::StackedBars => {
                let mut top = vec![0.0f64; n];
                let mut bottom = vec![0.0f64; n];
                for (k, s) in self.series.iter().enumerate() {
                    let color = PALETTE[k % PALETTE.len()];
                    let rects: Vec<Rectangle<(f64, f64)>> = s
                        .values
                        .iter()
                        .enumerate()
                        .take(n)
                        .filter(|(_, v)| v.is_finite() && **v != 0.0)
                        .map(|(i, v)| {
                            let (a, b) = if *v >= 0.0 {
                                top[i] += v;
                                (top[i] - v, top[i])
                            } else {
                                bottom[i] += v;
                                (bottom[i], bottom[i] - v)
                            };
                            Rectangle::new([(i as f64 - 0.35, a), (i as f64 + 0.35, b)], color.filled())
                        })
                        .collect();
                    chart.draw_series(rects)?;
                }
                chart
                    .draw_series(std::iter::once(PathElement::new(vec![(-0.5, 0.0), (n as f64 - 0.5, 0.0)], BLACK)))?;
                // Each bar's total, and its note, just above the bar (anchored by their top edge).
                let style = (FONT, 13).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
                for (i, t) in totals.iter().enumerate() {
                    let y = top[i].max(0.0);
                    let (px, py) = chart.backend_coord(&(i as f64, y));
                    let mut lines = vec![amount(*t)];
                    if let Some(note) = self.notes.get(i).filter(|s| !s.is_empty()) {
                        lines.extend(note.lines().map(String::from));
                    }
                    // ab_glyph draws the glyphs about 30 px under a top anchor: leave room for it.
                    let height = 17 * lines.len() as i32 + 30;
                    for (j, line) in lines.iter().enumerate() {
                        plot.draw(&Text::new(line.clone(), (px, py - 4 - height + 17 * j as i32), style.clone()))?;
                    }
                }
            }
            Kind::Lines => {
                for (k, s) in self.series.iter().enumerate() {
                    let color = PALETTE[k % PALETTE.len()];
                    let points: Vec<(f64, f64)> = s
                        .values
                        .iter()
                        .enumerate()
                        .take(n)
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, v)| (i as f64, *v))
                        .collect();
                    chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?;
                    chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
                }
            }
        }
        // Category labels under the axis, rotated when there are many or they are long.
        let rotated = self.rotated();
        for (i, label) in self.categories.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64, lo));
            let text = short(label);
            if rotated {
                let style = (FONT, 13).into_font().transform(FontTransform::Rotate90).color(&BLACK);
                plot.draw(&Text::new(text, (px + 6, py + 8), style))?;
            } else {
                let style = (FONT, 13).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
                plot.draw(&Text::new(text, (px, py + 8), style))?;
            }
        }
        let (pw, ph) = plot.dim_in_pixel();
        let desc = (FONT, 15).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
        plot.draw(&Text::new(self.category_axis.clone(), (pw as i32 / 2, ph as i32 - 6), desc))?;
        Ok(())
    }

    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let style = (FONT, 13).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(
            "legend".to_string(),
            (10, 30),
            (FONT, 14).into_font().style(FontStyle::Bold).color(&BLACK),
        ))?;
        for (k, s) in self.series.iter().enumerate() {
            let y = 60 + 22 * k as i32;
            let color = PALETTE[k % PALETTE.len()];
            area.draw(&Rectangle::new([(10, y - 7), (24, y + 7)], color.filled()))?;
            area.draw(&Text::new(short(&s.name), (32, y), style.clone()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped() {
        assert_eq!(amount(1234567.891), "1,234,567.89");
        assert_eq!(amount(-12.5), "-12.50");
        assert_eq!(amount(-0.001), "0.00");
        assert_eq!(amount(999.999), "1,000.00");
    }

    fn bars(categories: Vec<String>, series: Vec<Series>) -> Chart {
        Chart {
            kind: Kind::StackedBars,
            title: "Spend by team, 2026-08 (amortized cost, USD)".into(),
            value_axis: "USD, amortized cost".into(),
            category_axis: "team".into(),
            categories,
            series,
            notes: vec![],
        }
    }

    /// Whether the SVG has a text element holding exactly `text`.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    fn png_size(bytes: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png).expect("a PNG");
        (img.width(), img.height())
    }

    #[test]
    fn svg_holds_labels_axis_titles_and_values() {
        let chart = bars(
            vec!["vision".into(), "nlp".into()],
            vec![
                Series { name: "compute".into(), values: vec![1200.5, 300.0] },
                Series { name: "storage".into(), values: vec![10.0, 2.25] },
            ],
        );
        let svg = chart.svg().unwrap();
        for text in [
            "vision",
            "nlp",
            "compute",
            "storage",
            "USD, amortized cost",
            "team",
            "1,210.50",
            "302.25",
            chart.title.as_str(),
        ] {
            assert!(has_text(&svg, text), "{text}");
        }
        assert_eq!(png_size(&chart.png().unwrap()), chart.size());
    }

    #[test]
    fn awkward_shapes_render() {
        let long = "a-team-with-a-very-long-name-indeed-and-more";
        let cases = vec![
            bars(vec![], vec![]),
            bars(vec!["solo".into()], vec![Series { name: "compute".into(), values: vec![5.0] }]),
            bars(
                (0..40).map(|i| format!("team-{i:02}")).collect(),
                vec![Series { name: "compute".into(), values: (0..40).map(|i| i as f64 * 10.0).collect() }],
            ),
            bars(vec![long.into(), "x".into()], vec![Series { name: long.into(), values: vec![1.0, 2.0] }]),
            bars(
                vec!["refunds".into(), "mixed".into()],
                vec![
                    Series { name: "a".into(), values: vec![-50.0, 20.0] },
                    Series { name: "b".into(), values: vec![-5.0, -30.0] },
                ],
            ),
            bars(vec!["zero".into()], vec![Series { name: "a".into(), values: vec![0.0] }]),
            Chart {
                kind: Kind::Lines,
                ..bars(vec!["2026-08".into()], vec![Series { name: "vision".into(), values: vec![-3.0] }])
            },
        ];
        for chart in cases {
            let svg = chart.svg().unwrap();
            assert!(svg.starts_with("<svg"), "{}", chart.title);
            assert_eq!(png_size(&chart.png().unwrap()), chart.size());
        }
        let wide = bars((0..40).map(|i| format!("team-{i:02}")).collect(), vec![]);
        assert!(wide.size().0 > 2000, "forty teams get a wider chart");
        let negative = bars(vec!["r".into()], vec![Series { name: "a".into(), values: vec![-50.0] }]);
        assert!(has_text(&negative.svg().unwrap(), "-50.00"));
        let cut = bars(vec![long.into()], vec![Series { name: "a".into(), values: vec![1.0] }]).svg().unwrap();
        assert!(has_text(&cut, "a-team-with-a-very-long-nam…"));
    }

    #[test]
    fn long_labels_are_cut() {
        assert_eq!(short("a-very-long-team-name-that-goes-on-and-on").chars().count(), 28);
        assert_eq!(short("vision"), "vision");
    }
}
