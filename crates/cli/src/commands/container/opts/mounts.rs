//! `-v`, `--mount` and `--tmpfs`: validated with the engine's own parsers
//! (`berth_runtime::parse`), sent in the shapes the docker CLI sends.

use std::collections::BTreeMap;

use berth_api::types::Empty;
use berth_runtime::parse::{
    MountSpec, MountType, parse_mount_spec, parse_tmpfs, parse_volume_spec,
};
use serde_json::{Map, Value, json};

/// `-v` values split as docker does: binds and named volumes go to
/// `HostConfig.Binds` (relative `./host` paths made absolute), anonymous
/// volumes to `Config.Volumes`.
/// `HostConfig.Binds` and `Config.Volumes`.
pub type BindsAndVolumes = (Option<Vec<String>>, BTreeMap<String, Empty>);

pub fn binds_and_volumes(specs: &[String], cwd: Option<&str>) -> Result<BindsAndVolumes, String> {
    let mut binds: Vec<String> = Vec::new();
    let mut volumes = BTreeMap::new();
    for raw in specs {
        let mut spec = raw.clone();
        if let Some((host, rest)) = raw.split_once(':')
            && host.starts_with('.')
            && let Some(cwd) = cwd
        {
            spec = format!(
                "{}:{rest}",
                berth_runtime::parse::clean_path(&format!("{cwd}/{host}"))
            );
        }
        let parsed = parse_volume_spec(&spec).map_err(|e| e.to_string())?;
        if parsed.source.is_empty() {
            volumes.insert(raw.clone(), Empty {});
        } else if !binds.contains(&spec) {
            binds.push(spec);
        }
    }
    Ok(((!binds.is_empty()).then_some(binds), volumes))
}

/// `--tmpfs /dst[:opts]` values into `HostConfig.Tmpfs`.
pub fn tmpfs_map(specs: &[String]) -> Result<Option<BTreeMap<String, String>>, String> {
    let mut map = BTreeMap::new();
    for raw in specs {
        parse_tmpfs(raw).map_err(|e| e.to_string())?;
        let (k, v) = raw.split_once(':').unwrap_or((raw, ""));
        map.insert(k.to_string(), v.to_string());
    }
    Ok((!map.is_empty()).then_some(map))
}

/// One `--mount` value as the `HostConfig.Mounts` entry docker sends.
pub fn mount_json(raw: &str, cwd: Option<&str>) -> Result<Value, String> {
    let spec = parse_mount_spec(raw, cwd).map_err(|e| e.to_string())?;
    Ok(spec_json(&spec, raw))
}

fn spec_json(spec: &MountSpec, raw: &str) -> Value {
    let mut m = Map::new();
    m.insert("Type".into(), json!(spec.kind.as_str()));
    if !spec.source.is_empty() {
        m.insert("Source".into(), json!(spec.source));
    }
    m.insert("Target".into(), json!(spec.target));
    if spec.read_only {
        m.insert("ReadOnly".into(), json!(true));
    }
    if let Some(c) = &spec.consistency {
        m.insert("Consistency".into(), json!(c));
    }
    match spec.kind {
        MountType::Bind => {
            let mut b = Map::new();
            if let Some(p) = spec.propagation {
                b.insert("Propagation".into(), json!(p.as_str()));
            }
            if spec.bind_non_recursive {
                b.insert("NonRecursive".into(), json!(true));
            }
            // The parser checks these; the daemon needs to see them.
            if raw.contains("bind-recursive=writable") {
                b.insert("ReadOnlyNonRecursive".into(), json!(true));
            }
            if raw.contains("bind-recursive=readonly") {
                b.insert("ReadOnlyForceRecursive".into(), json!(true));
            }
            if !b.is_empty() {
                m.insert("BindOptions".into(), Value::Object(b));
            }
        }
        MountType::Volume => {
            let used = spec.volume_nocopy
                || !spec.volume_labels.is_empty()
                || spec.volume_driver.is_some()
                || !spec.volume_options.is_empty()
                || spec.volume_subpath.is_some();
            if used {
                let mut v = Map::new();
                if spec.volume_nocopy {
                    v.insert("NoCopy".into(), json!(true));
                }
                if !spec.volume_labels.is_empty() {
                    v.insert("Labels".into(), json!(spec.volume_labels));
                }
                if let Some(sub) = &spec.volume_subpath {
                    v.insert("Subpath".into(), json!(sub));
                }
                let mut driver = Map::new();
                if let Some(name) = &spec.volume_driver {
                    driver.insert("Name".into(), json!(name));
                }
                if !spec.volume_options.is_empty() {
                    driver.insert("Options".into(), json!(spec.volume_options));
                }
                v.insert("DriverConfig".into(), Value::Object(driver));
                m.insert("VolumeOptions".into(), Value::Object(v));
            }
        }
        MountType::Tmpfs => {
            let mut t = Map::new();
            if let Some(size) = spec.tmpfs_size.filter(|s| *s != 0) {
                t.insert("SizeBytes".into(), json!(size));
            }
            if let Some(mode) = spec.tmpfs_mode.filter(|m| *m != 0) {
                t.insert("Mode".into(), json!(mode));
            }
            if spec.tmpfs_size.is_some() || spec.tmpfs_mode.is_some() {
                m.insert("TmpfsOptions".into(), Value::Object(t));
            }
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flags() {
        let (binds, volumes) = binds_and_volumes(
            &[
                "/data".into(),
                "/host:/ctr:ro".into(),
                "named:/n".into(),
                "./rel:/r".into(),
                "/host:/ctr:ro".into(),
            ],
            Some("/home/u"),
        )
        .unwrap();
        assert_eq!(
            binds.unwrap(),
            ["/host:/ctr:ro", "named:/n", "/home/u/rel:/r"]
        );
        assert_eq!(volumes.keys().collect::<Vec<_>>(), ["/data"]);
        let (binds, volumes) = binds_and_volumes(&[], None).unwrap();
        assert!(binds.is_none() && volumes.is_empty());
        assert!(
            binds_and_volumes(&["/a:b".into()], None)
                .unwrap_err()
                .contains("must be absolute")
        );
    }

    #[test]
    fn mounts_like_docker() {
        assert_eq!(
            mount_json("type=bind,src=/a,dst=/b,readonly", None).unwrap(),
            json!({"Type":"bind","Source":"/a","Target":"/b","ReadOnly":true})
        );
        assert_eq!(
            mount_json("type=bind,src=/a,dst=/b,bind-propagation=rslave", None).unwrap(),
            json!({"Type":"bind","Source":"/a","Target":"/b","BindOptions":{"Propagation":"rslave"}})
        );
        assert_eq!(
            mount_json("source=v1,target=/v,volume-nocopy", None).unwrap(),
            json!({"Type":"volume","Source":"v1","Target":"/v","VolumeOptions":{"NoCopy":true,"DriverConfig":{}}})
        );
        assert_eq!(
            mount_json("type=tmpfs,dst=/t,tmpfs-size=1m", None).unwrap(),
            json!({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576}})
        );
        assert_eq!(
            mount_json("type=bind,target=/b", None).unwrap_err(),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
    }

    #[test]
    fn tmpfs_values() {
        let m = tmpfs_map(&["/run:rw,size=64m".into(), "/tmp".into()])
            .unwrap()
            .unwrap();
        assert_eq!(m["/run"], "rw,size=64m");
        assert_eq!(m["/tmp"], "");
        assert!(tmpfs_map(&[]).unwrap().is_none());
        assert!(tmpfs_map(&["rel".into()]).is_err());
    }
}
