//! Generated operations beyond trade (`alipay_sdk::api`), called through both protocols against
//! the sandbox: a JSON POST, a GET with a path parameter and query parameters, a PATCH with a
//! path parameter, and a multipart upload; the answers typed, the failures' codes typed.

use alipay_sandbox::Sandbox;
use alipay_sdk::api::alipay_marketing::{
    AlipayMarketingActivityOrdervoucherCreate, AlipayMarketingActivityOrdervoucherStop, AlipayMarketingActivityQuery,
    AlipayMarketingActivityQueryErrorCode,
};
use alipay_sdk::api::ant_merchant::{
    AntMerchantExpandIndirectImageUpload, AntMerchantExpandIndirectImageUploadErrorCode,
};
use alipay_sdk::api::shared::BelongMerchantInfo;
use alipay_sdk::api::{Operation, Upload};
use alipay_sdk::{Client, Error};

use crate::sandbox::sub_code;

const MERCHANT: &str = "2088102177846880";

/// The `code` of a v3 error answer, which must be signed.
fn v3_code(error: &Error) -> String {
    let failure = error.v3_failure().unwrap_or_else(|| panic!("expected a v3 error answer, got {error:?}"));
    assert!(failure.signed, "{failure:?}");
    failure.code.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voucher_activity_is_created_queried_and_stopped_over_both_protocols() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let create = AlipayMarketingActivityOrdervoucherCreate {
        out_biz_no: Some("act-1".into()),
        activity_name: Some("满十减一".into()),
        voucher_type: Some("FIX_VOUCHER".into()),
        belong_merchant_info: Some(BelongMerchantInfo { merchant_id: Some(MERCHANT.into()), ..Default::default() }),
        ..Default::default()
    };
    // A JSON POST: created over the gateway, the same out_biz_no over v3 is the same activity.
    let created = client.call(&create).await.unwrap().into_inner();
    let id = created.activity_id.clone().expect("an activity id");
    let again = client.call_v3(&create).await.unwrap().into_inner();
    assert_eq!(again.activity_id.as_deref(), Some(id.as_str()));

    // A GET with a path parameter and query parameters over v3 (the sandbox resolves the path
    // by Alipay's operation table and checks the signature over the query), and the same
    // request over the gateway, where every field is biz_content.
    let query = AlipayMarketingActivityQuery {
        activity_id: id.clone(),
        merchant_id: Some(MERCHANT.into()),
        ..Default::default()
    };
    let v3 = client.call_v3(&query).await.unwrap().into_inner();
    assert_eq!(v3.activity_id.as_deref(), Some(id.as_str()));
    assert_eq!(v3.activity_name.as_deref(), Some("满十减一"));
    assert_eq!(v3.activity_status.as_deref(), Some("ACTIVE"));
    assert_eq!(v3.belong_merchant_id.as_deref(), Some(MERCHANT));
    let base = v3.activity_base_info.as_ref().expect("the base info, a shared type");
    assert_eq!(base.belong_merchant_info.as_ref().and_then(|m| m.merchant_id.as_deref()), Some(MERCHANT));
    assert_eq!(sandbox.request_count("v3 alipay.marketing.activity.query"), 1, "GET resolved by the table");
    let over_gateway = client.call(&query).await.unwrap().into_inner();
    assert_eq!((over_gateway.activity_name, over_gateway.activity_status), (v3.activity_name, v3.activity_status));

    // A failure's code is its operation's typed code, on both protocols.
    let stranger = AlipayMarketingActivityQuery {
        activity_id: id.clone(),
        merchant_id: Some("2088000000000000".into()),
        ..Default::default()
    };
    let refused = client.call_v3(&stranger).await.unwrap_err();
    let code = <AlipayMarketingActivityQuery as Operation>::ErrorCode::from(v3_code(&refused).as_str());
    assert_eq!(code, AlipayMarketingActivityQueryErrorCode::ActivityNotPermission);
    let refused = client.call(&stranger).await.unwrap_err();
    assert_eq!(
        AlipayMarketingActivityQueryErrorCode::from(sub_code(&refused).as_str()),
        AlipayMarketingActivityQueryErrorCode::ActivityNotPermission
    );

    // A PATCH with a path parameter over v3; the gateway then sees the activity stopped.
    let stop = AlipayMarketingActivityOrdervoucherStop {
        activity_id: id.clone(),
        out_biz_no: Some("stop-1".into()),
        ..Default::default()
    };
    client.call_v3(&stop).await.unwrap();
    assert_eq!(sandbox.request_count("v3 alipay.marketing.activity.ordervoucher.stop"), 1);
    let stopped = client.call(&query).await.unwrap().into_inner();
    assert_eq!(stopped.activity_status.as_deref(), Some("STOP"));
    // And over the gateway, an unknown activity is refused with the operation's code.
    let unknown = AlipayMarketingActivityOrdervoucherStop {
        activity_id: "no-such-activity".into(),
        out_biz_no: Some("stop-2".into()),
        ..Default::default()
    };
    assert_eq!(sub_code(&client.call(&unknown).await.unwrap_err()), "INVALID_PARAMETER");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_uploads_over_both_protocols_as_multipart() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n".iter().copied().chain((0..=255u8).cycle().take(3000)).collect();
    let upload = AntMerchantExpandIndirectImageUpload {
        image_type: Some("png".into()),
        image_content: Some(Upload::new("shop.png", png.clone())),
        ..Default::default()
    };
    // The gateway: image_type a signed text parameter beside the file part.
    let over_gateway = client.call(&upload).await.unwrap().into_inner();
    let id = over_gateway.image_id.expect("an image id");
    assert_eq!(sandbox.uploaded_image(&id), Some((png.len(), "png".to_string())), "every byte arrived");
    // v3: the `data` part (signed) beside the file part.
    let over_v3 = client.call_v3(&upload).await.unwrap().into_inner();
    let id_v3 = over_v3.image_id.expect("an image id");
    assert_ne!(id, id_v3);
    assert_eq!(sandbox.uploaded_image(&id_v3), Some((png.len(), "png".to_string())));

    // Without the file, or with a type the sandbox does not take: the operation's typed codes.
    let no_file = AntMerchantExpandIndirectImageUpload { image_type: Some("png".into()), ..Default::default() };
    let refused = client.call_v3(&no_file).await.unwrap_err();
    assert_eq!(
        AntMerchantExpandIndirectImageUploadErrorCode::from(v3_code(&refused).as_str()),
        AntMerchantExpandIndirectImageUploadErrorCode::MerchantIllegalArgument
    );
    let tiff = AntMerchantExpandIndirectImageUpload { image_type: Some("tiff".into()), ..upload.clone() };
    assert_eq!(
        AntMerchantExpandIndirectImageUploadErrorCode::from(sub_code(&client.call(&tiff).await.unwrap_err()).as_str()),
        AntMerchantExpandIndirectImageUploadErrorCode::InvalidImageFormat
    );
}

/// An operation Alipay serves on OpenAPI v3 only: its gateway form is sent (which operations
/// are v3-only is not published in a form we could check first) and the gateway's
/// `isv.invalid-method` names the v3 operation to call instead, which then works.
#[tokio::test(flavor = "multi_thread")]
async fn a_v3_only_operation_refused_by_the_gateway_points_to_call_v3() {
    const METHOD: &str = "alipay.marketing.activity.ordervoucher.create";
    let sandbox = Sandbox::builder().v3_only(METHOD).start().await.unwrap();
    let client = Client::new(sandbox.client_config().build().unwrap()).unwrap();
    let create = AlipayMarketingActivityOrdervoucherCreate {
        out_biz_no: Some("v3-only-1".into()),
        activity_name: Some("仅 v3".into()),
        ..Default::default()
    };
    let refused = client.call(&create).await.unwrap_err();
    assert_eq!(sub_code(&refused), "isv.invalid-method");
    let failure = &refused.business().expect("a signed refusal").failure;
    let v3 = failure.v3_alternative().expect("the v3 operation of the same method");
    assert_eq!((v3.http_method.as_str(), v3.path), ("POST", "/v3/alipay/marketing/ordervoucher/activity"));
    let message = refused.to_string();
    assert!(
        message.contains("POST /v3/alipay/marketing/ordervoucher/activity") && message.contains("call_v3"),
        "{message}"
    );
    // The hint's advice holds: the same value over v3 is served.
    let created = client.call_v3(&create).await.unwrap().into_inner();
    assert!(created.activity_id.is_some());

    // A method the v3 description does not have gets no such hint, nor does another refusal.
    let unknown = alipay_sdk::Request::new("alipay.no.such.method").biz(&serde_json::json!({}));
    let refused = client.send(&unknown).await.unwrap_err();
    assert_eq!(sub_code(&refused), "isv.invalid-method");
    assert!(refused.business().unwrap().failure.v3_alternative().is_none());
    assert!(!refused.to_string().contains("call_v3"), "{refused}");
    let incomplete = AlipayMarketingActivityOrdervoucherStop { activity_id: "none".into(), ..Default::default() };
    let refused = client.call(&incomplete).await.unwrap_err();
    assert_ne!(sub_code(&refused), "isv.invalid-method");
    assert!(refused.business().unwrap().failure.v3_alternative().is_none());
    assert!(!refused.to_string().contains("call_v3"), "{refused}");
}
