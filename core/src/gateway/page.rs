//! Browser and app entry points ([protocol](crate::protocol#browser-and-app-entry-points)): page pay as a form or URL, the app /
//! mini-program order string. Nothing is sent; the buyer's browser or app does that.

use crate::request::{RequestError, SignedRequest};

/// How a page-pay request reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageMethod {
    /// An auto-submitting HTML form that POSTs the application parameters.
    Post,
    /// A URL with every signed parameter in the query.
    Get,
}

/// The page-pay entry point for a signed request: an auto-submitting HTML form (POST) or a URL
/// (GET) to `gateway`. [`crate::Config::page_execute`] signs and renders in one step.
pub fn page_entry(signed: &SignedRequest, gateway: &str, method: PageMethod) -> Result<String, RequestError> {
    match method {
        PageMethod::Get => {
            let all: Vec<(String, String)> = signed.query.iter().chain(signed.body.iter()).cloned().collect();
            let query = crate::gateway::content::encode_pairs(all.iter(), signed.charset())?;
            let separator = if gateway.contains('?') { '&' } else { '?' };
            Ok(format!("{}{separator}{query}", gateway))
        }
        PageMethod::Post => {
            let action = signed.url(gateway)?;
            let mut html = format!(
                "<form name=\"punchout_form\" method=\"post\" action=\"{}\" accept-charset=\"{}\">\n",
                crate::encoding::escape::html_escape(&action),
                signed.charset().as_str()
            );
            for (name, value) in &signed.body {
                html.push_str(&format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                    crate::encoding::escape::html_escape(name),
                    crate::encoding::escape::html_escape(value)
                ));
            }
            html.push_str("<input type=\"submit\" value=\"Pay\" style=\"display:none\">\n</form>\n");
            html.push_str("<script>document.forms[document.forms.length - 1].submit();</script>");
            Ok(html)
        }
    }
}

/// The order string for app and mini-program payment: a signed request's parameters,
/// sorted and URL-encoded. [`crate::Config::sdk_execute`] signs and encodes in one step.
pub fn order_string(signed: &SignedRequest) -> Result<String, RequestError> {
    let mut all: Vec<(String, String)> = signed.query.iter().chain(signed.body.iter()).cloned().collect();
    all.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(crate::gateway::content::encode_pairs(all.iter(), signed.charset())?)
}
