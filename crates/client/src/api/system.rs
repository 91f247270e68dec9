//! `/version`, `/info` and `/system/df`.

use berth_api::types::system::{SystemDf, SystemInfo, SystemVersion};
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::Result;
use crate::query::Query;

impl Client {
    pub async fn version(&self) -> Result<SystemVersion> {
        self.version_as().await
    }

    /// `/version` decoded into any type (`serde_json::Value` to keep every
    /// field a daemon sends).
    pub async fn version_as<T: DeserializeOwned>(&self) -> Result<T> {
        self.get_json("/version", Query::new()).await
    }

    pub async fn info(&self) -> Result<SystemInfo> {
        self.info_as().await
    }

    pub async fn info_as<T: DeserializeOwned>(&self) -> Result<T> {
        self.get_json("/info", Query::new()).await
    }

    pub async fn system_df(&self) -> Result<SystemDf> {
        self.system_df_as().await
    }

    pub async fn system_df_as<T: DeserializeOwned>(&self) -> Result<T> {
        self.get_json("/system/df", Query::new()).await
    }
}
