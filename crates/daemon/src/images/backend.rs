//! The image service as the server's `ImageBackend`: each call runs on the
//! blocking pool.

use std::sync::Arc;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::image::{
    HistoryItem, ImageDeleteItem, ImageInspect, ImageSummary, ImagesPruneResponse,
};
use berth_api::version::ApiVersion;
use berth_server::backend::{
    BodyReader, ByteStream, ImageBackend, ImageListOptions, ImportOptions, ProgressStream,
};

use super::ImageService;
use crate::blocking;

/// A cheap handle on the image service, for the server.
#[derive(Clone)]
pub struct ImageApi(pub Arc<ImageService>);

impl ImageBackend for ImageApi {
    async fn list(
        &self,
        opts: ImageListOptions,
        version: ApiVersion,
    ) -> Result<Vec<ImageSummary>, Error> {
        let svc = self.0.clone();
        blocking::run(move || svc.list(&opts, version)).await
    }

    async fn inspect(&self, name: &str, version: ApiVersion) -> Result<ImageInspect, Error> {
        let svc = self.0.clone();
        let name = name.to_string();
        blocking::run(move || svc.inspect(&name, version)).await
    }

    async fn history(&self, name: &str) -> Result<Vec<HistoryItem>, Error> {
        let svc = self.0.clone();
        let name = name.to_string();
        blocking::run(move || svc.history(&name)).await
    }

    async fn tag(&self, name: &str, repo: &str, tag: &str) -> Result<(), Error> {
        let svc = self.0.clone();
        let (name, repo, tag) = (name.to_string(), repo.to_string(), tag.to_string());
        blocking::run(move || svc.tag(&name, &repo, &tag)).await
    }

    async fn delete(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> Result<Vec<ImageDeleteItem>, Error> {
        let svc = self.0.clone();
        let name = name.to_string();
        blocking::run(move || svc.delete(&name, force, noprune)).await
    }

    async fn prune(&self, filters: Filters) -> Result<ImagesPruneResponse, Error> {
        let svc = self.0.clone();
        blocking::run(move || svc.prune(&filters)).await
    }

    async fn import(&self, body: BodyReader, opts: ImportOptions) -> Result<ProgressStream, Error> {
        Ok(self.0.clone().start_import(body, opts))
    }

    async fn load(&self, body: BodyReader, quiet: bool) -> Result<ProgressStream, Error> {
        Ok(self.0.clone().start_load(body, quiet))
    }

    async fn save(&self, names: Vec<String>) -> Result<ByteStream, Error> {
        self.0.clone().start_save(names).await
    }
}
