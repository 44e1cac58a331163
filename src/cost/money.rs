//! Exact money arithmetic: US dollars as `Decimal`, stored amounts as
//! picodollars (`i64` units of 10^-12 USD).
//!
//! Rounding rule, used everywhere an amount becomes picodollars: the exact
//! decimal product is rounded once to a whole picodollar, half to even.
//! Nothing here goes through `f64` arithmetic.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::model::Picodollars;

/// Picodollar digits after the dollar's decimal point.
const PICO_SCALE: u32 = 12;

/// Error for an amount that cannot be converted to picodollars.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("invalid cost {0:?}: expected a decimal number of US dollars")]
    Invalid(String),
    #[error("invalid cost {0}: a cost cannot be negative")]
    Negative(String),
    #[error("cost overflow: the amount does not fit in 64-bit picodollars")]
    Overflow,
    #[error("invalid cost {0}: one event may cost at most $1,000,000")]
    TooLarge(String),
}

/// Converts an amount of US dollars to picodollars, rounding half to even.
pub fn usd_to_picodollars(usd: Decimal) -> Result<Picodollars, MoneyError> {
    scaled_to_picodollars(usd.mantissa(), usd.scale())
}

/// Returns `tokens × price_per_token` in picodollars, computed exactly and
/// rounded once, half to even.
pub fn tokens_cost(tokens: i64, price_per_token: Decimal) -> Result<Picodollars, MoneyError> {
    let product = i128::from(tokens)
        .checked_mul(price_per_token.mantissa())
        .ok_or(MoneyError::Overflow)?;
    scaled_to_picodollars(product, price_per_token.scale())
}

/// Converts picodollars back to an exact dollar amount, without trailing zeros.
pub fn picodollars_to_usd(amount: Picodollars) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(amount), PICO_SCALE).normalize()
}

/// Parses a dollar amount written as decimal text: plain (`0.0025`) or
/// scientific (`2.5e-3`), with surrounding whitespace allowed.
pub fn parse_usd(text: &str) -> Result<Decimal, MoneyError> {
    let trimmed = text.trim();
    let invalid = || MoneyError::Invalid(text.to_string());
    if trimmed.is_empty() {
        return Err(invalid());
    }

    let parsed = if trimmed.contains(['e', 'E']) {
        Decimal::from_scientific(trimmed)
    } else {
        Decimal::from_str(trimmed)
    };
    parsed.map_err(|_| invalid())
}

/// Largest cost one event may report: $1,000,000, far above any single
/// model call, so sums over many events stay within 64 bits.
pub const MAX_CLIENT_COST_PD: Picodollars = 1_000_000 * 1_000_000_000_000;

/// Converts a cost a client sent, in dollars, to picodollars.
///
/// Accepts a JSON number or a string holding a decimal number. A number is
/// read through its shortest decimal text (the digits the client wrote, for
/// any value with at most 15 significant digits), never multiplied as a
/// float. Rejects negative amounts, other JSON types and unparsable text.
pub fn client_cost_to_picodollars(value: &Value) -> Result<Picodollars, MoneyError> {
    let usd = match value {
        Value::Number(number) => parse_usd(&number.to_string())?,
        Value::String(text) => parse_usd(text)?,
        other => return Err(MoneyError::Invalid(other.to_string())),
    };
    let amount = non_negative_picodollars(usd)?;
    if amount > MAX_CLIENT_COST_PD {
        return Err(MoneyError::TooLarge(usd.to_string()));
    }
    Ok(amount)
}

/// Converts a cost sent as a float (an OTLP double attribute such as
/// `gen_ai.usage.total_cost`) to picodollars through its shortest decimal text.
pub fn f64_usd_to_picodollars(usd: f64) -> Result<Picodollars, MoneyError> {
    if !usd.is_finite() {
        return Err(MoneyError::Invalid(usd.to_string()));
    }
    // `{:e}` prints the shortest text that reads back as the same float.
    let text = format!("{usd:e}");
    match Decimal::from_scientific(&text) {
        Ok(decimal) => non_negative_picodollars(decimal),
        // Too small for Decimal's 28 fractional digits: far below a picodollar.
        Err(_) if usd.abs() < 1e-20 => Ok(0),
        Err(_) => Err(MoneyError::Overflow),
    }
}

fn non_negative_picodollars(usd: Decimal) -> Result<Picodollars, MoneyError> {
    if usd.is_sign_negative() && !usd.is_zero() {
        return Err(MoneyError::Negative(usd.to_string()));
    }
    usd_to_picodollars(usd)
}

/// Rounds `mantissa × 10^-scale` dollars to whole picodollars, half to even.
fn scaled_to_picodollars(mantissa: i128, scale: u32) -> Result<Picodollars, MoneyError> {
    let picodollars = if scale <= PICO_SCALE {
        let factor = 10_i128.pow(PICO_SCALE - scale);
        mantissa.checked_mul(factor).ok_or(MoneyError::Overflow)?
    } else {
        divide_half_even(mantissa, 10_i128.pow(scale - PICO_SCALE))
    };
    Picodollars::try_from(picodollars).map_err(|_| MoneyError::Overflow)
}

/// Divides by a positive divisor, rounding the quotient half to even.
fn divide_half_even(dividend: i128, divisor: i128) -> i128 {
    let quotient = dividend.div_euclid(divisor);
    let remainder = dividend.rem_euclid(divisor);
    let twice = remainder * 2;
    let round_up = twice > divisor || (twice == divisor && quotient % 2 != 0);
    if round_up { quotient + 1 } else { quotient }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn rounding_half_to_even() {
        // 0.5, 1.5, 2.5 and -0.5 picodollars.
        assert_eq!(usd_to_picodollars(dec!(0.0000000000005)), Ok(0));
        assert_eq!(usd_to_picodollars(dec!(0.0000000000015)), Ok(2));
        assert_eq!(usd_to_picodollars(dec!(0.0000000000025)), Ok(2));
        assert_eq!(usd_to_picodollars(dec!(-0.0000000000005)), Ok(0));
        assert_eq!(usd_to_picodollars(dec!(-0.0000000000015)), Ok(-2));
    }

    #[test]
    fn rounding_above_and_below_half() {
        assert_eq!(usd_to_picodollars(dec!(0.00000000000050001)), Ok(1));
        assert_eq!(usd_to_picodollars(dec!(0.00000000000049999)), Ok(0));
        assert_eq!(usd_to_picodollars(dec!(0.0000000000024999999)), Ok(2));
    }

    #[test]
    fn tokens_cost_exact_product() {
        // 1,234,567 tokens at $0.00000015 = $0.18518505.
        assert_eq!(
            tokens_cost(1_234_567, dec!(0.00000015)),
            Ok(185_185_050_000)
        );
        // 3 tokens at $0.0000000000005 = 1.5 picodollars, rounded to 2.
        assert_eq!(tokens_cost(3, dec!(0.0000000000005)), Ok(2));
        assert_eq!(tokens_cost(0, dec!(0.00001)), Ok(0));
    }

    #[test]
    fn tokens_cost_overflow_is_error() {
        assert_eq!(tokens_cost(i64::MAX, dec!(1)), Err(MoneyError::Overflow));
    }

    #[test]
    fn client_cost_number_and_string() {
        assert_eq!(client_cost_to_picodollars(&json!(0.1)), Ok(100_000_000_000));
        assert_eq!(
            client_cost_to_picodollars(&json!(0.0023)),
            Ok(2_300_000_000)
        );
        assert_eq!(client_cost_to_picodollars(&json!(1e-7)), Ok(100_000));
        assert_eq!(client_cost_to_picodollars(&json!(3)), Ok(3_000_000_000_000));
        assert_eq!(
            client_cost_to_picodollars(&json!("0.000123456789")),
            Ok(123_456_789)
        );
        assert_eq!(
            client_cost_to_picodollars(&json!(" 2.5e-6 ")),
            Ok(2_500_000)
        );
    }

    #[test]
    fn client_cost_float_digits_not_noise() {
        // 0.1 + 0.2 as a float is 0.30000000000000004; its text keeps it.
        let sum = 0.1_f64 + 0.2_f64;
        assert_eq!(f64_usd_to_picodollars(sum), Ok(300_000_000_000));
        assert_eq!(f64_usd_to_picodollars(0.07), Ok(70_000_000_000));
        assert_eq!(f64_usd_to_picodollars(1e-30), Ok(0));
    }

    #[test]
    fn client_cost_rejects_bad_values() {
        let negative = client_cost_to_picodollars(&json!(-0.5));
        assert!(matches!(negative, Err(MoneyError::Negative(_))));
        let text = client_cost_to_picodollars(&json!("abc"));
        assert!(matches!(text, Err(MoneyError::Invalid(_))));
        let boolean = client_cost_to_picodollars(&json!(true));
        assert!(matches!(boolean, Err(MoneyError::Invalid(_))));
        let empty = client_cost_to_picodollars(&json!(""));
        assert!(matches!(empty, Err(MoneyError::Invalid(_))));
        assert!(f64_usd_to_picodollars(f64::NAN).is_err());
        assert_eq!(f64_usd_to_picodollars(1e30), Err(MoneyError::Overflow));
    }

    #[test]
    fn picodollars_back_to_usd() {
        assert_eq!(picodollars_to_usd(2_500_000), dec!(0.0000025));
        assert_eq!(picodollars_to_usd(0), dec!(0));
        assert_eq!(picodollars_to_usd(1_000_000_000_000).to_string(), "1");
    }
}
