//! `GET /containers/{id}/json`.

use std::collections::BTreeMap;

use berth_api::Error;
use berth_api::types::container::ContainerInspect;
use berth_api::types::image::GraphDriverData;

use super::ContainerService;

impl ContainerService {
    pub fn inspect(&self, name: &str, size: bool) -> Result<ContainerInspect, Error> {
        let c = self.get(name)?;
        let rec = c.snapshot();
        let dir = self.ctx.store.dir_of(&rec.id);
        let (size_rw, size_root_fs) = if size {
            let (rw, root) = self.sizes(&rec.id, &rec.image_id.to_string());
            (Some(rw), Some(root))
        } else {
            (None, None)
        };
        let shares_net = rec.host_config.network_mode.starts_with("container:");
        Ok(ContainerInspect {
            id: rec.id.clone(),
            created: rec
                .created
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            path: rec.path.clone(),
            args: rec.args.clone(),
            state: rec.state.to_api(),
            image: rec.image_id.to_string(),
            resolv_conf_path: if shares_net {
                String::new()
            } else {
                dir.join("resolv.conf").display().to_string()
            },
            hostname_path: if shares_net {
                String::new()
            } else {
                dir.join("hostname").display().to_string()
            },
            hosts_path: if shares_net {
                String::new()
            } else {
                dir.join("hosts").display().to_string()
            },
            log_path: if rec.host_config.log_config.kind == "none" {
                String::new()
            } else {
                self.ctx.log_path(&rec.id).display().to_string()
            },
            name: format!("/{}", rec.name),
            restart_count: i64::from(rec.restart_count),
            driver: rec.driver.clone(),
            platform: "linux".to_string(),
            mount_label: String::new(),
            process_label: String::new(),
            app_armor_profile: String::new(),
            exec_ids: self.exec_ids(&rec.id),
            host_config: rec.host_config.clone(),
            graph_driver: GraphDriverData {
                data: BTreeMap::new(),
                name: rec.driver.clone(),
            },
            size_rw,
            size_root_fs,
            mounts: rec.mounts.clone(),
            config: rec.config.clone(),
            // Networks, addresses, ports: network.rs.
            network_settings: self.network_settings(&rec),
        })
    }
}
