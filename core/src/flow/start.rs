//! Where flows begin: [`Config`]'s `start*` methods. They live beside the flow, not the
//! configuration, so that the configuration (keys, certificates, signing) stays below the
//! flow that drives it: the flow uses the configuration, never the other way round.

use super::{Call, Fetch, Gateway, Notification, V3};
use crate::config::Config;
use crate::notify::{IntoForm, Rule};
use crate::request::Request;
use crate::v3::V3Request;

impl Config {
    /// An IO-free gateway call for `request`, signed now.
    pub fn start(&self, request: &Request) -> Result<Call<'_, Gateway>, crate::Error> {
        Call::gateway(self, request)
    }

    /// An IO-free check of a notification's raw form body: it may need to
    /// fetch the Alipay certificate the notification names.
    pub fn start_notification(&self, form: impl IntoForm, rule: Rule) -> Result<Call<'_, Notification>, crate::Error> {
        Ok(Call::notification(self, form.into_form()?, rule))
    }

    /// An IO-free fetch of the Alipay certificate `sn`.
    pub fn start_fetch(&self, sn: &str) -> Call<'_, Fetch> {
        Call::fetch(self, sn)
    }

    /// An IO-free v3 call for `request`, signed now.
    pub fn start_v3(&self, request: &V3Request) -> Result<Call<'_, V3>, crate::Error> {
        Call::v3(self, request)
    }
}
