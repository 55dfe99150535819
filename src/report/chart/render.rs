//! A [`Scene`] as SVG text or PNG bytes, and the font metrics both are laid out with.
//!
//! Text is measured and drawn with DejaVu Sans, embedded in the binary: the PNG draws its glyphs with ab_glyph, and
//! the SVG names DejaVu Sans first (then Verdana, as wide, then any sans-serif), so a reader's browser lays it out
//! within the boxes measured here. Shapes are drawn into the PNG through plotters' bitmap backend.

use super::scene::{Anchor, Item, Scene, Text};
use super::{Key, Rgb};
use crate::text::escape_markup as xml;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::sync::OnceLock;

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn fonts() -> Option<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                regular: FontRef::try_from_slice(dejavu::sans::regular()).ok()?,
                bold: FontRef::try_from_slice(dejavu::sans::bold()).ok()?,
            })
        })
        .as_ref()
}

fn font(bold: bool) -> Option<&'static FontRef<'static>> {
    fonts().map(|f| if bold { &f.bold } else { &f.regular })
}

/// ab_glyph's scale for a CSS font size (an em of `size` pixels).
fn px_scale(f: &FontRef, size: f64) -> PxScale {
    let upem = f.units_per_em().unwrap_or(2048.0);
    PxScale::from((size as f32) * f.height_unscaled() / upem)
}

/// The width of `text` at `size` px, in pixels, kerning included.
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let Some(f) = font(bold) else { return text.chars().count() as f64 * size * 0.62 };
    let scaled = f.as_scaled(px_scale(f, size));
    let mut width = 0.0f32;
    let mut last = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = last {
            width += scaled.kern(prev, id);
        }
        // A character the font lacks (CJK, emoji) is drawn by the reader's browser in another font, about an em
        // wide or more: measured as 1.25 em, so the layout leaves it room.
        width += if id.0 == 0 && !c.is_control() { (size * 1.25) as f32 } else { scaled.h_advance(id) };
        last = Some(id);
    }
    width as f64
}

/// Height above the baseline of the font's tallest glyphs at `size` px.
pub fn ascent(size: f64) -> f64 {
    font(false).map(|f| f.ascent_unscaled() as f64 / f.units_per_em().unwrap_or(2048.0) as f64 * size).unwrap_or(size)
}

/// Depth below the baseline at `size` px (positive).
pub fn descent(size: f64) -> f64 {
    font(false)
        .map(|f| -(f.descent_unscaled() as f64) / f.units_per_em().unwrap_or(2048.0) as f64 * size)
        .unwrap_or(size * 0.25)
}

/// `text` broken into lines no wider than `max` px: at spaces first, then after `-`, `/`, `_`, `.` or `,`, and
/// inside a word only when a word alone is wider than a line. Beyond `max_lines`, the last line ends in `…`.
pub fn wrap(text: &str, size: f64, bold: bool, max: f64, max_lines: usize) -> Vec<String> {
    // No glyph of the font is narrower than a quarter em: more characters than this can't fit in the lines, so a
    // name of any length costs no more than one that fills them.
    let fits = ((max / (size * 0.25)).ceil() as usize + 1) * max_lines.max(1) + 1;
    let (text, cut) = match text.char_indices().nth(fits) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    };
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        // Pieces that may end a line: each keeps its trailing break character.
        let mut pieces: Vec<String> = Vec::new();
        let mut cur = String::new();
        for c in paragraph.chars() {
            cur.push(c);
            if matches!(c, ' ' | '-' | '/' | '_' | '.' | ',') {
                pieces.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() || pieces.is_empty() {
            pieces.push(cur);
        }
        let mut line = String::new();
        for piece in pieces {
            let candidate = format!("{line}{piece}");
            if line.is_empty() || text_width(candidate.trim_end(), size, bold) <= max {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_string());
                line = piece;
            }
            // A piece wider than a line on its own is cut by characters.
            while text_width(line.trim_end(), size, bold) > max && line.chars().count() > 1 {
                let mut head = String::new();
                for c in line.chars() {
                    if !head.is_empty() && text_width(&format!("{head}{c}"), size, bold) > max {
                        break;
                    }
                    head.push(c);
                }
                line = line[head.len()..].to_string();
                lines.push(head);
            }
        }
        lines.push(line.trim_end().to_string());
    }
    if lines.len() > max_lines.max(1) || cut {
        lines.truncate(max_lines.max(1));
        let last = lines.last_mut().expect("at least one line");
        while !last.is_empty() && text_width(&format!("{last}…"), size, bold) > max {
            last.pop();
        }
        last.push('…');
    }
    lines
}

/// The box a text covers: (left, top, right, bottom), in pixels.
pub fn text_box(t: &Text) -> (f64, f64, f64, f64) {
    let w = text_width(&t.text, t.size, t.bold);
    let left = match t.anchor {
        Anchor::Start => t.x,
        Anchor::Middle => t.x - w / 2.0,
        Anchor::End => t.x - w,
    };
    (left, t.y - ascent(t.size), left + w, t.y + descent(t.size))
}

fn key_attr(key: &Option<Key>) -> String {
    match key {
        Some(Key::Team(t)) => format!(" data-team=\"{}\"", xml(t)),
        Some(Key::Category(c)) => format!(" data-category=\"{}\"", xml(c)),
        None => String::new(),
    }
}

fn tip(tip: &Option<String>) -> String {
    tip.as_ref().map(|t| format!("<title>{}</title>", xml(t))).unwrap_or_default()
}

/// Polygon points of a marker: a square, triangle, diamond or downward triangle (a circle is drawn as a circle).
fn marker_points(x: f64, y: f64, r: f64, shape: u8) -> Vec<(f64, f64)> {
    match shape {
        1 => vec![(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)],
        2 => vec![(x, y - r * 1.2), (x + r * 1.1, y + r * 0.8), (x - r * 1.1, y + r * 0.8)],
        3 => vec![(x, y - r * 1.3), (x + r * 1.3, y), (x, y + r * 1.3), (x - r * 1.3, y)],
        _ => vec![(x - r * 1.1, y - r * 0.8), (x + r * 1.1, y - r * 0.8), (x, y + r * 1.2)],
    }
}

/// The scene as an SVG document: shapes carry `data-team` or `data-category`, bars a `<title>` with their value.
pub fn svg(scene: &Scene) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{title}\" font-family=\"DejaVu Sans, Verdana, sans-serif\">",
        w = scene.width,
        h = scene.height,
        title = xml(&scene.title)
    );
    let _ =
        writeln!(out, "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>", scene.width, scene.height);
    for item in &scene.items {
        match item {
            Item::Rect { x, y, w, h, fill, pattern, key, tip: t } => {
                let hatch = if *pattern > 0 { format!(" data-pattern=\"{pattern}\"") } else { String::new() };
                let _ = writeln!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\"{hatch}{}>{}</rect>",
                    fill.hex(),
                    key_attr(key),
                    tip(t)
                );
            }
            Item::Line { points, color, width, dash, key } => {
                let pts: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let dashes = match DASHES.get(*dash as usize).copied().flatten() {
                    Some((on, off)) => format!(" stroke-dasharray=\"{on} {off}\""),
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width:.1}\" stroke-linejoin=\"round\"{dashes}{}/>",
                    pts.join(" "),
                    color.hex(),
                    key_attr(key)
                );
            }
            Item::Marker { x, y, r, shape, fill, key, tip: t } => {
                if *shape == 0 {
                    let _ = writeln!(
                        out,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"{}\" data-marker=\"0\"{}>{}</circle>",
                        fill.hex(),
                        key_attr(key),
                        tip(t)
                    );
                } else {
                    let pts: Vec<String> =
                        marker_points(*x, *y, *r, *shape).iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                    let _ = writeln!(
                        out,
                        "<polygon points=\"{}\" fill=\"{}\" data-marker=\"{shape}\"{}>{}</polygon>",
                        pts.join(" "),
                        fill.hex(),
                        key_attr(key),
                        tip(t)
                    );
                }
            }
            Item::Text(t) => {
                let anchor = match t.anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                let _ = writeln!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{}\" text-anchor=\"{anchor}\" fill=\"{}\"{}{}>{}</text>",
                    t.x,
                    t.y,
                    t.size,
                    t.color.hex(),
                    if t.bold { " font-weight=\"bold\"" } else { "" },
                    if t.tick { " class=\"tick\"" } else { "" },
                    xml(&t.text)
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// A line's dashes, (on, off) in pixels: solid, dashed, dotted.
const DASHES: [Option<(f64, f64)>; 3] = [None, Some((9.0, 5.0)), Some((2.5, 4.0))];

/// A polyline as the pieces its dashes draw (the whole line when solid).
fn dashed(points: &[(f64, f64)], dash: Option<(f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let Some((on, off)) = dash else { return vec![points.to_vec()] };
    let mut out = Vec::new();
    let mut piece: Vec<(f64, f64)> = Vec::new();
    // Where in the on+off cycle the pen is.
    let mut phase = 0.0f64;
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let length = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
        let mut done = 0.0f64;
        while done < length {
            let drawing = phase < on;
            let step = (if drawing { on - phase } else { on + off - phase }).min(length - done);
            let at = |d: f64| (x0 + (x1 - x0) * d / length, y0 + (y1 - y0) * d / length);
            if drawing {
                if piece.is_empty() {
                    piece.push(at(done));
                }
                piece.push(at(done + step));
            } else if !piece.is_empty() {
                out.push(std::mem::take(&mut piece));
            }
            done += step;
            phase = (phase + step) % (on + off);
        }
    }
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn px(v: f64) -> i32 {
    v.round() as i32
}

/// The scene as PNG bytes, at the SVG's size.
pub fn png(scene: &Scene) -> Result<Vec<u8>, String> {
    let (w, h) = (scene.width, scene.height);
    let mut pixels = vec![255u8; (w as usize) * (h as usize) * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        for item in &scene.items {
            match item {
                Item::Rect { x, y, w, h, fill, .. } => {
                    let (x0, y0, x1, y1) = (px(*x), px(*y), px(x + w), px(y + h));
                    root.draw(&Rectangle::new([(x0, y0), (x1.max(x0 + 1), y1.max(y0 + 1))], rgb(*fill).filled()))
                        .map_err(e)?;
                }
                Item::Line { points, color, width, dash, .. } => {
                    let style = rgb(*color).stroke_width(width.round().max(1.0) as u32);
                    for piece in dashed(points, DASHES.get(*dash as usize).copied().flatten()) {
                        let pts: Vec<(i32, i32)> = piece.iter().map(|(x, y)| (px(*x), px(*y))).collect();
                        root.draw(&PathElement::new(pts, style)).map_err(e)?;
                    }
                }
                Item::Marker { x, y, r, shape, fill, .. } => {
                    if *shape == 0 {
                        root.draw(&Circle::new((px(*x), px(*y)), r.round() as i32, rgb(*fill).filled())).map_err(e)?;
                    } else {
                        let pts: Vec<(i32, i32)> =
                            marker_points(*x, *y, *r, *shape).iter().map(|(x, y)| (px(*x), px(*y))).collect();
                        root.draw(&Polygon::new(pts, rgb(*fill).filled())).map_err(e)?;
                    }
                }
                Item::Text(t) => draw_text(&root, t).map_err(e)?,
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    let mut png = Vec::new();
    use image::ImageEncoder;
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, w, h, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

/// Draws a text's glyphs, anti-aliased, at the position the SVG gives it.
fn draw_text<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    t: &Text,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let Some(f) = font(t.bold) else { return Ok(()) };
    let scale = px_scale(f, t.size);
    let scaled = f.as_scaled(scale);
    let (left, _, _, _) = text_box(t);
    let mut x = left as f32;
    let mut last = None;
    let color = t.color;
    for c in t.text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = last {
            x += scaled.kern(prev, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, t.y as f32));
        x += scaled.h_advance(id);
        last = Some(id);
        if let Some(outline) = f.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let mut result = Ok(());
            outline.draw(|gx, gy, coverage| {
                if coverage <= 0.0 || result.is_err() {
                    return;
                }
                let p = (bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32);
                result = root.draw_pixel(p, &RGBAColor(color.0, color.1, color.2, coverage.min(1.0) as f64));
            });
            result?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_wrapping() {
        let w = text_width("vision", 13.0, false);
        assert!(w > 30.0 && w < 60.0, "{w}");
        assert!(text_width("vision", 13.0, true) > w);
        assert!(ascent(13.0) > 10.0 && descent(13.0) > 2.0);
        let long = "unknown workspace mlw-sandbox-with-a-rather-long-name-indeed";
        let lines = wrap(long, 13.0, false, 150.0, 10);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| text_width(l, 13.0, false) <= 150.0), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), long.replace(' ', ""));
        assert_eq!(wrap("vision", 13.0, false, 150.0, 3), ["vision"]);
        let cut = wrap(&"x".repeat(500), 13.0, false, 100.0, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'));
    }
}
