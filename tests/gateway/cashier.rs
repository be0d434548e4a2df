//! The sandbox's cashier in a real browser (headless Chromium over WebDriver, Debian's
//! `chromium` and `chromium-driver`, installed by `.ci/test`), through the axum checkout
//! example; the signed return; the dashboard.

#[path = "../../examples/checkout.rs"]
#[allow(dead_code)]
mod checkout;

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alipay_sandbox::{Sandbox, SandboxHandle};
use alipay_sdk::model::EntryPointApi;
use alipay_sdk::model::trade::{TradePagePay, TradeStatus};
use alipay_sdk::page::PageMethod;
use fantoccini::{Client as Browser, ClientBuilder, Locator};

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group: the Chromium it started goes with it,
        // even when a failed test never closed the session. The signal is sent here, not by
        // `/usr/bin/kill`: procps' kill misreads `-KILL -<pgid>` (seen sending kill(-1, …),
        // which takes every process of the machine with it).
        let group = i32::try_from(self.child.id()).ok().and_then(rustix::process::Pid::from_raw);
        if let Some(group) = group
            && group.as_raw_nonzero().get() > 1
            && group != rustix::process::getpgrp()
        {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser() -> (Driver, Browser) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (Debian's chromium-driver; .ci/test installs it)");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver { child, port, _profile: profile };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=900,700".into(),
        format!("--user-data-dir={}", driver._profile.path().display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities
        .insert("goog:chromeOptions".into(), serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }));
    let client = ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session");
    (driver, client)
}

/// The checkout example serving on a free port, for the sandbox's app.
async fn shop(sandbox: &SandboxHandle) -> String {
    let config = sandbox.client_config().build().unwrap();
    let verifier = config.notification_verifier();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let shop = Arc::new(checkout::Shop {
        client: alipay_sdk::Client::new(config).unwrap(),
        verifier,
        base_url: base_url.clone(),
        orders: Mutex::new(HashMap::new()),
    });
    tokio::spawn(async move { axum::serve(listener, checkout::router(shop)).await.unwrap() });
    base_url
}

/// The text of the element `css` names, once the page that has it is loaded. A command sent
/// while a self-submitting form navigates is aborted by the navigation (WebDriver's "aborted
/// by navigation"), and an element of the page being left goes stale: both are waited out,
/// for at most 15 s, then the last error fails the test.
async fn text_of(browser: &Browser, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let attempt = async {
            browser.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await?.text().await
        };
        match attempt.await {
            Ok(text) => return text,
            Err(error) if Instant::now() < deadline => {
                note_waited_out(&error);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("{css}: {error}"),
        }
    }
}

/// Clicks the element with this id, waiting out a navigation in progress like [`text_of`]. A
/// click whose own navigation aborts the command did click: it is not repeated.
async fn click(browser: &Browser, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let element = browser.wait().at_most(Duration::from_secs(15)).for_element(Locator::Id(id)).await;
        let attempt = match element {
            Ok(element) => match element.click().await {
                Err(error) if error.to_string().contains("aborted by navigation") => return,
                other => other,
            },
            Err(error) => Err(error),
        };
        match attempt {
            Ok(()) => return,
            Err(error) if Instant::now() < deadline => {
                note_waited_out(&error);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("#{id}: {error}"),
        }
    }
}

/// Says in the test's output which transient WebDriver error was waited out.
fn note_waited_out(error: &fantoccini::error::CmdError) {
    eprintln!("waiting out a WebDriver error during navigation: {error}");
}

async fn wait_for_text(browser: &Browser, css: &str, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = text_of(browser, css).await;
        if text.contains(wanted) {
            return text;
        }
        assert!(Instant::now() < deadline, "{css} never said {wanted:?}; it says {text:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A screenshot of the page, written beside the test binaries; with `UPDATE_SCREENSHOTS=1`
/// also to `docs/` (the README shows those).
async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot of {name}");
    std::fs::write(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name), &png).unwrap();
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name), &png).unwrap();
    }
}

/// The page's text uses a font stack that reaches CJK fonts (Chinese as text, not boxes).
async fn assert_cjk_font_stack(browser: &Browser) {
    let family = browser
        .execute("return getComputedStyle(document.body).fontFamily", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string();
    for cjk in ["PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei"] {
        assert!(family.contains(cjk), "{cjk} missing from the font stack: {family}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buyer_pays_at_the_cashier_and_the_shop_sees_the_return_then_the_notification() {
    let sandbox = Sandbox::builder().notify_retry_delays(vec![Duration::from_millis(100); 5]).start().await.unwrap();
    let shop = shop(&sandbox).await;
    let (_driver, browser) = browser().await;
    browser.goto(&shop).await.unwrap();
    click(&browser, "buy").await;
    // The auto-submitted form lands on the cashier.
    assert_eq!(text_of(&browser, "#amount").await, "￥88.88");
    assert_eq!(text_of(&browser, "#subject").await, "Sandbox coffee");
    assert_eq!(text_of(&browser, "#app-id").await, sandbox.app_id());
    let order = text_of(&browser, "#out-trade-no").await;
    assert_cjk_font_stack(&browser).await;
    screenshot(&browser, "cashier.png").await;
    click(&browser, "pay").await;
    // Back on the shop's return_url: the verified return at once, the verified notification after.
    let returned = wait_for_text(&browser, "#return-status", "Return verified").await;
    assert!(returned.contains(&order) && returned.contains("88.88"), "{returned}");
    wait_for_text(&browser, "#notify-status", "Notification verified: TRADE_SUCCESS").await;
    assert_eq!(sandbox.trade_status(&order), Some(TradeStatus::TradeSuccess));
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buyer_cancels_and_the_shop_shows_no_payment() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let shop = shop(&sandbox).await;
    let (_driver, browser) = browser().await;
    browser.goto(&shop).await.unwrap();
    click(&browser, "buy").await;
    let order = text_of(&browser, "#out-trade-no").await;
    click(&browser, "cancel").await;
    wait_for_text(&browser, "#return-status", "Payment not completed").await;
    assert_eq!(sandbox.trade_status(&order), Some(TradeStatus::TradeClosed));
    assert!(sandbox.deliveries().is_empty(), "no notification for a cancelled payment");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_form_gets_the_error_page_and_the_get_url_the_cashier() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let request = TradePagePay::new("tampered-1", "88.88".parse().unwrap(), "Sandbox coffee").to_request();
    let form = client.page_execute(&request, PageMethod::Post).unwrap();
    let tampered = form.replace("&quot;88.88&quot;", "&quot;0.01&quot;");
    assert_ne!(tampered, form, "the amount was changed in the form");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tampered.html");
    std::fs::write(&file, format!("<!doctype html><html><body>{tampered}</body></html>")).unwrap();
    let (_driver, browser) = browser().await;
    browser.goto(&format!("file://{}", file.display())).await.unwrap();
    assert_eq!(text_of(&browser, "#sub-code").await, "isv.invalid-signature");
    assert_eq!(sandbox.trade_count(), 0);

    // The GET form of the same request opens the cashier directly.
    let request = TradePagePay::new("get-1", "1.23".parse().unwrap(), "GET <b>coffee</b>").to_request();
    let url = client.page_execute(&request, PageMethod::Get).unwrap();
    browser.goto(&url).await.unwrap();
    assert_eq!(text_of(&browser, "#amount").await, "￥1.23");
    assert_eq!(text_of(&browser, "#subject").await, "GET <b>coffee</b>", "shown as text, escaped");
    browser.close().await.unwrap();
}

/// The signed return without a browser: the shop's verifier accepts it, and a changed amount
/// is refused.
#[tokio::test(flavor = "multi_thread")]
async fn the_return_is_signed_and_a_changed_amount_is_refused() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = sandbox.client_config().build().unwrap();
    let verifier = config.notification_verifier();
    let client = alipay_sdk::Client::new(config).unwrap();
    let request = TradePagePay::new("return-1", "5.00".parse().unwrap(), "R")
        .to_request()
        .return_url("https://shop.example/return");
    let url = client.page_execute(&request, PageMethod::Get).unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let cashier = http.get(&url).send().await.unwrap().text().await.unwrap();
    let token = cashier.split("name=\"token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let base = sandbox.gateway_url().replace("/gateway.do", "");
    let paid = http
        .post(format!("{base}/sandbox/cashier/pay"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status().as_u16(), 303);
    let location = paid.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("https://shop.example/return?"), "{location}");
    let query = location.split_once('?').unwrap().1;
    let back = verifier.verify_return(query).unwrap();
    assert_eq!((back.out_trade_no.as_str(), back.total_amount.to_string().as_str()), ("return-1", "5.00"));
    assert_eq!(back.method, "alipay.trade.page.pay.return");
    let changed = query.replace("total_amount=5.00", "total_amount=0.01");
    assert_ne!(changed, query);
    assert!(verifier.verify_return(&changed).is_err());
    // A notification is no return.
    assert!(verifier.verify_return(&query.replace("page.pay.return", "page.pay")).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_trades_notifications_certificate_and_faults() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client
        .call(&alipay_sdk::model::trade::TradePrecreate::new("dash-1", "3.00".parse().unwrap(), "<script>x</script>"))
        .await
        .unwrap();
    let base = sandbox.gateway_url().replace("/gateway.do", "");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("dash-1") && page.contains("&lt;script&gt;x&lt;/script&gt;"), "escaped");
    assert!(!page.contains("<script>x</script>"));
    let old_sn = sandbox.info().alipay_cert_sn;
    assert!(page.contains(&old_sn));
    // The dashboard's own forms carry the process's token; a form posted from elsewhere does not.
    assert!(page.contains(sandbox.control_token()), "the forms embed the token");
    let forged = http.post(format!("{base}/sandbox/dashboard/rotate")).send().await.unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(sandbox.info().alipay_cert_sn, old_sn, "nothing rotated");
    let rotated = http
        .post(format!("{base}/sandbox/dashboard/rotate"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", sandbox.control_token()))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status().as_u16(), 303);
    let page = http.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&sandbox.info().alipay_cert_sn) && sandbox.info().alipay_cert_sn != old_sn);
    let set = http
        .post(format!("{base}/sandbox/dashboard/faults"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={}&method=alipay.trade.query&fault=server-error-html&probability=1.0",
            sandbox.control_token()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 303);
    let location = set.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/?said=alipay.trade.query"), "{location}");
    let page = http.get(format!("{base}{location}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"flash\">alipay.trade.query: HTTP 502 with an HTML page"), "{page}");
    assert!(page.contains("alipay.trade.query") && page.contains("(server-error-html)"), "{page}");
    // A fault name the sandbox does not know is refused with the list of names, and nothing changes.
    let refused = http
        .post(format!("{base}/sandbox/dashboard/faults"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&method=alipay.trade.close&fault=boom", sandbox.control_token()))
        .send()
        .await
        .unwrap();
    let location = refused.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/?error=unknown+fault"), "{location}");
    let error = client.call(&alipay_sdk::model::trade::TradeQuery::by_out_trade_no("dash-1")).await.unwrap_err();
    assert_eq!(error.status_code(), Some(502));
}

/// Wap pay in GBK: the cashier in the request's charset; cancel goes back to `quit_url`.
#[tokio::test(flavor = "multi_thread")]
async fn wap_pay_renders_in_gbk_and_cancel_returns_to_quit_url() {
    use alipay_sdk::model::trade::TradeWapPay;
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = sandbox.client_config().charset(alipay_sdk::charset::Charset::Gbk).build().unwrap();
    let client = alipay_sdk::Client::new(config).unwrap();
    let request = TradeWapPay::new("wap-1", "2.50".parse().unwrap(), "手机咖啡")
        .with("quit_url", "https://shop.example/quit")
        .to_request()
        .return_url("https://shop.example/return");
    let url = client.page_execute(&request, PageMethod::Get).unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = http.get(&url).send().await.unwrap();
    assert_eq!(answer.headers()["content-type"].to_str().unwrap(), "text/html;charset=GBK");
    let bytes = answer.bytes().await.unwrap();
    let (text, _, malformed) = encoding_rs::GBK.decode(&bytes);
    assert!(!malformed && text.contains("手机咖啡") && text.contains("￥2.50"), "{text}");
    let token = text.split("name=\"token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let base = sandbox.gateway_url().replace("/gateway.do", "");
    let cancelled = http
        .post(format!("{base}/sandbox/cashier/cancel"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status().as_u16(), 303);
    assert_eq!(cancelled.headers()["location"].to_str().unwrap(), "https://shop.example/quit");
    assert_eq!(sandbox.trade_status("wap-1"), Some(TradeStatus::TradeClosed));
}

/// The dashboard in a browser: a precreate trade's QR code scanned as the buyer, the
/// notification's attempts appearing without a reload (live updates), a refund, a redelivery,
/// a fault set from the page and felt by the client, an unpaid trade closed.
#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_drives_trades_faults_and_notifications_in_a_browser() {
    use alipay_sdk::model::AlipayApi;
    use alipay_sdk::model::trade::{TradeCreate, TradePrecreate, TradeQuery};
    let sandbox = Sandbox::builder().start().await.unwrap();
    let received = Arc::new(Mutex::new(0usize));
    let count = received.clone();
    let receiver = axum::Router::new().route(
        "/notify",
        axum::routing::post(move || {
            *count.lock().unwrap() += 1;
            async { "success" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let client = alipay_sdk::Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let precreate = TradePrecreate::new("qr-1", "12.50".parse().unwrap(), "扫码咖啡 QR coffee");
    client.send(&precreate.to_request().notify_url(&notify_url)).await.unwrap();

    let base = sandbox.gateway_url().replace("/gateway.do", "");
    let (_driver, browser) = browser().await;
    browser.set_window_size(1280, 1100).await.unwrap();
    browser.goto(&format!("{base}/")).await.unwrap();
    assert_cjk_font_stack(&browser).await;
    let svg = browser.find(Locator::Css("#trade-qr-1 .qr svg")).await.expect("a QR code for the precreate trade");
    assert!(svg.html(false).await.unwrap().contains("<path"), "the QR code is drawn");

    click(&browser, "scan-qr-1").await;
    wait_for_text(&browser, "#trade-qr-1", "TRADE_SUCCESS").await;
    assert_eq!(sandbox.trade_status("qr-1"), Some(TradeStatus::TradeSuccess));
    // The notification's answer shows up by itself: the page reloads when the state changes.
    wait_for_text(&browser, "#notifications", "acknowledged").await;
    assert_eq!(*received.lock().unwrap(), 1);

    // Refund part of it, then redeliver the notification.
    let amount = browser.find(Locator::Css("#trade-qr-1 input[name=refund_amount]")).await.unwrap();
    amount.clear().await.unwrap();
    amount.send_keys("2.50").await.unwrap();
    click(&browser, "refund-qr-1").await;
    wait_for_text(&browser, "#trade-qr-1", "refunded 2.50").await;
    click(&browser, "redeliver-qr-1").await;
    for _ in 0..300 {
        if *received.lock().unwrap() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*received.lock().unwrap(), 2, "the notification was sent again");
    wait_for_text(&browser, "#trade-qr-1-notifications summary", "notifications (2)").await;
    // (Inside a closed <details>: read the text, not what is rendered.)
    let request = browser
        .execute("return document.querySelector('#trade-qr-1-notifications pre').textContent", vec![])
        .await
        .unwrap();
    let request = request.as_str().unwrap_or_default();
    assert!(request.contains("subject = 扫码咖啡 QR coffee"), "the request, decoded: {request}");

    // A fault chosen by name in words, for one method: the client feels it.
    let method = browser.find(Locator::Css("#fault-form input[name=method]")).await.unwrap();
    method.clear().await.unwrap();
    method.send_keys("alipay.trade.query").await.unwrap();
    browser.find(Locator::Id("fault-name")).await.unwrap().select_by_value("wrong-key-signature").await.unwrap();
    click(&browser, "set-fault").await;
    wait_for_text(&browser, "#faults", "signed with a key that is not Alipay's").await;
    let refused = client.call(&TradeQuery::by_out_trade_no("qr-1")).await.unwrap_err();
    assert_ne!(refused.kind(), alipay_sdk::ErrorKind::Business, "a wrongly signed answer is never trusted");

    // A trade created meanwhile appears by itself; close it from the page.
    client.call(&TradeCreate::new("close-1", "3.00".parse().unwrap(), "To close")).await.unwrap();
    click(&browser, "close-close-1").await;
    wait_for_text(&browser, "#trade-close-1", "TRADE_CLOSED").await;
    assert_eq!(sandbox.trade_status("close-1"), Some(TradeStatus::TradeClosed));

    click(&browser, "clear-all").await;
    wait_for_text(&browser, "#no-faults", "None").await;
    // For the screenshot: one trade waiting with its QR code, and a fault in force.
    client.call(&TradePrecreate::new("qr-2", "8.80".parse().unwrap(), "奶茶 Milk tea")).await.unwrap();
    wait_for_text(&browser, "#trades", "qr-2").await;
    browser.find(Locator::Id("fault-name")).await.unwrap().select_by_value("reset-after").await.unwrap();
    let chance = browser.find(Locator::Css("#fault-form input[name=probability]")).await.unwrap();
    chance.clear().await.unwrap();
    chance.send_keys("0.25").await.unwrap();
    click(&browser, "set-fault").await;
    wait_for_text(&browser, "#faults", "25%").await;
    browser.set_window_size(1280, 1400).await.unwrap();
    screenshot(&browser, "dashboard.png").await;
    browser.close().await.unwrap();
}
