//! Exact money.
//!
//! Takes cost strings as Azure writes them (up to 28 fractional digits, scientific notation after an Excel re-save,
//! negatives) and gives [`Money`], an integer count of 10^-28 currency units held in 256 bits. Sums of any number of
//! rows are exact: a million rows of `0.0000001` add up to exactly `0.1`, which `f64` cannot do. Money carries no
//! currency; callers key every sum by currency so that currencies are never added together.

use ethnum::I256;
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Fractional digits kept: the most Azure writes (its decimal type has 28).
pub const SCALE: u32 = 28;

/// The largest cost one row may carry, in whole currency units (either sign): 10^15, a thousand trillion. No real
/// bill row comes near it; a cell beyond it is corruption, and refusing it keeps every sum far inside 256 bits.
pub const MAX_ROW_DIGITS: u32 = 15;

/// The largest amount any total, line, pool or share may reach, in whole currency units (either sign): below
/// 10^20, which is what `decimal(38,18)` in the Parquet outputs holds. Beyond it a run stops with an error naming
/// the total, rather than write a number it cannot hold exactly.
pub const MAX_TOTAL_DIGITS: u32 = 20;

/// An exact amount in 10^-28 units of some currency.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(I256);

/// Why a cost string is not a number mlspend can hold exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("empty value")]
    Empty,
    #[error("not a number: {0:?}")]
    NotANumber(String),
    #[error("{0:?} has more than 28 fractional digits")]
    TooPrecise(String),
    #[error("{0:?} is beyond the largest cost a row may carry (less than 10^15 currency units either way)")]
    OutOfRange(String),
}

/// 10^n, from a table built once (the row loop scales every cost by a power of ten).
fn pow10(n: u32) -> I256 {
    static TABLE: std::sync::OnceLock<[I256; 77]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [I256::ONE; 77];
        for i in 1..t.len() {
            t[i] = t[i - 1] * I256::new(10);
        }
        t
    });
    match table.get(n as usize) {
        Some(p) => *p,
        None => I256::new(10).pow(n),
    }
}

impl Money {
    pub const ZERO: Money = Money(I256::ZERO);

    /// The raw count of 10^-28 units.
    pub fn raw(self) -> I256 {
        self.0
    }

    pub fn from_raw(raw: I256) -> Money {
        Money(raw)
    }

    /// Whole minor units (for example cents when `decimals` is 2).
    pub fn from_minor_units(units: i128, decimals: u32) -> Money {
        Money(I256::new(units) * pow10(SCALE - decimals.min(SCALE)))
    }

    pub fn is_zero(self) -> bool {
        self.0 == I256::ZERO
    }

    /// Greater than zero.
    pub fn is_positive(self) -> bool {
        !self.is_negative() && !self.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_negative()
    }

    /// Parses `-12.5`, `0.0000000072922557592391990000`, `5.64902E-05`, `+3`, `.5`. Surrounding spaces are ignored.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let s = crate::text::trim(text);
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        let bad = || MoneyError::NotANumber(s.to_string());
        let bytes = s.as_bytes();
        let mut i = 0;
        let negative = match bytes[0] {
            b'-' => {
                i = 1;
                true
            }
            b'+' => {
                i = 1;
                false
            }
            _ => false,
        };
        // Trailing zeros after a decimal point are no precision (`1.000`, `1.0E+05`): the mantissa ends before them.
        let mantissa_end = bytes.iter().position(|b| matches!(b, b'e' | b'E')).unwrap_or(bytes.len());
        let mut digits_end = mantissa_end;
        if bytes[i..mantissa_end].contains(&b'.') {
            while digits_end > i && bytes[digits_end - 1] == b'0' {
                digits_end -= 1;
            }
        }
        // Mantissa digits without leading zeros, and how many of them follow the decimal point: summed in 128 bits
        // while they fit (38 digits), in 256 from there.
        let mut small: u128 = 0;
        let mut mantissa = I256::ZERO;
        let mut significant = 0u32;
        let mut frac_digits: i64 = 0;
        let mut seen_digit = digits_end < mantissa_end;
        let mut seen_point = false;
        while i < digits_end {
            match bytes[i] {
                d @ b'0'..=b'9' => {
                    seen_digit = true;
                    if seen_point {
                        frac_digits += 1;
                    }
                    if significant > 0 || d != b'0' {
                        significant += 1;
                        if significant > 70 {
                            // Too many digits to hold: too precise when past the 28th decimal, else too large.
                            return Err(if frac_digits > SCALE as i64 {
                                MoneyError::TooPrecise(s.to_string())
                            } else {
                                MoneyError::OutOfRange(s.to_string())
                            });
                        }
                        if significant <= 38 {
                            small = small * 10 + u128::from(d - b'0');
                        } else {
                            if significant == 39 {
                                mantissa = I256::new(small as i128);
                            }
                            mantissa = mantissa * I256::new(10) + I256::new((d - b'0') as i128);
                        }
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => return Err(bad()),
            }
            i += 1;
        }
        if !seen_digit {
            return Err(bad());
        }
        if significant <= 38 {
            mantissa = I256::new(small as i128);
        }
        let mut exponent: i64 = 0;
        if mantissa_end < bytes.len() {
            let exp_text = &s[mantissa_end + 1..];
            let digits = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            // Beyond +-1000 the value is zero, or too small or too large to hold, whatever the exact exponent (one
            // too long for 64 bits included).
            exponent = match exp_text.parse::<i64>() {
                Ok(e) => e.clamp(-1001, 1001),
                Err(_) if exp_text.starts_with('-') => -1001,
                Err(_) => 1001,
            };
        }
        if mantissa == I256::ZERO {
            return Ok(Money::ZERO);
        }
        if exponent > 1000 {
            return Err(MoneyError::OutOfRange(s.to_string()));
        }
        if exponent < -1000 {
            return Err(MoneyError::TooPrecise(s.to_string()));
        }
        // value = mantissa * 10^(exponent - frac_digits); we hold value * 10^SCALE.
        let shift = exponent - frac_digits + SCALE as i64;
        // The mantissa is not zero here.
        let raw = if shift >= 0 {
            if shift as u32 + significant > 75 {
                return Err(MoneyError::OutOfRange(s.to_string()));
            }
            mantissa * pow10(shift as u32)
        } else {
            let drop = (-shift) as u32;
            if drop > 75 {
                return Err(MoneyError::TooPrecise(s.to_string()));
            } else {
                let div = pow10(drop);
                if mantissa % div != I256::ZERO {
                    return Err(MoneyError::TooPrecise(s.to_string()));
                }
                mantissa / div
            }
        };
        if raw.unsigned_abs() >= pow10(MAX_ROW_DIGITS + SCALE).unsigned_abs() {
            return Err(MoneyError::OutOfRange(s.to_string()));
        }
        Ok(Money(if negative { -raw } else { raw }))
    }

    /// Whether the amount lies within what totals, lines and the output formats hold exactly (below 10^20 units).
    pub fn within_total_bound(self) -> bool {
        self.0.unsigned_abs() < pow10(MAX_TOTAL_DIGITS + SCALE).unsigned_abs()
    }

    /// `self * rate`, truncated toward zero at 10^-28; `None` when the product does not fit. Computed as
    /// `self * whole(rate) + self * fraction(rate) / 10^28`, so that an amount up to 10^20 units times a rate up to
    /// 10^20 never overflows on the way.
    pub fn mul_rate(self, rate: Money) -> Option<Money> {
        let one = pow10(SCALE);
        let (whole, fraction) = (rate.0 / one, rate.0 % one);
        let a = self.0.checked_mul(whole)?;
        let b = self.0.checked_mul(fraction)? / one;
        a.checked_add(b).map(Money)
    }

    /// Rounded to `decimals` fractional digits, half away from zero.
    pub fn round(self, decimals: u32) -> Money {
        Money::from_minor_units(self.minor_units(decimals), decimals)
    }

    /// The amount in whole minor units, rounded half away from zero.
    pub fn minor_units(self, decimals: u32) -> i128 {
        let unit = pow10(SCALE - decimals.min(SCALE));
        let half = unit / I256::new(2);
        let q = if self.0.is_negative() { (self.0 - half) / unit } else { (self.0 + half) / unit };
        q.as_i128()
    }

    /// The amount in whole minor units rounded toward negative infinity, and what is left over (never negative).
    pub fn floor_minor_units(self, decimals: u32) -> (i128, Money) {
        let unit = pow10(SCALE - decimals.min(SCALE));
        let q = self.0.div_euclid(unit);
        let r = self.0.rem_euclid(unit);
        (q.as_i128(), Money(r))
    }

    /// `self / divisor` (a cost per hour, a fraction of a total), truncated toward zero at 10^-28. `None` when the
    /// divisor is zero.
    pub fn per(self, divisor: Money) -> Option<Money> {
        self.mul_div(Money::from_minor_units(1, 0), divisor)
    }

    /// `self * numerator / denominator`, truncated toward zero at 10^-28. `None` when the denominator is zero.
    pub fn mul_div(self, numerator: Money, denominator: Money) -> Option<Money> {
        if denominator.is_zero() {
            return None;
        }
        // Both factors are at most ~1e38 in practice (1e10 units at scale 28); their product fits 256 bits.
        let product = self.0.checked_mul(numerator.0)?;
        Some(Money(product / denominator.0))
    }

    /// Fixed notation with exactly `decimals` digits after the point, rounded half away from zero.
    pub fn to_fixed(self, decimals: u32) -> String {
        let units = self.minor_units(decimals);
        format_units(I256::new(units), decimals)
    }

    /// The nearest double, for what only draws or ranks amounts (chart bars, statistics); never for a total.
    pub fn to_f64(self) -> f64 {
        self.to_plain().parse::<f64>().unwrap_or(0.0)
    }

    /// Full precision, trailing zeros trimmed: `0.1`, `-3`, `0.0000000072922557592391990000` -> `0.000000007292255759239199`.
    pub fn to_plain(self) -> String {
        let mut text = format_units(self.0, SCALE);
        if text.contains('.') {
            while text.ends_with('0') {
                text.pop();
            }
            if text.ends_with('.') {
                text.pop();
            }
        }
        if text == "-0" {
            text = "0".into();
        }
        text
    }
}

fn format_units(units: I256, decimals: u32) -> String {
    let negative = units.is_negative();
    let digits = units.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + 3);
    if negative {
        out.push('-');
    }
    if decimals == 0 {
        out.push_str(&digits);
        return out;
    }
    let d = decimals as usize;
    if digits.len() <= d {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', d - digits.len()));
        out.push_str(&digits);
    } else {
        let (whole, frac) = digits.split_at(digits.len() - d);
        out.push_str(whole);
        out.push('.');
        out.push_str(frac);
    }
    out
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain())
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({})", self.to_plain())
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_plain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn parses_azure_forms() {
        assert_eq!(m("0.0000000072922557592391990000").to_plain(), "0.000000007292255759239199");
        assert_eq!(m("5.64902E-05").to_plain(), "0.0000564902");
        assert_eq!(m("-12.50").to_plain(), "-12.5");
        assert_eq!(m("+3").to_plain(), "3");
        assert_eq!(m(".5").to_plain(), "0.5");
        assert_eq!(m("1e3").to_plain(), "1000");
        assert_eq!(m(" 0 ").to_plain(), "0");
        assert_eq!(m("-0.0").to_plain(), "0");
        assert_eq!(m("0.00000080000").to_plain(), "0.0000008");
    }

    #[test]
    fn rejects_what_it_cannot_hold() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert!(matches!(Money::parse("abc"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("1,5"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("NaN"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("1.2.3"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("-"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("1e"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("1e-29"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("1e999"), Err(MoneyError::OutOfRange(_))));
        assert!(matches!(Money::parse("1e-100"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("1e-200"), Err(MoneyError::TooPrecise(_))));
        assert_eq!(m("0e-200"), Money::ZERO);
        assert!(matches!(Money::parse("1e-2000"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("1e1001"), Err(MoneyError::OutOfRange(_))));
        assert_eq!(m("0e-100"), Money::ZERO);
        assert_eq!(m("0e1000"), Money::ZERO);
        // Leading zeros are not significant digits; seventy significant digits are read (then judged), seventy-one not.
        assert_eq!(m(&format!("{}1.5", "0".repeat(100))).to_plain(), "1.5");
        assert!(matches!(Money::parse(&format!("0.{}", "1".repeat(70))), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse(&format!("0.{}", "1".repeat(71))), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse(&"1".repeat(71)), Err(MoneyError::OutOfRange(_))));
        // Trailing zeros after the point are no digits; zero is zero at any exponent; an exponent of any length is
        // read as what it means.
        assert_eq!(m(&format!("1.{}", "0".repeat(70))).to_plain(), "1");
        assert_eq!(m("1.0E+05").to_plain(), "100000");
        assert_eq!(m("0.0E-1001"), Money::ZERO);
        assert_eq!(m("0e1001"), Money::ZERO);
        assert!(matches!(Money::parse("1e-1001"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("1e-2147483649"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("1e9223372036854775808"), Err(MoneyError::OutOfRange(_))));
        assert!(matches!(Money::parse("1e18446744073709551617"), Err(MoneyError::OutOfRange(_))));
        assert_eq!(m("1e0000000000000000000000002").to_plain(), "100");
        for bad in [".", "1.e", "e5", "1e+", "1e--5", "1.0.0", "-.", "1e5.0"] {
            assert!(matches!(Money::parse(bad), Err(MoneyError::NotANumber(_))), "{bad}");
        }
        // The bound of a row: below 10^15 either way.
        assert_eq!(m("999999999999999.9999").to_plain(), "999999999999999.9999");
        assert_eq!(m("-999999999999999").to_plain(), "-999999999999999");
        assert!(matches!(Money::parse("1000000000000000"), Err(MoneyError::OutOfRange(_))));
        assert!(matches!(Money::parse("-1e15"), Err(MoneyError::OutOfRange(_))));
        // Trailing zeros past the 28th digit are not precision.
        assert_eq!(m("0.10000000000000000000000000000000").to_plain(), "0.1");
    }

    #[test]
    fn a_million_tiny_costs_sum_exactly() {
        let tiny = m("0.0000001");
        let total: Money = std::iter::repeat_n(tiny, 1_000_000).sum();
        assert_eq!(total, m("0.1"));
        // The same in f64 drifts.
        let float: f64 = std::iter::repeat_n(0.0000001f64, 1_000_000).sum();
        assert_ne!(float, 0.1);
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(m("2.345").to_fixed(2), "2.35");
        assert_eq!(m("-2.345").to_fixed(2), "-2.35");
        assert_eq!(m("2.3449999").to_fixed(2), "2.34");
        assert_eq!(m("0.004").to_fixed(2), "0.00");
        assert_eq!(m("-0.004").to_fixed(2), "0.00");
        assert_eq!(m("1234").to_fixed(0), "1234");
        let (units, rest) = m("-1.005").floor_minor_units(2);
        assert_eq!(units, -101);
        assert_eq!(rest, m("0.005"));
    }

    #[test]
    fn totals_are_bounded_below_ten_to_the_twenty() {
        let just_below = Money::from_minor_units(10i128.pow(22) - 1, 2);
        assert!(just_below.within_total_bound());
        assert!((-just_below).within_total_bound());
        assert!(!(just_below + m("0.01")).within_total_bound());
        assert!(!(-(just_below + m("0.01"))).within_total_bound());
        // A rate of 10^6 times an amount near the bound is computed exactly, not wrapped.
        let rate = m("1000000.5");
        assert_eq!(m("3").mul_rate(rate), Some(m("3000001.5")));
        assert_eq!(m("-2.5").mul_rate(m("0.4")), Some(m("-1")));
        assert_eq!(just_below.mul_rate(m("1")), Some(just_below));
    }

    #[test]
    fn mul_div_is_exact_where_it_can_be() {
        assert_eq!(m("100").mul_div(m("1"), m("4")), Some(m("25")));
        assert_eq!(m("10").mul_div(m("1"), m("3")).unwrap().to_fixed(10), "3.3333333333");
        assert_eq!(m("10").mul_div(m("1"), Money::ZERO), None);
    }
}
