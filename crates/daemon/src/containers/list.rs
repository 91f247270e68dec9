//! `GET /containers/json` with Docker's filters, and the containers part
//! of `/system/df`.

use std::collections::BTreeMap;

use berth_api::Error;
use berth_api::types::container::{
    ContainerSummary, EndpointSettings, SummaryHostConfig, SummaryNetworkSettings,
};
use berth_server::backend::ContainerListOptions;
use chrono::Utc;

use super::ContainerService;
use super::record::Record;
use super::state::Status;
use crate::timestamp;

const LIST_FILTERS: &[&str] = &[
    "ancestor", "before", "exited", "health", "id", "is-task", "label", "label!", "name",
    "network", "publish", "expose", "since", "status", "volume",
];

const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// Docker's `Command` column: the path and arguments, quoted when they
/// hold spaces.
pub fn command_string(rec: &Record) -> String {
    let mut out = rec.path.clone();
    for a in &rec.args {
        out.push(' ');
        if a.contains(' ') {
            out.push_str(&format!("'{a}'"));
        } else {
            out.push_str(a);
        }
    }
    out
}

impl ContainerService {
    pub fn list(&self, opts: &ContainerListOptions) -> Result<Vec<ContainerSummary>, Error> {
        let f = &opts.filters;
        f.validate(LIST_FILTERS)?;
        for s in f.get("status") {
            if !STATUSES.contains(&s.as_str()) {
                return Err(Error::invalid(format!("invalid filter 'status={s}'")));
            }
        }
        let mut exited_codes = Vec::new();
        for e in f.get("exited") {
            exited_codes.push(
                e.parse::<i64>()
                    .map_err(|_| Error::invalid(format!("invalid filter 'exited={e}'")))?,
            );
        }
        let created_of =
            |r: &str| -> Result<chrono::DateTime<Utc>, Error> { Ok(self.get(r)?.lock().created) };
        let mut before = None;
        for r in f.get("before") {
            before = Some(created_of(r)?);
        }
        let mut since = None;
        for r in f.get("since") {
            since = Some(created_of(r)?);
        }
        let mut ancestors = Vec::new();
        for a in f.get("ancestor") {
            if let Ok(img) = self.ctx.images.lookup(a) {
                ancestors.push(img.id.clone());
            }
        }
        if f.contains("ancestor") && ancestors.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let mut out = Vec::new();
        for c in self.all() {
            let rec = c.lock();
            let status = rec.state.status;
            let filtering_status = f.contains("status") || f.contains("exited");
            // A limit includes stopped containers, as in Docker.
            if !opts.all && opts.limit.is_none() && !filtering_status && !status.running_flag() {
                continue;
            }
            if f.contains("id") && !f.get("id").iter().any(|p| rec.id.starts_with(p.as_str())) {
                continue;
            }
            if f.contains("name")
                && !f.get("name").iter().any(|n| {
                    let n = n.strip_prefix('/').unwrap_or(n);
                    rec.name.contains(n)
                })
            {
                continue;
            }
            if f.contains("status") && !f.get("status").iter().any(|s| s == status.as_str()) {
                continue;
            }
            if !exited_codes.is_empty()
                && (status != Status::Exited || !exited_codes.contains(&rec.state.exit_code))
            {
                continue;
            }
            let labels = rec.config.labels.clone().unwrap_or_default();
            if !f.match_labels("label", &labels) {
                continue;
            }
            if f.get("label!")
                .iter()
                .any(|want| match want.split_once('=') {
                    Some((k, v)) => labels.get(k).map(String::as_str) == Some(v),
                    None => labels.contains_key(want.as_str()),
                })
            {
                continue;
            }
            if before.is_some_and(|b| rec.created >= b) || since.is_some_and(|s| rec.created <= s) {
                continue;
            }
            if !ancestors.is_empty() && !ancestors.contains(&rec.image_id) {
                continue;
            }
            if f.contains("health") {
                let h = rec
                    .state
                    .health
                    .as_ref()
                    .map(|h| h.status.as_str())
                    .unwrap_or("none");
                if !f.get("health").iter().any(|w| w == h) {
                    continue;
                }
            }
            if f.contains("network")
                && !f
                    .get("network")
                    .iter()
                    .any(|n| rec.networks.contains_key(n) || rec.host_config.network_mode == *n)
            {
                continue;
            }
            if f.contains("volume")
                && !f.get("volume").iter().any(|v| {
                    rec.mounts
                        .iter()
                        .any(|m| m.destination == *v || m.source == *v || m.name == *v)
                })
            {
                continue;
            }
            let summary = summary(&rec, now);
            drop(rec);
            let mut summary = summary;
            if opts.size {
                let (rw, root) = self.sizes(&c.id, &summary.image_id);
                summary.size_rw = Some(rw);
                summary.size_root_fs = Some(root);
            }
            out.push(summary);
            if opts.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }

    /// (read-write layer bytes, read-write + image bytes).
    pub fn sizes(&self, id: &str, image_id: &str) -> (i64, i64) {
        let rw = self.ctx.layers.rw_size(id).unwrap_or(0) as i64;
        let image = image_id
            .parse()
            .ok()
            .and_then(|d| self.ctx.images.store().get(&d).ok())
            .map(|img| self.ctx.images.image_size(&img) as i64)
            .unwrap_or(0);
        (rw, rw + image)
    }

    /// The containers part of `/system/df`.
    pub fn disk_usage(&self) -> Vec<ContainerSummary> {
        let now = Utc::now();
        self.all()
            .iter()
            .map(|c| {
                let mut s = summary(&c.lock(), now);
                let (rw, root) = self.sizes(&c.id, &s.image_id);
                s.size_rw = Some(rw);
                s.size_root_fs = Some(root);
                s
            })
            .collect()
    }

    /// Unix seconds filter helper for prune (`until`).
    pub fn parse_until(text: &str) -> Result<f64, Error> {
        timestamp::parse(text, Utc::now())
    }
}

pub fn summary(rec: &Record, now: chrono::DateTime<Utc>) -> ContainerSummary {
    let networks: BTreeMap<String, EndpointSettings> = if rec.networks.is_empty() {
        let mut m = BTreeMap::new();
        if !rec.host_config.network_mode.starts_with("container:") {
            m.insert(
                rec.host_config.network_mode.clone(),
                EndpointSettings::default(),
            );
        }
        m
    } else {
        rec.networks.clone()
    };
    ContainerSummary {
        id: rec.id.clone(),
        names: vec![format!("/{}", rec.name)],
        image: rec.image_ref.clone(),
        image_id: rec.image_id.to_string(),
        command: command_string(rec),
        created: rec.created.timestamp(),
        ports: super::network::summary_ports(rec),
        size_rw: None,
        size_root_fs: None,
        labels: rec.config.labels.clone().unwrap_or_default(),
        state: rec.state.status.as_str().to_string(),
        status: rec.state.describe(now),
        host_config: SummaryHostConfig {
            network_mode: rec.host_config.network_mode.clone(),
            annotations: rec.host_config.annotations.clone(),
        },
        network_settings: SummaryNetworkSettings { networks },
        mounts: rec.mounts.clone(),
    }
}
