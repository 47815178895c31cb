//! URL parsing for the clients: [`Endpoint`] and [`host_of`].

/// Why an endpoint URL is not usable.
#[derive(Debug, thiserror::Error)]
#[error("invalid endpoint {url:?}: {reason}")]
pub struct UrlError {
    /// The URL given.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed `http`, `https`, `ws` or `wss` URL.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// True for the secure scheme.
    pub tls: bool,
    /// The host (DNS name or IP literal, without brackets).
    pub host: String,
    /// The port (default 80 / 443).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
    /// The URL as given.
    pub url: String,
}

impl Endpoint {
    /// Parses `url`, whose scheme must be `plain` or `secure` (e.g. "http", "https").
    pub fn parse(url: &str, plain: &str, secure: &str) -> Result<Endpoint, UrlError> {
        let bad = |reason: String| UrlError {
            url: url.to_owned(),
            reason,
        };
        let uri: http::Uri = url.parse().map_err(|e| bad(format!("{e}")))?;
        let tls = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case(plain) => false,
            Some(s) if s.eq_ignore_ascii_case(secure) => true,
            other => {
                return Err(bad(format!(
                    "scheme {other:?} is not {plain:?} or {secure:?}"
                )))
            }
        };
        let host = uri.host().ok_or_else(|| bad("no host".into()))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Endpoint {
            tls,
            host,
            port,
            path,
            url: url.to_owned(),
        })
    }

    /// `host:port` (IPv6 hosts in brackets), for connecting.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The Host header value.
    pub fn authority(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            self.addr()
                .rsplit_once(':')
                .map_or_else(|| self.host.clone(), |(h, _)| h.to_owned())
        } else {
            self.addr()
        }
    }
}

/// Splits `host:port` (IPv6 in brackets) into the host, for TLS server names.
pub fn host_of(addr: &str) -> Option<&str> {
    addr.rsplit_once(':')
        .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'))
}
