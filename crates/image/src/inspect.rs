//! Pure builders of API views of an image: `/images/{name}/history` items, `ImageInspect`, `ImageSummary` and image size, as Docker computes them.

use berth_api::types::image::{
    GraphDriverData, HistoryItem, ImageInspect, ImageMetadata, ImageSummary, RootFs,
};

use crate::config::format_rfc3339_nano;
use crate::image_store::Image;
use crate::{Digest, ImageError, Result};

/// Docker's `LastTagTime` of an image never tagged (Go's zero time).
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One image of a lineage: its ID and its tags (familiar form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageEntry {
    pub id: Digest,
    pub tags: Vec<String>,
}

/// Docker's image history: one item per history entry of the config,
/// newest first; non-empty entries take the size of their layer
/// (`layer_size(chain_id)`, the layer's own bytes). The newest item gets
/// the image's ID and tags, the ones below get the IDs of the recorded
/// parents in `lineage` (the image first, then its parent, …); the rest
/// are `<missing>`.
pub fn history(
    image: &Image,
    lineage: &[LineageEntry],
    layer_size: &mut dyn FnMut(&Digest) -> Result<u64>,
) -> Result<Vec<HistoryItem>> {
    let diff_ids = image.config.diff_ids();
    let chains = image.config.chain_ids();
    let mut items = Vec::with_capacity(image.config.history.len());
    let mut layer = 0usize;
    for h in &image.config.history {
        let mut size = 0u64;
        if !h.empty_layer {
            if layer >= diff_ids.len() {
                return Err(ImageError::InvalidConfig(
                    "too many non-empty layers in History section".into(),
                ));
            }
            size = layer_size(&chains[layer])?;
            layer += 1;
        }
        items.push(HistoryItem {
            comment: h.comment.clone(),
            created: h.created.map(|t| t.timestamp()).unwrap_or(0),
            created_by: h.created_by.clone(),
            id: "<missing>".into(),
            size: size as i64,
            tags: Vec::new(),
        });
    }
    items.reverse();
    for (item, entry) in items.iter_mut().zip(lineage) {
        item.id = entry.id.to_string();
        item.tags = entry.tags.clone();
    }
    Ok(items)
}

/// The lineage of `id` through recorded parents (the image first), with
/// tags from `tags_of`. Stops at a missing image or a loop.
pub fn lineage(
    images: &crate::image_store::ImageStore,
    id: &Digest,
    tags_of: &dyn Fn(&Digest) -> Vec<String>,
) -> Vec<LineageEntry> {
    let mut out: Vec<LineageEntry> = Vec::new();
    let mut cur = Some(id.clone());
    while let Some(id) = cur {
        if out.iter().any(|e| e.id == id) {
            break;
        }
        let Ok(img) = images.get(&id) else { break };
        out.push(LineageEntry {
            tags: tags_of(&id),
            id,
        });
        cur = img.parent.clone();
    }
    out
}

/// The size Docker reports for an image: the sum of its layers' own sizes.
pub fn image_size(
    image: &Image,
    layer_size: &mut dyn FnMut(&Digest) -> Result<u64>,
) -> Result<u64> {
    let mut total = 0u64;
    for chain in image.config.chain_ids() {
        total += layer_size(&chain)?;
    }
    Ok(total)
}

/// `GET /images/{name}/json`.
pub fn inspect(
    image: &Image,
    repo_tags: Vec<String>,
    repo_digests: Vec<String>,
    size: u64,
    graph_driver: GraphDriverData,
) -> ImageInspect {
    let c = &image.config;
    ImageInspect {
        id: image.id.to_string(),
        repo_tags,
        repo_digests,
        parent: image
            .parent
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        comment: c.comment.clone(),
        created: c
            .created
            .as_ref()
            .map(format_rfc3339_nano)
            .unwrap_or_default(),
        docker_version: c.docker_version.clone(),
        author: c.author.clone(),
        config: c.config.clone(),
        architecture: c.architecture.clone(),
        variant: c.variant.clone(),
        os: c.os_or_default().to_string(),
        os_version: c.os_version.clone(),
        size: size as i64,
        virtual_size: None,
        graph_driver,
        root_fs: RootFs {
            kind: "layers".into(),
            layers: c.diff_ids().iter().map(|d| d.to_string()).collect(),
        },
        metadata: ImageMetadata {
            last_tag_time: Some(
                image
                    .last_updated
                    .as_ref()
                    .map(format_rfc3339_nano)
                    .unwrap_or_else(|| ZERO_TIME.to_string()),
            ),
        },
    }
}

/// One entry of `GET /images/json`. `Containers` and `SharedSize` are -1
/// (not computed), as Docker sends them unless asked.
pub fn summary(
    image: &Image,
    repo_tags: Vec<String>,
    repo_digests: Vec<String>,
    size: u64,
) -> ImageSummary {
    ImageSummary {
        containers: -1,
        created: image.config.created.map(|t| t.timestamp()).unwrap_or(0),
        id: image.id.to_string(),
        labels: image
            .config
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default(),
        parent_id: image
            .parent
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        repo_digests,
        repo_tags,
        shared_size: -1,
        size: size as i64,
        virtual_size: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ImageConfig;

    fn image(raw: &str) -> Image {
        let config = ImageConfig::parse(raw.as_bytes()).unwrap();
        Image {
            id: Digest::of(raw.as_bytes()),
            top_chain_id: config.top_chain_id(),
            config,
            config_size: raw.len() as u64,
            parent: None,
            last_updated: None,
        }
    }

    #[test]
    fn history_newest_first_with_missing_ids() {
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        let raw = format!(
            r#"{{"rootfs":{{"type":"layers","diff_ids":["{a}","{b}"]}},"history":[{{"created":"2024-01-01T00:00:00Z","created_by":"ADD rootfs","comment":"base"}},{{"created":"2024-01-02T00:00:00Z","created_by":"ENV X=1","empty_layer":true}},{{"created":"2024-01-03T00:00:00Z","created_by":"RUN make"}}],"created":"2024-01-03T00:00:00Z","config":{{"Labels":{{"k":"v"}}}}}}"#
        );
        let img = image(&raw);
        let chains = img.config.chain_ids();
        let mut sizes = |c: &Digest| Ok(if *c == chains[0] { 100 } else { 7 });
        let lineage = vec![LineageEntry {
            id: img.id.clone(),
            tags: vec!["app:1".into()],
        }];
        let items = history(&img, &lineage, &mut sizes).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].created_by, "RUN make");
        assert_eq!(items[0].size, 7);
        assert_eq!(items[0].id, img.id.to_string());
        assert_eq!(items[0].tags, vec!["app:1"]);
        assert_eq!(items[1].size, 0);
        assert_eq!(items[1].id, "<missing>");
        assert_eq!(items[2].size, 100);
        assert_eq!(items[2].comment, "base");
        assert_eq!(items[2].created, 1704067200);

        assert_eq!(image_size(&img, &mut sizes).unwrap(), 107);
        let s = summary(&img, vec![], vec![], 107);
        assert_eq!(s.labels["k"], "v");
        assert_eq!((s.containers, s.shared_size, s.size), (-1, -1, 107));
        let i = inspect(
            &img,
            vec!["app:1".into()],
            vec![],
            107,
            GraphDriverData::default(),
        );
        assert_eq!(i.created, "2024-01-03T00:00:00Z");
        assert_eq!(i.os, "linux");
        assert_eq!(i.root_fs.layers, vec![a.to_string(), b.to_string()]);
        assert_eq!(i.metadata.last_tag_time.as_deref(), Some(ZERO_TIME));
    }

    #[test]
    fn history_checks_layer_count() {
        let img = image(r#"{"rootfs":{"type":"layers"}}"#);
        assert!(history(&img, &[], &mut |_| Ok(0)).unwrap().is_empty());
        let mut bad = img.clone();
        bad.config.history.push(Default::default());
        assert!(history(&bad, &[], &mut |_| Ok(0)).is_err());
    }
}
