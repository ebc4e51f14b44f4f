//! The JSON API: runs, one run with its answers, its Insiders (JSON or CSV), one customer
//! run by run, and the health check. Every answer is read in one snapshot.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use insiders_history::{CustomerEntry, RunSummary, Store, Transition};
use serde_json::{Map, Value, json};

use crate::App;
use crate::pool::Failure;

/// A JSON error answer: `{"error": message, "status": code}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": message, "status": status.as_u16() })),
    )
        .into_response()
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        error(self.status, &self.message)
    }
}

/// Any path that is not a route.
pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such page or endpoint")
}

/// Checks an as-of date from a path (400 if malformed).
pub(crate) fn as_of_param(s: &str) -> Result<String, Failure> {
    insiders_history::validate_date(s).map_err(|_| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("malformed as-of date {s:?}: expected YYYY-MM-DD"),
        )
    })?;
    Ok(s.to_owned())
}

/// Parses a customer id (400 if not a number).
pub(crate) fn id_param(s: &str) -> Result<i64, Failure> {
    s.trim().parse::<i64>().map_err(|_| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("malformed customer id {s:?}: expected an integer"),
        )
    })
}

/// The run at `as_of`, or 404.
pub(crate) fn run_or_404(store: &mut dyn Store, as_of: &str) -> Result<RunSummary, Failure> {
    store.run_on(as_of)?.ok_or_else(|| {
        Failure::new(
            StatusCode::NOT_FOUND,
            format!("no run with as-of date {as_of} in the history"),
        )
    })
}

/// One run as the listing shows it, with the flows from the run before (null for the first).
fn run_json(run: &RunSummary, from_previous: Option<&Transition>) -> Value {
    json!({
        "as_of": run.record.as_of,
        "run_id": run.id.0,
        "recorded_at": run.recorded_at,
        "customers": run.customers,
        "insiders": run.insiders,
        "clusters": run.clusters,
        "insiders_cluster": run.record.insiders_cluster,
        "entered": from_previous.map(|t| t.flows.entered.len()),
        "left": from_previous.map(|t| t.flows.left.len()),
        "stayed": from_previous.map(|t| t.flows.stayed),
        "previous_as_of": from_previous.map(|t| t.from_as_of.clone()),
        "model": run.record.model,
        "seed": run.record.seed,
        "config_hash": run.record.config_hash,
        "data_fingerprint": run.record.data_fingerprint,
        "tool_version": run.record.tool_version,
    })
}

/// `GET /api/health`: 200 with the number of runs when the database answers, else 503.
pub(crate) async fn health(State(app): State<Arc<App>>) -> Response {
    match app.pool.read(|s| Ok(s.all_runs()?.len())).await {
        Ok(n) => Json(json!({ "status": "ok", "database": "ok", "runs": n })).into_response(),
        Err(f) => (
            f.status,
            Json(json!({ "status": "unavailable", "error": f.message, "status_code": f.status.as_u16() })),
        )
            .into_response(),
    }
}

/// Every run with the flows since the run before it, in one snapshot.
pub(crate) fn runs_with_flows(
    s: &mut dyn Store,
) -> Result<(Vec<RunSummary>, Vec<Transition>), Failure> {
    Ok((s.all_runs()?, s.all_transitions()?))
}

/// `GET /api/runs`: every run (as-of, customers, Insiders, entered, left, model, ...).
pub(crate) async fn runs(State(app): State<Arc<App>>) -> Result<Response, Failure> {
    let (runs, transitions) = app.pool.read(runs_with_flows).await?;
    let list: Vec<Value> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| run_json(r, i.checked_sub(1).and_then(|j| transitions.get(j))))
        .collect();
    Ok(Json(json!({ "runs": list })).into_response())
}

/// `GET /api/runs/{as_of}`: that run's summary, flows and answers.
pub(crate) async fn run(
    State(app): State<Arc<App>>,
    Path(as_of): Path<String>,
) -> Result<Response, Failure> {
    let as_of = as_of_param(&as_of)?;
    let (run, flows, documents) = app
        .pool
        .read(move |s| {
            let run = run_or_404(s, &as_of)?;
            let flows = match s.run_before(&as_of)? {
                Some(prev) => Some(Transition {
                    from: prev.id,
                    from_as_of: prev.record.as_of.clone(),
                    to: run.id,
                    to_as_of: run.record.as_of.clone(),
                    flows: s.flows_between(prev.id, run.id)?,
                }),
                None => None,
            };
            let documents = s.documents(run.id)?;
            Ok((run, flows, documents))
        })
        .await?;
    let mut out = run_json(&run, flows.as_ref());
    if let Some(o) = out.as_object_mut() {
        o.insert(
            "report".into(),
            Value::String(format!("/runs/{}/report", run.record.as_of)),
        );
    }
    // The answers go out as recorded, byte for byte (parsing and printing them again could
    // move a float by one unit in the last place).
    let answers = documents
        .map(|d| d.answers)
        .filter(|a| serde_json::from_str::<serde::de::IgnoredAny>(a).is_ok());
    let mut body = out.to_string();
    body.pop(); // the closing brace of the summary object
    body.push_str(",\"answers\":");
    body.push_str(answers.as_deref().map_or("null", str::trim));
    body.push('}');
    Ok(crate::typed(StatusCode::OK, "application/json", body))
}

/// Whether the client asked for CSV (`Accept: text/csv`).
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/csv"))
}

/// The Insiders of a run as JSON objects, from its `insiders.csv`: the id, the cluster, the
/// distance to the centre, the membership probability (null when the run's model has
/// none) and the features.
fn insiders_json(csv_text: &str) -> Result<Vec<Value>, Failure> {
    let bad = |e: csv::Error| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the stored insiders.csv is unreadable: {e}"),
        )
    };
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().map_err(bad)?.clone();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(bad)?;
        let mut item = Map::new();
        let mut features = Map::new();
        item.insert("insider_probability".into(), Value::Null);
        for (name, raw) in headers.iter().zip(record.iter()) {
            let value = raw
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| raw.parse::<f64>().map(|x| json!(x)))
                .unwrap_or_else(|_| Value::String(raw.to_owned()));
            match name {
                "customer_id" | "cluster" | "distance_to_centre" | "insider_probability" => {
                    item.insert(name.to_owned(), value);
                }
                _ => {
                    features.insert(name.to_owned(), value);
                }
            }
        }
        item.insert("features".into(), Value::Object(features));
        out.push(Value::Object(item));
    }
    Ok(out)
}

/// `GET /api/runs/{as_of}/insiders`: the Insiders with their features and membership
/// probability; CSV (the run's `insiders.csv`) with `Accept: text/csv`.
pub(crate) async fn insiders(
    State(app): State<Arc<App>>,
    Path(as_of): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let as_of = as_of_param(&as_of)?;
    let (run, csv_text) = app
        .pool
        .read(move |s| {
            let run = run_or_404(s, &as_of)?;
            let csv_text = match s.documents(run.id)? {
                Some(d) => d.insiders_csv,
                // A run recorded without documents: the ids and clusters only.
                None => {
                    let mut text = String::from("customer_id,cluster\n");
                    for id in s.insider_ids(run.id)? {
                        text.push_str(&format!("{id},{}\n", run.record.insiders_cluster));
                    }
                    text
                }
            };
            Ok((run, csv_text))
        })
        .await?;
    if wants_csv(&headers) {
        return Ok(crate::typed(
            StatusCode::OK,
            "text/csv; charset=utf-8",
            csv_text,
        ));
    }
    let list = insiders_json(&csv_text)?;
    Ok(Json(json!({
        "as_of": run.record.as_of,
        "insiders_cluster": run.record.insiders_cluster,
        "count": list.len(),
        "insiders": list,
    }))
    .into_response())
}

/// One customer's place in one run, with the change since the run before.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Step {
    pub as_of: String,
    pub cluster: Option<i64>,
    pub insider: Option<bool>,
    pub change: &'static str,
}

/// A customer's steps through every run (absent runs included), as `insiders history
/// --customer` lists them.
pub(crate) fn timeline(runs: &[RunSummary], entries: &[CustomerEntry]) -> Vec<Step> {
    let mut next = entries.iter().peekable();
    let mut previous: Option<bool> = None;
    let mut steps = Vec::with_capacity(runs.len());
    for run in runs {
        let entry = next.next_if(|e| e.run == run.id);
        let insider = entry.is_some_and(|e| e.insider);
        let change = match previous {
            None if insider => "insider in the first run",
            Some(false) if insider => "entered",
            Some(true) if !insider && entry.is_some() => "left",
            Some(true) if !insider => "left (absent)",
            _ => "",
        };
        previous = Some(insider);
        steps.push(Step {
            as_of: run.record.as_of.clone(),
            cluster: entry.map(|e| e.cluster),
            insider: entry.map(|e| e.insider),
            change,
        });
    }
    steps
}

/// A customer's runs and timeline, or 404 when they are in no run.
pub(crate) fn customer_steps(s: &mut dyn Store, id: i64) -> Result<Vec<Step>, Failure> {
    let runs = s.all_runs()?;
    let entries = s.customer_runs(id)?;
    if entries.is_empty() {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("customer {id} is in none of the {} runs", runs.len()),
        ));
    }
    Ok(timeline(&runs, &entries))
}

/// `GET /api/customers/{id}`: the customer's cluster and status run by run.
pub(crate) async fn customer(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_param(&id)?;
    let steps = app.pool.read(move |s| customer_steps(s, id)).await?;
    let dates = |what: &str| -> Vec<String> {
        steps
            .iter()
            .filter(|s| s.change.starts_with(what))
            .map(|s| s.as_of.clone())
            .collect()
    };
    let (entered, left) = (dates("entered"), dates("left"));
    let present = steps.iter().filter(|s| s.cluster.is_some()).count();
    let insider_runs = steps.iter().filter(|s| s.insider == Some(true)).count();
    Ok(Json(json!({
        "customer_id": id,
        "runs_present": present,
        "runs_insider": insider_runs,
        "entered": entered,
        "left": left,
        "runs": steps,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insiders_csv_becomes_objects_with_features() {
        let v = insiders_json(
            "customer_id,cluster,distance_to_centre,gross_revenue,country\n12,1,0.5,100.25,x\n",
        )
        .unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0]["customer_id"], 12);
        assert_eq!(v[0]["insider_probability"], Value::Null);
        assert_eq!(v[0]["features"]["gross_revenue"], 100.25);
        assert_eq!(v[0]["features"]["country"], "x");
    }

    #[test]
    fn bad_parameters_are_400() {
        assert_eq!(
            as_of_param("2011-13-01").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(id_param("12a").unwrap_err().status, StatusCode::BAD_REQUEST);
        assert_eq!(id_param("12347").unwrap(), 12347);
    }
}
