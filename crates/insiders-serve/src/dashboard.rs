//! The dashboard at `/`: one server-rendered HTML page with the project's SVG charts (no
//! script, no build step): Insiders over time, entries and exits per month, the flows
//! between clusters from the run before the latest to the latest, the latest run's key
//! answers with a link to its report, and a customer lookup (`/?customer=ID`, a plain form).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use insiders_history::{ClusterFlow, RunSummary, Transition};
use insiders_report::escape;
use insiders_report::svg::{FlowChart, HeatMap, LineChart, Series};
use serde_json::Value;

use crate::App;
use crate::api::{Step, as_of_param, customer_steps, id_param, run_or_404, runs_with_flows};
use crate::pool::Failure;

/// What the page shows, read in one snapshot.
struct Data {
    runs: Vec<RunSummary>,
    transitions: Vec<Transition>,
    answers: Option<Value>,
    cluster_flows: Vec<ClusterFlow>,
    lookup: Option<(String, Result<Vec<Step>, Failure>)>,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1500px;\
color:#222;padding:0 1em}h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}\
.grid{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ddd;border-radius:6px;\
padding:.6em 1em;background:#fff}.card svg{max-width:100%;height:auto}\
.kpi{display:flex;gap:1em;flex-wrap:wrap}.kpi div{border:1px solid #ddd;border-radius:6px;\
padding:.5em 1em;min-width:9em}.kpi b{display:block;font-size:1.5em}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.2em .7em;\
text-align:right}th{background:#f6f6f6}td.l,th.l{text-align:left}.err{color:#b00}";

/// `GET /`: the dashboard (`?customer=ID`: with that customer's runs).
pub(crate) async fn page(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let lookup = query
        .get("customer")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let data = app
        .pool
        .read(move |s| {
            let (runs, transitions) = runs_with_flows(s)?;
            let latest = runs.last().map(|r| r.id);
            let answers = match latest {
                Some(id) => s
                    .documents(id)?
                    .and_then(|d| serde_json::from_str(&d.answers).ok()),
                None => None,
            };
            let cluster_flows = match transitions.last() {
                Some(t) => s.cluster_flows(t.from, t.to)?,
                None => Vec::new(),
            };
            let lookup = match &lookup {
                Some(raw) => {
                    let steps = match id_param(raw) {
                        Ok(id) => match customer_steps(s, id) {
                            // A database failure fails the page; a 404 is shown in it.
                            Err(f) if f.status == StatusCode::SERVICE_UNAVAILABLE => {
                                return Err(f);
                            }
                            other => other,
                        },
                        Err(f) => Err(f),
                    };
                    Some((raw.clone(), steps))
                }
                None => None,
            };
            Ok(Data {
                runs,
                transitions,
                answers,
                cluster_flows,
                lookup,
            })
        })
        .await?;
    let status = match &data.lookup {
        Some((_, Err(f))) => f.status,
        _ => StatusCode::OK,
    };
    Ok(crate::typed(
        status,
        "text/html; charset=utf-8",
        render(&data),
    ))
}

/// `GET /runs/{as_of}/report`: the report.html recorded with that run.
pub(crate) async fn report(
    State(app): State<Arc<App>>,
    Path(as_of): Path<String>,
) -> Result<Response, Failure> {
    let as_of = as_of_param(&as_of)?;
    let html = app
        .pool
        .read(move |s| {
            let run = run_or_404(s, &as_of)?;
            s.documents(run.id)?.map(|d| d.report_html).ok_or_else(|| {
                Failure::new(
                    StatusCode::NOT_FOUND,
                    format!("the run of {as_of} was recorded without its report"),
                )
            })
        })
        .await?;
    Ok(crate::typed(
        StatusCode::OK,
        "text/html; charset=utf-8",
        html,
    ))
}

/// Months from `first` to `d` (both `YYYY-MM-DD`), for the time axis.
fn months_since(first: &str, d: &str) -> f64 {
    let ym = |s: &str| -> f64 {
        let y: f64 = s.get(0..4).and_then(|x| x.parse().ok()).unwrap_or(0.0);
        let m: f64 = s.get(5..7).and_then(|x| x.parse().ok()).unwrap_or(1.0);
        let day: f64 = s.get(8..10).and_then(|x| x.parse().ok()).unwrap_or(1.0);
        y * 12.0 + m + (day - 1.0) / 31.0
    };
    ym(d) - ym(first)
}

fn render(d: &Data) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Insiders dashboard</title><style>{STYLE}</style></head><body>\
         <h1>Insiders dashboard</h1>"
    );
    let Some(latest) = d.runs.last() else {
        h.push_str("<p class=\"sub\">No runs recorded yet: run <code>insiders run --as-of DATE --db ...</code>.</p>");
        lookup_form(&mut h, d);
        h.push_str("</body></html>");
        return h;
    };
    let first = &d.runs[0].record.as_of;
    let _ = write!(
        h,
        "<p class=\"sub\">{} runs, {} to {}; latest model: {}</p>",
        d.runs.len(),
        escape(first),
        escape(&latest.record.as_of),
        escape(&latest.record.model)
    );
    kpis(&mut h, latest, d.transitions.last(), d.answers.as_ref());
    h.push_str("<div class=\"grid\">");
    // Insiders over time.
    let points = |f: &dyn Fn(&RunSummary) -> f64| -> Vec<(f64, f64)> {
        d.runs
            .iter()
            .map(|r| (months_since(first, &r.record.as_of), f(r)))
            .collect()
    };
    let mut line = LineChart::new(
        "Insiders over time",
        format!("months since {first}"),
        "customers",
    )
    .with(Series::new("Insiders", points(&|r| r.insiders as f64)));
    line.width = 640;
    line.height = 360;
    card(&mut h, "insiders-over-time", &line.to_svg());
    // Entries and exits per month.
    let mut flow = FlowChart::new(
        "Entries and exits per month",
        d.transitions.iter().map(|t| t.to_as_of.clone()).collect(),
        d.transitions
            .iter()
            .map(|t| t.flows.stayed as f64)
            .collect(),
        d.transitions
            .iter()
            .map(|t| t.flows.entered.len() as f64)
            .collect(),
        d.transitions
            .iter()
            .map(|t| t.flows.left.len() as f64)
            .collect(),
    );
    flow.width = 640;
    flow.height = 360;
    card(&mut h, "entries-and-exits", &flow.to_svg());
    // Flows between clusters, the run before the latest -> the latest.
    if let Some(t) = d.transitions.last() {
        let froms: Vec<i64> = unique(d.cluster_flows.iter().map(|f| f.from_cluster));
        let tos: Vec<i64> = unique(d.cluster_flows.iter().map(|f| f.to_cluster));
        let mut values = vec![vec![f64::NAN; tos.len()]; froms.len()];
        for f in &d.cluster_flows {
            if let (Ok(i), Ok(j)) = (
                froms.binary_search(&f.from_cluster),
                tos.binary_search(&f.to_cluster),
            ) {
                values[i][j] = f.customers as f64;
            }
        }
        let mut heat = HeatMap::new(
            format!(
                "Customers by cluster: {} (rows) to {} (columns)",
                t.from_as_of, t.to_as_of
            ),
            froms.iter().map(|c| format!("cluster {c}")).collect(),
            tos.iter().map(|c| format!("{c}")).collect(),
            values,
        );
        heat.annotate_decimals = Some(0);
        heat.width = 640;
        heat.height = 420;
        card(&mut h, "cluster-flows", &heat.to_svg());
    }
    h.push_str("</div>");
    answers_section(&mut h, latest, d.answers.as_ref());
    runs_table(&mut h, d);
    lookup_form(&mut h, d);
    h.push_str("</body></html>");
    h
}

fn unique(it: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut v: Vec<i64> = it.collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn card(h: &mut String, id: &str, svg: &str) {
    let _ = write!(
        h,
        "<div class=\"card chart\" id=\"{id}\" data-chart=\"{id}\">{svg}</div>"
    );
}

fn kpis(h: &mut String, latest: &RunSummary, last: Option<&Transition>, answers: Option<&Value>) {
    h.push_str("<div class=\"kpi\" id=\"kpis\">");
    let mut kpi = |label: &str, value: String| {
        let _ = write!(h, "<div><b>{}</b>{}</div>", escape(&value), escape(label));
    };
    kpi("as of (latest run)", latest.record.as_of.clone());
    kpi("Insiders", latest.insiders.to_string());
    kpi("customers", latest.customers.to_string());
    if let Some(t) = last {
        kpi(
            &format!("entered since {}", t.from_as_of),
            t.flows.entered.len().to_string(),
        );
        kpi(
            &format!("left since {}", t.from_as_of),
            t.flows.left.len().to_string(),
        );
    }
    if let Some(share) = answers.and_then(|a| a["q4_revenue_share"]["share_revenue"].as_f64()) {
        kpi("of revenue (Insiders)", format!("{:.1}%", 100.0 * share));
    }
    h.push_str("</div>");
}

fn answers_section(h: &mut String, latest: &RunSummary, answers: Option<&Value>) {
    let _ = write!(
        h,
        "<h2>Key answers of the latest run ({})</h2>",
        escape(&latest.record.as_of)
    );
    let Some(a) = answers else {
        h.push_str("<p>This run was recorded without its answers.</p>");
        return;
    };
    h.push_str("<ul id=\"answers\">");
    let q2 = &a["q2_how_many"];
    if let (Some(n), Some(c), Some(s)) = (
        q2["insiders"].as_u64(),
        q2["customers"].as_u64(),
        q2["share_customers"].as_f64(),
    ) {
        let _ = write!(
            h,
            "<li>Q2: {n} Insiders of {c} customers ({:.1}%)</li>",
            100.0 * s
        );
    }
    if let Some(s) = a["q4_revenue_share"]["share_revenue"].as_f64() {
        let _ = write!(
            h,
            "<li>Q4: the Insiders bring {:.1}% of the revenue</li>",
            100.0 * s
        );
    }
    let q5 = &a["q5_expected_revenue"];
    if let (Some(e), Some(m)) = (q5["insiders"]["estimate"].as_f64(), q5["months"].as_u64()) {
        let _ = write!(
            h,
            "<li>Q5: expected revenue of the Insiders in the next {m} months: {e:.0} ({})</li>",
            escape(q5["model"].as_str().unwrap_or(""))
        );
    }
    if let Some(rules) = a["q6_conditions_to_enter"]["rules"].as_array() {
        for r in rules.iter().take(3) {
            let _ = write!(
                h,
                "<li>Q6 entry rule: {} ({} customers)</li>",
                escape(r["text"].as_str().unwrap_or("")),
                r["customers"].as_u64().unwrap_or(0)
            );
        }
    }
    if let Some(hs) = a["hypotheses"].as_array() {
        for x in hs {
            let _ = write!(
                h,
                "<li>{}: {}: <b>{}</b></li>",
                escape(x["id"].as_str().unwrap_or("")),
                escape(x["statement"].as_str().unwrap_or("")),
                if x["holds"].as_bool() == Some(true) {
                    "true"
                } else {
                    "false"
                }
            );
        }
    }
    let _ = write!(
        h,
        "</ul><p><a id=\"report-link\" href=\"/runs/{0}/report\">The full report of {0}</a></p>",
        escape(&latest.record.as_of)
    );
}

fn runs_table(h: &mut String, d: &Data) {
    h.push_str(
        "<h2>Runs</h2><table id=\"runs\"><tr><th class=\"l\">as-of</th><th>customers</th>\
         <th>Insiders</th><th>entered</th><th>left</th><th class=\"l\">model</th></tr>",
    );
    let by_to: BTreeMap<&str, &Transition> = d
        .transitions
        .iter()
        .map(|t| (t.to_as_of.as_str(), t))
        .collect();
    for r in &d.runs {
        let t = by_to.get(r.record.as_of.as_str());
        let n = |f: &dyn Fn(&Transition) -> usize| t.map_or("-".to_owned(), |t| f(t).to_string());
        let _ = write!(
            h,
            "<tr><td class=\"l\"><a href=\"/runs/{0}/report\">{0}</a></td><td>{1}</td><td>{2}</td>\
             <td>{3}</td><td>{4}</td><td class=\"l\">{5}</td></tr>",
            escape(&r.record.as_of),
            r.customers,
            r.insiders,
            n(&|t| t.flows.entered.len()),
            n(&|t| t.flows.left.len()),
            escape(&r.record.model)
        );
    }
    h.push_str("</table>");
}

fn lookup_form(h: &mut String, d: &Data) {
    let value = d.lookup.as_ref().map_or("", |(raw, _)| raw.as_str());
    let _ = write!(
        h,
        "<h2>Customer lookup</h2><form id=\"lookup\" method=\"get\" action=\"/\">\
         <label>customer id <input name=\"customer\" value=\"{}\" inputmode=\"numeric\"></label> \
         <button type=\"submit\">Look up</button></form>",
        escape(value)
    );
    match &d.lookup {
        None => {}
        Some((_, Err(f))) => {
            let _ = write!(
                h,
                "<p class=\"err\" id=\"lookup-error\">{}</p>",
                escape(&f.message)
            );
        }
        Some((raw, Ok(steps))) => {
            let _ = write!(
                h,
                "<table id=\"customer\" data-customer=\"{0}\"><tr><th class=\"l\">as-of</th>\
                 <th>cluster</th><th>Insider</th><th class=\"l\">change</th></tr>",
                escape(raw)
            );
            for s in steps {
                let _ = write!(
                    h,
                    "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                    escape(&s.as_of),
                    s.cluster.map_or("-".to_owned(), |c| c.to_string()),
                    match s.insider {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "-",
                    },
                    s.change
                );
            }
            h.push_str("</table>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_count_from_the_first_run() {
        assert_eq!(months_since("2011-01-01", "2011-01-01"), 0.0);
        assert_eq!(months_since("2011-01-01", "2011-12-01"), 11.0);
        assert_eq!(months_since("2010-12-01", "2011-02-01"), 2.0);
    }
}
