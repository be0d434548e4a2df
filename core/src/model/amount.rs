//! Money as an exact decimal string (yuan, at most two decimals), never a float.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest amount Alipay accepts in one trade, in fen.
const MAX_CENTS: u64 = 10_000_000_000;

/// An amount in yuan, as Alipay writes it: `"88.88"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    cents: u64,
}

/// Why text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an amount: expected yuan with at most two decimals, 0.00 to 100000000.00")]
pub struct AmountError {
    text: String,
}

impl Amount {
    /// An amount in fen (cents).
    pub fn from_cents(cents: u64) -> Result<Amount, AmountError> {
        if cents > MAX_CENTS {
            return Err(AmountError { text: format!("{cents} fen") });
        }
        Ok(Amount { cents })
    }

    /// The amount in fen.
    pub fn cents(self) -> u64 {
        self.cents
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || AmountError { text: text.to_string() };
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 9 || !digits(whole) || fraction.len() > 2 || !digits(fraction) {
            return Err(error());
        }
        if text.contains('.') && fraction.is_empty() {
            return Err(error());
        }
        let whole: u64 = whole.parse().map_err(|_| error())?;
        let fraction: u64 = format!("{fraction:0<2}").parse().map_err(|_| error())?;
        Amount::from_cents(whole * 100 + fraction).map_err(|_| error())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Alipay sends strings; a bare JSON number is accepted by its text, never via a float.
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
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
        assert_eq!("100000000".parse::<Amount>().unwrap().to_string(), "100000000.00");
        for bad in ["", "1.", ".5", "1.234", "-1", "1e3", "100000000.01", "1,00", " 1"] {
            assert!(bad.parse::<Amount>().is_err(), "{bad}");
        }
        let json: Amount = serde_json::from_str("\"0.01\"").unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), "\"0.01\"");
        assert!(serde_json::from_str::<Amount>("0.01").is_err());
    }
}
