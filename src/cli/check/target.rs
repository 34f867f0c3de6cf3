//! What `cafix check` connects to: `https://host[:port]/path`, `host[:port]`,
//! `[v6]:port` or a bare IPv6 address, with the default port of the URL's
//! scheme (443 for none).

use std::net::IpAddr;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub ip: Option<IpAddr>,
}

impl Target {
    pub fn display(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

fn default_port(scheme: &str) -> Result<u16, String> {
    Ok(match scheme {
        "https" | "wss" | "davs" | "h2" => 443,
        "ldaps" => 636,
        "imaps" => 993,
        "pop3s" => 995,
        "smtps" | "submissions" => 465,
        "ftps" => 990,
        "ircs" => 6697,
        "mqtts" => 8883,
        "amqps" => 5671,
        "http" | "ws" | "ftp" | "ldap" | "imap" | "pop3" | "smtp" | "irc" | "mqtt" | "amqp" => {
            return Err(format!(
                "{scheme}:// is not TLS (did you mean {scheme}s://?); STARTTLS is not supported"
            ))
        }
        _ => return Err(format!("unknown URL scheme {scheme:?}: give host:port instead")),
    })
}

/// Parses `https://host[:port]/path`, `host[:port]`, `[v6]:port`, `v6`.
pub fn parse_target(input: &str) -> Result<Target, String> {
    let input = input.trim();
    let (scheme, rest) = match input.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, input),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default = match &scheme {
        Some(s) => default_port(s)?,
        None => 443,
    };
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let (h, after) = stripped
            .split_once(']')
            .ok_or_else(|| format!("{input:?}: unclosed [ in the address"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("{input:?}: unexpected {after:?} after the address")),
        };
        (h.to_string(), port)
    } else if authority.matches(':').count() > 1 {
        (authority.to_string(), None) // a bare IPv6 address
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("{input:?}: no host name"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("{input:?}: bad port {p:?}"))?,
        None => default,
    };
    let ip = host.parse::<IpAddr>().ok();
    if ip.is_none()
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(format!("{input:?}: {host:?} is not a host name"));
    }
    Ok(Target { host, port, ip })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = |s: &str| parse_target(s).map(|t| (t.host, t.port));
        assert_eq!(t("example.org"), Ok(("example.org".into(), 443)));
        assert_eq!(t("example.org:8443"), Ok(("example.org".into(), 8443)));
        assert_eq!(t("https://user@example.org/path?q#f"), Ok(("example.org".into(), 443)));
        assert_eq!(t("ldaps://ldap.example.org"), Ok(("ldap.example.org".into(), 636)));
        assert_eq!(t("[::1]:4433"), Ok(("::1".into(), 4433)));
        assert_eq!(t("::1"), Ok(("::1".into(), 443)));
        assert_eq!(t("https://127.0.0.1:4433/"), Ok(("127.0.0.1".into(), 4433)));
        assert!(t("http://example.org").unwrap_err().contains("not TLS"));
        assert!(t("example.org:0").is_err());
        assert!(t("example.org:http").is_err());
        assert!(t("").is_err());
        assert!(t("exa mple.org").is_err());
        assert!(t("gopher://x").is_err());
    }
}
