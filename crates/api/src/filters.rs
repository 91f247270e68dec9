//! The `filters` query parameter: `{"name":["a","b"]}` (current form) or
//! `{"name":{"a":true}}` (the form older clients send).

use std::collections::BTreeMap;

use crate::Error;

/// Parsed filters: filter name to the values given for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    map: BTreeMap<String, Vec<String>>,
}

impl Filters {
    /// Parses the JSON text of the `filters` parameter (empty means none).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut map = BTreeMap::new();
        if text.trim().is_empty() {
            return Ok(Self { map });
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("invalid filters {text:?}: {e}")))?;
        let obj = value.as_object().ok_or_else(|| {
            Error::invalid(format!("invalid filters {text:?}: not a JSON object"))
        })?;
        for (key, val) in obj {
            let mut values = Vec::new();
            match val {
                serde_json::Value::Array(items) => {
                    for item in items {
                        match item.as_str() {
                            Some(s) => values.push(s.to_string()),
                            None => {
                                return Err(Error::invalid(format!(
                                    "invalid filter {key:?}: values must be strings"
                                )));
                            }
                        }
                    }
                }
                serde_json::Value::Object(items) => {
                    for (item, on) in items {
                        if on.as_bool() == Some(true) {
                            values.push(item.clone());
                        }
                    }
                }
                serde_json::Value::String(s) => values.push(s.clone()),
                _ => {
                    return Err(Error::invalid(format!(
                        "invalid filter {key:?}: expected a list of strings"
                    )));
                }
            }
            map.insert(key.clone(), values);
        }
        Ok(Self { map })
    }

    /// Rejects filter names outside `allowed`, as Docker does.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), Error> {
        for key in self.map.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(Error::invalid(format!("invalid filter '{key}'")));
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> &[String] {
        self.map.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.map.values().all(Vec::is_empty)
    }

    pub fn add(&mut self, key: &str, value: &str) {
        self.map
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
    }

    /// The current wire form, `{"key":["v"]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.map).unwrap_or_else(|_| "{}".to_string())
    }

    /// A boolean filter (`dangling=true`); a value other than true/false/1/0
    /// is an error naming it.
    pub fn bool_value(&self, key: &str) -> Result<Option<bool>, Error> {
        let mut result = None;
        for v in self.get(key) {
            let b = match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(Error::invalid(format!(
                        "invalid filter '{key}={v}': expected true or false"
                    )));
                }
            };
            result = Some(b);
        }
        Ok(result)
    }

    /// Whether a set of labels satisfies every `label` filter given as
    /// `key` or `key=value` (`key!=value` negates).
    pub fn match_labels(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.get(key).iter().all(|want| {
            if let Some((k, v)) = want.split_once("!=") {
                labels.get(k).map(String::as_str) != Some(v)
            } else if let Some((k, v)) = want.split_once('=') {
                labels.get(k).map(String::as_str) == Some(v)
            } else {
                labels.contains_key(want.as_str())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_wire_forms() {
        let f = Filters::parse(r#"{"dangling":["true"],"label":["a=b"]}"#).unwrap();
        assert_eq!(f.get("dangling"), ["true"]);
        let f = Filters::parse(r#"{"dangling":{"true":true}}"#).unwrap();
        assert_eq!(f.bool_value("dangling").unwrap(), Some(true));
        assert!(Filters::parse("not json").is_err());
        assert!(Filters::parse("[1]").is_err());
        assert!(Filters::parse("").unwrap().is_empty());
    }

    #[test]
    fn validate_names_the_filter() {
        let f = Filters::parse(r#"{"bogus":["x"]}"#).unwrap();
        let err = f.validate(&["label"]).unwrap_err();
        assert_eq!(err.message(), "invalid filter 'bogus'");
    }

    #[test]
    fn label_matching() {
        let mut labels = BTreeMap::new();
        labels.insert("a".to_string(), "b".to_string());
        let f = Filters::parse(r#"{"label":["a=b"]}"#).unwrap();
        assert!(f.match_labels("label", &labels));
        let f = Filters::parse(r#"{"label":["a!=b"]}"#).unwrap();
        assert!(!f.match_labels("label", &labels));
        let f = Filters::parse(r#"{"label":["c"]}"#).unwrap();
        assert!(!f.match_labels("label", &labels));
    }
}
