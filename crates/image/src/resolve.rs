//! Finding the image a user names, as Docker's `GetImage` does: full ID, `sha256:` ID, tag, digest reference, then unique ID prefix.

use crate::image_store::ImageStore;
use crate::reference::AnyReference;
use crate::reference_store::ReferenceStore;
use crate::{Digest, ImageError, Result};

/// The ID of the image `name` refers to. Order: a full ID (64 hex digits
/// or `sha256:<hex>`); a reference in the reference store (`busybox`
/// means `busybox:latest`); a unique ID prefix. A malformed name is
/// `InvalidReference`, an ambiguous prefix `AmbiguousPrefix`, anything
/// else not found is `No such image: <name:tag>`.
pub fn resolve_image(images: &ImageStore, refs: &ReferenceStore, name: &str) -> Result<Digest> {
    match AnyReference::parse(name)? {
        AnyReference::Id(id) => {
            if images.exists(&id) {
                Ok(id)
            } else {
                Err(ImageError::NoSuchImage(id.to_string()))
            }
        }
        AnyReference::Named(named) => {
            if let Some(id) = refs.get(&named)
                && images.exists(&id)
            {
                return Ok(id);
            }
            match images.search(name) {
                Ok(id) => Ok(id),
                Err(e @ ImageError::AmbiguousPrefix { .. }) => Err(e),
                Err(_) => Err(ImageError::NoSuchImage(
                    named.tag_name_only().familiar_string(),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::named;
    use berth_api::{Classify, ErrorKind};

    #[test]
    fn resolves_like_docker() {
        let dir = tempfile::tempdir().unwrap();
        let images = ImageStore::open(dir.path()).unwrap();
        let refs = ReferenceStore::open(&dir.path().join("repositories.json")).unwrap();
        let id = images
            .create(br#"{"os":"linux","rootfs":{"type":"layers"}}"#)
            .unwrap();
        refs.add_tag(&named("busybox"), &id, true).unwrap();
        let m = Digest::of(b"manifest");
        refs.add_digest(&named(&format!("busybox@{m}")), &id, false)
            .unwrap();
        for ok in [
            id.hex().to_string(),
            id.to_string(),
            "busybox".into(),
            "busybox:latest".into(),
            "docker.io/library/busybox:latest".into(),
            format!("busybox@{m}"),
            id.hex()[..12].to_string(),
            format!("sha256:{}", &id.hex()[..8]),
        ] {
            assert_eq!(resolve_image(&images, &refs, &ok).unwrap(), id, "{ok}");
        }
        let cases = [
            (
                "busybox:1.0",
                ErrorKind::NotFound,
                "No such image: busybox:1.0",
            ),
            (
                "nothere",
                ErrorKind::NotFound,
                "No such image: nothere:latest",
            ),
            ("Busybox", ErrorKind::InvalidParameter, "must be lowercase"),
            (
                "a b",
                ErrorKind::InvalidParameter,
                "invalid reference format",
            ),
        ];
        for (name, kind, msg) in cases {
            let e = resolve_image(&images, &refs, name).unwrap_err();
            assert_eq!(e.kind(), kind, "{name}");
            assert!(e.to_string().contains(msg), "{name}: {e}");
        }
        let missing = Digest::of(b"missing");
        let e = resolve_image(&images, &refs, missing.hex()).unwrap_err();
        assert_eq!(e.to_string(), format!("No such image: {missing}"));
    }
}
