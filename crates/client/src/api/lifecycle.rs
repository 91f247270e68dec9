//! Container state changes: start, stop, kill, restart, pause, unpause,
//! wait and TTY resize.

use std::fmt;

use berth_api::types::container::WaitResponse;

use crate::api::containers::container_path;
use crate::body::ResponseBody;
use crate::client::{Client, Request};
use crate::error::Result;
use crate::query::Query;

/// `stop` and `restart` parameters.
#[derive(Debug, Clone, Default)]
pub struct StopOptions {
    /// Signal sent first (the container's stop signal when unset).
    pub signal: Option<String>,
    /// Seconds before SIGKILL (the container's stop timeout when unset).
    pub timeout: Option<i64>,
}

impl StopOptions {
    fn query(&self) -> Query {
        let mut q = Query::new().opt("signal", self.signal.as_deref().filter(|s| !s.is_empty()));
        if let Some(t) = self.timeout {
            q.push("t", t.to_string());
        }
        q
    }
}

/// What `wait` waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WaitCondition {
    /// The daemon's default: `not-running` (no `condition` query).
    #[default]
    Default,
    NotRunning,
    NextExit,
    Removed,
}

impl fmt::Display for WaitCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitCondition::Default => "",
            WaitCondition::NotRunning => "not-running",
            WaitCondition::NextExit => "next-exit",
            WaitCondition::Removed => "removed",
        })
    }
}

/// A `wait` whose request the daemon has accepted (its headers arrived,
/// so the waiter is registered) and whose result comes when the
/// condition is met.
pub struct Waiter {
    body: ResponseBody,
}

impl Waiter {
    /// The exit status, or the error the daemon put in the result.
    pub async fn result(self) -> Result<WaitResponse> {
        self.body.json().await
    }
}

impl Client {
    pub async fn container_start(&self, id: &str) -> Result<()> {
        self.send_empty(Request::post(container_path(id, "/start")))
            .await?;
        Ok(())
    }

    pub async fn container_stop(&self, id: &str, opts: &StopOptions) -> Result<()> {
        let req = Request::post(container_path(id, "/stop")).query(opts.query());
        self.send_empty(req).await?;
        Ok(())
    }

    pub async fn container_restart(&self, id: &str, opts: &StopOptions) -> Result<()> {
        let req = Request::post(container_path(id, "/restart")).query(opts.query());
        self.send_empty(req).await?;
        Ok(())
    }

    /// `POST /containers/{id}/kill`; `signal` empty means SIGKILL.
    pub async fn container_kill(&self, id: &str, signal: &str) -> Result<()> {
        let query = Query::new().opt("signal", Some(signal).filter(|s| !s.is_empty()));
        let req = Request::post(container_path(id, "/kill")).query(query);
        self.send_empty(req).await?;
        Ok(())
    }

    pub async fn container_pause(&self, id: &str) -> Result<()> {
        self.send_empty(Request::post(container_path(id, "/pause")))
            .await?;
        Ok(())
    }

    pub async fn container_unpause(&self, id: &str) -> Result<()> {
        self.send_empty(Request::post(container_path(id, "/unpause")))
            .await?;
        Ok(())
    }

    /// Sends `POST /containers/{id}/wait` and returns once the daemon has
    /// answered with its headers; [`Waiter::result`] gives the status.
    pub async fn container_wait(&self, id: &str, condition: WaitCondition) -> Result<Waiter> {
        let query = match condition {
            WaitCondition::Default => Query::new(),
            c => Query::new().with("condition", c.to_string()),
        };
        let req = Request::post(container_path(id, "/wait")).query(query);
        let resp = self.send(req).await?;
        Ok(Waiter {
            body: resp.into_body(),
        })
    }

    /// `POST /containers/{id}/resize?h=…&w=…`.
    pub async fn container_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let query = Query::new()
            .with("h", height.to_string())
            .with("w", width.to_string());
        let req = Request::post(container_path(id, "/resize")).query(query);
        self.send_empty(req).await?;
        Ok(())
    }
}
