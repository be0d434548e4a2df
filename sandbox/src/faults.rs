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
    fn counted_rules_are_spent() {
        let mut faults = Faults::new(1);
        faults.set("*", vec![FaultRule::times(Fault::ServerErrorHtml, 2)]);
        assert!(faults.pick("a").is_some());
        assert!(faults.pick("b").is_some());
        assert!(faults.pick("c").is_none());
    }
}
