//! `insiders ballista scheduler|executor`: Ballista's scheduler and executor, from its
//! crates, in our binary (docs/distributed.md).

use anyhow::Result;
use insiders_distributed::cluster::{self, ExecutorOptions, SchedulerOptions};
use std::path::PathBuf;

/// Run a part of an Apache DataFusion Ballista cluster.
#[derive(Debug, clap::Args)]
pub struct BallistaCmd {
    #[command(subcommand)]
    role: Role,
}

#[derive(Debug, clap::Subcommand)]
enum Role {
    /// The scheduler: plans jobs into stages and hands their tasks to the executors.
    Scheduler {
        /// Address to listen on (gRPC, for clients and executors).
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
        bind: String,
        /// Seconds without a heartbeat before an executor is declared lost and its tasks
        /// run again elsewhere.
        #[arg(long, default_value_t = cluster::EXECUTOR_TIMEOUT_SECONDS)]
        executor_timeout: u64,
    },
    /// An executor: runs tasks, keeps their shuffle output in --work-dir and serves it to
    /// the other executors (Arrow Flight on PORT, task gRPC on PORT+1).
    Executor {
        /// The scheduler.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Address to listen on; the port after it is taken too.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
        bind: String,
        /// Folder of the shuffle files (default: a temporary folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Tasks run at once (default: the cores).
        #[arg(long)]
        concurrent_tasks: Option<usize>,
        /// Memory for the tasks in MiB (a pool shared by the running tasks); beyond it sorts
        /// and aggregations spill to the work dir. Without a pool an executor's memory is
        /// unbounded: on the 1M-customer shop two executors were killed at 12 GB each.
        #[arg(long, value_name = "MIB", default_value_t = 4096)]
        memory: u64,
    },
}

pub fn ballista(cmd: BallistaCmd) -> Result<()> {
    let rt = insiders_distributed::runtime()?;
    match cmd.role {
        Role::Scheduler {
            bind,
            executor_timeout,
        } => rt.block_on(cluster::run_scheduler(&SchedulerOptions {
            bind,
            executor_timeout_seconds: executor_timeout,
        }))?,
        Role::Executor {
            scheduler,
            bind,
            work_dir,
            concurrent_tasks,
            memory,
        } => {
            eprintln!("ballista executor on {bind}, scheduler {scheduler}");
            rt.block_on(cluster::run_executor(&ExecutorOptions {
                scheduler,
                bind,
                work_dir,
                concurrent_tasks,
                memory_limit: Some(memory << 20),
            }))?
        }
    }
    Ok(())
}
