//! The event bus: every lifecycle action is published here; `/events`
//! subscribers get a bounded history (for `since`) and then live events.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_api::filters::Filters;
use berth_api::types::event::{EventActor, EventMessage};
use berth_server::backend::{EventQuery, EventStream};
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How many past events are kept for `since` queries.
const HISTORY: usize = 1024;
/// How far a live subscriber may lag before it misses events.
const LIVE_BUFFER: usize = 1024;

pub struct EventService {
    history: Mutex<VecDeque<EventMessage>>,
    live: broadcast::Sender<EventMessage>,
    closed: CancellationToken,
}

impl Default for EventService {
    fn default() -> Self {
        Self::new()
    }
}

impl EventService {
    pub fn new() -> Self {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        Self {
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            live,
            closed: CancellationToken::new(),
        }
    }

    /// Publishes one event. `scope` is always `local`.
    pub fn publish(
        &self,
        kind: &str,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let nanos = i64::try_from(now.as_nanos()).unwrap_or(i64::MAX);
        let mut ev = EventMessage {
            kind: kind.to_string(),
            action: action.to_string(),
            actor: EventActor {
                id: id.to_string(),
                attributes,
            },
            scope: "local".to_string(),
            time: nanos / 1_000_000_000,
            time_nano: nanos,
            ..Default::default()
        };
        // The deprecated fields older clients read, as Docker fills them.
        if kind == "container" || kind == "image" {
            ev.status = action.to_string();
            ev.id = id.to_string();
            if kind == "container" {
                ev.from = ev
                    .actor
                    .attributes
                    .get("image")
                    .cloned()
                    .unwrap_or_default();
            }
        }
        let mut history = match self.history.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(ev.clone());
        // Sent under the lock so that a subscriber never sees an event both
        // in its history snapshot and live.
        let _ = self.live.send(ev);
    }

    /// Number of live subscribers (for `/info`).
    pub fn listeners(&self) -> usize {
        self.live.receiver_count()
    }

    /// Ends every subscription (daemon shutdown).
    pub fn close(&self) {
        self.closed.cancel();
    }

    /// Past events matching the query, then live ones until `until`.
    pub fn subscribe(&self, query: EventQuery) -> EventStream {
        let now = unix_now();
        let (past, rx) = {
            let history = match self.history.lock() {
                Ok(h) => h,
                Err(poisoned) => poisoned.into_inner(),
            };
            let past: Vec<EventMessage> = match query.since {
                Some(since) => history
                    .iter()
                    .filter(|ev| event_time(ev) >= since)
                    .filter(|ev| query.until.is_none_or(|u| event_time(ev) <= u))
                    .filter(|ev| matches(&query.filters, ev))
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            (past, self.live.subscribe())
        };
        let past = futures_util::stream::iter(past);
        // An `until` in the past means history only.
        if query.until.is_some_and(|u| u <= now) {
            return Box::pin(past);
        }
        let deadline = query.until.map(|u| {
            tokio::time::Instant::now() + std::time::Duration::from_secs_f64((u - now).max(0.0))
        });
        let closed = self.closed.clone();
        let filters = query.filters;
        let live = futures_util::stream::unfold(rx, move |mut rx| {
            let closed = closed.clone();
            let filters = filters.clone();
            async move {
                loop {
                    let next = async {
                        match deadline {
                            Some(d) => tokio::time::timeout_at(d, rx.recv()).await.ok(),
                            None => Some(rx.recv().await),
                        }
                    };
                    let item = tokio::select! {
                        _ = closed.cancelled() => return None,
                        item = next => item?,
                    };
                    match item {
                        Ok(ev) if matches(&filters, &ev) => return Some((ev, rx)),
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "an events subscriber fell behind");
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        });
        Box::pin(past.chain(live))
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn event_time(ev: &EventMessage) -> f64 {
    ev.time_nano as f64 / 1e9
}

/// The filters `/events` accepts.
pub const EVENT_FILTERS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// Docker's event filter semantics: every given filter must match.
pub fn matches(filters: &Filters, ev: &EventMessage) -> bool {
    let attrs = &ev.actor.attributes;
    let name = attrs.get("name").map(String::as_str).unwrap_or("");
    let any = |key: &str, f: &dyn Fn(&str) -> bool| {
        let wanted = filters.get(key);
        wanted.is_empty() || wanted.iter().any(|w| f(w))
    };
    let id_or_name = |w: &str| !w.is_empty() && (ev.actor.id.starts_with(w) || name == w);
    let action = ev.action.split(':').next().unwrap_or("").trim();
    any("type", &|w| w == ev.kind)
        && any("event", &|w| w == action || w == ev.action)
        && any("scope", &|w| w == ev.scope)
        && any("container", &|w| ev.kind == "container" && id_or_name(w))
        && any("image", &|w| {
            let image = attrs.get("image").map(String::as_str).unwrap_or("");
            let strip = |s: &str| s.trim_end_matches(":latest").to_string();
            (ev.kind == "image" && (id_or_name(w) || strip(name) == strip(w)))
                || (!image.is_empty() && (image == w || strip(image) == strip(w)))
        })
        && any("network", &|w| ev.kind == "network" && id_or_name(w))
        && any("volume", &|w| ev.kind == "volume" && id_or_name(w))
        && any("daemon", &|w| ev.kind == "daemon" && id_or_name(w))
        && filters.match_labels("label", attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn history_then_until_in_past() {
        let bus = EventService::new();
        bus.publish(
            "image",
            "tag",
            "sha256:abc",
            attrs(&[("name", "busybox:latest")]),
        );
        bus.publish("image", "delete", "sha256:abc", attrs(&[]));
        let stream = bus.subscribe(EventQuery {
            since: Some(0.0),
            until: Some(unix_now()),
            filters: Filters::parse(r#"{"event":["tag"]}"#).unwrap(),
        });
        let got: Vec<_> = stream.collect().await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].action, "tag");
        assert_eq!(got[0].status, "tag");
    }

    #[tokio::test]
    async fn live_events_arrive_and_close_ends() {
        let bus = std::sync::Arc::new(EventService::new());
        let mut stream = bus.subscribe(EventQuery::default());
        bus.publish(
            "container",
            "start",
            "abc",
            attrs(&[("name", "web"), ("image", "busybox")]),
        );
        let ev = stream.next().await.unwrap();
        assert_eq!(ev.action, "start");
        assert_eq!(ev.from, "busybox");
        bus.close();
        assert!(stream.next().await.is_none());
    }

    #[test]
    fn filter_semantics() {
        let bus = EventService::new();
        bus.publish(
            "container",
            "exec_start: sh -c true",
            "abcdef",
            attrs(&[("name", "web"), ("image", "busybox:latest"), ("app", "x")]),
        );
        let ev = bus.history.lock().unwrap()[0].clone();
        let f = |s: &str| Filters::parse(s).unwrap();
        assert!(matches(&f(r#"{"event":["exec_start"]}"#), &ev));
        assert!(matches(&f(r#"{"container":["web"]}"#), &ev));
        assert!(matches(&f(r#"{"container":["abc"]}"#), &ev));
        assert!(!matches(&f(r#"{"container":["db"]}"#), &ev));
        assert!(matches(&f(r#"{"image":["busybox"]}"#), &ev));
        assert!(matches(&f(r#"{"label":["app=x"]}"#), &ev));
        assert!(!matches(&f(r#"{"type":["image"]}"#), &ev));
    }
}
