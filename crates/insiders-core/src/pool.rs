//! Running a parallel computation on a worker thread of the rayon pool.
//!
//! A parallel call (`join`, `par_iter`, ...) made from a thread that is not a rayon worker
//! (a program's main thread, a benchmark harness) is *injected* into the pool: the caller
//! blocks until a worker has run it and wakes it up. A computation that makes thousands of
//! such calls (UMAP's 500 epochs, t-SNE's 1,000 iterations) pays a sleep and a wake-up for
//! each: ≈ 50,000 context switches per UMAP fit on the study's data, against ≈ 1,000 when the
//! same fit runs on a worker, where nested calls are pushed on the worker's own deque.
//! [`on_pool`] moves the whole computation to a worker once.

/// Runs `f` on a worker thread of the current rayon pool and returns its result.
///
/// On a worker thread (of any pool) `f` runs right there; elsewhere it is handed to the
/// global pool once, and the caller blocks until it is done. The result does not depend on
/// where `f` runs; only the cost of `f`'s nested parallel calls does.
pub fn on_pool<R, F>(f: F) -> R
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        rayon::scope(|_| f())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_a_worker_of_the_current_pool() {
        // From a plain thread: moved to a worker of the global pool.
        let outside = std::thread::spawn(|| {
            assert!(rayon::current_thread_index().is_none());
            on_pool(rayon::current_thread_index)
        })
        .join()
        .unwrap();
        assert!(outside.is_some());
        // Inside a one-thread pool: stays in that pool.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (index, threads) = pool
            .install(|| on_pool(|| (rayon::current_thread_index(), rayon::current_num_threads())));
        assert_eq!(index, Some(0));
        assert_eq!(threads, 1);
        // The value comes back unchanged.
        assert_eq!(on_pool(|| (1..=10).sum::<u32>()), 55);
    }
}
