//! Finding an image the way Docker does: a full ID, a name (with tag or
//! digest; a bare name means `:latest`), or a unique ID prefix.

use std::sync::Arc;

use berth_api::Error;
use berth_image::ImageError;
use berth_image::image_store::Image;
use berth_image::reference::{AnyReference, Named};

use super::ImageService;

impl ImageService {
    /// The image `name_or_id` refers to.
    pub fn lookup(&self, name_or_id: &str) -> Result<Arc<Image>, Error> {
        let not_found = || Error::from(ImageError::NoSuchImage(name_or_id.to_string()));
        if name_or_id.trim().is_empty() {
            return Err(Error::invalid("no image name given"));
        }
        match AnyReference::parse(name_or_id) {
            Ok(AnyReference::Id(id)) => self.images.get(&id).map_err(|_| not_found()),
            Ok(AnyReference::Named(named)) => {
                if let Some(id) = self.refs.get(&named) {
                    return self.images.get(&id).map_err(Error::from);
                }
                self.search_prefix(name_or_id).map_err(|e| match e.kind() {
                    berth_api::ErrorKind::NotFound => Error::from(ImageError::NoSuchImage(
                        named.clone().tag_name_only().familiar_string(),
                    )),
                    _ => e,
                })
            }
            // Not a valid name, but it may still be an ID prefix.
            Err(parse_err) => match self.search_prefix(name_or_id) {
                Ok(img) => Ok(img),
                Err(e) if e.kind() == berth_api::ErrorKind::InvalidParameter => Err(e),
                Err(_) => Err(parse_err.into()),
            },
        }
    }

    fn search_prefix(&self, term: &str) -> Result<Arc<Image>, Error> {
        let id = self.images.search(term)?;
        Ok(self.images.get(&id)?)
    }

    /// Parses a reference the user wants to create (tag, import target).
    pub fn parse_new_reference(repo: &str, tag: &str) -> Result<Named, Error> {
        if repo.is_empty() {
            return Err(Error::invalid(
                "repository name must have at least one component",
            ));
        }
        let named = Named::parse_normalized(repo)?;
        if named.digest().is_some() {
            return Err(Error::invalid(
                "refusing to create a tag with a digest reference",
            ));
        }
        let named = if tag.is_empty() {
            named
        } else {
            named.trim().with_tag(tag)?
        };
        Ok(named.tag_name_only())
    }
}
