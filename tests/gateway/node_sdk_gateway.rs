//! The official Alipay Node.js SDK, configured in certificate mode with the sandbox's files,
//! talks to the sandbox: a client we did not write.

use crate::common::{node, pki};
use alipay_sandbox::Sandbox;
use alipay_sdk::Client;
use alipay_sdk::model::trade::TradePrecreate;
use serde_json::json;

const EXEC: &str = r#"
const { AlipaySdk } = require('alipay-sdk');
const fs = require('fs');
const c = JSON.parse(process.argv[2]);
(async () => {
  try {
    const sdk = new AlipaySdk({
      appId: c.appId,
      privateKey: fs.readFileSync(c.privateKey, 'ascii'),
      keyType: 'PKCS8',
      alipayRootCertPath: c.root,
      appCertPath: c.appCert,
      alipayPublicCertPath: c.alipayCert,
      gateway: c.gateway,
      timeout: 10000,
    });
    const result = await sdk.exec(c.method, { bizContent: c.biz }, { validateSign: true });
    console.log(JSON.stringify({ ok: result }));
  } catch (e) {
    console.log(JSON.stringify({ error: String((e && e.message) || e) }));
  }
})();
"#;

/// UTC+8 as a POSIX TZ string: the Node SDK sends the host's local time as `timestamp`.
const CHINA_TZ: &str = "CST-8";

#[tokio::test(flavor = "multi_thread")]
async fn node_sdk_in_certificate_mode_against_the_sandbox() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let info = sandbox.info();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    client.call(&TradePrecreate::new("node-1", "12.34".parse().unwrap(), "Node order")).await.unwrap();
    sandbox.buyer_pays("node-1").unwrap();

    let config = |app_key: &std::path::Path, app_cert: &std::path::Path, root: &std::path::Path| {
        json!({
            "appId": info.app_id,
            "privateKey": app_key,
            "appCert": app_cert,
            "alipayCert": info.alipay_cert,
            "root": root,
            "gateway": info.gateway,
            "method": "alipay.trade.query",
            "biz": { "out_trade_no": "node-1" },
        })
    };
    let good = config(&info.app_private_key, &info.app_cert, &info.alipay_root_cert);
    let result = tokio::task::spawn_blocking(move || node::run(EXEC, &good, CHINA_TZ)).await.unwrap();
    assert_eq!(result["ok"]["code"], "10000", "{result}");
    assert_eq!(result["ok"]["tradeStatus"], "TRADE_SUCCESS", "{result}");
    assert_eq!(result["ok"]["totalAmount"], "12.34", "{result}");

    // Another app certificate (with its own key): the gateway's isv error, signed, verified by Node.
    let wrong_app = config(&pki("keys/app_pkcs8.pem"), &pki("ca/app_cert.pem"), &info.alipay_root_cert);
    let result = tokio::task::spawn_blocking(move || node::run(EXEC, &wrong_app, CHINA_TZ)).await.unwrap();
    assert_eq!(result["ok"]["subCode"], "isv.invalid-app-cert-sn", "{result}");

    let wrong_root = config(&info.app_private_key, &info.app_cert, &pki("ca/root_bundle.pem"));
    let result = tokio::task::spawn_blocking(move || node::run(EXEC, &wrong_root, CHINA_TZ)).await.unwrap();
    assert_eq!(result["ok"]["subCode"], "isv.invalid-alipay-root-cert-sn", "{result}");

    // On a UTC host the Node SDK's local-time timestamp is 8 hours off: rejected, as Alipay does.
    let utc = config(&info.app_private_key, &info.app_cert, &info.alipay_root_cert);
    let result = tokio::task::spawn_blocking(move || node::run(EXEC, &utc, "UTC0")).await.unwrap();
    assert_eq!(result["ok"]["subCode"], "isv.invalid-timestamp", "{result}");
}
