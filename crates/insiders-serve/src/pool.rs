//! The connections to the history: opened on demand, at most a fixed number at once, used
//! on blocking threads, and dropped when they fail (so that a database that went away and
//! came back is reconnected by the next request).

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use insiders_history::{Error, Store};
use tokio::sync::Semaphore;

/// A failed database request: the status it answers with and the message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: StatusCode,
    pub message: String,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::InvalidDate(_) => StatusCode::BAD_REQUEST,
            Error::UnknownRun(_) => StatusCode::NOT_FOUND,
            e if e.is_database_failure() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status == StatusCode::SERVICE_UNAVAILABLE {
            format!("the history database is unavailable: {e}")
        } else {
            e.to_string()
        };
        Failure { status, message }
    }
}

/// The pool of history connections.
#[derive(Debug, Clone)]
pub struct Pool {
    location: Arc<str>,
    idle: Arc<Mutex<Vec<Box<dyn Store>>>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    /// A pool of at most `size` connections to `location` (opened when first needed).
    pub fn new(location: String, size: usize) -> Self {
        Pool {
            location: location.into(),
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// Opens one connection now (the schema is checked) and keeps it.
    ///
    /// # Errors
    /// The history's open errors.
    pub fn check(&self) -> Result<(), Error> {
        let store = insiders_history::open(&self.location, false)?;
        self.give_back(store);
        Ok(())
    }

    fn give_back(&self, store: Box<dyn Store>) {
        if let Ok(mut v) = self.idle.lock() {
            v.push(store);
        }
    }

    /// Runs `f` in one read snapshot on a connection of the pool, on a blocking thread. A
    /// kept connection that fails (the server restarted since it was opened) is dropped and
    /// `f` is tried once more on a new connection; a new connection that fails is the
    /// answer (503).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Store) -> Result<T, Failure> + Send + 'static,
    {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Failure::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
        let pool = self.clone();
        let job = tokio::task::spawn_blocking(move || {
            let kept = pool.idle.lock().ok().and_then(|mut v| v.pop());
            if let Some(store) = kept {
                match pool.read_on(store, &f) {
                    Err(failure) if failure.status == StatusCode::SERVICE_UNAVAILABLE => {}
                    answer => return answer,
                }
            }
            let store = insiders_history::open(&pool.location, false)?;
            pool.read_on(store, &f)
        });
        job.await.map_err(|e| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the request failed: {e}"),
            )
        })?
    }

    /// `f` in a snapshot on `store`; the connection goes back to the pool unless the
    /// database failed.
    fn read_on<T>(
        &self,
        mut store: Box<dyn Store>,
        f: &dyn Fn(&mut dyn Store) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        store.begin_read()?;
        let result = f(store.as_mut());
        let ended = store.end_read(result.is_ok());
        match (result, ended) {
            (Ok(v), Ok(())) => {
                self.give_back(store);
                Ok(v)
            }
            // A failed commit of a read: the connection is suspect, drop it.
            (Ok(_), Err(e)) => Err(e.into()),
            (Err(failure), _) => {
                if failure.status != StatusCode::SERVICE_UNAVAILABLE {
                    self.give_back(store);
                }
                Err(failure)
            }
        }
    }
}
