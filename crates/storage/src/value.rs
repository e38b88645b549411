//! A point's value as a scan reads it back.

use crate::codec::values::{unscale, MAX_DECIMALS};

/// A value read from the store: the double, and the decimal it was stored
/// as, when its chunk holds decimals (most metrics: `23.7` is 237 over
/// 10^1). A reader that prints values prints the decimal's digits and
/// skips finding them again from the double, most of the cost of printing.
///
/// Sixteen bytes, so that it is passed in registers: scans hand one to a
/// callback per point, and a larger one went through the stack at a cost
/// that showed in `get *`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Value {
    float: f64,
    /// The decimal's integer shifted left by 8 over its count of decimals,
    /// or [`NO_DECIMAL`].
    packed: i64,
}

/// `packed` when there is no decimal: no integer below 2^53 shifts to it.
const NO_DECIMAL: i64 = i64::MIN;

/// An integer over a power of ten: the form most metric values are stored
/// in. The double it stands for is `integer as f64 / 10^decimals`
/// (correctly rounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    /// The digits, as an integer, below 2^53 in magnitude.
    pub integer: i64,
    /// How many of them follow the decimal point.
    pub decimals: u8,
}

impl Value {
    /// A value with no stored decimal.
    pub fn new(float: f64) -> Value {
        Value { float, packed: NO_DECIMAL }
    }

    /// The value `decimal` stands for; `None` when its integer is 2^53 or
    /// more in magnitude or it has more decimals than a chunk stores.
    /// The double is worked out only when asked for
    /// ([`Value::as_f64`]): a reader printing the decimal never needs it.
    pub fn with_decimal(decimal: Decimal) -> Option<Value> {
        let fits = decimal.integer.unsigned_abs() < 1 << 53 && decimal.decimals <= MAX_DECIMALS;
        fits.then_some(Value { float: 0.0, packed: decimal.integer << 8 | i64::from(decimal.decimals) })
    }

    /// The value.
    pub fn as_f64(self) -> f64 {
        match self.decimal() {
            // Checked when made: never NaN.
            Some(decimal) => unscale(decimal.integer, decimal.decimals).unwrap_or(f64::NAN),
            None => self.float,
        }
    }

    /// The decimal it was stored as, if any.
    pub fn decimal(self) -> Option<Decimal> {
        (self.packed != NO_DECIMAL)
            .then_some(Decimal { integer: self.packed >> 8, decimals: (self.packed & 0xff) as u8 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_pack_and_unpack() {
        for integer in [0, 1, -1, 237, -(1 << 53) + 1, (1 << 53) - 1] {
            for decimals in [0, 1, 6] {
                let decimal = Decimal { integer, decimals };
                let value = Value::with_decimal(decimal).unwrap();
                assert_eq!(value.decimal(), Some(decimal));
                assert_eq!(value.as_f64(), integer as f64 / 10f64.powi(decimals.into()));
            }
        }
        assert_eq!(Value::with_decimal(Decimal { integer: 1 << 53, decimals: 0 }), None);
        assert_eq!(Value::with_decimal(Decimal { integer: 1, decimals: 7 }), None);
        assert_eq!(Value::new(2.5).decimal(), None);
        assert_eq!(Value::new(2.5).as_f64(), 2.5);
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }
}
