//! Exact splitting and rounding: a pool into shares that sum to it to the last 10^-28, and exact amounts into minor
//! units that sum to their rounded total.

use crate::money::Money;
use ethnum::I256;

/// Splits `pool` in proportion to `weights`, exactly: the shares sum to `pool` to the last 10^-28. Each share is
/// `pool * w / W` truncated toward negative infinity, and the units left over go one each to the largest remainders
/// (earlier members first on ties). `None` when the weights sum to zero.
pub fn split(pool: Money, weights: &[Money]) -> Option<Vec<Money>> {
    // pool * weight must fit 256 bits: when it would not (amounts near the 10^20 bound), the weights lose their
    // lowest bits alike, which changes their ratios by less than 2^-90 and keeps the shares summing to the pool.
    let bits = |v: I256| 256 - v.unsigned_abs().leading_zeros();
    let widest = weights.iter().map(|w| bits(w.raw())).max().unwrap_or(0);
    let excess = (bits(pool.raw()) + widest).saturating_sub(253);
    let scaled: Vec<I256> = weights.iter().map(|w| w.raw() >> excess).collect();
    let weights = &scaled[..];
    let total: I256 = weights.iter().fold(I256::ZERO, |a, &b| a + b);
    if total == I256::ZERO {
        return None;
    }
    // Normalise the sign so the divisor is positive.
    let (total, sign) = if total.is_negative() { (-total, -I256::ONE) } else { (total, I256::ONE) };
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given = I256::ZERO;
    for &w in weights {
        // Fits: the weights were scaled above so that |pool| * |w| < 2^253.
        let product = pool.raw() * (w * sign);
        let q = product.div_euclid(total);
        remainders.push(product.rem_euclid(total));
        given += q;
        shares.push(q);
    }
    // Each share is its exact value floored, so what is left is the sum of the fractions: at least 0 and below the
    // member count (no product overflows, the weights being scaled above).
    let left = pool.raw() - given;
    debug_assert!(left >= I256::ZERO && left < I256::new(weights.len() as i128));
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    for &i in order.iter().take(left.as_i128() as usize) {
        shares[i] += I256::ONE;
    }
    Some(shares.into_iter().map(Money::from_raw).collect())
}

/// Rounds amounts to `decimals` so that they sum to the rounded sum of the exact amounts (largest remainder: each
/// amount is floored, then the missing minor units go to the largest remainders, earlier amounts first on ties).
pub fn round_to_total(amounts: &[Money], decimals: u32) -> Vec<Money> {
    let total: Money = amounts.iter().copied().sum();
    round_to(amounts, decimals, total.minor_units(decimals))
}

/// Rounds amounts to `decimals` so that they sum to `target` minor units, by the same largest-remainder rule.
fn round_to(amounts: &[Money], decimals: u32, target: i128) -> Vec<Money> {
    if amounts.is_empty() {
        return vec![];
    }
    let floors: Vec<(i128, Money)> = amounts.iter().map(|a| a.floor_minor_units(decimals)).collect();
    // The floors sum to at most the total, and the total rounded (half away from zero) is never below its floor:
    // `missing` is never negative. It is at most the number of amounts when `target` is their rounded sum; the loop
    // gives any larger target out in turns, so the parts always sum to it.
    let mut missing = target - floors.iter().map(|f| f.0).sum::<i128>();
    debug_assert!(missing >= 0);
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    order.sort_by(|&a, &b| floors[b].1.cmp(&floors[a].1).then(a.cmp(&b)));
    let mut units: Vec<i128> = floors.iter().map(|f| f.0).collect();
    while missing > 0 {
        for &i in &order {
            if missing == 0 {
                break;
            }
            units[i] += 1;
            missing -= 1;
        }
    }
    units.into_iter().map(|u| Money::from_minor_units(u, decimals)).collect()
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn splits_exactly() {
        let s = split(m("100"), &[m("1"), m("1"), m("1")]).unwrap();
        assert_eq!(s.iter().copied().sum::<Money>(), m("100"));
        assert_eq!(s[0].to_fixed(2), "33.33");
        let s = split(m("10"), &[m("50"), m("30"), m("20")]).unwrap();
        assert_eq!(s, [m("5"), m("3"), m("2")]);
        assert_eq!(split(m("10"), &[Money::ZERO, Money::ZERO]), None);
        let neg = split(m("-0.05"), &[m("1"), m("2")]).unwrap();
        assert_eq!(neg.iter().copied().sum::<Money>(), m("-0.05"));
    }

    #[test]
    fn splits_amounts_near_the_bound_without_overflow() {
        // A pool just below 10^20 split by weights near 10^20: pool x weight needs more than 256 bits, so the weights
        // lose their lowest bits alike; the shares still sum to the pool and keep the 3:1 ratio to 10^-8.
        let units = |n: i128| Money::from_minor_units(n, 0);
        let pool = Money::from_minor_units(10i128.pow(22) - 1, 2);
        let shares = split(pool, &[units(3 * 10i128.pow(19)), units(10i128.pow(19))]).unwrap();
        assert_eq!(shares[0] + shares[1], pool);
        let three_quarters = pool.mul_div(m("3"), m("4")).unwrap();
        assert!((shares[0] - three_quarters).raw().unsigned_abs() < m("0.00000001").raw().unsigned_abs(), "{shares:?}");
        // And with a negative pool (a refund).
        let shares = split(-pool, &[m("1"), units(3 * 10i128.pow(19))]).unwrap();
        assert_eq!(shares[0] + shares[1], -pool);
        assert!(shares[0].is_negative() && shares[1].is_negative());
    }

    #[test]
    fn rounds_to_the_rounded_total() {
        let parts = [m("0.333"), m("0.333"), m("0.334")];
        let r = round_to_total(&parts, 2);
        assert_eq!(r.iter().copied().sum::<Money>(), m("1"));
        assert_eq!(r, [m("0.33"), m("0.33"), m("0.34")]);
        let r = round_to_total(&[m("0.005"), m("0.005"), m("-0.004")], 2);
        assert_eq!(r.iter().copied().sum::<Money>(), m("0.01"));
    }

    fn money() -> impl Strategy<Value = Money> {
        // -1e9 .. 1e9 with 0 to 12 fractional digits.
        (-1_000_000_000_000_000_000_000i128..1_000_000_000_000_000_000_000i128, 0u32..=12)
            .prop_map(|(units, d)| Money::from_raw(I256::new(units / 10i128.pow(12 - d)) * I256::new(10).pow(28 - d)))
    }

    proptest! {
        #[test]
        fn splitting_conserves_money(pool in money(), weights in proptest::collection::vec(prop_oneof![Just(Money::ZERO), money()], 1..12)) {
            match split(pool, &weights) {
                Some(shares) => {
                    prop_assert_eq!(shares.len(), weights.len());
                    prop_assert_eq!(shares.iter().copied().sum::<Money>(), pool);
                }
                None => prop_assert!(weights.iter().copied().sum::<Money>().is_zero()),
            }
        }

        #[test]
        fn splitting_then_rounding_conserves_cents(pool in money(), weights in proptest::collection::vec(prop_oneof![Just(Money::ZERO), money()], 1..12), decimals in 0u32..=3) {
            if let Some(shares) = split(pool, &weights) {
                let rounded = round_to_total(&shares, decimals);
                prop_assert_eq!(rounded.iter().copied().sum::<Money>(), pool.round(decimals));
                for (r, s) in rounded.iter().zip(&shares) {
                    // every part moves by less than one minor unit
                    let unit = Money::from_minor_units(1, decimals);
                    prop_assert!((*r - *s).raw().abs() < unit.raw());
                }
            }
        }

        #[test]
        fn rounding_any_amounts_keeps_the_total(amounts in proptest::collection::vec(money(), 0..40), decimals in 0u32..=4) {
            let total: Money = amounts.iter().copied().sum();
            let rounded = round_to_total(&amounts, decimals);
            prop_assert_eq!(rounded.iter().copied().sum::<Money>(), total.round(decimals));
        }
    }
}
