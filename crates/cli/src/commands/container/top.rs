//! `berth top` (the container's processes) and `berth port` (its
//! published ports).

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::tabwriter::TabWriter;
use crate::goparse;
use crate::term;

#[derive(clap::Args, Debug)]
pub struct TopArgs {
    /// The container, then options given to ps
    #[arg(
        value_name = "CONTAINER [ps OPTIONS]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

pub async fn top(ctx: &Ctx, args: TopArgs) -> CliResult {
    let (container, ps_args) =
        super::create::split_image("top", "CONTAINER [ps OPTIONS]", &args.args)?;
    let ps_args = ps_args.join(" ");
    let list = ctx.client.container_top(container, Some(&ps_args)).await?;
    let mut tw = TabWriter::new(20, 3);
    tw.write(&format!("{}\n", list.titles.join("\t")));
    for p in &list.processes {
        tw.write(&format!("{}\n", p.join("\t")));
    }
    term::out(&tw.flush())?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

/// Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `sortorder.NaturalLess`: digit runs compare as numbers.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let na = std::str::from_utf8(&a[..da])
                    .unwrap_or("0")
                    .trim_start_matches('0');
                let nb = std::str::from_utf8(&b[..db])
                    .unwrap_or("0")
                    .trim_start_matches('0');
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

pub async fn port(ctx: &Ctx, args: PortArgs) -> CliResult {
    let c = super::inspect(ctx, &args.container).await?;
    let ports = c.network_settings.ports.unwrap_or_default();
    let mut out = Vec::new();
    if let Some(spec) = &args.port {
        let (port, proto) = spec.split_once('/').unwrap_or((spec, ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        goparse::parse_uint(port, 16)
            .map_err(|e| CliError::Plain(format!("Error: invalid port ({port}): {e}")))?;
        let bindings = ports
            .get(&format!("{port}/{proto}"))
            .and_then(|b| b.as_ref())
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                CliError::Plain(format!(
                    "Error: No public port '{spec}' published for {}",
                    args.container
                ))
            })?;
        for b in bindings {
            out.push(join_host_port(&b.host_ip, &b.host_port));
        }
    } else {
        for (from, bindings) in ports {
            for b in bindings.iter().flatten() {
                out.push(format!(
                    "{from} -> {}",
                    join_host_port(&b.host_ip, &b.host_port)
                ));
            }
        }
    }
    if !out.is_empty() {
        out.sort_by(|a, b| natural_cmp(a, b));
        term::out(&format!("{}\n", out.join("\n")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec![
            "80/tcp -> 0.0.0.0:8080",
            "443/tcp -> 0.0.0.0:443",
            "9/udp -> :::9",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "9/udp -> :::9",
                "80/tcp -> 0.0.0.0:8080",
                "443/tcp -> 0.0.0.0:443"
            ]
        );
        assert_eq!(join_host_port("::", "80"), "[::]:80");
    }
}
