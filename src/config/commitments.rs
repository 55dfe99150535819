//! `[[commitment]]`: the owners of reservations and savings plans, read and checked.

use super::keys::type_problem;
use serde::Deserialize;
use std::path::Path;

/// One `[[commitment]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommitmentRaw {
    /// Optional here only so that an entry keeps its place when `id` or `owner` is missing or of the wrong type;
    /// `strip_wrong_types` reports those.
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) owner: Option<String>,
    #[serde(default)]
    pub(super) unused: UnusedTo,
}

/// Where a commitment's unused capacity goes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnusedTo {
    /// To the teams whose usage it covered that month, in proportion to their covered cost (the owner when it
    /// covered none).
    #[default]
    Covered,
    /// All to the owner.
    Owner,
}

/// A commitment's configured owner: the team its purchases (actual cost) are charged to, and its unused capacity
/// (amortized cost) when it covered no usage or `unused = "owner"`.
#[derive(Debug, Clone)]
pub struct CommitmentOwner {
    /// As written.
    pub id: String,
    /// The id's key ([`crate::commitment::key`]), lower-cased; `*` for every commitment not named.
    pub key: String,
    pub owner: String,
    pub unused: UnusedTo,
}

/// The same for `[[commitment]]` tables: each value of the wrong type reported with its entry (`commitment[2]: unused:
/// unknown variant ...`), and a missing `id` or `owner`.
pub(super) fn strip_wrong_types(table: &mut toml::Table, problems: &mut Vec<String>) {
    let Some(value) = table.get_mut("commitment") else { return };
    let toml::Value::Array(list) = value else {
        problems.push("commitment: expected [[commitment]] tables, each with `id` and `owner`".into());
        table.remove("commitment");
        return;
    };
    let mut kept = Vec::new();
    for (i, entry) in std::mem::take(list).into_iter().enumerate() {
        let at = format!("commitment[{}]", i + 1);
        let toml::Value::Table(mut t) = entry else {
            problems.push(format!("{at}: expected a table with `id` and `owner`"));
            continue;
        };
        for required in ["id", "owner"] {
            if !t.contains_key(required) {
                problems.push(format!("{at}: missing `{required}`"));
            }
        }
        let keys: Vec<String> = t.keys().cloned().collect();
        for k in keys {
            let mut probe = toml::Table::new();
            probe.insert(k.clone(), t[&k].clone());
            if let Err(e) = CommitmentRaw::deserialize(toml::Value::Table(probe)) {
                if k == "unused" {
                    problems.push(format!("{at}: unused: give \"covered\" (the default) or \"owner\", not {}", t[&k]));
                } else {
                    problems.push(type_problem(&format!("{at}: {k}"), &e));
                }
                t.remove(&k);
            }
        }
        // Kept even without `id` or `owner` (reported above), so that later entries keep their numbers.
        kept.push(toml::Value::Table(t));
    }
    *list = kept;
}

/// Checks the `[[commitment]]` entries and gives them, with warnings. An owner is a team: as the workspaces spell it,
/// or a team of its own (added to `teams`, with a warning).
pub(super) fn validate(
    raw: &[CommitmentRaw],
    teams: &mut Vec<String>,
    path: &Path,
    problems: &mut Vec<String>,
) -> (Vec<CommitmentOwner>, Vec<String>) {
    let mut commitments: Vec<CommitmentOwner> = Vec::new();
    let mut commitment_warnings = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let at = format!("commitment[{}]", i + 1);
        // Without an id or owner (missing or of the wrong type): already reported.
        let (Some(id), Some(owner)) = (c.id.as_deref(), c.owner.as_deref()) else { continue };
        let (id, owner) = (id.trim(), owner.trim());
        let key = if id == "*" { "*".to_string() } else { crate::commitment::key(id).0.to_ascii_lowercase() };
        if id != "*" && id.contains('*') {
            problems.push(format!(
                "{at} ({id}): `*` stands alone (`id = \"*\"`, every commitment not named); give one commitment's id or its order's"
            ));
            continue;
        }
        if key.is_empty() {
            problems.push(format!(
                "{at}: `id` is empty; give a reservation, reservation order or savings plan id (benefitId, ReservationId or CommitmentDiscountId), or \"*\" for every other commitment"
            ));
            continue;
        }
        if owner.is_empty() {
            problems.push(format!("{at} ({id}): `owner` is empty; name the team that owns the commitment"));
            continue;
        }
        if let Some(other) = commitments.iter().position(|o| o.key == key) {
            problems.push(format!(
                "{at} ({id}): the commitment is also commitment[{}] ({}); give each commitment one owner",
                other + 1,
                commitments[other].id
            ));
            continue;
        }
        if owner.starts_with('(') {
            problems.push(format!(
                "{at} ({id}): owner `{owner}` can't start with `(`, which marks `(unallocated)` and `(out-of-scope)` lines; name a team"
            ));
            continue;
        }
        // The owner is a team: spelt as the workspaces spell it (`Vision` owns as `vision`), or a team of its own.
        let alike: Vec<&String> = teams.iter().filter(|t| t.eq_ignore_ascii_case(owner)).collect();
        let exact = teams.iter().find(|t| *t == owner);
        let owner = match (exact, alike.as_slice()) {
            (Some(team), _) => team.to_string(),
            (None, [team]) => team.to_string(),
            (None, [first, second, ..]) => {
                problems.push(format!(
                    "{at} ({id}): owner `{owner}` could be team `{first}` or `{second}`; write it as the team is written"
                ));
                continue;
            }
            (None, []) => {
                commitment_warnings.push(format!(
                    "{}: {at}: owner `{owner}` is the team of no workspace: it is charged as a team of its own, with its own statement",
                    path.display()
                ));
                teams.push(owner.to_string());
                owner.to_string()
            }
        };
        commitments.push(CommitmentOwner { id: id.to_string(), key, owner, unused: c.unused });
    }
    (commitments, commitment_warnings)
}
