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
}

/// Splits a resource id. Ids that are not ARM paths (empty, `the name or GUID`, a bare name) give a name only.
pub fn parse(id: &str) -> ResourceId<'_> {
    let id = id.trim();
    let mut out = ResourceId::default();
    if !id.starts_with('/') {
        out.name = id.rsplit('/').next().unwrap_or("");
        return out;
    }
    let segments: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let mut i = 0;
    while i < segments.len() {
        let seg = segments[i];
        if seg.eq_ignore_ascii_case("subscriptions") && i + 1 < segments.len() && out.subscription.is_empty() {
            out.subscription = segments[i + 1];
            i += 2;
        } else if seg.eq_ignore_ascii_case("resourcegroups") && i + 1 < segments.len() && out.resource_group.is_empty()
        {
            out.resource_group = segments[i + 1];
            i += 2;
        } else if seg.eq_ignore_ascii_case("providers") && i + 1 < segments.len() {
            if out.provider.is_empty() {
                out.provider = segments[i + 1];
                // type segments sit at odd offsets after the namespace: ns/type/name/subtype/subname...
                let rest = &segments[i + 2..];
                let types: Vec<&str> = rest.iter().step_by(2).copied().collect();
                out.resource_type = match types.len() {
                    0 => Cow::Borrowed(""),
                    1 => {
                        // borrow "Namespace/type" straight from the id
                        let start = offset(id, segments[i + 1]);
                        let end = offset(id, types[0]) + types[0].len();
                        Cow::Borrowed(&id[start..end])
                    }
                    _ => Cow::Owned(format!("{}/{}", segments[i + 1], types.join("/"))),
                };
            }
            break;
        } else {
            i += 1;
        }
    }
    out.name = segments.last().copied().unwrap_or("");
    if out.provider.is_empty() && !out.resource_group.is_empty() && segments.len() <= 4 {
        // a resource group itself
        out.name = out.resource_group;
    }
    out
}

fn offset(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

const ML_WORKSPACES: &str = "/providers/microsoft.machinelearningservices/workspaces/";

/// The Azure ML workspace an id is, or lies under, if any.
pub fn ml_workspace(id: &str) -> Option<&str> {
    let lower_match = find_ignore_ascii_case(id, ML_WORKSPACES)?;
    let rest = &id[lower_match + ML_WORKSPACES.len()..];
    let name = rest.split('/').next().unwrap_or("");
    (!name.is_empty()).then_some(name)
}

/// The byte offset of `needle` (lower-case ASCII) in `hay`, ignoring ASCII case.
pub fn find_ignore_ascii_case(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
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
