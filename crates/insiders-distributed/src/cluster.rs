//! The Ballista cluster as parts of our binary: `insiders ballista scheduler` and
//! `insiders ballista executor` run Ballista's scheduler and executor (from its crates) with
//! the plan's functions registered, so a deployment is the same binary on N machines.

use crate::compute::host_port;
use crate::error::DistributedError;
use crate::udf;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Seconds between an executor's heartbeats.
pub const HEARTBEAT_SECONDS: u64 = 5;
/// Seconds without a heartbeat after which the scheduler declares an executor lost and
/// reschedules its tasks.
pub const EXECUTOR_TIMEOUT_SECONDS: u64 = 20;

/// Settings of `insiders ballista scheduler`.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// `HOST:PORT` to listen on (gRPC, for clients and executors).
    pub bind: String,
    /// Seconds without a heartbeat before an executor is declared lost.
    pub executor_timeout_seconds: u64,
}

/// Settings of `insiders ballista executor`.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler, `HOST:PORT`.
    pub scheduler: String,
    /// `HOST:PORT` to listen on: Arrow Flight (shuffle data) on PORT, gRPC (tasks) on PORT+1.
    pub bind: String,
    /// Where shuffle files are written (default: a temporary folder).
    pub work_dir: Option<PathBuf>,
    /// Task slots (default: the cores).
    pub concurrent_tasks: Option<usize>,
    /// Memory for the executor's tasks, bytes (spilling to the work dir beyond it).
    pub memory_limit: Option<u64>,
}

fn cluster_err(role: &'static str) -> impl Fn(String) -> DistributedError {
    move |message| DistributedError::Cluster { role, message }
}

fn session_builder() -> ballista_scheduler::scheduler_server::SessionBuilder {
    Arc::new(|config| {
        let mut state = default_session_builder(config)?;
        udf::register_all(&mut state)?;
        Ok(state)
    })
}

/// The scheduler's configuration (the plan's functions registered in its sessions).
fn scheduler_config(host: &str, port: u16, executor_timeout: u64) -> SchedulerConfig {
    let mut config = SchedulerConfig {
        bind_host: host.to_string(),
        bind_port: port,
        external_host: host.to_string(),
        executor_timeout_seconds: executor_timeout,
        expire_dead_executor_interval_seconds: 2,
        no_executors_grace_period_seconds: executor_timeout,
        ..SchedulerConfig::default()
    };
    config.override_session_builder = Some(session_builder());
    config
}

/// Binds the scheduler's port and returns the address bound and the future that serves it
/// (until it fails or is dropped).
pub async fn bind_scheduler(
    opts: &SchedulerOptions,
) -> Result<
    (
        SocketAddr,
        impl std::future::Future<Output = Result<(), DistributedError>> + use<>,
    ),
    DistributedError,
> {
    let err = cluster_err("scheduler");
    let (host, port) = host_port_any(&opts.bind, "--bind").map_err(&err)?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| err(format!("cannot listen on {}: {e}", opts.bind)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| err(format!("{}: {e}", opts.bind)))?;
    let config = Arc::new(scheduler_config(
        &host,
        addr.port(),
        opts.executor_timeout_seconds,
    ));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| err(e.to_string()))?;
    let scheduler = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, config)
        .await
        .map_err(|e| err(e.to_string()))?;
    let serve = async move {
        start_grpc_service_with_listener(listener, scheduler)
            .await
            .map_err(|e| cluster_err("scheduler")(e.to_string()))
    };
    Ok((addr, serve))
}

/// `HOST:PORT` where port 0 (any free port) is allowed.
fn host_port_any(s: &str, what: &str) -> Result<(String, u16), String> {
    match s.strip_suffix(":0") {
        Some(host) if !host.is_empty() => Ok((host.to_string(), 0)),
        _ => host_port(s, what),
    }
}

/// Runs an executor until it fails or the process is stopped.
pub async fn run_executor(opts: &ExecutorOptions) -> Result<(), DistributedError> {
    let err = cluster_err("executor");
    let (s_host, s_port) = host_port(&opts.scheduler, "--scheduler").map_err(&err)?;
    let (host, port) = host_port(&opts.bind, "--bind").map_err(&err)?;
    let grpc_port = port.checked_add(1).ok_or_else(|| {
        err(format!(
            "--bind {}: the gRPC port PORT+1 does not exist",
            opts.bind
        ))
    })?;
    let mut registry = BallistaFunctionRegistry::default();
    for f in udf::functions() {
        registry.scalar_functions.insert(f.name().to_string(), f);
    }
    if let Some(dir) = &opts.work_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("--work-dir {}: {e}", dir.display())))?;
    }
    let mut config = ExecutorProcessConfig {
        bind_host: host.clone(),
        external_host: Some(host),
        port,
        grpc_port,
        scheduler_host: s_host,
        scheduler_port: s_port,
        scheduler_connect_timeout_seconds: 10,
        work_dir: opts.work_dir.as_ref().map(|d| d.display().to_string()),
        executor_heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        memory_pool_size: opts.memory_limit,
        override_function_registry: Some(Arc::new(registry)),
        ..ExecutorProcessConfig::default()
    };
    if let Some(n) = opts.concurrent_tasks {
        config.vcores = n.max(1);
    }
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| err(e.to_string()))
}

/// Runs a scheduler until it fails or the process is stopped.
pub async fn run_scheduler(opts: &SchedulerOptions) -> Result<(), DistributedError> {
    let (addr, serve) = bind_scheduler(opts).await?;
    eprintln!("ballista scheduler listening on {addr}");
    serve.await
}
