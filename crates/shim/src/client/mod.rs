//! The daemon's side: start a shim ([`spawn`]) and talk to a running one
//! ([`ShimClient`]) over its control socket. Every call opens its own
//! connection, so a client is cheap to clone and calls may run
//! concurrently; reconnecting after a daemon restart is just
//! [`ShimClient::connect`] on the same socket path.

mod error;
mod framed;
mod spawn;
mod stream;

use std::path::{Path, PathBuf};

pub use error::{Result, ShimError};
pub use spawn::{StartedShim, spawn};
pub use stream::{InputWriter, Output, OutputReader};

use framed::{FramedConn, parse_json};

use crate::exit::{ExitInfo, read_exit};
use crate::protocol::{self, ExecStarted, KillRequest, ResizeRequest, StateReply};

/// Which streams an attach wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Every byte, holding up the container's output while behind
    /// (`protocol::FLAG_LOSSLESS`).
    pub lossless: bool,
}

/// An attached connection.
#[derive(Debug)]
pub struct AttachStreams {
    pub output: OutputReader,
    /// Present when stdin was asked for.
    pub input: Option<InputWriter>,
}

/// An additional process to run in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecConfig {
    /// The OCI runtime-spec `process` object, as JSON.
    pub process: Vec<u8>,
    pub tty: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// A started exec process and its stream; its exit arrives as the last
/// [`Output::Exit`] of `output`.
#[derive(Debug)]
pub struct ExecSession {
    /// The shim's handle for resize and kill.
    pub exec_id: u32,
    pub pid: i32,
    pub output: OutputReader,
    pub input: Option<InputWriter>,
}

/// A running container's shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimClient {
    id: String,
    socket: PathBuf,
    state_dir: Option<PathBuf>,
}

impl ShimClient {
    /// A client for the shim of container `id` at `socket`; no I/O.
    pub fn new(id: impl Into<String>, socket: impl Into<PathBuf>) -> Self {
        ShimClient {
            id: id.into(),
            socket: socket.into(),
            state_dir: None,
        }
    }

    /// Where the shim keeps its exit record: lets [`Self::wait`] answer
    /// after the shim has exited.
    pub fn with_state_dir(mut self, state_dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(state_dir.into());
        self
    }

    /// Connects to the shim at `socket` (after a daemon restart, say) and
    /// learns its container id and state directory.
    pub async fn connect(socket: impl Into<PathBuf>) -> Result<Self> {
        let socket = socket.into();
        let mut c = ShimClient::new(socket.display().to_string(), socket);
        let st = c.state().await?;
        c.id = st.id;
        c.state_dir = Some(st.state_dir.into());
        Ok(c)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    async fn conn(&self) -> Result<FramedConn> {
        FramedConn::connect(&self.id, &self.socket).await
    }

    async fn request(&self, kind: u8, payload: &[u8]) -> Result<Vec<u8>> {
        self.conn().await?.request(kind, payload).await
    }

    /// The container's pid, status and exit record.
    pub async fn state(&self) -> Result<StateReply> {
        let p = self.request(protocol::STATE, &[]).await?;
        parse_json(&self.id, &p)
    }

    /// Waits until the container has exited and its output is logged. When
    /// the shim is already gone, answers from the exit record in the state
    /// directory (if this client knows it).
    pub async fn wait(&self) -> Result<ExitInfo> {
        match self.wait_live().await {
            Err(ShimError::Gone { id }) => {
                let Some(dir) = &self.state_dir else {
                    return Err(ShimError::Gone { id });
                };
                match read_exit(dir) {
                    Ok(Some(info)) => Ok(info),
                    Ok(None) => Err(ShimError::Gone { id }),
                    Err(source) => Err(ShimError::Io {
                        id,
                        context: "read exit record",
                        source,
                    }),
                }
            }
            other => other,
        }
    }

    async fn wait_live(&self) -> Result<ExitInfo> {
        let mut c = self.conn().await?;
        c.send(protocol::WAIT, &[]).await?;
        let f = c.recv().await?;
        if f.kind == protocol::EXIT {
            return parse_json(&self.id, &f.payload);
        }
        framed::expect_ok(&self.id, f)?;
        Err(ShimError::Protocol {
            id: self.id.clone(),
            message: "wait answered without an exit".into(),
        })
    }

    /// Signals the container's init, or every process with `all`.
    pub async fn kill(&self, signal: i32, all: bool) -> Result<()> {
        self.kill_target(0, signal, all).await
    }

    /// Signals an exec process.
    pub async fn kill_exec(&self, exec_id: u32, signal: i32) -> Result<()> {
        self.kill_target(exec_id, signal, false).await
    }

    async fn kill_target(&self, target: u32, signal: i32, all: bool) -> Result<()> {
        let signal = u32::try_from(signal).map_err(|_| ShimError::Rejected {
            message: format!("invalid signal {signal}"),
        })?;
        let req = KillRequest {
            target,
            signal,
            all,
        };
        self.request(protocol::KILL, &req.encode()).await.map(drop)
    }

    /// Starts a container created with start mode `create-only`.
    pub async fn start(&self) -> Result<()> {
        self.request(protocol::START, &[]).await.map(drop)
    }

    /// Sets the container's TTY size.
    pub async fn resize(&self, rows: u16, cols: u16) -> Result<()> {
        self.resize_target(0, rows, cols).await
    }

    /// Sets an exec process's TTY size.
    pub async fn resize_exec(&self, exec_id: u32, rows: u16, cols: u16) -> Result<()> {
        self.resize_target(exec_id, rows, cols).await
    }

    async fn resize_target(&self, target: u32, rows: u16, cols: u16) -> Result<()> {
        let req = ResizeRequest { target, rows, cols };
        self.request(protocol::RESIZE, &req.encode())
            .await
            .map(drop)
    }

    /// Closes the container's stdin (after what was sent is written).
    pub async fn close_stdin(&self) -> Result<()> {
        self.request(protocol::CLOSE_STDIN, &0u32.to_be_bytes())
            .await
            .map(drop)
    }

    /// Closes an exec process's stdin.
    pub async fn close_exec_stdin(&self, exec_id: u32) -> Result<()> {
        self.request(protocol::CLOSE_STDIN, &exec_id.to_be_bytes())
            .await
            .map(drop)
    }

    /// Attaches to the container's streams. Output starts from now (the
    /// log holds what came before).
    pub async fn attach(&self, opts: AttachOptions) -> Result<AttachStreams> {
        let mut flags = 0;
        for (on, f) in [
            (opts.stdin, protocol::FLAG_STDIN),
            (opts.stdout, protocol::FLAG_STDOUT),
            (opts.stderr, protocol::FLAG_STDERR),
            (opts.lossless, protocol::FLAG_LOSSLESS),
        ] {
            if on {
                flags |= f;
            }
        }
        let mut c = self.conn().await?;
        c.request(protocol::ATTACH, &[flags]).await?;
        let input = opts
            .stdin
            .then(|| InputWriter::new(self.id.clone(), c.write));
        Ok(AttachStreams {
            output: OutputReader::new(self.id.clone(), c.read),
            input,
        })
    }

    /// Runs an additional process in the container.
    pub async fn exec(&self, cfg: &ExecConfig) -> Result<ExecSession> {
        let mut flags = 0;
        for (on, f) in [
            (cfg.stdin, protocol::FLAG_STDIN),
            (cfg.stdout, protocol::FLAG_STDOUT),
            (cfg.stderr, protocol::FLAG_STDERR),
            (cfg.tty, protocol::FLAG_TTY),
        ] {
            if on {
                flags |= f;
            }
        }
        let mut c = self.conn().await?;
        let p = c
            .request(protocol::EXEC, &protocol::encode_exec(flags, &cfg.process))
            .await?;
        let started: ExecStarted = parse_json(&self.id, &p)?;
        let input = cfg
            .stdin
            .then(|| InputWriter::new(self.id.clone(), c.write));
        Ok(ExecSession {
            exec_id: started.exec_id,
            pid: started.pid,
            output: OutputReader::new(self.id.clone(), c.read),
            input,
        })
    }
}
