//! Drawing a JSON progress stream (load, import, later pull and build) as
//! docker's `jsonmessage` does: plain lines when stdout is not a terminal,
//! one redrawn line per layer ID when it is.

use std::collections::HashMap;

use berth_client::JsonStream;
use serde::Deserialize;

use crate::error::{CliError, CliResult};
use crate::format::timefmt;
use crate::format::units::human_size;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct JsonProgress {
    #[serde(default)]
    pub current: i64,
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub start: i64,
    #[serde(default, rename = "hidecounts")]
    pub hide_counts: bool,
    #[serde(default)]
    pub units: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct JsonErrorDetail {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

/// One message of the stream (docker's `JSONMessage`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct JsonMessage {
    #[serde(default)]
    pub stream: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, rename = "progressDetail")]
    pub progress: Option<JsonProgress>,
    #[serde(default, rename = "progress")]
    pub progress_message: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub time: i64,
    #[serde(default, rename = "timeNano")]
    pub time_nano: i64,
    #[serde(default, rename = "errorDetail")]
    pub error_detail: Option<JsonErrorDetail>,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub aux: Option<serde_json::Value>,
}

impl JsonProgress {
    /// The bar and counts (`[=====>     ] 1.2MB/4.3MB`), empty when there
    /// is nothing to show.
    pub fn render(&self, width: u16) -> String {
        if self.current <= 0 && self.total <= 0 {
            return String::new();
        }
        if self.total <= 0 {
            return if self.units.is_empty() {
                format!("{:>8}", human_size(self.current as f64))
            } else {
                format!("{} {}", self.current, self.units)
            };
        }
        let percentage = ((self.current as f64 / self.total as f64 * 100.0) as i64 / 2).min(50);
        let mut out = String::new();
        if width > 110 {
            let spaces = (50 - percentage).max(0) as usize;
            out.push_str(&format!(
                "[{}>{}] ",
                "=".repeat(percentage.max(0) as usize),
                " ".repeat(spaces)
            ));
        }
        if !self.hide_counts {
            if self.units.is_empty() {
                let current = human_size(self.current as f64);
                if self.current > self.total {
                    out.push_str(&format!("{current:>8}"));
                } else {
                    out.push_str(&format!("{current:>8}/{}", human_size(self.total as f64)));
                }
            } else if self.current > self.total {
                out.push_str(&format!("{} {}", self.current, self.units));
            } else {
                out.push_str(&format!("{}/{} {}", self.current, self.total, self.units));
            }
        }
        if width > 50 && self.current > 0 && self.start > 0 && percentage < 50 {
            let elapsed = (timefmt::now() - self.start).max(0) as f64;
            let left = (self.total - self.current) as f64 * elapsed / self.current as f64;
            out.push_str(&format!(" {}", go_duration(left.round() as i64)));
        }
        out
    }
}

/// Go's `Duration.String()` rounded to seconds: `1h2m3s`, `45s`, `0s`.
fn go_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Renders messages into text, tracking the per-ID lines on a terminal.
pub struct Display {
    terminal: bool,
    width: u16,
    ids: HashMap<String, usize>,
}

impl Display {
    pub fn new(terminal: bool, width: Option<u16>) -> Self {
        Self {
            terminal,
            width: width.unwrap_or(200),
            ids: HashMap::new(),
        }
    }

    /// The text for one message, or the error it carries.
    pub fn message(&mut self, jm: &JsonMessage) -> CliResult<String> {
        let mut out = String::new();
        if jm.aux.is_some() {
            return Ok(out);
        }
        let mut diff = 0;
        let tracked =
            !jm.id.is_empty() && (jm.progress.is_some() || !jm.progress_message.is_empty());
        if tracked {
            let len = self.ids.len();
            let line = *self.ids.entry(jm.id.clone()).or_insert_with(|| {
                if self.terminal {
                    out.push('\n');
                }
                len
            });
            diff = self.ids.len() - line;
            if self.terminal {
                out.push_str(&format!("\x1b[{diff}A"));
            }
        } else {
            // Output that is not progress ends the redrawn block.
            self.ids.clear();
        }
        let result = self.line(jm, &mut out);
        if !jm.id.is_empty() && self.terminal {
            out.push_str(&format!("\x1b[{diff}B"));
        }
        result.map(|()| out)
    }

    fn line(&self, jm: &JsonMessage, out: &mut String) -> CliResult {
        if let Some(detail) = &jm.error_detail {
            return Err(stream_error(detail.code, &detail.message));
        }
        if !jm.error.is_empty() {
            return Err(stream_error(None, &jm.error));
        }
        let mut endl = "";
        let bar = jm.progress.as_ref().map(|p| p.render(self.width));
        if self.terminal && jm.stream.is_empty() && jm.progress.is_some() {
            out.push_str("\x1b[2K\r");
            endl = "\r";
        } else if bar.as_deref().is_some_and(|b| !b.is_empty()) {
            // No progress bars when not on a terminal.
            return Ok(());
        }
        if jm.time_nano != 0 {
            let l = timefmt::local(jm.time_nano / 1_000_000_000);
            out.push_str(&format!("{} ", l.rfc3339()));
        } else if jm.time != 0 {
            out.push_str(&format!("{} ", timefmt::local(jm.time).rfc3339()));
        }
        if !jm.id.is_empty() {
            out.push_str(&format!("{}: ", jm.id));
        }
        if !jm.from.is_empty() {
            out.push_str(&format!("(from {}) ", jm.from));
        }
        if let (Some(bar), true) = (&bar, self.terminal) {
            out.push_str(&format!("{} {bar}{endl}", jm.status));
        } else if !jm.progress_message.is_empty() {
            out.push_str(&format!("{} {}{endl}", jm.status, jm.progress_message));
        } else if !jm.stream.is_empty() {
            out.push_str(&format!("{}{endl}", jm.stream));
        } else {
            out.push_str(&format!("{}{endl}\n", jm.status));
        }
        Ok(())
    }
}

fn stream_error(code: Option<i64>, message: &str) -> CliError {
    CliError::Client(berth_client::Error::Stream {
        code,
        message: message.to_string(),
    })
}

/// Reads the whole stream, writing each message to stdout as it comes.
pub async fn show(stream: &mut JsonStream<JsonMessage>, terminal: bool) -> CliResult {
    show_with(stream, terminal, crate::term::out).await
}

/// Like [`show`] with the text going to `write` (stderr for the pull of
/// `run`, or nowhere with `-q`; errors are reported either way).
pub async fn show_with(
    stream: &mut JsonStream<JsonMessage>,
    terminal: bool,
    write: fn(&str) -> std::io::Result<()>,
) -> CliResult {
    let mut display = Display::new(terminal, crate::term::width());
    while let Some(jm) = stream.next().await {
        let text = display.message(&jm?)?;
        if !text.is_empty() {
            write(&text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(json: &str) -> JsonMessage {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn plain_lines_off_terminal() {
        let mut d = Display::new(false, None);
        assert_eq!(
            d.message(&msg(r#"{"stream":"Loaded image: busybox:latest\n"}"#))
                .unwrap(),
            "Loaded image: busybox:latest\n"
        );
        assert_eq!(
            d.message(&msg(r#"{"status":"sha256:abc"}"#)).unwrap(),
            "sha256:abc\n"
        );
        assert_eq!(
            d.message(&msg(
                r#"{"status":"Loading layer","id":"abc","progressDetail":{}}"#
            ))
            .unwrap(),
            "abc: Loading layer\n"
        );
        // Progress bars are not drawn into pipes.
        assert_eq!(
            d.message(&msg(
                r#"{"status":"Loading layer","id":"abc","progressDetail":{"current":5,"total":10}}"#
            ))
            .unwrap(),
            ""
        );
    }

    #[test]
    fn redraws_on_terminal() {
        let mut d = Display::new(true, Some(80));
        let first = d
            .message(&msg(
                r#"{"status":"Loading layer","id":"abc","progressDetail":{"current":500000,"total":1000000}}"#,
            ))
            .unwrap();
        assert_eq!(
            first,
            "\n\x1b[1A\x1b[2K\rabc: Loading layer    500kB/1MB\r\x1b[1B"
        );
        let second = d
            .message(&msg(
                r#"{"status":"Loading layer","id":"def","progressDetail":{"current":1,"total":2}}"#,
            ))
            .unwrap();
        assert!(second.starts_with("\n\x1b[1A"), "{second:?}");
        let again = d
            .message(&msg(
                r#"{"status":"Loading layer","id":"abc","progressDetail":{"current":1000000,"total":1000000}}"#,
            ))
            .unwrap();
        assert!(again.starts_with("\x1b[2A"), "{again:?}");
        assert!(again.ends_with("\x1b[2B"), "{again:?}");
    }

    #[test]
    fn bars() {
        let p = JsonProgress {
            current: 50,
            total: 100,
            ..Default::default()
        };
        assert_eq!(
            p.render(120),
            format!("[{}>{}]      50B/100B", "=".repeat(25), " ".repeat(25))
        );
        assert_eq!(p.render(80), "     50B/100B");
        let p = JsonProgress {
            current: 2048,
            ..Default::default()
        };
        assert_eq!(p.render(80), " 2.048kB");
        assert_eq!(JsonProgress::default().render(80), "");
        assert_eq!(go_duration(3723), "1h2m3s");
        assert_eq!(go_duration(45), "45s");
    }

    #[test]
    fn errors_in_the_stream() {
        let mut d = Display::new(false, None);
        let err = d
            .message(&msg(
                r#"{"errorDetail":{"message":"invalid tar header"},"error":"invalid tar header"}"#,
            ))
            .unwrap_err();
        assert_eq!(
            err.render(false),
            vec!["Error response from daemon: invalid tar header"]
        );
    }
}
