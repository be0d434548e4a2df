//! Fault injection, per method, reproducible from a seed.

use std::collections::HashMap;
use std::time::Duration;

/// A fault the sandbox can inject.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Reset the connection before the request is processed (nothing happens).
    ResetBeforeProcessing,
    /// Process the request (the ledger changes), then reset the connection without answering.
    ResetAfterProcessing,
    /// Answer HTTP 502 with an HTML body, as a load balancer would.
    ServerErrorHtml,
    /// Announce the full body, send half of it, close.
    TruncatedBody,
    /// Send the body slowly, over this long.
    SlowBody(Duration),
    /// Answer an unsigned `error_response` (as anyone on the path could forge).
    UnsignedErrorResponse,
    /// Sign the answer with a key that is not Alipay's.
    WrongKeySignature,
    /// Add a second, forged response node after the signed one.
    DuplicatedNode,
    /// Answer without `sign` and `alipay_cert_sn` (Alipay's own Java SDK does not verify the
    /// certificate download's answer, so a live one may come so).
    Unsigned,
    /// Process the request, then answer this signed business code instead (`10003` waiting for
    /// the buyer, `20000` with an `isp.*` sub_code: outcomes the caller must query).
    Code {
        /// `code`.
        code: &'static str,
        /// `msg`.
        msg: &'static str,
        /// `sub_code`.
        sub_code: &'static str,
    },
}

/// The fault names the dashboard, the control endpoint and `alipay sandbox fault set` take,
/// each with what it does in words. `slow-body` takes its duration separately.
pub const FAULT_NAMES: &[(&str, &str)] = &[
    ("reset-before", "the connection is reset before the request is processed (nothing happened)"),
    ("reset-after", "the request is processed, then the connection is reset without an answer (outcome unknown)"),
    ("server-error-html", "HTTP 502 with an HTML page, as a load balancer answers"),
    ("truncated-body", "the answer is cut off halfway"),
    ("slow-body", "the answer trickles in slowly"),
    ("unsigned-error-response", "an unsigned error_response, as anyone on the path could forge"),
    ("wrong-key-signature", "the answer is signed with a key that is not Alipay's"),
    ("duplicated-node", "a second, forged response node follows the signed one"),
    ("unsigned", "the answer comes without sign and alipay_cert_sn"),
    ("waiting-for-buyer", "processed, then 10003: waiting for the buyer to confirm (query the trade)"),
    ("service-unavailable", "processed, then 20000 isp.unknow-error: the outcome is unknown (query the trade)"),
];

impl Fault {
    /// The fault called `name` (one of [`FAULT_NAMES`]); `slow` is how long `slow-body` takes.
    pub fn from_name(name: &str, slow: Duration) -> Option<Fault> {
        Some(match name {
            "reset-before" => Fault::ResetBeforeProcessing,
            "reset-after" => Fault::ResetAfterProcessing,
            "server-error-html" => Fault::ServerErrorHtml,
            "truncated-body" => Fault::TruncatedBody,
            "slow-body" => Fault::SlowBody(slow),
            "unsigned-error-response" => Fault::UnsignedErrorResponse,
            "wrong-key-signature" => Fault::WrongKeySignature,
            "duplicated-node" => Fault::DuplicatedNode,
            "unsigned" => Fault::Unsigned,
            "waiting-for-buyer" => {
                Fault::Code { code: "10003", msg: "Waiting for the buyer", sub_code: "ACQ.WAIT_USER_PAY" }
            }
            "service-unavailable" => {
                Fault::Code { code: "20000", msg: "Service Currently Unavailable", sub_code: "isp.unknow-error" }
            }
            _ => return None,
        })
    }

    /// The fault's name in [`FAULT_NAMES`] (a `Code` fault not listed there: `code-<code>`).
    pub fn name(&self) -> String {
        match self {
            Fault::ResetBeforeProcessing => "reset-before".into(),
            Fault::ResetAfterProcessing => "reset-after".into(),
            Fault::ServerErrorHtml => "server-error-html".into(),
            Fault::TruncatedBody => "truncated-body".into(),
            Fault::SlowBody(_) => "slow-body".into(),
            Fault::UnsignedErrorResponse => "unsigned-error-response".into(),
            Fault::WrongKeySignature => "wrong-key-signature".into(),
            Fault::DuplicatedNode => "duplicated-node".into(),
            Fault::Unsigned => "unsigned".into(),
            Fault::Code { code: "10003", sub_code: "ACQ.WAIT_USER_PAY", .. } => "waiting-for-buyer".into(),
            Fault::Code { code: "20000", sub_code: "isp.unknow-error", .. } => "service-unavailable".into(),
            Fault::Code { code, .. } => format!("code-{code}"),
        }
    }
}

/// What the fault does, in words (the dashboard's and the CLI's listing).
impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::SlowBody(duration) => write!(f, "the answer trickles in over {:.1} s", duration.as_secs_f64()),
            Fault::Code { code, sub_code, .. } if self.name().starts_with("code-") => {
                write!(f, "processed, then a signed {code} {sub_code}")
            }
            other => {
                let name = other.name();
                let words = FAULT_NAMES.iter().find(|(n, _)| *n == name).map_or("", |(_, words)| words);
                f.write_str(words)
            }
        }
    }
}

/// When to inject a fault.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// The fault.
    pub fault: Fault,
    /// Chance per request, 0.0 to 1.0.
    pub probability: f64,
    /// Inject at most this many times (then the rule is spent).
    pub times: Option<u32>,
}

impl FaultRule {
    /// Always inject `fault`.
    pub fn always(fault: Fault) -> FaultRule {
        FaultRule { fault, probability: 1.0, times: None }
    }

    /// Inject `fault` on the next `times` requests.
    pub fn times(fault: Fault, times: u32) -> FaultRule {
        FaultRule { fault, probability: 1.0, times: Some(times) }
    }

    /// Inject `fault` with `probability` per request.
    pub fn sometimes(fault: Fault, probability: f64) -> FaultRule {
        FaultRule { fault, probability: probability.clamp(0.0, 1.0), times: None }
    }
}

impl serde::Serialize for FaultRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut out = serializer.serialize_struct("FaultRule", 5)?;
        out.serialize_field("fault", &self.fault.name())?;
        out.serialize_field("what", &self.fault.to_string())?;
        out.serialize_field("probability", &self.probability)?;
        out.serialize_field("times_left", &self.times)?;
        let slow_ms = match self.fault {
            Fault::SlowBody(duration) => Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
            _ => None,
        };
        out.serialize_field("slow_ms", &slow_ms)?;
        out.end()
    }
}

/// A fault rule from named fields (the dashboard's form, the control endpoint's query):
/// `fault` (a name of [`FAULT_NAMES`], or `none`), `probability` (default 1), `times` (default
/// unlimited), `slow_ms` (for `slow-body`, default 3000). `Ok(None)` for `none`.
pub(crate) fn rule_from(field: impl Fn(&str) -> Option<String>) -> Result<Option<FaultRule>, String> {
    let name = field("fault").unwrap_or_default();
    if name.is_empty() || name == "none" {
        return Ok(None);
    }
    let number = |key: &str| field(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let slow_ms: u64 = match number("slow_ms") {
        Some(text) => text.parse().map_err(|_| format!("slow_ms {text:?}: expected milliseconds"))?,
        None => 3000,
    };
    let fault = Fault::from_name(&name, Duration::from_millis(slow_ms.min(120_000))).ok_or_else(|| {
        let names: Vec<&str> = FAULT_NAMES.iter().map(|(n, _)| *n).collect();
        format!("unknown fault {name:?}; one of: {}", names.join(", "))
    })?;
    let probability = match number("probability") {
        Some(text) => match text.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => p,
            _ => return Err(format!("probability {text:?}: expected a number from 0 to 1")),
        },
        None => 1.0,
    };
    let times = match number("times") {
        Some(text) => Some(text.parse::<u32>().map_err(|_| format!("times {text:?}: expected a whole number"))?),
        None => None,
    };
    Ok(Some(FaultRule { fault, probability, times }))
}

/// The rules in force, keyed by method (`*` for every method), and the seeded generator.
#[derive(Debug)]
pub(crate) struct Faults {
    rules: HashMap<String, Vec<FaultRule>>,
    state: u64,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Faults {
        Faults { rules: HashMap::new(), state: seed }
    }

    pub(crate) fn set(&mut self, method: &str, rules: Vec<FaultRule>) {
        if rules.is_empty() {
            self.rules.remove(method);
        } else {
            self.rules.insert(method.to_string(), rules);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// The rules in force, by method (for the dashboard).
    pub(crate) fn rules(&self) -> Vec<(String, Vec<FaultRule>)> {
        let mut rules: Vec<_> = self.rules.iter().map(|(m, r)| (m.clone(), r.clone())).collect();
        rules.sort_by(|a, b| a.0.cmp(&b.0));
        rules
    }

    /// SplitMix64: small, fast and reproducible.
    fn next(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The fault to inject for this request, if any.
    pub(crate) fn pick(&mut self, method: &str) -> Option<Fault> {
        for key in [method, "*"] {
            let count = self.rules.get(key).map_or(0, Vec::len);
            for index in 0..count {
                let roll = self.next();
                let rule = &mut self.rules.get_mut(key).expect("present")[index];
                if rule.times == Some(0) || roll >= rule.probability {
                    continue;
                }
                if let Some(times) = rule.times.as_mut() {
                    *times -= 1;
                }
                return Some(rule.fault.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let run = |seed| {
            let mut faults = Faults::new(seed);
            faults.set("m", vec![FaultRule::sometimes(Fault::TruncatedBody, 0.3)]);
            (0..200).map(|_| faults.pick("m").is_some()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|h| **h).count();
        assert!((30..=90).contains(&hits), "{hits} of 200 at p=0.3");
    }

    #[test]
    fn every_named_fault_parses_back_to_its_name_and_says_what_it_does() {
        for (name, words) in FAULT_NAMES {
            let fault = Fault::from_name(name, Duration::from_millis(1500)).expect(name);
            assert_eq!(fault.name(), *name);
            let shown = fault.to_string();
            assert!(!shown.is_empty(), "{name}");
            if *name == "slow-body" {
                assert_eq!(shown, "the answer trickles in over 1.5 s");
            } else {
                assert_eq!(shown, *words);
            }
        }
        assert_eq!(Fault::from_name("nope", Duration::ZERO), None);
        let other = Fault::Code { code: "40004", msg: "Business Failed", sub_code: "isp.system-busy" };
        assert_eq!(other.name(), "code-40004");
        assert_eq!(other.to_string(), "processed, then a signed 40004 isp.system-busy");
    }

    #[test]
    fn rules_from_fields_are_checked() {
        let fields = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
        };
        let rule = rule_from(fields(&[("fault", "slow-body"), ("slow_ms", "250"), ("times", "2")])).unwrap().unwrap();
        assert_eq!(
            (rule.fault, rule.probability, rule.times),
            (Fault::SlowBody(Duration::from_millis(250)), 1.0, Some(2))
        );
        assert!(rule_from(fields(&[("fault", "none")])).unwrap().is_none());
        assert!(rule_from(fields(&[("fault", "boom")])).unwrap_err().contains("one of: reset-before"));
        assert!(rule_from(fields(&[("fault", "unsigned"), ("probability", "2")])).unwrap_err().contains("0 to 1"));
        assert!(rule_from(fields(&[("fault", "unsigned"), ("times", "-1")])).unwrap_err().contains("times"));
    }

    #[test]
    fn counted_rules_are_spent() {
        let mut faults = Faults::new(1);
        faults.set("*", vec![FaultRule::times(Fault::ServerErrorHtml, 2)]);
        assert!(faults.pick("a").is_some());
        assert!(faults.pick("b").is_some());
        assert!(faults.pick("c").is_none());
    }
}
