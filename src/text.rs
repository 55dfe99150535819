//! Text helpers of the row loop.

/// `str::trim`, with a fast path for the common cell that starts and ends in a visible ASCII character: Unicode
/// whitespace is still trimmed, as `str::trim` does, but the scan for it runs only where an end is not plain.
#[inline]
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (None, _) => s,
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// `s` with ASCII letters lower-cased, without copying when it has none upper-case (ids, names and keys are compared
/// without case, and most come lower-case already).
pub fn ascii_lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The first `needle` in `hay`, eight bytes at a time (a short search called for every segment of every resource
/// id, where `memchr`'s call cost outweighs its speed).
#[inline]
pub fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut words = hay.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ pattern;
        // The lowest byte flagged here is the first zero byte of x (bytes above it may be flagged falsely).
        let zero = x.wrapping_sub(LO) & !x & HI;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&b| b == needle).map(|p| at + p)
}

/// A text cell made safe to open in a spreadsheet: one that starts with `=`, `+`, `-`, `@`, a tab, a carriage
/// return or a line feed, after any leading spaces (spreadsheets skip them: ` =1+1` is a formula), gets a leading
/// `'`, so it shows as text instead of running as a formula.
pub fn safe_cell(text: &str) -> std::borrow::Cow<'_, str> {
    let first = text.as_bytes().iter().copied().find(|&b| b != b' ');
    match first {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n') => std::borrow::Cow::Owned(format!("'{text}")),
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// Escapes text for HTML and XML, in element content and attribute values: `&`, `<`, `>`, `"` and `'`. Anyone who
/// can tag a resource writes into the pages and charts.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number in fixed notation (`-1234567.891`) with its whole part grouped by thousands (`-1,234,567.891`); a
/// negative zero (`-0.00`, from rounding a small credit) loses its sign.
pub fn group_thousands(fixed: &str) -> String {
    let (negative, rest) = match fixed.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, fixed),
    };
    let (whole, frac) = rest.split_once('.').map(|(w, f)| (w, Some(f))).unwrap_or((rest, None));
    let zero = rest.bytes().all(|b| b == b'0' || b == b'.');
    let mut out = String::with_capacity(fixed.len() + whole.len() / 3);
    if negative && !zero {
        out.push('-');
    }
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Whether `haystack` holds one of `needles` (lower-case), ignoring ASCII case; allocates nothing.
pub fn contains_any_ignore_case(haystack: &str, needles: &[&str]) -> bool {
    let h = haystack.as_bytes();
    needles.iter().any(|n| h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n.as_bytes())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_first_byte() {
        let hay = b"/subscriptions/abc/resourceGroups/rg-x/providers/Microsoft.X/y/z";
        for start in 0..hay.len() {
            let expected = hay[start..].iter().position(|&b| b == b'/');
            assert_eq!(super::find_byte(&hay[start..], b'/'), expected, "{start}");
        }
        assert_eq!(super::find_byte(b"\x80\x81/\xff\x00\x01\x2f", b'/'), Some(2));
        assert_eq!(super::find_byte(b"", b'/'), None);
        assert_eq!(super::find_byte(b"0123456789abcdef/", b'/'), Some(16));
    }

    #[test]
    fn trims_as_str_trim_does() {
        for s in ["", " ", "a", " a ", "a\r", "\u{a0}x\u{a0}", "x\u{3000}", "\ta b\n", "é", " é ", "\u{feff}"] {
            assert_eq!(super::trim(s), s.trim(), "{s:?}");
        }
    }
}
