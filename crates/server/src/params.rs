//! Query-string parameters with Docker's lenient parsing rules (booleans
//! such as `1`, `true`, `yes`; repeated keys; JSON `filters`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use berth_api::Error;
use berth_api::filters::Filters;

use crate::error::ApiError;

/// All query parameters of a request, in order, repeated keys kept.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(query: &str) -> Self {
        Self {
            pairs: form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or "" when absent.
    pub fn str(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// Every value given for `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Docker's BoolValue: absent, "", "0", "no", "false", "none" are false.
    pub fn bool(&self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(v) => !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            ),
        }
    }

    /// Docker's BoolValueOrDefault: the default when absent or empty.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            None | Some("") => default,
            Some(_) => self.bool(key),
        }
    }

    /// An integer parameter; a malformed value is a 400 naming it.
    pub fn int(&self, key: &str) -> Result<Option<i64>, Error> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                Error::invalid(format!("invalid value for {key}: {v:?} is not an integer"))
            }),
        }
    }

    /// The `filters` parameter.
    pub fn filters(&self) -> Result<Filters, Error> {
        Filters::parse(self.str("filters"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.query().unwrap_or("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_bool_rules() {
        let p = Params::parse("a=1&b=false&c=&d=yes&e=0&f=True");
        assert!(p.bool("a"));
        assert!(!p.bool("b"));
        assert!(!p.bool("c"));
        assert!(p.bool("d"));
        assert!(!p.bool("e"));
        assert!(p.bool("f"));
        assert!(!p.bool("missing"));
        assert!(p.bool_or("missing", true));
        assert!(p.bool_or("c", true));
    }

    #[test]
    fn repeated_and_ints() {
        let p = Params::parse("names=a&names=b%2Fc&t=10&bad=x");
        assert_eq!(p.all("names"), vec!["a", "b/c"]);
        assert_eq!(p.int("t").unwrap(), Some(10));
        assert!(p.int("bad").is_err());
        assert_eq!(p.int("none").unwrap(), None);
    }
}
