//! Against a gateway on loopback: the clients on the wire, certificate lifecycle and rotation,
//! the sandbox, the examples end to end, and interoperability with the official Node SDK.
//!
//! One test binary per package area keeps a clean build on 2 cores fast; one module per
//! capability.

#[path = "../common/mod.rs"]
mod common;

mod apis;
mod cashier;
mod client_wire;
mod examples_e2e;
#[cfg(feature = "redis")]
mod fleet;
#[cfg(all(feature = "api-alipay-marketing", feature = "api-ant-merchant"))]
mod generated_apis;
mod lifecycle;
#[cfg(feature = "metrics")]
mod metrics;
mod node_sdk_gateway;
mod node_sdk_notify;
mod observability;
mod outcomes;
mod own_http;
mod remote_signer;
mod sandbox;
mod sm2;
mod storage;
mod v3;

/// The body of the first notification the sandbox has tried to deliver (waiting up to 10 s).
pub(crate) async fn first_delivered_body(sandbox: &alipay_sandbox::SandboxHandle) -> String {
    for _ in 0..1000 {
        if let Some(delivery) = sandbox.deliveries().into_iter().find(|d| d.attempts > 0) {
            return delivery.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the sandbox delivered nothing: {:?}", sandbox.deliveries());
}
