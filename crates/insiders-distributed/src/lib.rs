//! The cleaning and the customer features beyond one machine: the aggregation of invoice
//! lines into the customer table as an Apache DataFusion plan ([`plan`]), run in this
//! process (`--compute datafusion`, with a memory limit and spilling to disk) or on an
//! Apache DataFusion Ballista cluster (`--compute ballista://HOST:PORT`), whose scheduler and
//! executors are parts of our binary ([`cluster`]). See docs/distributed.md.
//!
//! Everything is behind the feature `engine` (the binary's feature `distributed` turns it
//! on): without it this crate is empty, so that the default build (`cargo build`, and
//! `cargo test --workspace` without `--features insiders/distributed`) builds neither
//! DataFusion nor Ballista.
#![cfg(feature = "engine")]

pub mod cluster;
pub mod compute;
pub mod error;
mod input;
pub mod plan;
mod sql;
pub mod udf;

pub use compute::Compute;
pub use error::DistributedError;
pub use plan::PlanOutput;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use insiders_features::CleaningOptions;
use insiders_ingest::InputOptions;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Seconds allowed to reach the scheduler before `--compute ballista://...` fails.
pub const CONNECT_TIMEOUT_SECONDS: u64 = 5;

/// Limits of a plan run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Memory of the in-process plan (`--compute datafusion`), bytes; beyond it, sorts and
    /// aggregations spill to `spill_dir`.
    pub memory: u64,
    /// Where the in-process plan spills (default: the system's temporary folder).
    pub spill_dir: Option<PathBuf>,
    /// The whole query must finish within this time.
    pub timeout: Duration,
    /// Partitions of the in-process plan (default: the cores).
    pub partitions: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 4 << 30,
            spill_dir: None,
            timeout: Duration::from_secs(3600),
            partitions: None,
        }
    }
}

/// The session for `compute` (not `local`), with the plan's functions registered.
pub async fn session(
    compute: &Compute,
    limits: &Limits,
) -> Result<SessionContext, DistributedError> {
    let engine = |e: datafusion::error::DataFusionError| DistributedError::Engine {
        compute: compute.to_string(),
        message: e.to_string(),
    };
    let ctx = match compute {
        Compute::Local => {
            return Err(DistributedError::Compute {
                value: "local".into(),
                message: "the local path does not run a plan".into(),
            });
        }
        Compute::DataFusion => {
            let mut rt = RuntimeEnvBuilder::new()
                .with_memory_pool(Arc::new(FairSpillPool::new(limits.memory as usize)));
            if let Some(dir) = &limits.spill_dir {
                rt = rt.with_temp_file_path(dir);
            }
            let mut config = SessionConfig::new();
            if let Some(n) = limits.partitions {
                config = config.with_target_partitions(n.max(1));
            }
            let state = SessionStateBuilder::new()
                .with_default_features()
                .with_config(config)
                .with_runtime_env(Arc::new(rt.build().map_err(engine)?))
                .build();
            SessionContext::new_with_state(state)
        }
        Compute::Ballista { host, port } => {
            reachable(host, *port).await?;
            let state = SessionStateBuilder::new()
                .with_default_features()
                .with_config(SessionConfig::new_with_ballista())
                .build();
            SessionContext::remote_with_state(&format!("df://{host}:{port}"), state)
                .await
                .map_err(engine)?
        }
    };
    for f in udf::functions() {
        ctx.register_udf(Arc::unwrap_or_clone(f));
    }
    Ok(ctx)
}

/// Fails within [`CONNECT_TIMEOUT_SECONDS`] with the address when nothing listens there.
async fn reachable(host: &str, port: u16) -> Result<(), DistributedError> {
    let address = format!("{host}:{port}");
    let unreachable = |message: String| DistributedError::Unreachable {
        address: address.clone(),
        seconds: CONNECT_TIMEOUT_SECONDS,
        message,
    };
    match tokio::time::timeout(
        Duration::from_secs(CONNECT_TIMEOUT_SECONDS),
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable("no answer".into())),
    }
}

/// Runs the plan where `compute` says, within `limits.timeout`.
pub async fn compute_async(
    inputs: &[String],
    input: &InputOptions,
    cleaning: &CleaningOptions,
    compute: &Compute,
    limits: &Limits,
) -> Result<PlanOutput, DistributedError> {
    let work = async {
        let ctx = session(compute, limits).await?;
        plan::run_plan(&ctx, inputs, input, cleaning, compute).await
    };
    match tokio::time::timeout(limits.timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(DistributedError::Timeout {
            compute: compute.to_string(),
            seconds: limits.timeout.as_secs(),
        }),
    }
}

/// Stack of the runtime's threads: DataFusion plans and optimises recursively, and its
/// debug builds (the test profile) overflowed tokio's default 2 MiB on the plan's SQL.
pub const THREAD_STACK_BYTES: usize = 16 << 20;

/// A multi-threaded async runtime for the plan or a cluster process.
pub fn runtime() -> Result<tokio::runtime::Runtime, DistributedError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
        .map_err(DistributedError::Runtime)
}

/// [`compute_async`] from synchronous code (the binary's commands).
pub fn compute(
    inputs: &[String],
    input: &InputOptions,
    cleaning: &CleaningOptions,
    compute: &Compute,
    limits: &Limits,
) -> Result<PlanOutput, DistributedError> {
    // On one of the runtime's threads (their stack is THREAD_STACK_BYTES), not the caller's.
    let rt = runtime()?;
    let (inputs, input, cleaning, compute, limits) = (
        inputs.to_vec(),
        input.clone(),
        cleaning.clone(),
        compute.clone(),
        limits.clone(),
    );
    let value = compute.to_string();
    let task =
        rt.spawn(async move { compute_async(&inputs, &input, &cleaning, &compute, &limits).await });
    rt.block_on(task).map_err(|e| DistributedError::Compute {
        value,
        message: format!("the plan's task did not complete: {e}"),
    })?
}

/// DataFusion, as the plan uses it (for callers that write inputs, e.g. Parquet in tests).
pub use datafusion;
/// The async runtime of [`runtime`].
pub type Runtime = tokio::runtime::Runtime;
