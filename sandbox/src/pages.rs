//! The look shared by the sandbox's pages (cashier, error page, dashboard): one stylesheet, a
//! font stack that reaches a CJK font wherever the system has one (Chinese subjects and
//! Alipay's own wording render as text, not boxes), and every page in its charset.

use alipay_core::charset::Charset;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::http::Reply;

/// System fonts first, then the CJK families of macOS, Windows and Linux distributions.
pub(crate) const FONT_STACK: &str = "system-ui, -apple-system, \"Segoe UI\", Roboto, \"Helvetica Neue\", Arial, \
     \"PingFang SC\", \"Hiragino Sans GB\", \"Microsoft YaHei\", \"Noto Sans CJK SC\", \"Source Han Sans SC\", \
     \"WenQuanYi Micro Hei\", \"WenQuanYi Zen Hei\", sans-serif";

const STYLE: &str = "\
:root{--blue:#1677ff;--ink:#1f2329;--muted:#646a73;--line:#e5e6eb;--bg:#f5f6f7;--ok:#00a870;--warn:#d48806;--bad:#d83931}\
*{box-sizing:border-box}\
body{font-family:FONTS;color:var(--ink);background:var(--bg);margin:0;font-size:14px;line-height:1.5}\
header{background:var(--blue);color:#fff;padding:14px 28px;display:flex;align-items:baseline;gap:16px;flex-wrap:wrap}\
header h1{font-size:20px;margin:0;font-weight:600}header .meta{opacity:.9;font-size:13px}\
main{max-width:1180px;margin:0 auto;padding:20px 28px}\
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin-bottom:18px;overflow-x:auto}\
h2{font-size:16px;margin:0 0 12px}\
table{border-collapse:collapse;width:100%}\
th,td{border-bottom:1px solid var(--line);padding:8px 10px;text-align:left;vertical-align:top}\
th{color:var(--muted);font-weight:500;font-size:13px;background:#fafbfc}\
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}\
button{white-space:nowrap;font:inherit;border:1px solid var(--blue);background:var(--blue);color:#fff;border-radius:6px;padding:4px 12px;cursor:pointer}\
button.plain{background:#fff;color:var(--blue)}button.danger{border-color:var(--bad);background:#fff;color:var(--bad)}\
input,select{font:inherit;border:1px solid var(--line);border-radius:6px;padding:4px 8px}\
form.inline{display:inline-flex;gap:6px;align-items:center;margin:2px 6px 2px 0}\
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:500}\
.badge.ok{background:#e8f7f0;color:var(--ok)}.badge.wait{background:#fff7e6;color:var(--warn)}\
.badge.closed{background:#f2f3f5;color:var(--muted)}.badge.bad{background:#fdecec;color:var(--bad)}\
.muted{color:var(--muted)}.empty{color:var(--muted);font-style:italic}\
.qr{display:flex;flex-wrap:wrap;gap:12px;align-items:center}.qr svg{width:112px;height:112px;border:1px solid var(--line)}\
details summary{cursor:pointer;color:var(--blue)}details pre{white-space:pre-wrap;word-break:break-all;background:#fafbfc;border:1px solid var(--line);border-radius:6px;padding:8px;margin:6px 0}\
.cashier{max-width:480px;margin:40px auto;background:#fff;border-radius:10px;border:1px solid var(--line);overflow:hidden}\
.cashier .top{background:var(--blue);color:#fff;padding:16px 24px;font-size:18px}\
.cashier .body{padding:24px}.cashier .amount{font-size:36px;font-weight:600;margin:4px 0 16px}\
.cashier table th{width:40%;background:none}.cashier .actions{display:flex;gap:12px;margin-top:20px}\
.cashier .actions button{padding:8px 20px;font-size:15px}\
.error{color:var(--bad)}.nowrap{white-space:nowrap}tr.sub td{border-top:none;padding-top:0}\
#flash{padding:10px 20px;border-left:4px solid var(--ok)}#flash.error{border-left-color:var(--bad)}";

/// A whole page in `charset` (a character GBK cannot carry becomes an HTML character
/// reference), with the shared stylesheet and `head` added to `<head>`. Every value reaches the
/// page through a template that escapes it.
pub(crate) fn page(charset: Charset, title: &str, head: Markup, body: Markup) -> Reply {
    let html = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset=(charset.as_str());
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE.replace("FONTS", FONT_STACK))) }
                (head)
            }
            body { (body) }
        }
    }
    .into_string();
    let bytes = match charset {
        Charset::Gbk => encoding_rs::GBK.encode(&html).0.into_owned(),
        Charset::Gb18030 => encoding_rs::GB18030.encode(&html).0.into_owned(),
        _ => html.into_bytes(),
    };
    let content_type = match charset {
        Charset::Gbk => "text/html;charset=GBK",
        Charset::Gb18030 => "text/html;charset=GB18030",
        _ => "text/html;charset=utf-8",
    };
    Reply::Full { status: 200, content_type, body: bytes }
}

/// The card the cashier's pages share: a coloured top line, then `body`.
pub(crate) fn card(top: Markup, top_colour: Option<&str>, body: Markup) -> Markup {
    html! {
        div.cashier {
            @if let Some(colour) = top_colour {
                div.top style=(format!("background:{colour}")) { (top) }
            } @else {
                div.top { (top) }
            }
            div.body { (body) }
        }
    }
}

/// A 303 to `location`.
pub(crate) fn see_other(location: &str) -> Reply {
    // Never a header split: a location with a control character is not sent.
    if location.chars().any(char::is_control) {
        return crate::cashier::error_page(Charset::Utf8, "isv.invalid-parameter", "跳转地址含有控制字符 (CR/LF)");
    }
    Reply::Headed {
        status: 303,
        content_type: "text/plain",
        headers: vec![("location".into(), location.to_string())],
        body: Vec::new(),
    }
}

/// One field of a form body.
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
