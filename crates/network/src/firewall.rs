//! The firewall: one nftables table owned by Berth (`ip berth`), rendered
//! whole from the networks and published ports and replaced in a single
//! `nft -j -f -` transaction, so that packets see either the old rules or
//! the new ones. Rules Berth did not create are never touched.
//!
//! Layout of the table:
//! - `prerouting` (nat): traffic to a local address jumps to `ports`;
//! - `output` (nat): the host's own traffic to a local address other than
//!   127.0.0.0/8 jumps to `ports` (127.0.0.1 is served by the userland
//!   proxy, see `proxy.rs`);
//! - `ports`: one DNAT rule per published port;
//! - `postrouting` (nat): masquerade of traffic leaving a network, and of
//!   DNATed traffic that goes back into the network it came from (hairpin);
//! - `forward` (filter, policy accept): DNATed traffic is accepted, then
//!   internal networks cannot leave their bridge, networks are isolated
//!   from each other, and `icc=false` networks drop traffic between their
//!   containers.
//!
//! The same module writes the tiny table inside a container's namespace
//! that sends 127.0.0.11:53 to the embedded DNS server's sockets.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use berth_api::Error;
use nftables::batch::Batch;
use nftables::expr::{
    CT, Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix, SetItem,
};
use nftables::schema::{Chain, NfListObject, Nftables, Rule, Table};
use nftables::stmt::{JumpTarget, Match, NAT, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use crate::cidr::Ipv4Net;
use crate::ports::Proto;

/// A bridge network as the firewall sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwNetwork {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub icc: bool,
    pub masquerade: bool,
    pub internal: bool,
}

/// A published port as the firewall sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwPort {
    pub proto: Proto,
    /// `None`: any local address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// Everything the table is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FwState {
    pub networks: Vec<FwNetwork>,
    pub ports: Vec<FwPort>,
}

fn s(text: impl Into<String>) -> Expression<'static> {
    Expression::String(Cow::Owned(text.into()))
}

fn field(protocol: &'static str, name: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: Cow::Borrowed(protocol),
            field: Cow::Borrowed(name),
        },
    )))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn ct(key: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::CT(CT {
        key: Cow::Borrowed(key),
        family: None,
        dir: None,
    }))
}

fn prefix(net: Ipv4Net) -> Expression<'static> {
    let n = net.network();
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(s(n.addr.to_string())),
        len: u32::from(n.prefix),
    }))
}

fn m(left: Expression<'static>, op: Operator, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match { left, right, op })
}

fn eq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    m(left, Operator::EQ, right)
}

fn local_daddr() -> Statement<'static> {
    let mut flags = HashSet::new();
    flags.insert(FibFlag::Daddr);
    eq(
        Expression::Named(NamedExpression::Fib(Fib {
            result: FibResult::Type,
            flags,
        })),
        s("local"),
    )
}

fn jump(target: &str) -> Statement<'static> {
    Statement::Jump(JumpTarget {
        target: Cow::Owned(target.to_string()),
    })
}

fn accept() -> Statement<'static> {
    Statement::Accept(None)
}

fn drop_() -> Statement<'static> {
    Statement::Drop(None)
}

fn masquerade() -> Statement<'static> {
    Statement::Masquerade(None)
}

/// Builds tables, chains and rules of one table.
struct TableBuilder {
    family: NfFamily,
    table: String,
    batch: Batch<'static>,
}

impl TableBuilder {
    /// Starts a batch that replaces table `name` whole.
    fn replacing(family: NfFamily, name: &str) -> Self {
        let mut batch = Batch::new();
        let table = Table {
            family,
            name: Cow::Owned(name.to_string()),
            handle: None,
        };
        // `add` first so that `delete` never fails on a missing table.
        batch.add(NfListObject::Table(table.clone()));
        batch.delete(NfListObject::Table(table.clone()));
        batch.add(NfListObject::Table(table));
        Self {
            family,
            table: name.to_string(),
            batch,
        }
    }

    fn base_chain(&mut self, name: &str, kind: NfChainType, hook: NfHook, prio: i32) {
        self.batch.add(NfListObject::Chain(Chain {
            family: self.family,
            table: Cow::Owned(self.table.clone()),
            name: Cow::Owned(name.to_string()),
            _type: Some(kind),
            hook: Some(hook),
            prio: Some(prio),
            policy: Some(NfChainPolicy::Accept),
            ..Default::default()
        }));
    }

    fn chain(&mut self, name: &str) {
        self.batch.add(NfListObject::Chain(Chain {
            family: self.family,
            table: Cow::Owned(self.table.clone()),
            name: Cow::Owned(name.to_string()),
            ..Default::default()
        }));
    }

    fn rule(&mut self, chain: &str, expr: Vec<Statement<'static>>) {
        self.batch.add(NfListObject::Rule(Rule {
            family: self.family,
            table: Cow::Owned(self.table.clone()),
            chain: Cow::Owned(chain.to_string()),
            expr: Cow::Owned(expr),
            ..Default::default()
        }));
    }

    fn finish(self) -> Nftables<'static> {
        self.batch.to_nftables()
    }
}

/// Renders Berth's table from `state` (a whole replacement).
pub fn render(table: &str, state: &FwState) -> Nftables<'static> {
    let mut t = TableBuilder::replacing(NfFamily::IP, table);
    t.base_chain("prerouting", NfChainType::NAT, NfHook::Prerouting, -100);
    t.base_chain("output", NfChainType::NAT, NfHook::Output, -100);
    t.base_chain("postrouting", NfChainType::NAT, NfHook::Postrouting, 100);
    t.base_chain("forward", NfChainType::Filter, NfHook::Forward, 0);
    t.chain("ports");
    t.rule("prerouting", vec![local_daddr(), jump("ports")]);
    t.rule(
        "output",
        vec![
            m(
                field("ip", "daddr"),
                Operator::NEQ,
                prefix(Ipv4Net {
                    addr: Ipv4Addr::new(127, 0, 0, 0),
                    prefix: 8,
                }),
            ),
            local_daddr(),
            jump("ports"),
        ],
    );
    for p in &state.ports {
        let mut expr = Vec::new();
        if let Some(ip) = p.host_ip {
            expr.push(eq(field("ip", "daddr"), s(ip.to_string())));
        }
        let proto = p.proto.as_str();
        expr.push(eq(
            field(proto, "dport"),
            Expression::Number(u32::from(p.host_port)),
        ));
        expr.push(Statement::DNAT(Some(NAT {
            addr: Some(s(p.container_ip.to_string())),
            family: None,
            port: Some(Expression::Number(u32::from(p.container_port))),
            flags: None,
        })));
        t.rule("ports", expr);
    }
    let bridges: Vec<SetItem<'static>> = state
        .networks
        .iter()
        .map(|n| SetItem::Element(s(n.bridge.clone())))
        .collect();
    for n in &state.networks {
        let br = || s(n.bridge.clone());
        // Hairpin: DNATed traffic that returns into its own network.
        t.rule(
            "postrouting",
            vec![
                m(ct("status"), Operator::IN, s("dnat")),
                eq(field("ip", "saddr"), prefix(n.subnet)),
                eq(meta(MetaKey::Oifname), br()),
                masquerade(),
            ],
        );
        if n.masquerade && !n.internal {
            t.rule(
                "postrouting",
                vec![
                    eq(field("ip", "saddr"), prefix(n.subnet)),
                    m(meta(MetaKey::Oifname), Operator::NEQ, br()),
                    masquerade(),
                ],
            );
        }
        if n.internal {
            t.rule(
                "forward",
                vec![
                    eq(meta(MetaKey::Iifname), br()),
                    m(meta(MetaKey::Oifname), Operator::NEQ, br()),
                    drop_(),
                ],
            );
            t.rule(
                "forward",
                vec![
                    eq(meta(MetaKey::Oifname), br()),
                    m(meta(MetaKey::Iifname), Operator::NEQ, br()),
                    drop_(),
                ],
            );
        }
    }
    if !bridges.is_empty() {
        // Published ports are reachable from every network.
        t.rule(
            "forward",
            vec![
                m(ct("status"), Operator::IN, s("dnat")),
                eq(
                    meta(MetaKey::Oifname),
                    Expression::Named(NamedExpression::Set(bridges.clone())),
                ),
                accept(),
            ],
        );
    }
    for n in &state.networks {
        let br = || s(n.bridge.clone());
        if state.networks.len() > 1 {
            t.rule(
                "forward",
                vec![
                    eq(meta(MetaKey::Iifname), br()),
                    m(meta(MetaKey::Oifname), Operator::NEQ, br()),
                    eq(
                        meta(MetaKey::Oifname),
                        Expression::Named(NamedExpression::Set(bridges.clone())),
                    ),
                    drop_(),
                ],
            );
        }
        if !n.icc {
            t.rule(
                "forward",
                vec![
                    eq(meta(MetaKey::Iifname), br()),
                    eq(meta(MetaKey::Oifname), br()),
                    drop_(),
                ],
            );
        }
    }
    t.finish()
}

/// The rules inside a container's namespace that send its queries to
/// 127.0.0.11:53 to the embedded server's sockets on `udp` and `tcp`.
pub fn render_dns(table: &str, udp: u16, tcp: u16) -> Nftables<'static> {
    let mut t = TableBuilder::replacing(NfFamily::IP, table);
    t.base_chain("output", NfChainType::NAT, NfHook::Output, -100);
    for (proto, port) in [("udp", udp), ("tcp", tcp)] {
        t.rule(
            "output",
            vec![
                eq(field("ip", "daddr"), s(crate::dns::DNS_ADDR.to_string())),
                eq(field(proto, "dport"), Expression::Number(53)),
                Statement::DNAT(Some(NAT {
                    addr: Some(s(crate::dns::DNS_ADDR.to_string())),
                    family: None,
                    port: Some(Expression::Number(u32::from(port))),
                    flags: None,
                })),
            ],
        );
    }
    t.finish()
}

/// A batch that deletes table `name` (missing is fine).
pub fn render_delete(name: &str) -> Nftables<'static> {
    let mut batch = Batch::new();
    let table = Table {
        family: NfFamily::IP,
        name: Cow::Owned(name.to_string()),
        handle: None,
    };
    batch.add(NfListObject::Table(table.clone()));
    batch.delete(NfListObject::Table(table));
    batch.to_nftables()
}

/// Runs `nft -j -f -` with `ruleset` (inside the network namespace at
/// `netns` when given): one atomic transaction.
pub fn apply(ruleset: &Nftables<'_>, netns: Option<&Path>) -> Result<(), Error> {
    let payload = serde_json::to_string(ruleset)
        .map_err(|e| Error::system(format!("cannot encode the nftables ruleset: {e}")))?;
    let ns_file = match netns {
        Some(p) => Some(std::fs::File::open(p).map_err(|e| {
            Error::system(format!(
                "cannot open network namespace {}: {e}",
                p.display()
            ))
        })?),
        None => None,
    };
    let mut cmd = Command::new("nft");
    cmd.args(["-j", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(f) = &ns_file {
        let fd = f.as_raw_fd();
        // SAFETY: only setns(2), which is async-signal-safe, runs between
        // fork and exec, on a descriptor that stays open until spawn returns.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::system(format!(
            "cannot run nft (is nftables installed? --iptables=false turns the firewall off): {e}"
        ))
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(payload.as_bytes())
            .map_err(|e| Error::system(format!("cannot write to nft: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::system(format!("nft failed: {e}")))?;
    if !out.status.success() {
        return Err(Error::system(format!(
            "nft refused the ruleset: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Whether table `name` exists in the daemon's namespace.
pub fn table_exists(name: &str) -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> FwState {
        FwState {
            networks: vec![
                FwNetwork {
                    bridge: "bt0".into(),
                    subnet: "198.18.0.0/24".parse().unwrap(),
                    icc: true,
                    masquerade: true,
                    internal: false,
                },
                FwNetwork {
                    bridge: "bt1".into(),
                    subnet: "198.18.1.0/24".parse().unwrap(),
                    icc: false,
                    masquerade: true,
                    internal: true,
                },
            ],
            ports: vec![FwPort {
                proto: Proto::Tcp,
                host_ip: None,
                host_port: 8080,
                container_ip: Ipv4Addr::new(198, 18, 0, 2),
                container_port: 80,
            }],
        }
    }

    #[test]
    fn renders_the_expected_rules() {
        let json = serde_json::to_value(render("berth_t", &state())).unwrap();
        let text = json.to_string();
        assert!(
            text.contains(r#""dnat":{"addr":"198.18.0.2","port":80}"#),
            "{text}"
        );
        assert!(text.contains(r#""masquerade":null"#), "{text}");
        assert!(text.contains(r#""fib":{"#), "{text}");
        // The first three commands replace the table whole.
        let cmds = json["nftables"].as_array().unwrap();
        assert!(cmds[0]["add"]["table"].is_object());
        assert!(cmds[1]["delete"]["table"].is_object());
        assert!(cmds[2]["add"]["table"].is_object());
    }

    /// nft itself accepts the JSON (check mode: nothing is changed).
    #[test]
    fn nft_accepts_the_ruleset() {
        if Command::new("nft").arg("--version").output().is_err() {
            eprintln!("nft not installed: skipping");
            return;
        }
        for rs in [
            render("berth_unit_check", &state()),
            render("berth_unit_check", &FwState::default()),
            render_dns("berth_unit_dns", 40000, 40001),
        ] {
            let payload = serde_json::to_string(&rs).unwrap();
            let mut child = Command::new("nft")
                .args(["-c", "-j", "-f", "-"])
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(payload.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}\n{payload}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(!table_exists("berth_unit_check"));
    }
}
