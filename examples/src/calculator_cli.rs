//! The command line shared by the calculator examples (`calculator` on tokio,
//! `calculator_smol` on smol): options, help text, and the start-up banner.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use jsonrpc_proto::adapter::builder::{Listen, ServerBuilder};

use crate::calculator::NODE_NAME;

/// What the calculator server was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// HTTP + WebSocket address.
    pub http: String,
    /// Optional raw TCP (newline-delimited JSON) address.
    pub tcp: Option<String>,
    /// Optional Unix domain socket path (newline-delimited JSON).
    pub unix: Option<PathBuf>,
    /// PEM certificate chain (with `key`: serve https/wss).
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// PEM CA bundle: require client certificates (mTLS).
    pub ca: Option<PathBuf>,
    /// Deadline of each call.
    pub timeout: Duration,
    /// Node name reported by /health.
    pub node: String,
    /// Serve Prometheus metrics at GET /metrics on the HTTP port.
    pub metrics: bool,
    /// Origins allowed by CORS (`*`: any); empty: no CORS headers.
    pub cors_origins: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            http: "127.0.0.1:8000".into(),
            tcp: None,
            unix: None,
            cert: None,
            key: None,
            ca: None,
            timeout: Duration::from_secs(30),
            node: NODE_NAME.to_owned(),
            metrics: false,
            cors_origins: Vec::new(),
        }
    }
}

impl Options {
    /// Certificate and key paths, when TLS was asked for.
    pub fn tls(&self) -> Option<(&PathBuf, &PathBuf)> {
        self.cert.as_ref().zip(self.key.as_ref())
    }

    /// Applies `--metrics` and `--cors-origin` to a server builder (either runtime's).
    pub fn apply_http<L: Listen>(&self, mut builder: ServerBuilder<L>) -> ServerBuilder<L> {
        if !self.cors_origins.is_empty() {
            builder = builder.cors(&self.cors_origins);
        }
        builder.metrics(self.metrics)
    }
}

/// The help text, for the program `name`.
pub fn usage(name: &str) -> String {
    format!(
        "\
{name}: a JSON-RPC 2.0 calculator server (HTTP POST /, WebSocket /ws, GET /health)

USAGE:
    {name} [OPTIONS]

OPTIONS:
    --http ADDR              HTTP + WebSocket address [default: 127.0.0.1:8000]
    --tcp ADDR               also serve newline-delimited JSON over raw TCP on ADDR
    --unix PATH              also serve newline-delimited JSON on a Unix domain socket at
                             PATH (a stale socket file is replaced; mode 0660)
    --tls-cert PATH          PEM certificate chain: serve https/wss (and TLS on --tcp)
    --tls-key PATH           PEM private key for --tls-cert
    --tls-ca PATH            PEM CA bundle: require client certificates signed by it (mTLS)
    --request-timeout SECS   deadline of each call, answered -32001 when over [default: 30]
    --node NAME              the node name reported by /health (one per process behind a
                             load balancer) [default: {NODE_NAME}]
    --metrics                serve Prometheus metrics at GET /metrics on the HTTP port
    --cors-origin ORIGIN     allow browsers on ORIGIN (CORS); repeatable, `*` allows any;
                             without it no CORS headers are sent
    -h, --help               print this help

METHODS (params by name {{\"a\":5,\"b\":3}} or by position [5,3]):
    add, subtract, multiply, divide, factorial (n), echo, sleep (ms), notification log (message)
"
    )
}

/// Parses the arguments (without the program name). `Ok(None)`: help was asked for.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut opts = Options::default();
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value (see --help)"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--http" => opts.http = value("--http")?,
            "--tcp" => opts.tcp = Some(value("--tcp")?),
            "--unix" => opts.unix = Some(value("--unix")?.into()),
            "--tls-cert" => opts.cert = Some(value("--tls-cert")?.into()),
            "--tls-key" => opts.key = Some(value("--tls-key")?.into()),
            "--tls-ca" => opts.ca = Some(value("--tls-ca")?.into()),
            "--node" => opts.node = value("--node")?,
            "--metrics" => opts.metrics = true,
            "--cors-origin" => {
                let origin = value("--cors-origin")?;
                if origin != "*" && http::HeaderValue::from_str(&origin).is_err() {
                    return Err(format!("--cors-origin {origin:?}: not a valid origin"));
                }
                opts.cors_origins.push(origin);
            }
            "--request-timeout" => {
                let v = value("--request-timeout")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--request-timeout {v:?}: expected positive seconds"))?;
                opts.timeout = Duration::from_secs_f64(secs);
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    match (&opts.cert, &opts.key) {
        (Some(_), None) | (None, Some(_)) => Err("--tls-cert and --tls-key go together".into()),
        (None, None) if opts.ca.is_some() => Err("--tls-ca needs --tls-cert and --tls-key".into()),
        _ => Ok(Some(opts)),
    }
}

/// Parses the process's arguments for the program `name`: prints the help (exit 0) or the
/// error (exit 2) when there is nothing to run.
pub fn options_or_exit(name: &str) -> Result<Options, ExitCode> {
    match parse_args(std::env::args().skip(1)) {
        Ok(Some(opts)) => Ok(opts),
        Ok(None) => {
            print!("{}", usage(name));
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Prints the addresses the server listens on.
pub fn print_banner(http: Option<SocketAddr>, tcp: Option<SocketAddr>, tls: bool) {
    let (h, ws) = if tls {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    if let Some(addr) = http {
        println!("calculator listening on {h}://{addr}/ (JSON-RPC POST)");
        println!("                        {ws}://{addr}/ws (WebSocket)");
        println!("                        {h}://{addr}/health");
    }
    if let Some(addr) = tcp {
        let t = if tls { "tcp+tls" } else { "tcp" };
        println!("                        {t}://{addr} (newline-delimited JSON)");
    }
    println!("press Ctrl-C to stop");
}

/// Prints the Unix socket the server listens on, when there is one.
pub fn print_unix_banner(path: Option<&std::path::Path>) {
    if let Some(path) = path {
        println!(
            "calculator listening on unix:{} (newline-delimited JSON)",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags() {
        assert_eq!(parse(&[]).unwrap().unwrap(), Options::default());
        let o = parse(&[
            "--http",
            "0.0.0.0:1",
            "--tcp",
            "127.0.0.1:2",
            "--node",
            "n1",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (o.http.as_str(), o.tcp.as_deref(), o.node.as_str()),
            ("0.0.0.0:1", Some("127.0.0.1:2"), "n1")
        );
        let o = parse(&[
            "--metrics",
            "--cors-origin",
            "https://a.example",
            "--cors-origin",
            "*",
        ])
        .unwrap()
        .unwrap();
        assert!(o.metrics);
        assert_eq!(o.cors_origins, ["https://a.example", "*"]);
        let o = parse(&["--request-timeout", "0.5"]).unwrap().unwrap();
        assert_eq!(o.timeout, Duration::from_millis(500));
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }

    #[test]
    fn unix_socket_flag() {
        let o = parse(&["--unix", "/tmp/calc.sock"]).unwrap().unwrap();
        assert_eq!(o.unix, Some(PathBuf::from("/tmp/calc.sock")));
        assert!(parse(&["--unix"]).unwrap_err().contains("needs a value"));
        assert!(usage("calculator").contains("--unix PATH"));
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(parse(&["--http"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--cors-origin"])
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&["--bogus"])
            .unwrap_err()
            .contains("unknown argument"));
        assert!(parse(&["--request-timeout", "-1"])
            .unwrap_err()
            .contains("positive"));
        assert!(parse(&["--tls-cert", "c.pem"])
            .unwrap_err()
            .contains("go together"));
        assert!(parse(&["--tls-ca", "ca.pem"])
            .unwrap_err()
            .contains("needs --tls-cert"));
    }
}
