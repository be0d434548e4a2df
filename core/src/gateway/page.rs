//! Browser and app entry points ([protocol](crate::protocol#browser-and-app-entry-points)): page pay as a form or URL, the app /
//! mini-program order string. Nothing is sent; the buyer's browser or app does that.

use crate::config::Config;
use crate::request::{Request, RequestError};

/// How a page-pay request reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageMethod {
    /// An auto-submitting HTML form that POSTs the application parameters.
    Post,
    /// A URL with every signed parameter in the query.
    Get,
}

/// A signed page-pay entry point for `request`: an auto-submitting HTML form (POST) or a URL
/// (GET) to the configured gateway.
pub fn page_execute(config: &Config, request: &Request, method: PageMethod) -> Result<String, RequestError> {
    let signed = config.sign_request(request)?;
    match method {
        PageMethod::Get => {
            let all: Vec<(String, String)> = signed.query.iter().chain(signed.body.iter()).cloned().collect();
            let query = crate::primitives::gateway::encode_pairs(all.iter(), signed.charset())?;
            let separator = if config.gateway().contains('?') { '&' } else { '?' };
            Ok(format!("{}{separator}{query}", config.gateway()))
        }
        PageMethod::Post => {
            let action = signed.url(config.gateway())?;
            let mut html = format!(
                "<form name=\"punchout_form\" method=\"post\" action=\"{}\" accept-charset=\"{}\">\n",
                crate::primitives::escape::html_escape(&action),
                signed.charset().as_str()
            );
            for (name, value) in &signed.body {
                html.push_str(&format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                    crate::primitives::escape::html_escape(name),
                    crate::primitives::escape::html_escape(value)
                ));
            }
            html.push_str("<input type=\"submit\" value=\"Pay\" style=\"display:none\">\n</form>\n");
            html.push_str("<script>document.forms[document.forms.length - 1].submit();</script>");
            Ok(html)
        }
    }
}

/// The signed order string for app and mini-program payment (`request`'s parameters, signed,
/// URL-encoded).
pub fn sdk_execute(config: &Config, request: &Request) -> Result<String, RequestError> {
    let signed = config.sign_request(request)?;
    let mut all: Vec<(String, String)> = signed.query.iter().chain(signed.body.iter()).cloned().collect();
    all.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(crate::primitives::gateway::encode_pairs(all.iter(), signed.charset())?)
}
