//! Idle keep-alive connections, reused by later requests of the same
//! client so that a command's requests share one connection.

use std::sync::Mutex;

use crate::body::HyperBody;

pub(crate) type Sender = hyper::client::conn::http1::SendRequest<HyperBody>;

/// Idle connections kept at most; a CLI command rarely has more than one.
const MAX_IDLE: usize = 4;

#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<Sender>>,
}

impl Pool {
    /// Returns a connection whose last response was read to the end.
    pub fn put(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(sender);
        }
    }

    pub fn take(&self) -> Option<Sender> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }
}
