//! The hosts a bill may be downloaded from.

use super::{BillError, BillErrorKind};

/// The hosts a bill URL, and every redirect it leads to, may be on (http or https): a host is
/// allowed when it is one of these or a subdomain of one.
///
/// [`BillHosts::alipay`] holds Alipay's own domains — `alipay.com` (the bill centre
/// `dwbillcenter.alipay.com` serves production bills), `alipaydev.com` (the sandbox),
/// `alipayobjects.com` — and `aliyuncs.com` (object storage in Alipay's group, which may serve
/// the file). The SDK's client adds the configured gateway's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillHosts {
    domains: Vec<String>,
}

impl BillHosts {
    /// Alipay's bill hosts.
    pub fn alipay() -> BillHosts {
        BillHosts {
            domains: ["alipay.com", "alipaydev.com", "alipayobjects.com", "aliyuncs.com"].map(String::from).to_vec(),
        }
    }

    /// No host at all (add the ones you allow with [`Self::allow`]).
    pub fn none() -> BillHosts {
        BillHosts { domains: Vec::new() }
    }

    /// Allows `host` and its subdomains too.
    pub fn allow(mut self, host: impl Into<String>) -> BillHosts {
        let host = host.into().trim_end_matches('.').to_ascii_lowercase();
        if !host.is_empty() && !self.domains.contains(&host) {
            self.domains.push(host);
        }
        self
    }

    /// The allowed domains.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// Whether `url` is http(s) on an allowed host.
    pub fn allows(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        matches!(url.scheme(), "http" | "https")
            && self.domains.iter().any(|domain| {
                host == *domain
                    || (host.len() > domain.len()
                        && host.ends_with(domain.as_str())
                        && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
            })
    }

    /// [`Self::allows`], or the error naming the host and the allowed domains.
    pub fn check(&self, url: &url::Url) -> Result<(), BillError> {
        if self.allows(url) {
            return Ok(());
        }
        Err(BillErrorKind::HostNotAllowed {
            url: crate::excerpt::capped(&format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")), 300),
            allowed: self.domains.clone(),
        }
        .into())
    }
}

impl Default for BillHosts {
    fn default() -> Self {
        BillHosts::alipay()
    }
}
