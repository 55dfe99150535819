//! Resource tags, normalized.
//!
//! Takes a `Tags` cell in either format Azure writes: a JSON object (MCA, FOCUS, legacy) or EA's object without its
//! outer braces (`"CostCenter": "1234","env": "prod"`). Gives the tags in order with each key folded: surrounding space
//! trimmed and lower-cased, because Azure tag names are case-insensitive while exports keep whatever casing was typed.
//! Values are kept as written (they are case-sensitive); an empty value stays an empty string; a JSON `null` value and
//! a cell that is empty or the literal `NULL` mean no tag. When a folded key occurs twice on one row (`org` and
//! `" org"`), the first one wins. A cell that is not a JSON object in either format is reported as unparsed; the row
//! is kept.

use std::borrow::Cow;

/// One tag as found on a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<'a> {
    /// Trimmed and lower-cased: the key to match on.
    pub key: Cow<'a, str>,
    /// Trimmed, in the casing the export used.
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// The tags of one row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags<'a> {
    pub list: Vec<Tag<'a>>,
}

impl<'a> Tags<'a> {
    /// The value of the first of `keys` (already folded) present on the row.
    pub fn first_of(&self, keys: &[String]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// The value of a folded key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.list.iter().find(|t| t.key == key).map(|t| t.value.as_ref())
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The cell was not a JSON object in either format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unparsed;

/// Folds a tag key for matching: surrounding white space trimmed, lower-cased.
pub fn fold(key: &str) -> Cow<'_, str> {
    let t = crate::text::trim(key);
    if !t.is_ascii() {
        Cow::Owned(t.to_lowercase())
    } else if t.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(t.to_ascii_lowercase())
    } else {
        Cow::Borrowed(t)
    }
}

/// Parsed `Tags` cells, remembered by their text: an export repeats a resource's tags on every row of it, and
/// parsing them is a measured 6% of the row path. A cell that is not a JSON object is remembered as such.
pub struct TagCache(crate::fasthash::TextCache<Option<Vec<OwnedTag>>>);

/// A cached tag: its key, name and value.
type OwnedTag = (String, String, String);

impl Default for TagCache {
    /// 1,024 cells of up to 4 KiB (longer ones are parsed every time).
    fn default() -> Self {
        TagCache(crate::fasthash::TextCache::new(1024, 4096))
    }
}

impl TagCache {
    /// [`parse`], from the cache when this cell was parsed before; the tags borrow from the cache.
    pub fn parse<'c>(&'c mut self, cell: &'c str) -> Result<Tags<'c>, Unparsed> {
        let owned = || {
            parse(cell)
                .ok()
                .map(|t| t.list.iter().map(|t| (t.key.to_string(), t.name.to_string(), t.value.to_string())).collect())
        };
        match self.0.get_or_make(cell, owned) {
            Some(Some(list)) => Ok(Tags {
                list: list
                    .iter()
                    .map(|(k, n, v)| Tag { key: Cow::Borrowed(k), name: Cow::Borrowed(n), value: Cow::Borrowed(v) })
                    .collect(),
            }),
            Some(None) => Err(Unparsed),
            None => parse(cell),
        }
    }
}

/// Parses a `Tags` cell.
pub fn parse(cell: &str) -> Result<Tags<'_>, Unparsed> {
    let body = crate::text::trim(cell);
    if body.is_empty() || body == "NULL" || body == "{}" {
        return Ok(Tags::default());
    }
    let inner = if let Some(rest) = body.strip_prefix('{') { rest.strip_suffix('}').ok_or(Unparsed)? } else { body };
    let mut p = Parser { s: inner, i: 0 };
    let mut tags = Tags::default();
    // Past a few tags, keys seen are also kept in a set, so a cell of 400,000 keys is checked for duplicates in
    // linear time (a row has a handful of tags; the set is built only for hostile or unusual cells).
    let mut seen: Option<std::collections::HashSet<String>> = None;
    p.skip_ws();
    if p.done() {
        return Ok(tags);
    }
    loop {
        p.skip_ws();
        let name = p.string()?;
        p.skip_ws();
        p.expect(b':')?;
        p.skip_ws();
        let value = p.value()?;
        let key = fold_cow(&name);
        if let Some(value) = value {
            let duplicate = match &mut seen {
                Some(set) => !set.insert(key.to_string()),
                None => tags.list.iter().any(|t| t.key == key),
            };
            if !duplicate {
                let name = trim_cow(name);
                tags.list.push(Tag { key, name, value });
                if seen.is_none() && tags.list.len() == 16 {
                    seen = Some(tags.list.iter().map(|t| t.key.to_string()).collect());
                }
            }
        }
        p.skip_ws();
        if p.done() {
            return Ok(tags);
        }
        p.expect(b',')?;
    }
}

fn fold_cow<'a>(name: &Cow<'a, str>) -> Cow<'a, str> {
    match name {
        Cow::Borrowed(s) => fold(s),
        Cow::Owned(s) => Cow::Owned(fold(s).into_owned()),
    }
}

fn trim_cow(name: Cow<'_, str>) -> Cow<'_, str> {
    match name {
        Cow::Borrowed(s) => Cow::Borrowed(crate::text::trim(s)),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), Unparsed> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(Unparsed)
        }
    }

    fn string(&mut self) -> Result<Cow<'a, str>, Unparsed> {
        self.expect(b'"')?;
        let start = self.i;
        let bytes = self.s.as_bytes();
        while self.i < bytes.len() {
            match bytes[self.i] {
                b'"' => {
                    let out = &self.s[start..self.i];
                    self.i += 1;
                    return Ok(Cow::Borrowed(out));
                }
                b'\\' => return self.escaped_string(start),
                _ => self.i += 1,
            }
        }
        Err(Unparsed)
    }

    /// The slow path for a string with escapes: let serde_json unescape it.
    fn escaped_string(&mut self, start: usize) -> Result<Cow<'a, str>, Unparsed> {
        let bytes = self.s.as_bytes();
        let mut j = self.i;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b'"' => {
                    let quoted = &self.s[start - 1..=j];
                    self.i = j + 1;
                    return serde_json::from_str::<String>(quoted).map(Cow::Owned).map_err(|_| Unparsed);
                }
                _ => j += 1,
            }
        }
        Err(Unparsed)
    }

    /// A tag value: a string, or a bare number/boolean kept as its text; `null` is no value.
    fn value(&mut self) -> Result<Option<Cow<'a, str>>, Unparsed> {
        if self.peek() == Some(b'"') {
            return self.string().map(Some);
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b',' || c == b' ' || c == b'\t' {
                break;
            }
            if !(c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'+') {
                return Err(Unparsed);
            }
            self.i += 1;
        }
        match &self.s[start..self.i] {
            "" => Err(Unparsed),
            "null" => Ok(None),
            text if text == "true" || text == "false" || text.parse::<f64>().is_ok() => Ok(Some(Cow::Borrowed(text))),
            _ => Err(Unparsed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(cell: &str) -> Vec<(String, String, String)> {
        parse(cell)
            .unwrap()
            .list
            .into_iter()
            .map(|t| (t.key.into_owned(), t.name.into_owned(), t.value.into_owned()))
            .collect()
    }

    #[test]
    fn the_cache_gives_what_parsing_gives() {
        let cells = [
            r#""team": "vision","Env": "prod""#,
            r#"{"CostCenter": "1234","env": "prod", " org": "x", "x": null}"#,
            r#"{"k": "a\"b"}"#,
            "team=vision",
            "",
            "NULL",
            r#""ComputeType": "Compute Instance","Team": "nlp""#,
        ];
        let mut cache = TagCache::default();
        let mut tiny = TagCache(crate::fasthash::TextCache::new(1, 4096));
        for _ in 0..2 {
            for cell in cells {
                assert_eq!(cache.parse(cell), parse(cell), "{cell}");
                assert_eq!(tiny.parse(cell), parse(cell), "{cell}");
            }
        }
    }

    #[test]
    fn both_formats_give_the_same_tags() {
        let json = pairs(r#"{"CostCenter": "1234","env": "prod"}"#);
        let ea = pairs(r#""CostCenter": "1234","env": "prod""#);
        assert_eq!(json, ea);
        assert_eq!(json[0], ("costcenter".into(), "CostCenter".into(), "1234".into()));
    }

    #[test]
    fn casing_spaces_empties_and_nulls() {
        let t = parse(r#"{"env": "prod", "org": "", " org": "trey", "Team": "Vision", "x": null}"#).unwrap();
        assert_eq!(t.get("org"), Some(""));
        assert_eq!(t.get("team"), Some("Vision"));
        assert_eq!(t.get("x"), None);
        assert_eq!(t.list.len(), 3);
        assert!(parse("NULL").unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
        assert!(parse("{}").unwrap().is_empty());
    }

    #[test]
    fn unterminated_strings_are_unparsed() {
        for bad in [r#"{"k": "a\"b}"#, r#""k": "a\"b"#, r#"{"k": "open}"#, r#"{"open: 1}"#] {
            assert_eq!(parse(bad), Err(Unparsed), "{bad}");
        }
    }

    #[test]
    fn bare_values_are_kept_as_their_text() {
        let t = parse("{\"n\": -5,\"e\": 1.5e+3\t,\"t\": true, \"f\": false, \"z\": null}").unwrap();
        assert_eq!(t.get("n"), Some("-5"));
        assert_eq!(t.get("e"), Some("1.5e+3"));
        assert_eq!(t.get("t"), Some("true"));
        assert_eq!(t.get("f"), Some("false"));
        assert_eq!(t.get("z"), None);
        assert_eq!(t.list.len(), 4);
        for bad in [
            "{\"k\": \"open}",
            "\"k\": \"open",
            "{\"open: 1}",
            "{\"k\": yes}",
            "{\"k\": }",
            "{\"k\": 5x}",
            "{\"k\": [1]}",
            "{\"k\": -}",
        ] {
            assert_eq!(parse(bad), Err(Unparsed), "{bad}");
        }
    }

    #[test]
    fn escapes_and_odd_keys() {
        let t = parse(r#"{"a.b:c-d": "x\"y", "k": 5}"#).unwrap();
        assert_eq!(t.get("a.b:c-d"), Some("x\"y"));
        assert_eq!(t.get("k"), Some("5"));
    }

    #[test]
    fn not_json_is_unparsed() {
        for bad in ["team=vision", "{\"a\": }", "{\"a\" \"b\"}", "{\"a\": \"b\"", "\"a\": \"b\",", "{'a': 'b'}"] {
            assert_eq!(parse(bad), Err(Unparsed), "{bad}");
        }
    }
}
