//! Operations beyond trade that the sandbox serves on both protocols, chosen to cover every
//! shape a v3 request takes: voucher activities (`alipay.marketing.activity.ordervoucher.create`
//! with a JSON body, `alipay.marketing.activity.query` a GET with a path and query parameters,
//! `alipay.marketing.activity.ordervoucher.stop` a PATCH with a path parameter) and an image
//! upload (`ant.merchant.expand.indirect.image.upload`, multipart).
//!
//! Each handler sees the request's fields as one JSON object whichever protocol carried them
//! (the gateway's `biz_content` or upload text parameters; v3's path, query and body), so one
//! behaviour answers both. What Alipay does beyond the field names (which fields are required,
//! the statuses, the size limit) is the sandbox's reading of the operation, not a fact.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::services::{ServiceFailure, ServiceResult};

/// A file part of an upload as it arrived.
#[derive(Debug)]
pub(crate) struct UploadedFile {
    /// The form field name (`image_content`).
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// A voucher activity.
#[derive(Debug, Clone)]
struct Activity {
    id: String,
    out_biz_no: String,
    name: String,
    merchant_id: Option<String>,
    voucher_type: Option<String>,
    publish_start_time: Option<String>,
    publish_end_time: Option<String>,
    stopped: bool,
}

/// An uploaded image.
#[derive(Debug, Clone)]
struct Image {
    image_type: String,
    len: usize,
}

/// The largest image the sandbox takes (Alipay's merchant image limit is a few MB; the
/// sandbox uses 10 MiB).
const MAX_IMAGE_BYTES: usize = 10 << 20;
const IMAGE_TYPES: [&str; 5] = ["jpg", "jpeg", "png", "gif", "bmp"];

/// The activities and images of the sandbox's merchant.
#[derive(Debug, Default)]
pub(crate) struct Catalogue {
    activities: BTreeMap<String, Activity>,
    images: BTreeMap<String, Image>,
    next: u64,
}

fn failure(code: &'static str, message: impl Into<String>) -> ServiceFailure {
    ServiceFailure { code: "40004", msg: "Business Failed", sub_code: code, sub_msg: message.into() }
}

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn required<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, ServiceFailure> {
    text(fields, name).ok_or_else(|| failure("INVALID_PARAMETER", format!("缺少必选参数 {name}")))
}

impl Catalogue {
    /// The methods served here.
    pub(crate) const METHODS: [&'static str; 4] = [
        "alipay.marketing.activity.ordervoucher.create",
        "alipay.marketing.activity.query",
        "alipay.marketing.activity.ordervoucher.stop",
        "ant.merchant.expand.indirect.image.upload",
    ];

    /// Runs `method` on `fields` (and the upload's files), or `None` when it is not served here.
    pub(crate) fn handle(
        &mut self,
        method: &str,
        fields: &Map<String, Value>,
        files: &[UploadedFile],
        now: DateTime<Utc>,
    ) -> Option<ServiceResult> {
        Some(match method {
            "alipay.marketing.activity.ordervoucher.create" => self.create_activity(fields, now),
            "alipay.marketing.activity.query" => self.query_activity(fields),
            "alipay.marketing.activity.ordervoucher.stop" => self.stop_activity(fields),
            "ant.merchant.expand.indirect.image.upload" => self.upload_image(fields, files, now),
            _ => return None,
        })
    }

    fn next_id(&mut self, now: DateTime<Utc>) -> String {
        self.next += 1;
        format!("{}{:08}", now.format("%Y%m%d"), self.next)
    }

    /// Idempotent by `out_biz_no`: the same number answers the same activity.
    fn create_activity(&mut self, fields: &Map<String, Value>, now: DateTime<Utc>) -> ServiceResult {
        let out_biz_no = required(fields, "out_biz_no")?;
        let name = required(fields, "activity_name")?;
        if let Some(existing) = self.activities.values().find(|a| a.out_biz_no == out_biz_no) {
            return Ok(json_object(json!({ "activity_id": existing.id })));
        }
        let id = self.next_id(now);
        let merchant_id = fields
            .get("belong_merchant_info")
            .and_then(|info| info.get("merchant_id"))
            .and_then(Value::as_str)
            .map(String::from);
        let activity = Activity {
            id: id.clone(),
            out_biz_no: out_biz_no.to_string(),
            name: name.to_string(),
            merchant_id,
            voucher_type: text(fields, "voucher_type").map(String::from),
            publish_start_time: text(fields, "publish_start_time").map(String::from),
            publish_end_time: text(fields, "publish_end_time").map(String::from),
            stopped: false,
        };
        self.activities.insert(id.clone(), activity);
        Ok(json_object(json!({ "activity_id": id })))
    }

    fn activity(&self, fields: &Map<String, Value>) -> Result<&Activity, ServiceFailure> {
        let id = required(fields, "activity_id")?;
        let activity =
            self.activities.get(id).ok_or_else(|| failure("INVALID_PARAMETER", format!("活动不存在: {id}")))?;
        match (text(fields, "merchant_id"), &activity.merchant_id) {
            (Some(asked), Some(owner)) if asked != owner => {
                Err(failure("ACTIVITY_NOT_PERMISSION", format!("商户 {asked} 无权查看活动 {id}")))
            }
            _ => Ok(activity),
        }
    }

    fn query_activity(&self, fields: &Map<String, Value>) -> ServiceResult {
        let activity = self.activity(fields)?;
        let status = if activity.stopped { "STOP" } else { "ACTIVE" };
        let mut node = json_object(json!({
            "activity_id": activity.id,
            "activity_name": activity.name,
            "activity_status": status,
            "activity_base_info": {
                "activity_id": activity.id,
                "activity_name": activity.name,
                "activity_status": status,
                "belong_merchant_info": { "merchant_id": activity.merchant_id },
            },
        }));
        for (name, value) in [
            ("belong_merchant_id", &activity.merchant_id),
            ("voucher_type", &activity.voucher_type),
            ("publish_start_time", &activity.publish_start_time),
            ("publish_end_time", &activity.publish_end_time),
        ] {
            if let Some(value) = value {
                node.insert(name.into(), value.clone().into());
            }
        }
        Ok(node)
    }

    fn stop_activity(&mut self, fields: &Map<String, Value>) -> ServiceResult {
        required(fields, "out_biz_no")?;
        let id = self.activity(fields)?.id.clone();
        if let Some(activity) = self.activities.get_mut(&id) {
            activity.stopped = true;
        }
        Ok(Map::new())
    }

    fn upload_image(
        &mut self,
        fields: &Map<String, Value>,
        files: &[UploadedFile],
        now: DateTime<Utc>,
    ) -> ServiceResult {
        let image_type = required(fields, "image_type")?.to_ascii_lowercase();
        if !IMAGE_TYPES.contains(&image_type.as_str()) {
            return Err(failure("INVALID_IMAGE_FORMAT", format!("不支持的图片格式: {image_type}")));
        }
        let file = files
            .iter()
            .find(|f| f.name == "image_content")
            .ok_or_else(|| failure("MERCHANT_ILLEGAL_ARGUMENT", "缺少图片文件 image_content"))?;
        if file.bytes.is_empty() {
            return Err(failure("MERCHANT_ILLEGAL_ARGUMENT", "图片文件为空"));
        }
        if file.bytes.len() > MAX_IMAGE_BYTES {
            return Err(failure("EXCEED_MAX_SIZE", format!("图片超过 {} 字节", MAX_IMAGE_BYTES)));
        }
        let id = format!("img{}", self.next_id(now));
        self.images.insert(id.clone(), Image { image_type, len: file.bytes.len() });
        Ok(json_object(json!({ "image_id": id })))
    }

    /// The size and type of an uploaded image (what the dashboard and tests look at).
    pub(crate) fn image(&self, id: &str) -> Option<(usize, &str)> {
        self.images.get(id).map(|image| (image.len, image.image_type.as_str()))
    }
}

fn json_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
