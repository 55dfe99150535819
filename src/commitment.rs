//! Commitments (reservations and savings plans): which rows are a commitment's covered usage, its unused capacity or
//! its purchase, and the key that ties those rows together.
//!
//! Azure names one commitment in several ways. EA and MCA rows carry `ReservationId` (the reservation's GUID; on a
//! purchase row, the order's) and `benefitId` (the path `/providers/Microsoft.Capacity/reservationOrders/{order}/
//! reservations/{reservation}`, or `.../savingsPlanOrders/{order}/savingsPlans/{plan}`; on a purchase row the path
//! ends at `reservations/`). FOCUS carries `CommitmentDiscountId`, the same path. The key of an id is its last id,
//! lower-cased: the reservation's or plan's GUID, or the order's on a purchase, so that the forms meet.

use crate::config::{CommitmentOwner, Config};
use crate::schema::CostRow;

/// What a row is to a commitment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// No commitment: ordinary usage or a charge of its own.
    None,
    /// Usage a commitment paid for (amortized: its share of the commitment's cost; actual: zero).
    Covered,
    /// Capacity of a commitment that no usage took (EA/MCA `UnusedReservation`/`UnusedSavingsPlan`, FOCUS
    /// `CommitmentDiscountStatus = Unused`): amortized cost only.
    Unused,
    /// The purchase of a commitment, or its refund (actual cost only).
    Purchase,
}

fn is(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// What `row` is to a commitment.
pub fn role(row: &CostRow) -> Role {
    let charge = row.charge_type;
    if is(charge, "UnusedReservation") || is(charge, "UnusedSavingsPlan") || is(row.commitment_status, "Unused") {
        return Role::Unused;
    }
    if is(charge, "Purchase") || is(charge, "Refund") {
        let committed = ["Reservation", "SavingsPlan", "Savings Plan"].iter().any(|m| is(row.pricing_model, m));
        // A commitment's own refund names no resource but the order; a refund of usage (priced `Reservation` when
        // the commitment covered it) names the resource used, and is that usage's.
        let of_commitment = is(charge, "Purchase") || row.resource_id.is_empty() || ordered(row.resource_id);
        let named = committed || has_id(row.commitment) || ordered(row.resource_id);
        return match (named && of_commitment, has_id(row.commitment)) {
            (true, _) => Role::Purchase,
            // A refund of covered usage nets against it.
            (false, true) => Role::Covered,
            (false, false) => Role::None,
        };
    }
    if has_id(row.commitment) {
        Role::Covered
    } else {
        Role::None
    }
}

/// Whether an id names a commitment (`/` or `/reservations/` name none).
fn has_id(id: &str) -> bool {
    !id.is_empty() && !key(id).0.is_empty()
}

/// Whether a resource id is a commitment's order (`/providers/Microsoft.Capacity/reservationOrders/...`).
pub fn ordered(resource_id: &str) -> bool {
    let b = resource_id.trim_start().as_bytes();
    let starts = |prefix: &[u8]| b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix);
    starts(b"/providers/microsoft.capacity/reservationorders/")
        || starts(b"/providers/microsoft.billingbenefits/savingsplanorders/")
}

/// The key of a commitment id (its last id: the reservation's or plan's, or the order's when the path names no
/// reservation) and the order it belongs to, when the id is a path that names one. Not lower-cased.
pub fn key(id: &str) -> (&str, Option<&str>) {
    let id = id.trim().trim_end_matches('/');
    let mut order = None;
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if is(p, "reservationOrders") || is(p, "savingsPlanOrders") {
            order = parts.next().filter(|o| !o.is_empty());
        }
    }
    let mut back = id.rsplit('/');
    let last = back.next().unwrap_or("");
    let key = if id.contains('/') && (is(last, "reservations") || is(last, "savingsPlans")) {
        back.next().unwrap_or("")
    } else {
        last
    };
    (key, order)
}

/// The configured owner of the commitment `id` names ([`owner_of`]).
pub fn owner<'c>(config: &'c Config, id: &str) -> Option<&'c CommitmentOwner> {
    let (key, order) = key(id);
    owner_of(config, key, order)
}

/// The configured owner of the commitment with this key and order: the `[[commitment]]` naming the commitment
/// itself, else its order, else the one with `id = "*"`.
pub fn owner_of<'c>(config: &'c Config, key: &str, order: Option<&str>) -> Option<&'c CommitmentOwner> {
    let list = &config.commitments;
    list.iter()
        .find(|c| c.key != "*" && is(&c.key, key))
        .or_else(|| order.and_then(|o| list.iter().find(|c| c.key != "*" && is(&c.key, o))))
        .or_else(|| list.iter().find(|c| c.key == "*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_one_commitment_meet() {
        let path = "/providers/Microsoft.Capacity/reservationOrders/A965/reservations/F39D";
        assert_eq!(key(path), ("F39D", Some("A965")));
        assert_eq!(key("f39d"), ("f39d", None));
        // A purchase names the order only.
        assert_eq!(key("/providers/Microsoft.Capacity/reservationOrders/49ed/reservations/"), ("49ed", Some("49ed")));
        let plan = "/providers/Microsoft.BillingBenefits/savingsPlanOrders/802a/savingsPlans/09ff";
        assert_eq!(key(plan), ("09ff", Some("802a")));
        assert_eq!(key(""), ("", None));
    }
}
