//! Alipay-certificate storage behind a trait: what one instance accepted, another loads
//! without downloading, after validating it itself (storage is not a trust anchor).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use alipay_sandbox::Sandbox;
use alipay_sdk::Client;
use alipay_sdk::lifecycle::{CertSource, CertStorage, StorageError};
use alipay_sdk::model::trade::{TradePrecreate, TradeQuery};

/// A storage shared by "instances" in one process, as a Redis or a database would be.
#[derive(Debug, Default)]
struct Shared(Mutex<BTreeMap<String, Vec<u8>>>);

impl CertStorage for Shared {
    fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        Ok(self.0.lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn save(&self, sn: &str, content: &[u8]) -> Result<(), StorageError> {
        self.0.lock().unwrap().insert(sn.to_string(), content.to_vec());
        Ok(())
    }
}

const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_certificate_is_shared_and_revalidated() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let storage = Arc::new(Shared::default());
    let first =
        Client::new(sandbox.certificate_config().alipay_cert_storage(storage.clone()).build().unwrap()).unwrap();
    first.call(&TradePrecreate::new("st-1", "1.00".parse().unwrap(), "Tea")).await.unwrap();
    let new_sn = sandbox.rotate_alipay_cert().unwrap();
    first.call(&TradeQuery::by_out_trade_no("st-1")).await.unwrap();
    assert_eq!(sandbox.request_count(DOWNLOAD), 1);
    assert!(storage.0.lock().unwrap().contains_key(&new_sn), "the accepted certificate was saved");

    // Poison the storage: garbage under one SN, the new certificate under a wrong SN.
    let good = storage.0.lock().unwrap()[&new_sn].clone();
    storage.save("0123456789abcdef0123456789abcdef", b"not a certificate").unwrap();
    storage.save("fedcba9876543210fedcba9876543210", &good).unwrap();

    let second =
        Client::new(sandbox.certificate_config().alipay_cert_storage(storage.clone()).build().unwrap()).unwrap();
    let store = second.config().cert_mode().unwrap().store().clone();
    let persisted: Vec<String> = store
        .entries()
        .iter()
        .filter(|c| c.source == CertSource::Persisted)
        .map(|c| c.chain.sn().to_string())
        .collect();
    assert_eq!(persisted, vec![new_sn.clone()], "only the entry that validates is loaded");
    let verified = second.send(&alipay_sdk::model::AlipayApi::to_request(&TradeQuery::by_out_trade_no("st-1"))).await;
    assert_eq!(verified.unwrap().alipay_cert_sn(), Some(new_sn.as_str()));
    assert_eq!(sandbox.request_count(DOWNLOAD), 1, "the second instance did not download");
}
