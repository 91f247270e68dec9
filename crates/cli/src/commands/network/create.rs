//! `berth network create`: driver, options, labels and IPAM (subnets with
//! their gateway, IP range and auxiliary addresses), as docker builds the
//! request.

use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_api::types::network::{ConfigReference, Ipam, IpamConfig, NetworkCreateRequest};
use clap::ArgAction;

use crate::commands::container::opts::values::kv_map;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::goparse::bool_flag;
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", value_name = "string")]
    pub config_from: Option<String>,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(short = 'd', long, value_name = "string", default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_name = "strings")]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long)]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "strings")]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", value_name = "string", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment
    #[arg(long, value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long, value_name = "list")]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long, value_name = "string")]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_name = "strings")]
    pub subnet: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

/// A parsed `addr/len`.
struct Cidr {
    addr: IpAddr,
    len: u32,
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| format!("invalid CIDR address: {s}"))?;
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("invalid CIDR address: {s}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len: u32 = l
        .parse()
        .ok()
        .filter(|l| *l <= max)
        .ok_or_else(|| format!("invalid CIDR address: {s}"))?;
    Ok(Cidr { addr, len })
}

fn bits(ip: IpAddr) -> (u128, u32) {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// Docker's `subnetMatches`: `data` (an address or a CIDR) lies in
/// `subnet`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let s = parse_cidr(subnet).map_err(|e| format!("invalid subnet: {e}"))?;
    let ip = if data.contains('/') {
        parse_cidr(data)?.addr
    } else {
        match data.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return Ok(false),
        }
    };
    let ((net, w1), (addr, w2)) = (bits(s.addr), bits(ip));
    if w1 != w2 {
        return Ok(false);
    }
    let shift = w1 - s.len;
    let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
    Ok(net & mask == addr & mask)
}

/// Docker's `createIPAMConfig`.
pub fn ipam_config(a: &Args) -> Result<Ipam, String> {
    if a.subnet.len() < a.ip_range.len() || a.subnet.len() < a.gateway.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    let mut configs: Vec<IpamConfig> = Vec::new();
    for s in &a.subnet {
        for c in &configs {
            if subnet_matches(s, &c.subnet)? || subnet_matches(&c.subnet, s)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
        configs.push(IpamConfig {
            subnet: s.clone(),
            aux_address: Some(BTreeMap::new()),
            ..Default::default()
        });
    }
    for r in &a.ip_range {
        parse_cidr(r)?;
        let mut matched = false;
        for c in configs.iter_mut() {
            if !subnet_matches(&c.subnet, r)? {
                continue;
            }
            if !c.ip_range.is_empty() {
                return Err(format!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    c.ip_range, c.subnet
                ));
            }
            c.ip_range = r.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in &a.gateway {
        let mut matched = false;
        for c in configs.iter_mut() {
            if !subnet_matches(&c.subnet, g)? {
                continue;
            }
            if !c.gateway.is_empty() {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    c.gateway, c.subnet
                ));
            }
            c.gateway = g.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    for (key, aa) in kv_map(&a.aux_address) {
        let mut matched = false;
        for c in configs.iter_mut() {
            if subnet_matches(&c.subnet, &aa)? {
                c.aux_address
                    .get_or_insert_with(BTreeMap::new)
                    .insert(key.clone(), aa.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {aa}"));
        }
    }
    for c in configs.iter_mut() {
        if c.aux_address.as_ref().is_some_and(BTreeMap::is_empty) {
            c.aux_address = None;
        }
    }
    Ok(Ipam {
        driver: a.ipam_driver.clone(),
        options: Some(kv_map(&a.ipam_opt)),
        config: Some(configs),
    })
}

pub fn request(a: &Args) -> Result<NetworkCreateRequest, String> {
    Ok(NetworkCreateRequest {
        driver: a.driver.clone(),
        scope: a.scope.clone().unwrap_or_default(),
        enable_ipv4: a.ipv4,
        enable_ipv6: a.ipv6,
        ipam: Some(ipam_config(a)?),
        internal: a.internal,
        attachable: a.attachable,
        ingress: a.ingress,
        config_only: a.config_only,
        config_from: a
            .config_from
            .clone()
            .map(|n| ConfigReference { network: n }),
        options: Some(kv_map(&a.opt)),
        labels: Some(kv_map(&a.label)),
        name: a.name.clone(),
    })
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let req = request(&args).map_err(CliError::Plain)?;
    let resp = ctx.client.network_create(&req).await?;
    if !resp.warning.is_empty() {
        term::err_line(&format!("WARNING: {}", resp.warning));
    }
    term::out(&format!("{}\n", resp.id))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: Args,
    }

    fn args(v: &[&str]) -> Args {
        T::try_parse_from(std::iter::once("create").chain(v.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn request_like_docker() {
        let a = args(&[
            "--driver",
            "bridge",
            "--subnet",
            "10.9.0.0/24",
            "--gateway",
            "10.9.0.1",
            "--label",
            "a=b",
            "-o",
            "com.docker.network.bridge.name=br9",
            "--internal",
            "n1",
        ]);
        let body = serde_json::to_string(&request(&a).unwrap()).unwrap();
        // What docker 28 sent for the same flags.
        assert_eq!(
            body,
            r#"{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.9.0.0/24","Gateway":"10.9.0.1"}]},"Internal":true,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{"com.docker.network.bridge.name":"br9"},"Labels":{"a":"b"},"Name":"n1"}"#
        );
    }

    #[test]
    fn ipam_errors() {
        let err = |v: &[&str]| request(&args(v)).unwrap_err();
        assert_eq!(
            err(&["--gateway", "10.0.0.1", "n"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["--subnet", "10.0.0.0/24", "--gateway", "10.1.0.1", "n"]),
            "no matching subnet for gateway 10.1.0.1"
        );
        assert_eq!(
            err(&["--subnet", "10.0.0.0/16", "--subnet", "10.0.1.0/24", "n"]),
            "multiple overlapping subnet configuration is not supported"
        );
        let ok = request(&args(&[
            "--subnet",
            "10.0.0.0/16",
            "--ip-range",
            "10.0.1.0/24",
            "--aux-address",
            "h=10.0.0.9",
            "n",
        ]))
        .unwrap();
        let c = &ok.ipam.unwrap().config.unwrap()[0];
        assert_eq!(c.ip_range, "10.0.1.0/24");
        assert_eq!(c.aux_address.as_ref().unwrap()["h"], "10.0.0.9");
        assert!(subnet_matches("fd00::/64", "fd00::1").unwrap());
    }
}
