//! Money as an exact decimal string (yuan, at most two decimals), never a float: one signed
//! type for every amount the SDK reads or writes — trade and refund amounts, notification
//! fields, bill columns (where refunds and payouts are negative).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The most digits of whole yuan an amount may have: far beyond any real amount, and small
/// enough that the value in fen fits an `i64` without overflow.
const MAX_WHOLE_DIGITS: usize = 15;

/// An amount in yuan, as Alipay writes it: `"88.88"`, or `"-8.88"` for money going out (bills,
/// refunds in a ledger). Kept in fen (cents) as an `i64`, so it is exact, ordered and summable
/// with checked arithmetic.
///
/// ```
/// use alipay_core::model::Amount;
///
/// let total: Amount = "88.88".parse()?;
/// let refund: Amount = "-8.8".parse()?;
/// assert_eq!(total.checked_add(refund).map(|a| a.to_string()), Some("80.08".to_string()));
/// assert!("88.888".parse::<Amount>().is_err());
/// # Ok::<(), alipay_core::model::AmountError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount {
    cents: i64,
}

/// Why text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an amount: {expected}")]
pub struct AmountError {
    text: String,
    expected: &'static str,
}

impl AmountError {
    pub(crate) fn new(text: &str, expected: &'static str) -> AmountError {
        AmountError { text: text.to_string(), expected }
    }
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount { cents: 0 };

    /// An amount in fen (cents), negative for money going out.
    pub const fn from_cents(cents: i64) -> Amount {
        Amount { cents }
    }

    /// The amount in fen, negative for money going out.
    pub const fn cents(self) -> i64 {
        self.cents
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.cents < 0
    }

    /// The sum, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.cents.checked_add(other.cents).map(Amount::from_cents)
    }

    /// The difference, or `None` on overflow.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.cents.checked_sub(other.cents).map(Amount::from_cents)
    }

    /// Parses `text` and refuses a negative amount: for the fields Alipay documents as
    /// payments (a notification's `total_amount`, say), where a minus sign is not genuine.
    pub fn parse_non_negative(text: &str) -> Result<Amount, AmountError> {
        let amount: Amount = text.parse()?;
        if amount.is_negative() {
            return Err(AmountError::new(text, "expected an amount of zero or more"));
        }
        Ok(amount)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Yuan with at most two decimals and an optional leading `-`: `88.88`, `0.1`, `-8.88`,
    /// `100`. No `+`, spaces, exponents or thousands separators.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || AmountError::new(text, "expected yuan with at most two decimals, like 88.88 or -8.88");
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let well_formed = !whole.is_empty()
            && whole.len() <= MAX_WHOLE_DIGITS
            && digits(whole)
            && fraction.len() <= 2
            && digits(fraction)
            && !(unsigned.contains('.') && fraction.is_empty());
        if !well_formed {
            return Err(error());
        }
        let whole: i64 = whole.parse().map_err(|_| error())?;
        let fraction: i64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().map_err(|_| error())? * 10,
            _ => fraction.parse().map_err(|_| error())?,
        };
        let cents = whole * 100 + fraction;
        Ok(Amount { cents: if negative { -cents } else { cents } })
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.cents < 0 { "-" } else { "" };
        let abs = self.cents.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Alipay sends strings; a bare JSON integer is accepted by its text, never via a float.
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            other => return Err(serde::de::Error::custom(format!("expected an amount string, found {other}"))),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!("88.88".parse::<Amount>().unwrap().cents(), 8888);
        assert_eq!("0.1".parse::<Amount>().unwrap().to_string(), "0.10");
        assert_eq!("-8.8".parse::<Amount>().unwrap().cents(), -880);
        assert_eq!("-0.05".parse::<Amount>().unwrap().to_string(), "-0.05");
        assert_eq!("100000000".parse::<Amount>().unwrap().to_string(), "100000000.00");
        assert_eq!("999999999999999.99".parse::<Amount>().unwrap().cents(), 99_999_999_999_999_999);
        for bad in ["", "1.", ".5", "1.234", "+1", "--1", "-", "1e3", "1,00", " 1", "1 ", "1000000000000000"] {
            assert!(bad.parse::<Amount>().is_err(), "{bad}");
        }
        assert!(Amount::parse_non_negative("-1").is_err());
        assert_eq!(Amount::parse_non_negative("0.00").unwrap(), Amount::ZERO);
        let json: Amount = serde_json::from_str("\"0.01\"").unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), "\"0.01\"");
        assert!(serde_json::from_str::<Amount>("0.01").is_err(), "a float is refused");
        assert_eq!(serde_json::from_str::<Amount>("-3").unwrap().cents(), -300);
        assert_eq!(Amount::from_cents(i64::MIN).to_string(), "-92233720368547758.08");
    }
}
