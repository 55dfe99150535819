//! Layout: a [`Chart`] placed as shapes and texts, in pixels, once for both SVG and PNG.
//!
//! Every text is measured ([`render::text_width`]) before it is placed: names wrap instead of being cut, value-axis
//! labels are spaced by their widths, and each bar's total and note sit in their own column beside the plot.

use super::render::{ascent, descent, text_width, wrap};
use super::{amount, ticks, Chart, Key, Kind, Rgb, Swatch, BLACK, GRID, MUTED, WHITE};

/// Where a text's `x` is: its left end, middle or right end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// One line of text; `y` is its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub x: f64,
    pub y: f64,
    pub size: f64,
    pub bold: bool,
    pub anchor: Anchor,
    pub color: Rgb,
    pub text: String,
    /// A value-axis tick label (the SVG marks it `class="tick"`).
    pub tick: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `pattern`: the hatch drawn over it (as separate lines), named in the SVG.
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: Rgb,
        pattern: u8,
        key: Option<Key>,
        tip: Option<String>,
    },
    /// `dash`: 0 solid, 1 dashed, 2 dotted.
    Line {
        points: Vec<(f64, f64)>,
        color: Rgb,
        width: f64,
        dash: u8,
        key: Option<Key>,
    },
    Marker {
        x: f64,
        y: f64,
        r: f64,
        shape: u8,
        fill: Rgb,
        key: Option<Key>,
        tip: Option<String>,
    },
    Text(Text),
}

/// A placed chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub items: Vec<Item>,
}

const WIDTH: f64 = 960.0;
const PAD: f64 = 20.0;
const TITLE: f64 = 18.0;
const BODY: f64 = 13.0;
const SMALL: f64 = 12.0;
const LINE: f64 = 17.0;

/// A text's size, weight (bold or not) and colour.
#[derive(Clone, Copy)]
struct Look(f64, bool, Rgb);

/// The texts of a row of bars: its category's lines, and its label's lines (bold or not).
type RowTexts = (Vec<String>, Vec<(String, bool)>);

struct Canvas {
    items: Vec<Item>,
}

impl Canvas {
    fn text(&mut self, x: f64, y: f64, look: Look, anchor: Anchor, text: &str) {
        if text.is_empty() {
            return;
        }
        let Look(size, bold, color) = look;
        self.items.push(Item::Text(Text { x, y, size, bold, anchor, color, text: text.to_string(), tick: false }));
    }

    fn tick(&mut self, x: f64, y: f64, anchor: Anchor, text: &str) {
        self.text(x, y, Look(SMALL, false, MUTED), anchor, text);
        if let Some(Item::Text(t)) = self.items.last_mut() {
            t.tick = true;
        }
    }

    /// A solid straight line of no series: a gridline, the zero line, a hatch stripe.
    fn rule(&mut self, from: (f64, f64), to: (f64, f64), color: Rgb, width: f64) {
        self.items.push(Item::Line { points: vec![from, to], color, width, dash: 0, key: None });
    }

    /// A filled rectangle for a series, with its hatch when the swatch has one.
    fn swatch_rect(&mut self, x: f64, y: f64, w: f64, h: f64, s: &Swatch, tip: Option<String>) {
        self.items.push(Item::Rect { x, y, w, h, fill: s.fill, pattern: s.pattern, key: Some(s.key.clone()), tip });
        if s.pattern > 0 {
            let ink = if s.fill.luminance() > 0.3 { BLACK } else { WHITE };
            for (a, b) in hatch(x, y, w, h, s.pattern) {
                self.rule(a, b, ink, 1.0);
            }
        }
    }
}

/// Stripes across a rectangle, 7 px apart: pattern bit 1 rising, 2 falling, 4 horizontal, 8 vertical.
fn hatch(x: f64, y: f64, w: f64, h: f64, pattern: u8) -> Vec<((f64, f64), (f64, f64))> {
    let mut out = Vec::new();
    let gap = 7.0;
    for rising in [true, false] {
        if (rising && pattern & 1 == 0) || (!rising && pattern & 2 == 0) {
            continue;
        }
        // Lines x + y = c (rising) or x - y = c (falling), clipped to the rectangle.
        let mut c = gap / 2.0;
        while c < w + h {
            let (x0, x1) = ((c - h).max(0.0), c.min(w));
            if x1 > x0 {
                let (p, q) = if rising {
                    ((x + x0, y + h - (c - x0)), (x + x1, y + h - (c - x1)))
                } else {
                    ((x + x0, y + (c - x0)), (x + x1, y + (c - x1)))
                };
                out.push((p, q));
            }
            c += gap;
        }
    }
    if pattern & 4 != 0 {
        let mut k = gap / 2.0;
        while k < h {
            out.push(((x, y + k), (x + w, y + k)));
            k += gap;
        }
    }
    if pattern & 8 != 0 {
        let mut k = gap / 2.0;
        while k < w {
            out.push(((x + k, y), (x + k, y + h)));
            k += gap;
        }
    }
    out
}

/// The title, wrapped; gives the y under it.
fn title(c: &mut Canvas, chart: &Chart) -> f64 {
    let mut y = PAD + ascent(TITLE);
    for line in wrap(&chart.title, TITLE, true, WIDTH - 2.0 * PAD, 3) {
        c.text(PAD, y, Look(TITLE, true, BLACK), Anchor::Start, &line);
        y += TITLE * 1.35;
    }
    y - TITLE * 1.35 + descent(TITLE) + 12.0
}

/// The legend under the title: one item per series, flowing left to right; gives the y under it.
fn legend(c: &mut Canvas, chart: &Chart, top: f64) -> f64 {
    let lines_chart = chart.kind == Kind::Lines;
    let mark = if lines_chart { 26.0 } else { 14.0 };
    let max_label = WIDTH - 2.0 * PAD - mark - 8.0;
    let (mut x, mut y, mut row_height) = (PAD, top, 0.0f64);
    for s in &chart.series {
        let lines = wrap(&s.name, BODY, false, max_label.min(420.0), 6);
        let label_w = lines.iter().map(|l| text_width(l, BODY, false)).fold(0.0, f64::max);
        let item_w = mark + 6.0 + label_w;
        if x > PAD && x + item_w > WIDTH - PAD {
            x = PAD;
            y += row_height + 6.0;
            row_height = 0.0;
        }
        let first = y + ascent(BODY);
        let mid = first - ascent(BODY) / 2.0 + 1.0;
        if lines_chart {
            c.items.push(Item::Line {
                points: vec![(x, mid), (x + mark, mid)],
                color: s.swatch.fill,
                width: 2.5,
                dash: s.swatch.dash,
                key: Some(s.swatch.key.clone()),
            });
            c.items.push(Item::Marker {
                x: x + mark / 2.0,
                y: mid,
                r: 4.5,
                shape: s.swatch.marker,
                fill: s.swatch.fill,
                key: Some(s.swatch.key.clone()),
                tip: None,
            });
        } else {
            c.swatch_rect(x, mid - 7.0, 14.0, 14.0, &s.swatch, None);
        }
        for (j, l) in lines.iter().enumerate() {
            c.text(x + mark + 6.0, first + LINE * j as f64, Look(BODY, false, BLACK), Anchor::Start, l);
        }
        row_height = row_height.max(LINE * lines.len() as f64);
        x += item_w + 22.0;
    }
    if chart.series.is_empty() {
        return top;
    }
    y + row_height + 10.0
}

/// Value-axis ticks that fit `pixels` with labels at least `gap` px apart (measured), at most 9.
fn fitted_ticks(lo: f64, hi: f64, decimals: u32, pixels: f64, gap: f64, along: bool) -> (f64, f64, usize, u32) {
    let mut best = ticks(lo, hi, decimals, 2);
    for max in (2..=9).rev() {
        let t = ticks(lo, hi, decimals, max);
        let (first, step, n, d) = t;
        let labels: Vec<String> = (0..n).map(|i| amount(first + step * i as f64, d)).collect();
        let widest =
            if along { labels.iter().map(|l| text_width(l, SMALL, false)).fold(0.0, f64::max) } else { SMALL * 1.2 };
        if pixels / (n.max(2) - 1) as f64 >= widest + gap {
            best = t;
            break;
        }
    }
    best
}

/// The chart placed.
pub fn layout(chart: &Chart) -> Scene {
    let mut c = Canvas { items: Vec::new() };
    let top = title(&mut c, chart);
    let top = legend(&mut c, chart, top);
    let height = match chart.kind {
        Kind::Bars => bars(&mut c, chart, top),
        Kind::Lines => lines(&mut c, chart, top),
    };
    Scene { title: chart.title.clone(), width: WIDTH as u32, height: height.ceil() as u32, items: c.items }
}

fn bars(c: &mut Canvas, chart: &Chart, top: f64) -> f64 {
    let n = chart.categories.len();
    if n == 0 {
        c.text(PAD, top + ascent(BODY), Look(BODY, false, MUTED), Anchor::Start, "nothing to show");
        return top + LINE + PAD;
    }
    // Column widths: category names on the left, each bar's label on the right, the plot between.
    // (the column's header, the category axis title, fits above it too)
    let header_w = text_width(&chart.category_axis, SMALL, true).max(40.0);
    let label_w = chart.categories.iter().map(|t| text_width(t, BODY, false)).fold(header_w, f64::max).min(260.0);
    let mut note_w = chart
        .labels
        .iter()
        .flat_map(|l| l.split('\n').enumerate())
        .map(|(k, t)| text_width(t, BODY, k == 0))
        .fold(0.0, f64::max)
        .min(340.0);
    let min_plot = 320.0;
    if WIDTH - 2.0 * PAD - label_w - note_w - 24.0 < min_plot {
        note_w = (WIDTH - 2.0 * PAD - label_w - 24.0 - min_plot).max(80.0);
    }
    let x0 = PAD + label_w + 12.0;
    let x1 = WIDTH - PAD - (note_w + 12.0).max(40.0);

    // Stacked extents.
    let mut pos = vec![0.0f64; n];
    let mut neg = vec![0.0f64; n];
    for s in &chart.series {
        for (i, v) in s.values.iter().enumerate().take(n).filter(|(_, v)| v.is_finite()) {
            if *v >= 0.0 {
                pos[i] += v;
            } else {
                neg[i] += v;
            }
        }
    }
    let hi = pos.iter().copied().fold(0.0, f64::max);
    let lo = neg.iter().copied().fold(0.0, f64::min);
    let (first, step, count, d) = fitted_ticks(lo, hi, chart.decimals, x1 - x0, 16.0, true);
    let last = first + step * (count - 1) as f64;
    let sx = |v: f64| x0 + (v - first) / (last - first) * (x1 - x0);

    // Header of the category column.
    let header_y = top + ascent(SMALL);
    c.text(x0 - 10.0, header_y, Look(SMALL, true, MUTED), Anchor::End, &chart.category_axis);
    let rows_top = header_y + descent(SMALL) + 6.0;

    // Rows: heights from their wrapped texts.
    let wrapped: Vec<RowTexts> = (0..n)
        .map(|i| {
            let names = wrap(&chart.categories[i], BODY, false, label_w, 8);
            // A bar's label: its total in bold, then its note.
            let mut notes: Vec<(String, bool)> = Vec::new();
            for (k, part) in chart.labels.get(i).map(String::as_str).unwrap_or("").split('\n').enumerate() {
                let bold = k == 0;
                notes.extend(wrap(part, BODY, bold, note_w.max(60.0), 6).into_iter().map(|l| (l, bold)));
            }
            (names, notes)
        })
        .collect();
    let heights: Vec<f64> =
        wrapped.iter().map(|(a, b)| (LINE * a.len().max(b.len()) as f64 + 14.0).max(34.0)).collect();
    let rows_bottom = rows_top + heights.iter().sum::<f64>();

    // Gridlines and the zero line, behind the bars.
    for k in 0..count {
        let x = sx(first + step * k as f64);
        c.rule((x, rows_top), (x, rows_bottom), GRID, 1.0);
    }
    if lo < 0.0 || first < 0.0 {
        let z = sx(0.0);
        c.rule((z, rows_top), (z, rows_bottom), BLACK, 1.5);
    }

    let mut y = rows_top;
    for (i, h) in heights.iter().enumerate() {
        let mid = y + h / 2.0;
        let (names, notes) = &wrapped[i];
        let block = |k: usize| mid - LINE * k as f64 / 2.0 + ascent(BODY) - 2.0;
        let start = block(names.len());
        for (j, l) in names.iter().enumerate() {
            c.text(x0 - 10.0, start + LINE * j as f64, Look(BODY, false, BLACK), Anchor::End, l);
        }
        let start = block(notes.len());
        for (j, (l, bold)) in notes.iter().enumerate() {
            let color = if *bold { BLACK } else { MUTED };
            c.text(x1 + 12.0, start + LINE * j as f64, Look(BODY, *bold, color), Anchor::Start, l);
        }
        let thick = 20.0f64.min(h - 12.0);
        let (mut p, mut q) = (0.0f64, 0.0f64);
        for s in &chart.series {
            let Some(v) = s.values.get(i).copied().filter(|v| v.is_finite() && *v != 0.0) else { continue };
            let (a, b) = if v > 0.0 {
                p += v;
                (p - v, p)
            } else {
                q += v;
                (q, q - v)
            };
            let (left, right) = (sx(a), sx(b));
            let w = (right - left).max(1.0);
            let value = s.exact.get(i).cloned().unwrap_or_else(|| amount(v, chart.decimals));
            let tip = format!("{} · {}: {}", chart.categories[i], s.name, value);
            c.swatch_rect(left, mid - thick / 2.0, w, thick, &s.swatch, Some(tip));
            // The series' name inside its segment when it fits, so colour alone never carries the meaning.
            let size = 11.0;
            if chart.series.len() > 1 && text_width(&s.name, size, false) + 10.0 <= w && s.swatch.pattern == 0 {
                let ty = mid + (ascent(size) - descent(size)) / 2.0;
                c.text(left + w / 2.0, ty, Look(size, false, s.swatch.fill.ink()), Anchor::Middle, &s.name);
            }
        }
        y += h;
    }

    // The value axis under the rows: tick labels kept inside the chart, then its title.
    let label_y = rows_bottom + 8.0 + ascent(SMALL);
    for k in 0..count {
        let v = first + step * k as f64;
        let text = amount(v, d);
        let w = text_width(&text, SMALL, false);
        let x = sx(v).clamp(PAD + w / 2.0, WIDTH - PAD - w / 2.0);
        c.tick(x, label_y, Anchor::Middle, &text);
    }
    let axis_y = label_y + descent(SMALL) + 8.0 + ascent(BODY);
    c.text((x0 + x1) / 2.0, axis_y, Look(BODY, false, BLACK), Anchor::Middle, &chart.value_axis);
    axis_y + descent(BODY) + PAD
}

fn lines(c: &mut Canvas, chart: &Chart, top: f64) -> f64 {
    let n = chart.categories.len();
    let values = chart.series.iter().flat_map(|s| s.values.iter().take(n)).copied().filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let plot_h = 300.0;
    let (first, step, count, d) = fitted_ticks(lo, hi, chart.decimals, plot_h, 22.0, false);
    let last = first + step * (count - 1) as f64;
    let labels: Vec<String> = (0..count).map(|k| amount(first + step * k as f64, d)).collect();
    let y_label_w = labels.iter().map(|l| text_width(l, SMALL, false)).fold(0.0, f64::max);

    // The value axis' title above the plot, horizontal.
    let title_y = top + ascent(SMALL);
    c.text(PAD, title_y, Look(SMALL, true, MUTED), Anchor::Start, &chart.value_axis);
    let plot_top = title_y + descent(SMALL) + 14.0;
    let plot_bottom = plot_top + plot_h;
    let x0 = PAD + y_label_w + 10.0;
    let x1 = WIDTH - PAD - 10.0;
    let sy = |v: f64| plot_bottom - (v - first) / (last - first) * plot_h;

    for (k, label) in labels.iter().enumerate() {
        let v = first + step * k as f64;
        let y = sy(v);
        let color = if v == 0.0 { Rgb(0x99, 0x99, 0x99) } else { GRID };
        c.rule((x0, y), (x1, y), color, 1.0);
        c.tick(x0 - 8.0, y + (ascent(SMALL) - descent(SMALL)) / 2.0, Anchor::End, label);
    }

    let slot = (x1 - x0) / n.max(1) as f64;
    let sx = |i: usize| x0 + slot * (i as f64 + 0.5);
    for s in &chart.series {
        let points: Vec<(f64, f64)> =
            s.values.iter().enumerate().take(n).filter(|(_, v)| v.is_finite()).map(|(i, v)| (sx(i), sy(*v))).collect();
        if points.len() > 1 {
            c.items.push(Item::Line {
                points: points.clone(),
                color: s.swatch.fill,
                width: 2.5,
                dash: s.swatch.dash,
                key: Some(s.swatch.key.clone()),
            });
        }
        for (i, v) in s.values.iter().enumerate().take(n).filter(|(_, v)| v.is_finite()) {
            c.items.push(Item::Marker {
                x: sx(i),
                y: sy(*v),
                r: 4.5,
                shape: s.swatch.marker,
                fill: s.swatch.fill,
                key: Some(s.swatch.key.clone()),
                tip: Some(format!(
                    "{} · {}: {}",
                    s.name,
                    chart.categories[i],
                    s.exact.get(i).cloned().unwrap_or_else(|| amount(*v, chart.decimals))
                )),
            });
        }
    }

    // Month labels under the plot, every k-th one when they would crowd.
    let widest = chart.categories.iter().map(|t| text_width(t, SMALL, false)).fold(0.0, f64::max);
    let every = ((widest + 14.0) / slot).ceil().max(1.0) as usize;
    let label_y = plot_bottom + 8.0 + ascent(SMALL);
    for (i, t) in chart.categories.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let lines = wrap(t, SMALL, false, slot * every as f64 - 8.0, 1);
        c.text(sx(i), label_y, Look(SMALL, false, MUTED), Anchor::Middle, &lines[0]);
    }
    let axis_y = label_y + descent(SMALL) + 8.0 + ascent(BODY);
    c.text((x0 + x1) / 2.0, axis_y, Look(BODY, false, BLACK), Anchor::Middle, &chart.category_axis);
    axis_y + descent(BODY) + PAD
}
