//! Reading images: the list with its filters, inspect, history, and the
//! images part of `/system/df`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use berth_api::Error;
use berth_api::types::image::{
    GraphDriverData, HistoryItem, ImageInspect, ImageMetadata, ImageSummary, RootFs,
};
use berth_api::version::ApiVersion;
use berth_image::config::format_rfc3339_nano;
use berth_image::image_store::Image;
use berth_image::reference::Named;
use berth_layer::Digest;
use berth_server::backend::ImageListOptions;

use super::ImageService;
use crate::{glob, timestamp};

/// Filters `GET /images/json` accepts.
const LIST_FILTERS: &[&str] = &[
    "dangling",
    "label",
    "label!",
    "before",
    "since",
    "reference",
    "until",
];

/// What Go prints for a zero `time.Time`.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn created_secs(img: &Image) -> f64 {
    img.config
        .created
        .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9)
        .unwrap_or(0.0)
}

fn labels(img: &Image) -> BTreeMap<String, String> {
    img.config
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
}

impl ImageService {
    /// `GET /images/json`.
    pub fn list(
        &self,
        opts: &ImageListOptions,
        version: ApiVersion,
    ) -> Result<Vec<ImageSummary>, Error> {
        let f = &opts.filters;
        f.validate(LIST_FILTERS)?;
        let dangling = f.bool_value("dangling")?;
        let now = chrono::Utc::now();
        let mut before: Option<f64> = None;
        for r in f.get("before") {
            let img = self.lookup(r)?;
            let t = created_secs(&img);
            before = Some(before.map_or(t, |b: f64| b.min(t)));
        }
        let mut since: Option<f64> = None;
        for r in f.get("since") {
            let img = self.lookup(r)?;
            let t = created_secs(&img);
            since = Some(since.map_or(t, |s: f64| s.max(t)));
        }
        let mut until: Option<f64> = None;
        for u in f.get("until") {
            until = Some(timestamp::parse(u, now)?);
        }
        let label_neg = f.get("label!").to_vec();

        let mut out = Vec::new();
        for img in self.images.list() {
            let refs = self.refs.references_for(&img.id);
            let tags: Vec<String> = refs
                .iter()
                .filter(|r| r.tag().is_some())
                .map(Named::familiar_string)
                .collect();
            let digests: Vec<String> = refs
                .iter()
                .filter(|r| r.digest().is_some())
                .map(Named::familiar_string)
                .collect();
            let created = created_secs(&img);
            if !opts.all
                && tags.is_empty()
                && digests.is_empty()
                && !self.images.children(&img.id).is_empty()
            {
                continue;
            }
            if let Some(d) = dangling
                && d != tags.is_empty()
            {
                continue;
            }
            if before.is_some_and(|b| created >= b) || since.is_some_and(|s| created <= s) {
                continue;
            }
            if until.is_some_and(|u| created >= u) {
                continue;
            }
            let lbls = labels(&img);
            if !f.match_labels("label", &lbls) {
                continue;
            }
            if label_neg.iter().any(|want| match want.split_once('=') {
                Some((k, v)) => lbls.get(k).map(String::as_str) == Some(v),
                None => lbls.contains_key(want.as_str()),
            }) {
                continue;
            }
            let (tags, digests) = if f.contains("reference") {
                let keep = |r: &Named| {
                    f.get("reference").iter().any(|pat| {
                        glob::matches(pat, &r.familiar_string())
                            || glob::matches(pat, &r.familiar_name())
                    })
                };
                let matched: Vec<&Named> = refs.iter().filter(|r| keep(r)).collect();
                if matched.is_empty() {
                    continue;
                }
                (
                    matched
                        .iter()
                        .filter(|r| r.tag().is_some())
                        .map(|r| r.familiar_string())
                        .collect(),
                    matched
                        .iter()
                        .filter(|r| r.digest().is_some())
                        .map(|r| r.familiar_string())
                        .collect(),
                )
            } else {
                (tags, digests)
            };
            out.push(self.summary(&img, tags, digests, version));
        }
        if opts.shared_size {
            self.fill_shared_sizes(&mut out);
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    fn summary(
        &self,
        img: &Image,
        tags: Vec<String>,
        digests: Vec<String>,
        version: ApiVersion,
    ) -> ImageSummary {
        let size = self.image_size(img) as i64;
        ImageSummary {
            containers: -1,
            created: created_secs(img) as i64,
            id: img.id.to_string(),
            labels: labels(img),
            parent_id: img
                .parent
                .as_ref()
                .map(Digest::to_string)
                .unwrap_or_default(),
            repo_digests: digests,
            repo_tags: tags,
            shared_size: -1,
            size,
            virtual_size: (!version.at_least(1, 44)).then_some(size),
        }
    }

    /// Chain IDs of an image's layers, bottom first.
    fn chain_of(&self, img: &Image) -> Vec<Digest> {
        img.config.chain_ids()
    }

    fn fill_shared_sizes(&self, list: &mut [ImageSummary]) {
        let mut uses: HashMap<Digest, usize> = HashMap::new();
        let all = self.images.list();
        for img in &all {
            for c in self.chain_of(img) {
                *uses.entry(c).or_default() += 1;
            }
        }
        let by_id: HashMap<String, Arc<Image>> =
            all.into_iter().map(|i| (i.id.to_string(), i)).collect();
        for s in list {
            let Some(img) = by_id.get(&s.id) else {
                continue;
            };
            s.shared_size = self
                .chain_of(img)
                .iter()
                .filter(|c| uses.get(*c).copied().unwrap_or(0) > 1)
                .filter_map(|c| self.layers.get(c).ok())
                .map(|l| l.size as i64)
                .sum();
        }
    }

    /// The images part of `/system/df`: every image with shared sizes and
    /// container counts, and the bytes of all layers.
    pub fn disk_usage(&self, version: ApiVersion) -> Result<(i64, Vec<ImageSummary>), Error> {
        let mut list = self.list(
            &ImageListOptions {
                all: true,
                ..Default::default()
            },
            version,
        )?;
        self.fill_shared_sizes(&mut list);
        let users = self.users();
        for s in &mut list {
            if let Ok(id) = s.id.parse::<Digest>() {
                s.containers = users.users(&id).len() as i64;
            }
        }
        Ok((self.layers.total_size() as i64, list))
    }

    /// `GET /images/{name}/json`.
    pub fn inspect(&self, name: &str, version: ApiVersion) -> Result<ImageInspect, Error> {
        let img = self.lookup(name)?;
        let cfg = &img.config;
        let size = self.image_size(&img) as i64;
        let graph_data = BTreeMap::new();
        Ok(ImageInspect {
            id: img.id.to_string(),
            repo_tags: self.refs.tags_for(&img.id),
            repo_digests: self.refs.digests_for(&img.id),
            parent: img
                .parent
                .as_ref()
                .map(Digest::to_string)
                .unwrap_or_default(),
            comment: cfg.comment.clone(),
            created: cfg
                .created
                .as_ref()
                .map(format_rfc3339_nano)
                .unwrap_or_else(|| ZERO_TIME.to_string()),
            docker_version: cfg.docker_version.clone(),
            author: cfg.author.clone(),
            config: cfg.config.clone(),
            architecture: cfg.architecture.clone(),
            variant: cfg.variant.clone(),
            os: cfg.os_or_default().to_string(),
            os_version: cfg.os_version.clone(),
            size,
            virtual_size: (!version.at_least(1, 44)).then_some(size),
            graph_driver: GraphDriverData {
                data: graph_data,
                name: self.layers.driver().name().to_string(),
            },
            root_fs: RootFs {
                kind: "layers".to_string(),
                layers: cfg.diff_ids().iter().map(Digest::to_string).collect(),
            },
            metadata: ImageMetadata {
                last_tag_time: Some(
                    img.last_updated
                        .as_ref()
                        .map(format_rfc3339_nano)
                        .unwrap_or_else(|| ZERO_TIME.to_string()),
                ),
            },
        })
    }

    /// `GET /images/{name}/history`: newest first; only the image itself
    /// and its recorded parents have IDs, older steps are `<missing>`.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryItem>, Error> {
        let img = self.lookup(name)?;
        let diff_ids = img.config.diff_ids();
        let mut items = Vec::new();
        let mut layer_index = 0;
        let mut parent: Option<Digest> = None;
        for h in &img.config.history {
            let mut size = 0;
            if !h.empty_layer {
                let Some(diff) = diff_ids.get(layer_index) else {
                    return Err(Error::system(format!(
                        "image {} is damaged: its history has more layers than its root filesystem",
                        img.id
                    )));
                };
                let chain = berth_layer::store::chain_id(parent.as_ref(), diff);
                size = self.layers.get(&chain).map(|l| l.size as i64).unwrap_or(0);
                parent = Some(chain);
                layer_index += 1;
            }
            items.push(HistoryItem {
                comment: h.comment.clone(),
                created: h.created.map(|t| t.timestamp()).unwrap_or(0),
                created_by: h.created_by.clone(),
                id: "<missing>".to_string(),
                size,
                tags: Vec::new(),
            });
        }
        items.reverse();
        let mut current = Some(img);
        for item in &mut items {
            let Some(cur) = current.take() else { break };
            item.id = cur.id.to_string();
            item.tags = self.refs.tags_for(&cur.id);
            current = cur.parent.as_ref().and_then(|p| self.images.get(p).ok());
        }
        Ok(items)
    }
}
