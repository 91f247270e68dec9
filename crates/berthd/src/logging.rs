//! Logging to stderr through `tracing`, with a level that SIGHUP can change.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

pub struct Logging {
    handle: reload::Handle<EnvFilter, tracing_subscriber::Registry>,
}

/// The filter for a level (`fatal` and `panic` map to `error`); `debug`
/// forces the debug level as dockerd's `-D` does.
pub fn filter_for(level: &str, debug: bool) -> EnvFilter {
    let level = if debug {
        "debug"
    } else {
        match level {
            "fatal" | "panic" => "error",
            other => other,
        }
    };
    // Dependencies stay at warn so that debug logs stay readable.
    EnvFilter::new(format!(
        "warn,berthd={level},berth_daemon={level},berth_server={level},berth_image={level},berth_layer={level},berth_network={level}"
    ))
}

impl Logging {
    pub fn init(level: &str, debug: bool) -> Self {
        let (filter, handle) = reload::Layer::new(filter_for(level, debug));
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false);
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .try_init();
        Self { handle }
    }

    pub fn set(&self, level: &str, debug: bool) {
        if let Err(e) = self.handle.reload(filter_for(level, debug)) {
            tracing::warn!(error = %e, "could not change the log level");
        }
    }
}
