//! Where the aggregation runs: `--compute local|datafusion|ballista://HOST:PORT`.

use crate::error::DistributedError;
use std::fmt;
use std::str::FromStr;

/// Where the cleaning and the customer features are computed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Compute {
    /// Today's in-process Rust path (`insiders_features`), the default.
    #[default]
    Local,
    /// The DataFusion plan in this process, with a memory limit and spilling to disk.
    DataFusion,
    /// The DataFusion plan on a Ballista cluster whose scheduler listens at `HOST:PORT`.
    Ballista {
        /// Host name or address of the scheduler.
        host: String,
        /// Its gRPC port.
        port: u16,
    },
}

impl Compute {
    /// Whether this is the local path.
    pub fn is_local(&self) -> bool {
        *self == Compute::Local
    }
}

impl fmt::Display for Compute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compute::Local => f.write_str("local"),
            Compute::DataFusion => f.write_str("datafusion"),
            Compute::Ballista { host, port } => write!(f, "ballista://{host}:{port}"),
        }
    }
}

/// Splits `HOST:PORT` (the port is required), naming `what` in errors.
pub fn host_port(s: &str, what: &str) -> Result<(String, u16), String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{what} `{s}`: expected HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{what} `{s}`: the host is empty"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{what} `{s}`: `{port}` is not a port number (1-65535)"))?;
    if port == 0 {
        return Err(format!("{what} `{s}`: port 0 is not a port to connect to"));
    }
    Ok((host.to_string(), port))
}

impl FromStr for Compute {
    type Err = DistributedError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |message: String| DistributedError::Compute {
            value: s.to_string(),
            message,
        };
        match s {
            "local" => Ok(Compute::Local),
            "datafusion" => Ok(Compute::DataFusion),
            _ => match s.strip_prefix("ballista://") {
                Some(rest) => {
                    let (host, port) =
                        host_port(rest.trim_end_matches('/'), "scheduler").map_err(err)?;
                    Ok(Compute::Ballista { host, port })
                }
                None => Err(err(
                    "expected `local`, `datafusion` or `ballista://HOST:PORT`".into(),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_places() {
        assert_eq!("local".parse::<Compute>().ok(), Some(Compute::Local));
        assert_eq!(
            "datafusion".parse::<Compute>().ok(),
            Some(Compute::DataFusion)
        );
        assert_eq!(
            "ballista://10.0.0.5:50050".parse::<Compute>().ok(),
            Some(Compute::Ballista {
                host: "10.0.0.5".into(),
                port: 50050
            })
        );
        for bad in [
            "ballista://host",
            "ballista://:1",
            "ballista://h:x",
            "spark",
        ] {
            let e = bad.parse::<Compute>().err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|m| m.contains(bad)),
                "{bad}: {e:?}"
            );
        }
    }
}
