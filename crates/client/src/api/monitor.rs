//! Streams of observations: container stats and daemon events.

use berth_api::filters::Filters;
use berth_api::types::event::EventMessage;
use serde::de::DeserializeOwned;

use crate::api::containers::container_path;
use crate::body::JsonStream;
use crate::client::{Client, Request};
use crate::error::Result;
use crate::query::Query;

/// `GET /events` parameters; `since` and `until` are Unix timestamps as
/// the CLI computes them.
#[derive(Debug, Clone, Default)]
pub struct EventsOptions {
    pub since: Option<String>,
    pub until: Option<String>,
    pub filters: Filters,
}

impl Client {
    /// `GET /containers/{id}/stats`: one sample (`stream=false`, and with
    /// `one_shot` without waiting for a second CPU sample) or a sample
    /// per second.
    pub async fn container_stats<T: DeserializeOwned>(
        &self,
        id: &str,
        stream: bool,
        one_shot: bool,
    ) -> Result<JsonStream<T>> {
        let mut query = Query::new().with("stream", if stream { "1" } else { "0" });
        if one_shot && !stream {
            query.push("one-shot", "1");
        }
        let req = Request::get(container_path(id, "/stats")).query(query);
        Ok(self.send(req).await?.json_stream())
    }

    pub async fn events(&self, opts: &EventsOptions) -> Result<JsonStream<EventMessage>> {
        self.events_as(opts).await
    }

    pub async fn events_as<T: DeserializeOwned>(
        &self,
        opts: &EventsOptions,
    ) -> Result<JsonStream<T>> {
        let query = Query::new()
            .filters(&opts.filters)
            .opt("since", opts.since.as_deref())
            .opt("until", opts.until.as_deref());
        Ok(self
            .send(Request::get("/events").query(query))
            .await?
            .json_stream())
    }
}
