//! Alipay metrics on a Prometheus dashboard: install the facade's Prometheus exporter, make a
//! few calls against the embedded sandbox, and print what Prometheus would scrape.
//!
//! ```text
//! cargo run --example prometheus --features metrics              # print the exposition once
//! cargo run --example prometheus --features metrics -- --serve 127.0.0.1:9184
//! ```
//!
//! With `--serve ADDR` the exporter answers `GET /metrics` on `ADDR` until interrupted, and the
//! example keeps calling every few seconds. In your own service, install the exporter once at
//! start-up (as below) and build the client as usual; every `Client` records into it. Call
//! `config.expiry_report()` on a timer (hourly, say) to keep `alipay_cert_expiry_days` fresh.

use std::time::Duration;

use alipay_sandbox::Sandbox;
use alipay_sdk::Client;
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery};
use metrics_exporter_prometheus::PrometheusBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve: Option<std::net::SocketAddr> = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => None,
        [flag, addr] if flag == "--serve" => Some(addr.parse()?),
        _ => return Err("usage: prometheus [--serve ADDR]".into()),
    };
    let handle = match serve {
        // The exporter's own HTTP listener serves /metrics (it needs a Tokio runtime: this one).
        Some(addr) => {
            PrometheusBuilder::new().with_http_listener(addr).install()?;
            None
        }
        None => Some(PrometheusBuilder::new().install_recorder()?),
    };

    let sandbox = Sandbox::builder().start().await?;
    let client = Client::new(sandbox.client_config().build()?)?;
    let mut round = 0u32;
    loop {
        round += 1;
        let out_trade_no = format!("metrics-{round}");
        client.call(&TradePrecreate::new(&out_trade_no, "1.00".parse()?, "Tea")).await?;
        client.call(&TradeQuery::by_out_trade_no(&out_trade_no)).await?;
        // A business failure is measured too (outcome="failed").
        let _ = client.call(&TradeQuery::by_out_trade_no("no-such-trade")).await;
        client.config().expiry_report();
        match (&handle, serve) {
            (Some(handle), _) => {
                print!("{}", handle.render());
                return Ok(());
            }
            (None, Some(addr)) => {
                if round == 1 {
                    eprintln!("serving http://{addr}/metrics (Ctrl-C to stop)");
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            (None, None) => unreachable!("either a handle or a listener"),
        }
    }
}
