//! `berth stats`: live resource usage of containers — a table redrawn
//! every half second (or printed once with `--no-stream`), one stats
//! stream per container, following starts and stops through the event
//! stream when no container is named.

mod entry;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_api::filters::Filters;
use berth_client::{Client, ContainerListOptions, EventsOptions};
use serde_json::Value;
use tokio::sync::Notify;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::{self, ListSpec, TABLE};
use crate::term;

pub use entry::StatsEntry;

const TABLE_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

const HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("ID", "CONTAINER ID"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

const SPEC: ListSpec<'static> = ListSpec {
    headers: HEADERS,
    type_name: "*container.statsContext",
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// One watched container.
struct Slot {
    entry: StatsEntry,
    error: Option<String>,
    /// A first sample (or an error, or the timeout) came.
    settled: bool,
}

#[derive(Clone, Default)]
struct Board {
    slots: Arc<Mutex<Vec<Slot>>>,
    changed: Arc<Notify>,
}

impl Board {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a container; false when it is already watched.
    fn add(&self, name: &str) -> bool {
        let mut slots = self.lock();
        if slots.iter().any(|s| s.entry.container == name) {
            return false;
        }
        slots.push(Slot {
            entry: StatsEntry::pending(name),
            error: None,
            settled: false,
        });
        true
    }

    fn remove(&self, name: &str) {
        self.lock().retain(|s| s.entry.container != name);
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut Slot)) {
        if let Some(s) = self.lock().iter_mut().find(|s| s.entry.container == name) {
            f(s);
            s.settled = true;
        }
        self.changed.notify_waiters();
    }

    fn all_settled(&self) -> bool {
        self.lock().iter().all(|s| s.settled)
    }
}

/// Reads one container's stats into the board until the stream ends.
fn collect(client: Client, board: Board, name: String, stream: bool) {
    tokio::spawn(async move {
        let mut samples = match client.container_stats::<Value>(&name, stream, false).await {
            Ok(s) => s,
            Err(e) => {
                board.update(&name, |s| {
                    s.error = Some(e.to_string());
                    s.entry.invalid = true;
                });
                return;
            }
        };
        loop {
            match tokio::time::timeout(Duration::from_secs(2), samples.next()).await {
                Ok(Some(Ok(v))) => board.update(&name, |s| {
                    s.entry = StatsEntry::from_sample(&name, &v);
                    s.error = None;
                }),
                Ok(Some(Err(e))) => board.update(&name, |s| {
                    s.error = Some(e.to_string());
                    s.entry.invalid = true;
                }),
                Ok(None) => return,
                Err(_) => board.update(&name, |s| {
                    let container = s.entry.container.clone();
                    s.entry = StatsEntry::pending(&container);
                    s.entry.invalid = true;
                    s.error = Some("timeout waiting for stats".into());
                }),
            }
            if !stream {
                return;
            }
        }
    });
}

/// Watches containers as they start (and, with `-a`, as they are created)
/// and forgets them as they die (unless `-a`).
fn follow_events(client: Client, board: Board, all: bool) {
    tokio::spawn(async move {
        let mut filters = Filters::default();
        filters.add("type", "container");
        let opts = EventsOptions {
            filters,
            ..Default::default()
        };
        let Ok(mut events) = client.events_as::<Value>(&opts).await else {
            return;
        };
        while let Some(Ok(e)) = events.next().await {
            let action = e.get("Action").and_then(Value::as_str).unwrap_or("");
            let id = e.pointer("/Actor/ID").and_then(Value::as_str).unwrap_or("");
            let short: String = id.chars().take(12).collect();
            let watch = action == "start" || (all && action == "create");
            if watch && board.add(&short) {
                collect(client.clone(), board.clone(), short, true);
            } else if action == "die" && !all {
                board.remove(&short);
            }
        }
    });
}

/// Waits until every container has its first sample (or error).
async fn wait_first(board: &Board) {
    loop {
        let notified = board.changed.notified();
        if board.all_settled() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let board = Board::default();
    let show_all = args.containers.is_empty();
    let stream = !args.no_stream;
    if show_all {
        if stream {
            follow_events(ctx.client.clone(), board.clone(), args.all);
        }
        let opts = ContainerListOptions {
            all: args.all,
            ..Default::default()
        };
        let list: Vec<Value> = ctx.client.container_list_as(&opts).await?;
        for c in &list {
            let id: String = crate::commands::json::str(c, "Id")
                .chars()
                .take(12)
                .collect();
            if board.add(&id) {
                collect(ctx.client.clone(), board.clone(), id, stream);
            }
        }
    } else {
        for c in &args.containers {
            if board.add(c) {
                collect(ctx.client.clone(), board.clone(), c.clone(), stream);
            }
        }
    }
    wait_first(&board).await;
    if !show_all {
        let errors: Vec<CliError> = board
            .lock()
            .iter()
            .filter_map(|s| s.error.clone())
            .map(CliError::Plain)
            .collect();
        if !errors.is_empty() {
            return Err(CliError::Many(errors));
        }
    }
    let source = args.format.clone().unwrap_or_else(|| TABLE.into());
    let format = if source == TABLE {
        TABLE_FORMAT.to_string()
    } else {
        source
    };
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        ticker.tick().await;
        let (rows, empty) = {
            let slots = board.lock();
            let rows: Vec<Value> = slots.iter().map(|s| s.entry.row(!args.no_trunc)).collect();
            (rows, slots.is_empty())
        };
        let text = format::render_list(&format, &rows, &SPEC).map_err(CliError::Msg)?;
        if stream {
            term::out(&redraw(&text))?;
        } else {
            term::out(&text)?;
        }
        if args.no_stream || (empty && !show_all) {
            return Ok(());
        }
    }
}

/// Docker's redraw: cursor home, each line followed by erase-to-end, and
/// the rest of the screen erased.
pub fn redraw(text: &str) -> String {
    let mut out = String::from("\x1b[H");
    for line in text.split('\n') {
        out.push_str(line);
        out.push_str(" \x1b[K\n");
    }
    out.push_str("\x1b[J");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_redraw() {
        let mut e = StatsEntry::pending("web");
        e.name = "/web".into();
        e.id = "4f66ad9a0b2e1234".into();
        e.memory_limit = 1024.0 * 1024.0;
        let text = format::render_list(TABLE_FORMAT, &[e.row(true)], &SPEC).unwrap();
        assert_eq!(
            text,
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n\
             4f66ad9a0b2e   web       0.00%     0B / 1MiB           0.00%     0B / 0B   0B / 0B     0\n"
        );
        assert_eq!(redraw("a\n"), "\x1b[Ha \x1b[K\n \x1b[K\n\x1b[J");
        let out =
            format::render_list("{{.Container}}: {{.CPUPerc}}", &[e.row(true)], &SPEC).unwrap();
        assert_eq!(out, "web: 0.00%\n");
    }

    #[test]
    fn board_tracks_containers() {
        let b = Board::default();
        assert!(b.add("a"));
        assert!(!b.add("a"));
        assert!(!b.all_settled());
        b.update("a", |s| s.entry.pids = 4);
        assert!(b.all_settled());
        b.remove("a");
        assert!(b.lock().is_empty());
    }
}
