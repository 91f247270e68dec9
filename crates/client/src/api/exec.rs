//! Exec endpoints: create, start (detached or over an upgraded
//! connection), resize and inspect.

use berth_api::types::exec::{ExecCreateBody, ExecInspect, ExecStartBody, IdResponse};

use crate::api::containers::container_path;
use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::query::{Query, escape_path};
use crate::upgrade::Upgraded;

fn exec_path(id: &str, rest: &str) -> String {
    format!("/exec/{}{rest}", escape_path(id))
}

impl Client {
    /// `POST /containers/{id}/exec`: the new exec's ID.
    pub async fn exec_create(&self, container: &str, body: &ExecCreateBody) -> Result<String> {
        let resp: IdResponse = self
            .post_json(
                &container_path(container, "/exec"),
                Query::new(),
                Some(body),
            )
            .await?;
        if resp.id.is_empty() {
            return Err(Error::Protocol("exec ID empty".into()));
        }
        Ok(resp.id)
    }

    /// `POST /exec/{id}/start` with `Detach: true`: returns once started.
    pub async fn exec_start_detached(&self, id: &str, body: &ExecStartBody) -> Result<()> {
        let body = ExecStartBody {
            detach: true,
            ..body.clone()
        };
        let req = Request::post(exec_path(id, "/start")).json(&body)?;
        self.send_empty(req).await?;
        Ok(())
    }

    /// `POST /exec/{id}/start` taking over the connection for the
    /// process's stdio.
    pub async fn exec_start_attached(&self, id: &str, body: &ExecStartBody) -> Result<Upgraded> {
        let body = ExecStartBody {
            detach: false,
            ..body.clone()
        };
        let req = Request::post(exec_path(id, "/start")).json(&body)?;
        self.upgrade(req).await
    }

    pub async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let query = Query::new()
            .with("h", height.to_string())
            .with("w", width.to_string());
        self.send_empty(Request::post(exec_path(id, "/resize")).query(query))
            .await?;
        Ok(())
    }

    pub async fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        self.get_json(&exec_path(id, "/json"), Query::new()).await
    }
}
