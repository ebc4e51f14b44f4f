//! The run's report: Markdown and a self-contained HTML page with SVG plots, answering the
//! nine questions from the [`Answers`] and the run's data.

use crate::answers::Answers;
use insiders_core::Matrix;
use insiders_features::{CustomerTable, RowAccount};
use insiders_report::doc::{Callout, Document, Table};
use insiders_report::svg::{BarChart, FlowChart, HeatMap, LineChart, ScatterPlot, Series};

/// Membership flows between two consecutive runs of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow {
    /// The later run's as-of date.
    pub as_of: String,
    /// Insiders in both runs.
    pub stayed: usize,
    /// Entered.
    pub entered: usize,
    /// Left.
    pub left: usize,
}

/// What the report shows beyond the answers.
#[derive(Debug, Clone, Copy)]
pub struct ReportInputs<'a> {
    /// The answers.
    pub answers: &'a Answers,
    /// The clustered space (the first two columns are plotted).
    pub coords: &'a Matrix,
    /// Each customer's cluster.
    pub cluster: &'a [Option<u32>],
    /// The customer table.
    pub table: &'a CustomerTable,
    /// Each customer's Insider status.
    pub insider: &'a [bool],
    /// Each customer's distance to its cluster's centre.
    pub distance: &'a [f64],
    /// Flows between consecutive runs of the history, oldest first.
    pub flows: &'a [FlowRow],
    /// Where every input row went.
    pub accounting: &'a RowAccount,
    /// Each customer's Insider probability, with a consensus.
    pub probability: Option<&'a [f64]>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn num(x: f64) -> String {
    if x.is_finite() {
        insiders_stats::tree::format_number(x)
    } else {
        "n/a".into()
    }
}

/// A whole number, grouped by thousands.
fn count(x: f64) -> String {
    num(x).trim_end_matches(".00").to_string()
}

/// `median [q1, q3]`, or any estimate with its interval.
fn with_range(mid: f64, lo: f64, hi: f64) -> String {
    format!("{} [{}, {}]", short(mid), short(lo), short(hi))
}

fn short(x: f64) -> String {
    if !x.is_finite() {
        "n/a".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn p_value(p: f64) -> String {
    if p < 1e-16 {
        "< 1e-16".into()
    } else if p < 1e-3 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

/// Builds the report.
pub fn build(r: ReportInputs<'_>) -> Document {
    let a = r.answers;
    let run = &a.run;
    let mut d = Document::new(format!("The Insiders as of {}", run.as_of));
    d.paragraph(format!(
        "{} customers from {} (data fingerprint {}), model: {} with k = {} on the {} space, \
         seed {}. Every number below is reproducible: the same data, configuration and seed \
         give the same bytes.",
        run.customers, run.source, run.data_fingerprint, run.engine, run.k, run.space, run.seed
    ));
    if let Some(c) = &run.model_choice {
        d.callout(
            Callout::Note,
            "Model chosen from a grid run",
            format!(
                "Cell {} (silhouette {:.4}): {}; {} cells met the criteria.",
                c.cell, c.silhouette, c.criteria, c.candidates
            ),
        );
    }
    d.key_values(vec![
        ("Insiders", a.q2_how_many.insiders.to_string()),
        ("Share of customers", pct(a.q2_how_many.share_customers)),
        ("Share of revenue", pct(a.q4_revenue_share.share_revenue)),
        (
            "Anonymous invoices",
            format!(
                "{} of {} customers, {} of revenue; {} customers may be Insiders",
                a.q2_how_many.anonymous,
                a.q2_how_many.customers,
                pct(a.q2_how_many.anonymous_share_revenue),
                a.q2_how_many.eligible
            ),
        ),
        ("Expected revenue, next months", {
            let q5 = &a.q5_expected_revenue;
            let band = if q5.insiders.lo.is_finite() && q5.insiders.hi.is_finite() {
                format!(
                    " ({:.0}% band {} .. {})",
                    100.0 * q5.insiders.level,
                    num(q5.insiders.lo),
                    num(q5.insiders.hi)
                )
            } else {
                String::new()
            };
            format!(
                "{} over {} months{band}",
                num(q5.insiders.estimate),
                q5.months
            )
        }),
        (
            "Membership stability (Jaccard)",
            format!(
                "{:.3} across seeds, {:.3} across subsamples",
                a.q8_guarantee.membership_stability.seed_mean,
                a.q8_guarantee.membership_stability.subsample_mean
            ),
        ),
    ]);

    // Q1
    d.heading(2, "1. Who is eligible for the Insiders?");
    let how = match (
        run.space_info.get("consensus_fits"),
        run.space_info.get("value_break_revenue"),
    ) {
        (Some(fits), Some(cut)) => format!(
            "the customers whose gross revenue is at least {} (the value break of a consensus \
             over {fits} resampled fits: the revenue that best separates the customers most \
             fits put in their top value group from the rest; each one's share of those fits \
             is its insider_probability)",
            num(*cut)
        ),
        (Some(fits), None) => format!(
            "the customers whose share of {fits} resampled fits that put them in the top value \
             group (insider_probability) reaches the threshold"
        ),
        _ => "the cluster with the highest mean gross revenue".to_string(),
    };
    d.paragraph(format!(
        "The {} customers of cluster {} ({how}). The full list, with every feature and the \
         distance to the cluster centre, is in {}. The 20 largest by revenue:",
        a.q2_how_many.insiders, run.insiders_cluster, a.q1_who.file
    ));
    let col = |name: &str| {
        r.table
            .columns
            .iter()
            .position(|c| c == name)
            .map(|j| r.table.values[j].as_slice())
    };
    if let (Some(rev), Some(inv), Some(rec)) = (
        col("gross_revenue"),
        col("qtde_invoices"),
        col("recency_days"),
    ) {
        let mut idx: Vec<usize> = (0..r.table.len()).filter(|&i| r.insider[i]).collect();
        idx.sort_by(|&x, &y| rev[y].total_cmp(&rev[x]).then(x.cmp(&y)));
        let mut header = vec![
            "customer_id",
            "gross_revenue",
            "invoices",
            "recency_days",
            "distance_to_centre",
        ];
        if r.probability.is_some() {
            header.push("insider_probability");
        }
        let n_cols = header.len();
        let mut t = Table::new(header).numeric((0..n_cols).map(|j| j > 0).collect());
        let row = |i: usize| {
            let mut cells = vec![
                r.table.customer_id[i].to_string(),
                num(rev[i]),
                format!("{:.0}", inv[i]),
                format!("{:.0}", rec[i]),
                format!("{:.4}", r.distance[i]),
            ];
            if let Some(p) = r.probability {
                cells.push(format!("{:.3}", p[i]));
            }
            cells
        };
        for &i in idx.iter().take(20) {
            t.row(row(i));
        }
        d.table(t);
        if let Some(p) = r.probability {
            // The edge: the Insiders the fewest fits agreed on, and the customers left out
            // whom the most fits put in the top group.
            let mut ins: Vec<usize> = (0..r.table.len()).filter(|&i| r.insider[i]).collect();
            ins.sort_by(|&x, &y| p[x].total_cmp(&p[y]).then(rev[x].total_cmp(&rev[y])));
            let mut out: Vec<usize> = (0..r.table.len())
                .filter(|&i| !r.insider[i] && p[i] > 0.0)
                .collect();
            out.sort_by(|&x, &y| p[y].total_cmp(&p[x]).then(rev[y].total_cmp(&rev[x])));
            d.paragraph(format!(
                "On the edge: {} Insiders have a probability below 0.5 and {} customers who \
                 are not Insiders have one of 0.5 or more (membership is one line of revenue, \
                 the value break, so a few customers fall on the other side of their \
                 probability). The five Insiders with the lowest probability, then the five \
                 other customers with the highest:",
                ins.iter().filter(|&&i| p[i] < 0.5).count(),
                out.iter().filter(|&&i| p[i] >= 0.5).count()
            ));
            let mut t = Table::new(vec![
                "customer_id",
                "gross_revenue",
                "invoices",
                "recency_days",
                "distance_to_centre",
                "insider_probability",
            ])
            .numeric(vec![false, true, true, true, true, true]);
            for &i in ins.iter().take(5).chain(out.iter().take(5)) {
                t.row(row(i));
            }
            d.table(t);
        }
    }

    // Q2
    d.heading(2, "2. How many?");
    d.paragraph(format!(
        "{} of {} customers ({}).",
        a.q2_how_many.insiders,
        a.q2_how_many.customers,
        pct(a.q2_how_many.share_customers)
    ));

    // Q3
    d.heading(2, "3. What characterises them?");
    d.paragraph(
        "Each feature of the Insiders against the rest of the base: medians with their \
         interquartile range, and the ratio of medians.",
    );
    let mut t = Table::new([
        "feature",
        "Insiders median [Q1, Q3]",
        "rest median [Q1, Q3]",
        "ratio of medians",
        "ratio of means",
    ])
    .numeric(vec![false, true, true, true, true]);
    for c in &a.q3_characteristics {
        t.row([
            c.feature.clone(),
            with_range(c.insiders.median, c.insiders.q1, c.insiders.q3),
            with_range(c.rest.median, c.rest.q1, c.rest.q3),
            short(c.median_ratio),
            short(c.mean_ratio),
        ]);
    }
    d.table(t);
    let features: Vec<String> = r.table.columns.clone();
    let clusters: Vec<String> = a
        .clusters
        .iter()
        .map(|p| {
            if p.cluster == run.insiders_cluster {
                format!("{} (Insiders)", p.cluster)
            } else {
                p.cluster.to_string()
            }
        })
        .collect();
    let values: Vec<Vec<f64>> = a
        .clusters
        .iter()
        .map(|p| {
            features
                .iter()
                .map(|f| {
                    let base = a.base_profile.get(f).map_or(f64::NAN, |s| s.median);
                    let m = p.features.get(f).map_or(f64::NAN, |s| s.median);
                    if base > 0.0 && m > 0.0 {
                        (m / base).log2()
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect();
    let mut hm = HeatMap::new(
        "Cluster profiles: log2 of the cluster median over the whole base's median",
        clusters.clone(),
        features.clone(),
        values,
    );
    hm.scale = insiders_report::svg::ColorScale::Diverging;
    hm.annotate_decimals = Some(1);
    hm.width = 960;
    hm.height = 120 + 32 * clusters.len() as u32;
    d.figure(
        "profiles",
        hm.to_svg(),
        "Cluster profiles. Each cell is log2(cluster median / median of all customers): +1 \
         is twice the median customer, -1 half; blank where a median is 0.",
    );

    // Q4
    d.heading(2, "4. What share of revenue do they bring?");
    d.paragraph(format!(
        "{} of {} ({}).",
        num(a.q4_revenue_share.insiders_revenue),
        num(a.q4_revenue_share.total_revenue),
        pct(a.q4_revenue_share.share_revenue)
    ));
    let bars = BarChart::new(
        "Share of customers and of revenue per cluster",
        clusters.clone(),
        "share of revenue (%)",
        a.clusters.iter().map(|p| 100.0 * p.share_revenue).collect(),
    )
    .with_series(
        "share of customers (%)",
        a.clusters
            .iter()
            .map(|p| 100.0 * p.share_customers)
            .collect(),
    );
    d.figure(
        "revenue-shares",
        bars.to_svg(),
        "Clusters are numbered by decreasing mean gross revenue.",
    );

    // Q5
    let q5 = &a.q5_expected_revenue;
    d.heading(
        2,
        "5. What revenue can we expect from them in the coming months?",
    );
    let band = if q5.insiders.lo.is_finite() {
        format!(
            " ({:.0}% band {} .. {}; {})",
            100.0 * q5.insiders.level,
            num(q5.insiders.lo),
            num(q5.insiders.hi),
            q5.band_method
        )
    } else {
        format!(" ({})", q5.band_method)
    };
    d.paragraph(format!(
        "Forecast: {}. Expected Insiders' revenue over the next {} months: {}{band}. Every \
         customer together: {}.",
        q5.model_reason,
        q5.months,
        num(q5.insiders.estimate),
        num(q5.everyone)
    ));
    let sampled: Vec<String> = [("BG/NBD", &q5.bgnbd), ("Gamma-Gamma", &q5.gamma_gamma)]
        .into_iter()
        .filter_map(|(name, m)| {
            let fitted = m.get("fitted_customers")?;
            let given = m.get("customers")?;
            Some(format!(
                "the {name} on {} of its {}",
                count(*fitted),
                count(*given)
            ))
        })
        .collect();
    if !sampled.is_empty() {
        d.paragraph(format!(
            "At this size the models were fitted on a systematic sample of the customers \
             (evenly spread over the ids): {} customers. Every customer's forecast still uses \
             its own history.",
            sampled.join(" and ")
        ));
    }
    if !q5.at_bound.is_empty() {
        d.callout(
            Callout::Note,
            "Parameters at a bound",
            format!(
                "{}. The likelihood is flat along a ridge there (typically: no sign of customers \
                 dropping out in this history); the predictions are identified, these \
                 parameters alone are not.",
                q5.at_bound.join("; ")
            ),
        );
    }
    if let Some(b) = &q5.backtest {
        d.paragraph(format!(
            "Backtest: every candidate forecast, calibrated on invoices up to {}, predicted the \
             {} days up to {} for {} ({} customers, actual revenue {}). The rule: {}.",
            b.calibration_end,
            b.holdout_days,
            b.holdout_end,
            b.insiders_chosen,
            b.insiders.customers,
            num(b.insiders.actual),
            b.choice_rule
        ));
        let mut t = Table::new([
            "candidate",
            "Insiders: predicted",
            "error",
            "MAE",
            "everyone: error",
            "MAE",
            "chosen",
        ])
        .numeric(vec![false, true, true, true, true, true, false]);
        let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or("n/a".to_string(), f);
        for c in &b.candidates {
            t.row([
                match &c.not_applicable {
                    Some(why) => format!("{} (not applicable: {why})", c.label),
                    None => c.label.clone(),
                },
                opt(c.predicted, num),
                opt(c.error, pct),
                opt(c.mae, num),
                opt(c.everyone_error, pct),
                opt(c.everyone_mae, num),
                if c.chosen { "yes" } else { "" }.to_string(),
            ]);
        }
        d.table(t);
    } else if let Some(why) = &q5.backtest_skipped {
        d.callout(Callout::Warning, "No backtest", why.clone());
    }
    if !q5.monthly.is_empty() {
        let n = q5.monthly.len();
        let hist: Vec<(f64, f64)> = q5
            .monthly
            .iter()
            .enumerate()
            .map(|(i, m)| (i as f64, m.insiders))
            .collect();
        let mut fc = Series::new("expected", Vec::new());
        for m in &q5.per_month {
            let x = (n + m.month_ahead as usize - 1) as f64;
            fc.points.push((x, m.insiders.estimate));
            fc.band.push((x, m.insiders.lo, m.insiders.hi));
        }
        fc.dashed = true;
        let mut chart = LineChart::new(
            "Insiders' monthly revenue and the forecast",
            format!("month (0 = {})", q5.monthly[0].month),
            "revenue",
        )
        .with(Series::new("actual", hist))
        .with(fc);
        chart.integer_x = true;
        d.figure(
            "forecast",
            chart.to_svg(),
            "Monthly revenue of this run's Insiders (the last month may be partial) and the \
             chosen forecast per month ahead, with its band when it has one.",
        );
    }

    // Q6
    let q6 = &a.q6_conditions_to_enter;
    d.heading(2, "6. What are the conditions to become an Insider?");
    d.paragraph(format!(
        "A decision tree of depth {} on the customer features reproduces membership with \
         precision {} and recall {} (accuracy {}). A customer enters when one of these holds:",
        q6.max_depth,
        pct(q6.precision),
        pct(q6.recall),
        pct(q6.accuracy)
    ));
    let mut t = Table::new(["rule", "customers", "precision", "recall"])
        .numeric(vec![false, true, true, true]);
    for rule in &q6.rules {
        t.row([
            rule.text.clone(),
            rule.customers.to_string(),
            pct(rule.precision),
            pct(rule.recall),
        ]);
    }
    d.table(t);

    // Q7
    let q7 = &a.q7_conditions_to_leave;
    d.heading(2, "7. What are the conditions to be removed?");
    d.paragraph(q7.summary.clone());
    d.paragraph(format!(
        "{} Insiders are on the edge (the rules above do not admit them); {} have a \
         probability below 0.5 of still being active customers (BG/NBD).",
        q7.on_the_edge.len(),
        q7.likely_lapsed.len()
    ));
    match &q7.since_previous {
        Some(c) => {
            d.paragraph(format!(
                "Since the previous run (as of {}): {} entered, {} left, {} stayed.",
                c.previous_as_of,
                c.entered.len(),
                c.left.len(),
                c.stayed
            ));
        }
        None => {
            d.paragraph("This is the first run in the history database: no changes yet.");
        }
    }
    if !r.flows.is_empty() {
        let chart = FlowChart::new(
            "Insiders entering and leaving, run by run",
            r.flows.iter().map(|f| f.as_of.clone()).collect(),
            r.flows.iter().map(|f| f.stayed as f64).collect(),
            r.flows.iter().map(|f| f.entered as f64).collect(),
            r.flows.iter().map(|f| f.left as f64).collect(),
        );
        d.figure(
            "flows",
            chart.to_svg(),
            "From the history database: Insiders who stayed, entered and left at each run.",
        );
    }

    // Q8
    let q8 = &a.q8_guarantee;
    d.heading(
        2,
        "8. What guarantees that the Insiders are better than the rest?",
    );
    d.paragraph(
        "Two-sided Mann-Whitney U tests (the Insiders' values tend to be larger or smaller \
         than the rest's), effect sizes, and bootstrap confidence intervals of the \
         differences of means and medians.",
    );
    let mut t = Table::new([
        "feature",
        "Insiders median",
        "rest median",
        "p-value",
        "rank-biserial",
        "P(Insider > other)",
        "difference of medians [CI]",
        "difference of means [CI]",
    ])
    .numeric(vec![false, true, true, true, true, true, true, true]);
    for g in &q8.tests {
        t.row([
            g.feature.clone(),
            short(g.insiders_median),
            short(g.rest_median),
            p_value(g.p_value),
            format!("{:.3}", g.rank_biserial),
            format!("{:.3}", g.common_language),
            with_range(
                g.median_difference.estimate,
                g.median_difference.lo,
                g.median_difference.hi,
            ),
            with_range(
                g.mean_difference.estimate,
                g.mean_difference.lo,
                g.mean_difference.hi,
            ),
        ]);
    }
    d.table(t);
    if let Some(m) = q8.tests.iter().find_map(|g| g.interval_method.as_ref()) {
        d.paragraph(format!("The intervals at this size: {m}."));
    }
    let s = &q8.membership_stability;
    d.paragraph(format!(
        "Membership stability: refitting the space and the model with {} other seeds gives \
         Insiders with a mean Jaccard index of {:.3} against this run's; refitting on {} \
         random subsamples of {} of the customers gives {:.3}. 1 means the same customers.",
        s.seed_jaccard.len(),
        s.seed_mean,
        s.subsample_jaccard.len(),
        pct(s.fraction),
        s.subsample_mean
    ));

    // Q9
    d.heading(2, "9. What can marketing do, cluster by cluster?");
    let mut t = Table::new(["cluster", "segment", "action", "evidence"]);
    for x in &a.q9_actions {
        let mut action = x.action.clone();
        if let Some(n) = &x.returns_note {
            action.push(' ');
            action.push_str(n);
        }
        t.row([
            x.cluster.to_string(),
            x.segment.clone(),
            action,
            x.evidence.clone(),
        ]);
    }
    d.table(t);

    // Hypotheses
    d.heading(2, "The study's hypotheses");
    for h in &a.hypotheses {
        d.callout(
            Callout::verdict(h.holds),
            format!("{}: {}", h.id, h.statement),
            h.detail.clone(),
        );
    }

    if let Some(b) = &a.beside_study {
        beside_section(&mut d, b);
    }

    // Clusters
    d.heading(2, "The clusters");
    if r.coords.ncols() >= 2 {
        let points: Vec<(f64, f64)> = (0..r.coords.nrows())
            .map(|i| (r.coords[[i, 0]], r.coords[[i, 1]]))
            .collect();
        let labels: Vec<i64> = r.cluster.iter().map(|c| c.map_or(-1, i64::from)).collect();
        let mut sc = ScatterPlot::new(
            format!("Customers in the {} space, by cluster", run.space),
            points,
            labels,
        );
        sc.label_names = Some(
            a.clusters
                .iter()
                .zip(&clusters)
                .map(|(p, name)| (i64::from(p.cluster), name.clone()))
                .collect(),
        );
        d.figure(
            "clusters",
            sc.to_svg(),
            "Each point is a customer, coloured by cluster (first two dimensions of the \
             clustered space).",
        );
    }
    let mut t = Table::new([
        "cluster",
        "customers",
        "share of customers",
        "share of revenue",
        "mean revenue",
        "median revenue",
        "median recency (days)",
        "median invoices",
    ])
    .numeric(vec![false, true, true, true, true, true, true, true]);
    for p in &a.clusters {
        let m = |f: &str| p.features.get(f).copied();
        t.row([
            clusters[(p.cluster - 1) as usize].clone(),
            p.customers.to_string(),
            pct(p.share_customers),
            pct(p.share_revenue),
            m("gross_revenue").map_or("n/a".into(), |s| num(s.mean)),
            m("gross_revenue").map_or("n/a".into(), |s| num(s.median)),
            m("recency_days").map_or("n/a".into(), |s| format!("{:.0}", s.median)),
            m("qtde_invoices").map_or("n/a".into(), |s| format!("{:.0}", s.median)),
        ]);
    }
    d.table(t);

    // Method
    d.heading(2, "Data and method");
    d.paragraph(format!(
        "{} rows read from {}; {} kept. Every row is accounted for:",
        r.accounting.rows_read, r.accounting.source, r.accounting.rows_kept
    ));
    let mut t = Table::new(["fate", "reason", "rows"]).numeric(vec![false, false, true]);
    for b in &r.accounting.buckets {
        t.row([b.fate.clone(), b.reason.clone(), b.rows.to_string()]);
    }
    d.table(t);
    let mut info: Vec<(String, String)> = vec![
        ("seed".into(), run.seed.to_string()),
        ("configuration hash".into(), run.config_hash.clone()),
        ("data fingerprint".into(), run.data_fingerprint.clone()),
        (
            "space".into(),
            format!("{} (target {})", run.space, run.space_target),
        ),
        ("engine".into(), format!("{} k = {}", run.engine, run.k)),
    ];
    for (k, v) in &run.space_info {
        info.push((format!("space: {k}"), format!("{v:.4}")));
    }
    d.key_values(info);
    d
}

/// The configured method's Insiders beside the study's: sizes, overlap, revenue shares and
/// the forward check.
fn beside_section(d: &mut Document, b: &crate::beside::Beside) {
    d.heading(2, "Beside the study's method");
    if let Some(j) = b.jaccard {
        d.paragraph(format!(
            "The same data through the study's method (`--preset study`: the tree space, \
             Ward with k = 10, everyone eligible). Insiders of both: {} (Jaccard {j:.3}).",
            b.both
        ));
    }
    let mut t = Table::new(["method", "Insiders", "anonymous", "share of revenue"])
        .numeric(vec![false, true, true, true]);
    for m in &b.methods {
        t.row([
            m.method.clone(),
            m.insiders.to_string(),
            m.anonymous.to_string(),
            pct(m.share_revenue),
        ]);
    }
    d.table(t);
    if let Some(f) = &b.forward_check {
        d.paragraph(format!(
            "The forward check: each method chose its Insiders from the data before {} (no \
             look-ahead); judged on {} .. {}, when {} identified customers bought for {}. N: \
             the identified Insiders chosen; precision@N: the share of them among the N top \
             spenders of those days; naive: the N identified customers with the highest past \
             revenue.",
            f.cutoff,
            f.cutoff,
            f.last_day,
            f.holdout_customers,
            num(f.holdout_revenue)
        ));
        let mut t = Table::new(["method", "N", "share of holdout revenue", "precision@N"])
            .numeric(vec![false, true, true, true]);
        for r in &f.rows {
            t.row([
                r.method.clone(),
                r.n.to_string(),
                pct(r.share_of_holdout_revenue),
                format!("{:.3}", r.precision_at_n),
            ]);
        }
        d.table(t);
    }
    if let Some(n) = &b.note {
        d.callout(Callout::Note, "Not compared", n.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(num(1234567.891), "1,234,567.89");
        assert_eq!(num(-12.5), "-12.50");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(p_value(0.0), "< 1e-16");
        assert_eq!(p_value(0.04), "0.040");
    }
}
