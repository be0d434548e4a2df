//! `alipay sandbox` and `alipay demo`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alipay_sandbox::{AppMode, Sandbox, SandboxHandle};
use alipay_sdk::aes::EncryptType;
use alipay_sdk::cert::CertificateChain;
use alipay_sdk::key::SignType;
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery, TradeRef, TradeRefund, TradeRefundQuery, TradeStatus};
use alipay_sdk::model::{AlipayApi, Amount};
use alipay_sdk::notify::{Expected, NotificationVerifier, Rule};
use alipay_sdk::{Client, Config};
use clap::{Args, Subcommand, ValueEnum};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Failure;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Mode {
    Certificate,
    PublicKey,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SandboxArgs {
    /// Act on a running sandbox instead of starting one.
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// What to ask a running sandbox (found through DIR/sandbox.json).
#[derive(Subcommand)]
enum Action {
    /// The buyer pays a trade: it is marked paid and its notification is sent.
    Pay {
        /// The merchant's order number.
        out_trade_no: String,
        /// The sandbox's directory.
        #[arg(allow_hyphen_values = true, long, default_value = "alipay-sandbox")]
        dir: PathBuf,
    },
    /// Sends a trade's signed payment notification (again) to a URL.
    Notify {
        /// The merchant's order number.
        out_trade_no: String,
        /// Where to send it (default: the trade's notify_url).
        #[arg(long)]
        url: Option<String>,
        /// The sandbox's directory.
        #[arg(allow_hyphen_values = true, long, default_value = "alipay-sandbox")]
        dir: PathBuf,
    },
    /// Faults the running sandbox injects: set one for a method, clear, list.
    #[command(subcommand)]
    Fault(FaultAction),
    /// Calls an ISV's SPI / app-gateway endpoint as Alipay does and checks the signed answer.
    Spi {
        /// The endpoint.
        #[arg(long)]
        url: String,
        /// The method Alipay calls.
        #[arg(long, default_value = "alipay.sandbox.spi.test")]
        method: String,
        /// biz_content as JSON.
        #[arg(long, default_value = "{}")]
        biz: String,
        /// The sandbox's directory.
        #[arg(allow_hyphen_values = true, long, default_value = "alipay-sandbox")]
        dir: PathBuf,
    },
}

/// `alipay sandbox fault …`.
#[derive(Subcommand)]
enum FaultAction {
    /// Injects FAULT into calls of METHOD (`*`: every method); replaces METHOD's rule.
    Set {
        /// The gateway method (the v3 path's method too), or `*`.
        method: String,
        /// What to do to the answer.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(fault_names()))]
        fault: String,
        /// Chance per call, 0 to 1.
        #[arg(long, default_value_t = 1.0)]
        probability: f64,
        /// Inject at most this many times (default: until cleared).
        #[arg(long)]
        times: Option<u32>,
        /// How long `slow-body` takes to send the answer, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        slow_ms: u64,
        /// The sandbox's directory.
        #[arg(allow_hyphen_values = true, long, default_value = "alipay-sandbox")]
        dir: PathBuf,
    },
    /// Clears METHOD's faults, or every fault.
    Clear {
        /// The method (default: every method).
        method: Option<String>,
        /// The sandbox's directory.
        #[arg(allow_hyphen_values = true, long, default_value = "alipay-sandbox")]
        dir: PathBuf,
    },
    /// Lists the faults in force (JSON), and on stderr every fault name with what it does.
    List {
        /// The sandbox's directory.
        #[arg(allow_hyphen_values = true, long, default_value = "alipay-sandbox")]
        dir: PathBuf,
    },
}

/// The fault names with their description, as clap shows them in `--help`.
fn fault_names() -> Vec<clap::builder::PossibleValue> {
    alipay_sandbox::FAULT_NAMES
        .iter()
        .map(|(name, words)| clap::builder::PossibleValue::new(*name).help(*words))
        .collect()
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port). Default: the port recorded in
    /// DIR/alipay.toml when there is one, else a free port.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory for the PKI and sandbox.json (files there are reused; generated when absent).
    #[arg(allow_hyphen_values = true, long, default_value = "alipay-sandbox")]
    dir: PathBuf,
    /// The registered app's signing mode.
    #[arg(long, value_enum, default_value = "certificate")]
    mode: Mode,
    /// The registered app's sign_type: RSA2, or SM2 for an SM2 (国密) app and PKI.
    #[arg(long, default_value = "RSA2")]
    sign_type: SignType,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Input(format!("cannot start the async runtime: {e}")))
}

pub(crate) fn run(args: SandboxArgs) -> Result<(), Failure> {
    match args.action {
        None => serve(args.serve),
        Some(Action::Pay { out_trade_no, dir }) => {
            control(&dir, &format!("/sandbox/pay?out_trade_no={}", encode(&out_trade_no)), "").map(drop)
        }
        Some(Action::Notify { out_trade_no, url, dir }) => {
            // The sandbox answers after the first attempt: the exit status says whether the
            // receiver acknowledged it (it keeps redelivering in the background if not).
            let mut path = format!("/sandbox/notify?wait=1&out_trade_no={}", encode(&out_trade_no));
            if let Some(url) = url {
                path.push_str(&format!("&url={}", encode(&url)));
            }
            let answer = control(&dir, &path, "")?;
            if answer["acknowledged"] == true {
                Ok(())
            } else {
                Err(Failure::Check(format!(
                    "{} did not acknowledge the notification (it must answer HTTP 200 with the body `success`); \
                     it answered {}; the sandbox redelivers it like Alipay does",
                    answer["url"].as_str().unwrap_or("the receiver"),
                    answer["answer"].as_str().unwrap_or("nothing")
                )))
            }
        }
        Some(Action::Fault(FaultAction::Set { method, fault, probability, times, slow_ms, dir })) => {
            let mut path = format!(
                "/sandbox/faults?method={}&fault={}&probability={probability}&slow_ms={slow_ms}",
                encode(&method),
                encode(&fault)
            );
            if let Some(times) = times {
                path.push_str(&format!("&times={times}"));
            }
            control(&dir, &path, "").map(drop)
        }
        Some(Action::Fault(FaultAction::Clear { method, dir })) => {
            let method = method.map(|m| format!("&method={}", encode(&m))).unwrap_or_default();
            control(&dir, &format!("/sandbox/faults?clear=1{method}"), "").map(drop)
        }
        Some(Action::Fault(FaultAction::List { dir })) => {
            for (name, words) in alipay_sandbox::FAULT_NAMES {
                eprintln!("{name:<24} {words}");
            }
            control(&dir, "/sandbox/faults", "").map(drop)
        }
        Some(Action::Spi { url, method, biz, dir }) => {
            serde_json::from_str::<serde_json::Value>(&biz)
                .map_err(|e| Failure::Input(format!("--biz is not JSON: {e}")))?;
            let answer = control(&dir, &format!("/sandbox/spi?url={}&method={}", encode(&url), encode(&method)), &biz)?;
            if answer["accepted"] == true {
                Ok(())
            } else {
                Err(Failure::Check(format!(
                    "the SPI answer from {url} was not accepted: {}",
                    answer["reason"].as_str().unwrap_or("no reason given")
                )))
            }
        }
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// POSTs to a running sandbox's control endpoint, prints its JSON answer and returns it.
fn control(dir: &std::path::Path, path: &str, body: &str) -> Result<serde_json::Value, Failure> {
    let info_path = dir.join("sandbox.json");
    let info: serde_json::Value = std::fs::read(&info_path)
        .map_err(|e| {
            Failure::Input(format!(
                "{}: {e} (start `alipay sandbox --dir {}` first)",
                info_path.display(),
                dir.display()
            ))
        })
        .and_then(|bytes| {
            serde_json::from_slice(&bytes).map_err(|e| Failure::Input(format!("{}: {e}", info_path.display())))
        })?;
    let address =
        info["address"].as_str().ok_or_else(|| Failure::Input(format!("{}: no address", info_path.display())))?;
    let token = info["control_token"].as_str().unwrap_or_default();
    let answer = reqwest::blocking::Client::new()
        .post(format!("http://{address}{path}"))
        .header("x-sandbox-token", token)
        .body(body.to_string())
        .send()
        .map_err(|e| {
            Failure::Network(format!("the sandbox at {address} does not answer (is it running?): {}", e.without_url()))
        })?;
    let status = answer.status();
    let text = answer.text().map_err(|e| Failure::Network(e.without_url().to_string()))?;
    println!("{text}");
    if !status.is_success() {
        let error = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(Failure::Check(format!("the sandbox answered: {error}")));
    }
    serde_json::from_str(&text).map_err(|e| Failure::Check(format!("the sandbox's answer is not JSON: {e}")))
}

/// The port recorded in DIR/alipay.toml by an earlier run, to keep configurations valid.
fn recorded_listen(dir: &std::path::Path) -> Option<SocketAddr> {
    let file = alipay_sdk::config_file::ConfigFile::load_with_env(dir.join("alipay.toml"), |_| None).ok()?;
    let url = url::Url::parse(&file.gateway_url()).ok()?;
    let port = url.port()?;
    format!("127.0.0.1:{port}").parse().ok()
}

fn serve(args: ServeArgs) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let mode = match args.mode {
            Mode::Certificate => AppMode::Certificate,
            Mode::PublicKey => AppMode::PublicKey,
        };
        let listen = match args.listen {
            Some(listen) => listen,
            None => recorded_listen(&args.dir).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        };
        let sandbox = Sandbox::builder()
            .listen(listen)
            .dir(&args.dir)
            .mode(mode)
            .sign_type(args.sign_type)
            .seed(args.seed)
            .progress(|line| eprintln!("{line}"))
            .start()
            .await?;
        let info = sandbox.info();
        println!("alipay sandbox gateway listening on {}", info.address);
        println!("  gateway              {}", info.gateway);
        println!("  app_id               {}", info.app_id);
        println!(
            "  mode                 {}",
            serde_json::to_value(info.mode).unwrap_or_default().as_str().unwrap_or("")
        );
        println!("  sign_type            {}", info.sign_type);
        println!("  app_cert_sn          {}", info.app_cert_sn);
        println!("  alipay_root_cert_sn  {}", info.alipay_root_cert_sn);
        println!("  alipay_cert_sn       {}", info.alipay_cert_sn);
        println!("  app private key      {}", info.app_private_key.display());
        println!("  app certificate      {}", info.app_cert.display());
        println!("  Alipay certificate   {}", info.alipay_cert.display());
        println!("  Alipay root bundle   {}", info.alipay_root_cert.display());
        println!("  Alipay public key    {}", info.alipay_public_key.display());
        println!("  written to           {}", sandbox.dir().join("sandbox.json").display());
        let dir = sandbox.dir().display();
        println!("buyer pays:  alipay sandbox pay ORDER --dir {dir}");
        println!("notify:      alipay sandbox notify ORDER --url URL --dir {dir}");
        println!("SPI call:    alipay sandbox spi --url URL --dir {dir}");
        println!(
            "rotate cert: curl -X POST -H 'x-sandbox-token: {}' '{}/sandbox/rotate'",
            info.control_token,
            base(&info.gateway)
        );
        println!("press Ctrl-C to stop");
        tokio::signal::ctrl_c().await.map_err(|e| Failure::Input(e.to_string()))?;
        Ok(())
    })
}

fn base(gateway: &str) -> &str {
    gateway.trim_end_matches("/gateway.do")
}

/// Waits for one HTTP POST on `listener`, answers `success`, returns content type and body.
async fn receive_notification(listener: &tokio::net::TcpListener) -> std::io::Result<(String, Vec<u8>)> {
    let (mut stream, _) = listener.accept().await?;
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed early"));
        }
        data.extend_from_slice(&buffer[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..header_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while data.len() < header_end + length {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..n]);
    }
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nsuccess").await?;
    Ok((header("content-type").unwrap_or_default(), data[header_end..].to_vec()))
}

fn step(number: u32, text: &str) {
    println!("[{number}] {text}");
}

/// `alipay demo`.
#[derive(Args)]
pub(crate) struct DemoArgs {
    /// RSA2, or SM2 to run the payment as an SM2 (国密) app (SM2 keys and certificates, SM4
    /// content encryption).
    #[arg(long, default_value = "RSA2")]
    sign_type: SignType,
}

pub(crate) fn demo(args: DemoArgs) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let sandbox = Sandbox::builder()
            .sign_type(args.sign_type)
            .notify_retry_delays(vec![Duration::from_millis(200); 5])
            .start()
            .await?;
        match run_demo(&sandbox).await {
            Ok(()) => {
                println!("demo finished: every signature checked out");
                Ok(())
            }
            Err(message) => Err(Failure::Check(format!("demo failed: {message}"))),
        }
    })
}

async fn run_demo(sandbox: &SandboxHandle) -> Result<(), String> {
    let info = sandbox.info();
    let sm2 = info.sign_type == "SM2";
    step(
        1,
        &format!(
            "sandbox gateway {} (certificate mode, sign_type {}, app {})",
            info.gateway, info.sign_type, info.app_id
        ),
    );
    println!("    app_cert_sn {}  alipay_root_cert_sn {}", info.app_cert_sn, info.alipay_root_cert_sn);

    let mut builder = sandbox.client_config();
    if sm2 {
        // SM2 apps encrypt content with SM4 (the query below goes encrypted).
        let key = sandbox.aes_key().with_encrypt_type(EncryptType::Sm4).map_err(|e| e.to_string())?;
        builder = builder.aes_key(key);
    }
    let config: Config = builder.build().map_err(|e| e.to_string())?;
    println!("    client loaded the key, app certificate, Alipay certificate and root bundle once");
    let client = Client::new(config).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let notify_url = format!("http://{}/alipay/notify", listener.local_addr().map_err(|e| e.to_string())?);
    let out_trade_no = format!("demo-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    let total: Amount = "88.88".parse().map_err(|e: alipay_sdk::model::AmountError| e.to_string())?;

    let order = TradePrecreate::new(&out_trade_no, total, "alipay-sdk demo order");
    let response = client.send(&order.to_request().notify_url(&notify_url)).await.map_err(|e| e.to_string())?;
    let created: alipay_sdk::model::trade::TradePrecreateResponse = response.parse().map_err(|e| e.to_string())?;
    step(2, &format!("alipay.trade.precreate {out_trade_no} {total}: qr_code {}", created.qr_code));
    println!("    response verified with alipay_cert_sn {}", response.alipay_cert_sn().unwrap_or("?"));

    sandbox.buyer_pays(&out_trade_no).map_err(|e| e.to_string())?;
    step(3, "the buyer scans and pays");

    let (content_type, body) = tokio::time::timeout(Duration::from_secs(10), receive_notification(&listener))
        .await
        .map_err(|_| "no notification arrived within 10 s".to_string())?
        .map_err(|e| e.to_string())?;
    let alipay_cert = CertificateChain::from_path(&info.alipay_cert).map_err(|e| e.to_string())?;
    let verifier = NotificationVerifier::certificates([alipay_cert]).map_err(|e| e.to_string())?;
    let verified = verifier.verify((&body, Some(content_type.as_str())), Rule::V1).map_err(|e| e.to_string())?;
    let notification = verified.trade().map_err(|e| e.to_string())?;
    notification
        .check(&Expected { app_id: &info.app_id, seller_id: None, total_amount: Some(total) })
        .map_err(|e| e.to_string())?;
    step(
        4,
        &format!(
            "notification {} arrived: {} {} (signature verified with alipay_cert_sn {}; answered \"{}\")",
            notification.notify_id,
            notification.trade_status.as_str(),
            notification.total_amount,
            verified.get("alipay_cert_sn").unwrap_or("?"),
            verified.ack()
        ),
    );

    let query = TradeQuery::by_out_trade_no(&out_trade_no).to_request().encrypt(sm2);
    let trade: alipay_sdk::model::trade::TradeQueryResponse =
        client.send(&query).await.map_err(|e| e.to_string())?.parse().map_err(|e| e.to_string())?;
    if trade.trade_status != TradeStatus::TradeSuccess {
        return Err(format!("query says {}", trade.trade_status.as_str()));
    }
    let how = if sm2 { "verified, SM4-encrypted both ways" } else { "verified" };
    step(5, &format!("alipay.trade.query: {} {} ({how})", trade.trade_status.as_str(), trade.total_amount));

    let refund_amount: Amount = "8.88".parse().map_err(|e: alipay_sdk::model::AmountError| e.to_string())?;
    let refund = TradeRefund::new(TradeRef::out_trade_no(&out_trade_no), refund_amount, "refund-1");
    let refunded = client.call(&refund).await.map_err(|e| e.to_string())?;
    step(
        6,
        &format!(
            "alipay.trade.refund {refund_amount}: fund_change {} refund_fee {} (verified)",
            refunded.fund_change, refunded.refund_fee
        ),
    );

    let query = TradeRefundQuery { trade: TradeRef::out_trade_no(&out_trade_no), out_request_no: "refund-1".into() };
    let status = client.call(&query).await.map_err(|e| e.to_string())?;
    if status.refund_status.as_deref() != Some("REFUND_SUCCESS") {
        return Err(format!("refund query says {:?}", status.refund_status));
    }
    step(
        7,
        &format!(
            "alipay.trade.fastpay.refund.query: REFUND_SUCCESS {} (verified)",
            status.refund_amount.map(|a| a.to_string()).unwrap_or_default()
        ),
    );
    Ok(())
}
