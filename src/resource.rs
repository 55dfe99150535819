//! Azure resource ids.
//!
//! Takes an ARM resource id (`/subscriptions/<guid>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>...`, in
//! any casing: FOCUS lower-cases whole ids) and gives its parts as slices of the id: subscription, resource group,
//! provider namespace, resource type (namespace and type segments, names left out) and resource name. Nothing here
//! allocates except the resource type of nested resources.

use std::borrow::Cow;

/// The parts of one resource id. Empty strings where the id has no such part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceId<'a> {
    pub subscription: &'a str,
    pub resource_group: &'a str,
    pub provider: &'a str,
    pub resource_type: Cow<'a, str>,
    pub name: &'a str,
    /// The Azure ML workspace the id is, or lies under (`.../Microsoft.MachineLearningServices/workspaces/<name>/...`).
    pub ml_workspace: &'a str,
}

/// Splits a resource id. Ids that are not ARM paths (empty, `the name or GUID`, a bare name) give a name only.
/// Called for every row: it walks the id once and allocates only for nested resource types.
pub fn parse(id: &str) -> ResourceId<'_> {
    let id = crate::text::trim(id);
    let mut out = ResourceId::default();
    if !id.starts_with('/') {
        out.name = id.rsplit('/').next().unwrap_or("");
        return out;
    }
    let mut segments = Segments { id, pos: 0 };
    let mut last = "";
    let mut count = 0usize;
    while let Some(seg) = segments.next() {
        last = seg;
        count += 1;
        if seg.eq_ignore_ascii_case("subscriptions") && out.subscription.is_empty() {
            if let Some(v) = segments.next() {
                out.subscription = v;
                last = v;
                count += 1;
            }
        } else if seg.eq_ignore_ascii_case("resourcegroups") && out.resource_group.is_empty() {
            if let Some(v) = segments.next() {
                out.resource_group = v;
                last = v;
                count += 1;
            }
        } else if seg.eq_ignore_ascii_case("providers") {
            let Some(namespace) = segments.next() else { break };
            out.provider = namespace;
            last = namespace;
            // type/name pairs after the namespace: ns/type/name/subtype/subname...
            let start = offset(id, namespace);
            let mut end = start + namespace.len();
            let mut nested: Option<String> = None;
            let mut first = true;
            while let Some(kind) = segments.next() {
                last = kind;
                let name = segments.next();
                if let Some(n) = name {
                    last = n;
                }
                if first {
                    end = offset(id, kind) + kind.len();
                    if namespace.eq_ignore_ascii_case("Microsoft.MachineLearningServices")
                        && kind.eq_ignore_ascii_case("workspaces")
                    {
                        out.ml_workspace = name.unwrap_or("");
                    }
                    first = false;
                } else {
                    let n = nested.get_or_insert_with(|| id[start..end].to_string());
                    n.push('/');
                    n.push_str(kind);
                }
            }
            out.resource_type = match nested {
                Some(n) => Cow::Owned(n),
                None if first => Cow::Borrowed(""),
                None => Cow::Borrowed(&id[start..end]),
            };
            out.name = last;
            return out;
        }
    }
    out.name = last;
    if out.provider.is_empty() && !out.resource_group.is_empty() && count <= 4 {
        // a resource group itself
        out.name = out.resource_group;
    }
    out
}

/// The non-empty `/`-separated segments of an id, found byte by byte (`split('/')`'s searcher was a measured 3% of a
/// run). A `/` is ASCII, so every cut is a character boundary.
struct Segments<'a> {
    id: &'a str,
    pos: usize,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.id.as_bytes();
        while self.pos < b.len() && b[self.pos] == b'/' {
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        self.pos = crate::text::find_byte(&b[start..], b'/').map_or(b.len(), |p| start + p);
        self.id.get(start..self.pos)
    }
}

/// Parsed resource ids, remembered by their text: an export repeats each resource's id on every row of it (a row a
/// day per meter), and parsing is a measured 7% of the row path.
pub struct IdCache(crate::fasthash::TextCache<Parts>);

/// A parse as positions in the id's text (the type of a nested resource, which is not a slice, as its text).
struct Parts {
    subscription: (u32, u32),
    resource_group: (u32, u32),
    provider: (u32, u32),
    resource_type: Result<(u32, u32), String>,
    name: (u32, u32),
    ml_workspace: (u32, u32),
}

impl Default for IdCache {
    /// 1,024 ids of up to 1,024 bytes (longer ones are parsed every time).
    fn default() -> Self {
        IdCache(crate::fasthash::TextCache::new(1024, 1024))
    }
}

impl IdCache {
    /// [`parse`], from the cache when this id was parsed before.
    pub fn parse<'a>(&mut self, id: &'a str) -> ResourceId<'a> {
        match self.0.get_or_make(id, || Parts::of(id, &parse(id))) {
            Some(parts) => parts.rebuild(id),
            None => parse(id),
        }
    }
}

impl Parts {
    fn of(id: &str, parsed: &ResourceId) -> Parts {
        let span = |part: &str| -> (u32, u32) {
            if part.is_empty() {
                (0, 0)
            } else {
                let start = offset(id, part) as u32;
                (start, start + part.len() as u32)
            }
        };
        Parts {
            subscription: span(parsed.subscription),
            resource_group: span(parsed.resource_group),
            provider: span(parsed.provider),
            resource_type: match &parsed.resource_type {
                Cow::Borrowed(t) => Ok(span(t)),
                Cow::Owned(t) => Err(t.clone()),
            },
            name: span(parsed.name),
            ml_workspace: span(parsed.ml_workspace),
        }
    }

    fn rebuild<'a>(&self, id: &'a str) -> ResourceId<'a> {
        let at = |(s, e): (u32, u32)| id.get(s as usize..e as usize).unwrap_or("");
        ResourceId {
            subscription: at(self.subscription),
            resource_group: at(self.resource_group),
            provider: at(self.provider),
            resource_type: match &self.resource_type {
                Ok(span) => Cow::Borrowed(at(*span)),
                Err(t) => Cow::Owned(t.clone()),
            },
            name: at(self.name),
            ml_workspace: at(self.ml_workspace),
        }
    }
}

fn offset(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// The Azure ML workspace an id is, or lies under, if any.
pub fn ml_workspace(id: &str) -> Option<&str> {
    let w = parse(id).ml_workspace;
    (!w.is_empty()).then_some(w)
}

/// The name of the Azure ML compute target a resource id is, or lies under (`.../computes/gpu-cluster-a`).
pub fn compute_name(resource_id: &str) -> Option<&str> {
    let b = resource_id.as_bytes();
    let needle = b"/computes/";
    let at = b.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))? + needle.len();
    let rest = &resource_id[at..];
    let name = rest.split('/').next().unwrap_or("");
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_arm_ids() {
        let r =
            parse("/subscriptions/S1/resourceGroups/RG-A/providers/Microsoft.MachineLearningServices/workspaces/mlw-x");
        assert_eq!(r.subscription, "S1");
        assert_eq!(r.resource_group, "RG-A");
        assert_eq!(r.provider, "Microsoft.MachineLearningServices");
        assert_eq!(r.resource_type, "Microsoft.MachineLearningServices/workspaces");
        assert_eq!(r.name, "mlw-x");
        let nested = parse("/subscriptions/s/resourcegroups/rg/providers/microsoft.sql/servers/db1/databases/d2");
        assert_eq!(nested.resource_type, "microsoft.sql/servers/databases");
        assert_eq!(nested.name, "d2");
        let reservation = parse("/providers/Microsoft.Capacity/reservationOrders/49ed/reservations/");
        assert_eq!(reservation.provider, "Microsoft.Capacity");
        assert_eq!(reservation.resource_group, "");
        assert_eq!(parse("the name or GUID").name, "the name or GUID");
        assert_eq!(parse("").name, "");
    }

    #[test]
    fn the_cache_gives_what_parsing_gives() {
        let ids = [
            "/subscriptions/S1/resourceGroups/RG-A/providers/Microsoft.MachineLearningServices/workspaces/mlw-x",
            "  /subscriptions/s/resourcegroups/rg/providers/microsoft.sql/servers/db1/databases/d2 ",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/W1/computes/gpu",
            "/providers/Microsoft.Capacity/reservationOrders/49ed/reservations/",
            "/subscriptions/s/resourceGroups/rg-only",
            "the name or GUID",
            "",
            "/",
        ];
        let mut cache = IdCache::default();
        // Twice round, and with a one-slot cache so that ids evict one another.
        let mut tiny = IdCache(crate::fasthash::TextCache::new(1, 1024));
        for _ in 0..2 {
            for id in ids {
                assert_eq!(cache.parse(id), parse(id), "{id:?}");
                assert_eq!(tiny.parse(id), parse(id), "{id:?}");
            }
        }
        let long = format!("/subscriptions/s/resourceGroups/rg/providers/x/y/{}", "n".repeat(2000));
        assert_eq!(cache.parse(&long), parse(&long));
    }

    #[test]
    fn finds_ml_workspaces_in_any_case() {
        let id = "/subscriptions/s/resourcegroups/devtestlab/providers/microsoft.machinelearningservices/workspaces/zmltestplayground";
        assert_eq!(ml_workspace(id), Some("zmltestplayground"));
        let under =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/W1/computes/gpu";
        assert_eq!(ml_workspace(under), Some("W1"));
        assert_eq!(
            ml_workspace("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"),
            None
        );
    }
}
