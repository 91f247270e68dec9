//! Values inside template execution: decoded JSON, plus Go's "no value"
//! and typed-nil cases, which print as Docker's Go structs would.

use serde_json::Value;

use crate::format::{gofmt, jsonfmt};

/// What kind of zero a missing or null field has in Docker's Go types,
/// so that `{{.Config.Env}}` prints `[]` rather than `<nil>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Unknown,
    List,
    Map,
    Str,
    Bool,
    Int,
    /// A Go pointer or interface: prints `<nil>`.
    Nil,
}

impl Hint {
    /// The hint for a field name of the Engine API's types.
    pub fn for_field(name: &str) -> Hint {
        match name {
            "Env" | "Cmd" | "Entrypoint" | "OnBuild" | "Shell" | "RepoTags" | "RepoDigests"
            | "Layers" | "Mounts" | "Binds" | "Dns" | "DnsOptions" | "DnsSearch" | "ExtraHosts"
            | "CapAdd" | "CapDrop" | "SecurityOpt" | "Links" | "Devices" | "GroupAdd"
            | "Warnings" | "Args" | "Test" | "Aliases" | "Tags" | "Components" | "VolumesFrom"
            | "DeviceRequests" | "Ulimits" | "ConsoleSize" | "Names" => Hint::List,
            "Labels" | "Volumes" | "ExposedPorts" | "Ports" | "Networks" | "PortBindings"
            | "Tmpfs" | "Sysctls" | "StorageOpt" | "Options" | "DriverOpts" | "Details" => {
                Hint::Map
            }
            "Variant" | "OsVersion" | "OSVersion" | "StopSignal" | "MacAddress" | "Comment"
            | "Author" | "DockerVersion" | "Parent" | "Container" | "LastTagTime"
            | "Domainname" | "Hostname" | "User" | "WorkingDir" | "Image" | "Name" => Hint::Str,
            "ArgsEscaped" | "NetworkDisabled" | "Experimental" => Hint::Bool,
            "VirtualSize" | "SharedSize" => Hint::Int,
            "Platform" | "Healthcheck" | "StopTimeout" | "Health" | "Server" => Hint::Nil,
            _ => Hint::Unknown,
        }
    }
}

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A field absent from the JSON that Docker's Go type has (printed as
    /// its zero value), or, in headers, a key that does not exist.
    Missing(Hint),
    /// A JSON `null` (Go's nil slice, map or pointer).
    Nil(Hint),
    V(Value),
}

impl Val {
    pub fn str(s: impl Into<String>) -> Val {
        Val::V(Value::String(s.into()))
    }

    pub fn int(i: i64) -> Val {
        Val::V(Value::from(i))
    }

    pub fn bool(b: bool) -> Val {
        Val::V(Value::Bool(b))
    }

    /// From a JSON value reached through field `name`.
    pub fn field(v: &Value, name: &str) -> Val {
        if v.is_null() {
            Val::Nil(Hint::for_field(name))
        } else {
            Val::V(v.clone())
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Val::Missing(_) | Val::Nil(_) | Val::V(Value::Null))
    }

    pub fn as_json(&self) -> Option<&Value> {
        match self {
            Val::V(v) => Some(v),
            _ => None,
        }
    }

    /// The value as JSON, nil-like values as `null`.
    pub fn to_json(&self) -> Value {
        match self {
            Val::V(v) => v.clone(),
            Val::Missing(Hint::Str) | Val::Nil(Hint::Str) => Value::String(String::new()),
            Val::Missing(Hint::Bool) | Val::Nil(Hint::Bool) => Value::Bool(false),
            Val::Missing(Hint::Int) | Val::Nil(Hint::Int) => Value::from(0),
            _ => Value::Null,
        }
    }

    /// Go's truth: false, 0, nil, and empty strings, lists and maps are
    /// false.
    pub fn truth(&self) -> bool {
        match self {
            Val::Missing(_) | Val::Nil(_) => false,
            Val::V(v) => match v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
            },
        }
    }

    /// Go's `%v` as `{{.X}}` prints it.
    pub fn print(&self) -> String {
        match self {
            Val::Missing(h) => zero(*h).unwrap_or("<no value>").to_string(),
            Val::Nil(h) => zero(*h).unwrap_or("<nil>").to_string(),
            Val::V(v) => gofmt::value(v),
        }
    }

    /// `{{json .X}}`.
    pub fn json(&self, escape_html: bool) -> String {
        jsonfmt::encode(&self.to_json(), escape_html)
    }

    /// The Go type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Missing(_) => "<no value>",
            Val::Nil(_) => "<nil>",
            Val::V(v) => gofmt::type_name(v),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Val::V(Value::Number(n)) => n.as_i64(),
            _ => None,
        }
    }
}

fn zero(h: Hint) -> Option<&'static str> {
    match h {
        Hint::Unknown => None,
        Hint::List => Some("[]"),
        Hint::Map => Some("map[]"),
        Hint::Str => Some(""),
        Hint::Bool => Some("false"),
        Hint::Int => Some("0"),
        Hint::Nil => Some("<nil>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn printing_and_truth() {
        assert_eq!(Val::Missing(Hint::Unknown).print(), "<no value>");
        assert_eq!(Val::Nil(Hint::List).print(), "[]");
        assert_eq!(Val::Nil(Hint::Map).print(), "map[]");
        assert_eq!(Val::Nil(Hint::Unknown).print(), "<nil>");
        assert_eq!(Val::V(json!(["a", "b"])).print(), "[a b]");
        assert!(!Val::V(json!("")).truth());
        assert!(!Val::V(json!({})).truth());
        assert!(Val::V(json!([0])).truth());
        assert!(!Val::V(json!(0)).truth());
        assert!(!Val::Nil(Hint::List).truth());
    }
}
