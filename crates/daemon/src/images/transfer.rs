//! Moving images in and out: import of a rootfs tarball, `docker load` and
//! `docker save` archives. Request bodies are read and responses written on
//! blocking threads; progress travels back as Docker's JSON messages.

use std::sync::Arc;

use berth_api::Error;
use berth_api::progress::ProgressMessage;
use berth_image::archive;
use berth_image::config::Platform;
use berth_image::import::{self, ImportOptions as ImageImportOptions};
use berth_server::backend::{BodyReader, ByteStream, ImportOptions, Progress, ProgressStream};
use tokio::sync::mpsc;

use super::ImageService;
use crate::blocking::{self, StreamWriter};

/// Runs `job` on a blocking thread with a progress sender; its result ends
/// the stream (an error as the last item).
fn progress_job<F>(job: F) -> ProgressStream
where
    F: FnOnce(&mut dyn FnMut(ProgressMessage)) -> Result<Vec<ProgressMessage>, Error>
        + Send
        + 'static,
{
    let (tx, rx) = mpsc::channel(64);
    tokio::task::spawn_blocking(move || {
        let mut send = |msg: ProgressMessage| {
            let _ = tx.blocking_send(Progress::Message(Box::new(msg)));
        };
        match job(&mut send) {
            Ok(last) => {
                for msg in last {
                    let _ = tx.blocking_send(Progress::Message(Box::new(msg)));
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Progress::Failed(e));
            }
        }
    });
    rx
}

impl ImageService {
    /// `POST /images/create?fromSrc=-`.
    pub fn start_import(self: Arc<Self>, body: BodyReader, opts: ImportOptions) -> ProgressStream {
        progress_job(move |_progress| {
            if opts.source != "-" {
                return Err(Error::invalid(format!(
                    "cannot import from {:?}: berthd imports only from the request body (fromSrc=-); download the file and send it instead",
                    opts.source
                )));
            }
            let reference = if opts.repo.is_empty() {
                None
            } else {
                Some(Self::parse_new_reference(&opts.repo, &opts.tag)?)
            };
            let import_opts = ImageImportOptions {
                changes: opts.changes.clone(),
                message: opts.message.clone(),
                reference: reference.clone(),
                platform: if opts.platform.is_empty() {
                    None
                } else {
                    Some(Platform::parse(&opts.platform)?)
                },
            };
            let mut reader = blocking::sync_reader(body);
            let id = import::import(
                &self.layers,
                &self.images,
                &self.refs,
                &mut reader,
                &import_opts,
            )?;
            self.event("import", &id, &id.to_string());
            if let Some(r) = &reference {
                self.event("tag", &id, &r.familiar_string());
            }
            Ok(vec![ProgressMessage::status(id.to_string())])
        })
    }

    /// `POST /images/load`.
    pub fn start_load(self: Arc<Self>, body: BodyReader, quiet: bool) -> ProgressStream {
        progress_job(move |progress| {
            let mut reader = blocking::sync_reader(body);
            let mut on_progress = |msg: ProgressMessage| {
                if !quiet || msg.stream.is_some() {
                    progress(msg);
                }
            };
            let loaded = archive::load(
                &self.layers,
                &self.images,
                &self.refs,
                &mut reader,
                &self.tmp_dir,
                &mut on_progress,
            );
            let loaded = loaded?;
            for img in &loaded {
                self.event("load", &img.id, &img.id.to_string());
            }
            Ok(Vec::new())
        })
    }

    /// `GET /images/get` and `GET /images/{name}/get`.
    pub async fn start_save(self: Arc<Self>, names: Vec<String>) -> Result<ByteStream, Error> {
        let svc = self.clone();
        let selection = blocking::run(move || {
            archive::resolve_names(&svc.images, &svc.refs, &names).map_err(Error::from)
        })
        .await?;
        let (mut writer, stream) = StreamWriter::new();
        tokio::task::spawn_blocking(move || {
            let result = archive::save(&self.layers, &self.images, &selection, &mut writer)
                .map_err(Error::from);
            match result {
                Ok(()) => {
                    for item in &selection {
                        self.event("save", &item.id, &item.id.to_string());
                    }
                    if let Err(e) = writer.finish() {
                        tracing::debug!(error = %e, "save: the client went away");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e.chain(), "save failed mid-stream");
                    writer.fail(&e);
                }
            }
        });
        Ok(stream)
    }
}
