//! The configured space and clustering model, and the clusters ranked by revenue.

use crate::error::AnalysisError;
use crate::options::ModelOptions;
use insiders_core::{Matrix, derive_seed};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The model matrix and the names of its columns (the scaled selected features).
#[derive(Debug, Clone, Copy)]
pub struct ModelInput<'a> {
    /// Scaled selected features, one row per customer.
    pub scaled: &'a Matrix,
    /// Their names.
    pub names: &'a [String],
}

/// A fitted space and clustering.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The space the model clustered (one row per customer).
    pub coords: Matrix,
    /// Figures of the space (out-of-bag R² of the forest, explained variance...).
    pub space_info: BTreeMap<String, f64>,
    /// Cluster of every customer, numbered 1.. by decreasing mean gross revenue; `None` is
    /// noise (density engines).
    pub cluster: Vec<Option<u32>>,
    /// Number of clusters.
    pub k: usize,
}

/// The stream of the run's seed that draws the sample of `[model.sample]`.
const SAMPLE_STREAM: u64 = 0x5a4d_504c;

/// Seeds of the two steps, derived from the run's seed.
fn step_seeds(seed: u64) -> (u64, u64) {
    (derive_seed(seed, 1), derive_seed(seed, 2))
}

/// Embeds the model input into the configured space (the one rule of
/// [`insiders_embed::fit_space`]: a supervised space predicts `space_target` from the other
/// selected features; the others embed every selected feature). Above
/// `[model.sample] max_fit_rows` customers the space is fitted on a seeded sample of them and
/// the others are placed by the fitted embedder ([`insiders_embed::fit_space_sampled`];
/// `info` gets `fit_rows`); `sample` is that sample.
pub fn fit_space(
    input: ModelInput<'_>,
    opts: &ModelOptions,
    seed: u64,
    sample: Option<&[usize]>,
) -> Result<(Matrix, BTreeMap<String, f64>), AnalysisError> {
    let target = Some(opts.space_target.as_str());
    let e = match sample {
        None => insiders_embed::fit_space(
            &opts.space,
            &opts.space_params,
            input.names,
            input.scaled,
            target,
            seed,
        ),
        Some(rows) => insiders_embed::fit_space_sampled(
            &opts.space,
            &opts.space_params,
            input.names,
            input.scaled,
            target,
            seed,
            rows,
        ),
    }
    .map_err(|source| match source {
        insiders_core::Error::Param { key, message } if key == "target" => {
            AnalysisError::option("model.space_target", message)
        }
        insiders_core::Error::Unsupported(message) => AnalysisError::option(
            "model.sample.max_fit_rows",
            format!(
                "the {} space cannot place customers it was not fitted on ({message}); with {} \
                 customers (more than max_fit_rows = {}), choose another space or raise \
                 model.sample.max_fit_rows",
                opts.space,
                input.scaled.nrows(),
                opts.sample.max_fit_rows
            ),
        ),
        source => AnalysisError::Model {
            stage: "space",
            source,
        },
    })?;
    Ok((e.coords, e.info))
}

/// Clusters the space; labels as the engine gives them (`None` = noise). With `sample`, the
/// engine is fitted on those rows and every other row is assigned by the engine's rule
/// ([`insiders_engines::assign`]); `info` then gets `model_fit_rows` and `assign_rule`
/// (as the index of [`insiders_engines::assign::Assign`]: 0 nearest centroid, 1 mixture
/// predict, 2 neighbour vote).
pub fn fit_clusters(
    coords: &Matrix,
    opts: &ModelOptions,
    seed: u64,
    sample: Option<&[usize]>,
    info: &mut BTreeMap<String, f64>,
) -> Result<Vec<Option<u32>>, AnalysisError> {
    let model = |source| AnalysisError::Model {
        stage: "cluster",
        source,
    };
    let engine = insiders_engines::build(&opts.engine, &opts.engine_params).map_err(model)?;
    let k = engine.caps().needs_k.then_some(opts.k);
    if let Some(rows) = sample {
        let a = insiders_engines::assign::fit_on_sample(
            &opts.engine,
            &opts.engine_params,
            coords.view(),
            rows,
            k,
            seed,
            opts.sample.vote_neighbours,
        )
        .map_err(|source| match source {
            insiders_core::Error::Param { key, message } if key == "vote_k" => {
                AnalysisError::option("model.sample.vote_neighbours", message)
            }
            source => model(source),
        })?;
        info.insert("model_fit_rows".into(), a.fit_rows as f64);
        info.insert("assign_rule".into(), assign_code(a.rule));
        return Ok(a.partition.labels);
    }
    let p = engine.fit(coords.view(), k, seed).map_err(model)?;
    Ok(p.labels)
}

/// The number `assign_rule` carries in `space_info` (answers.json keeps numbers there).
fn assign_code(rule: insiders_engines::assign::Assign) -> f64 {
    use insiders_engines::assign::Assign;
    match rule {
        Assign::NearestCentroid => 0.0,
        Assign::MixturePredict => 1.0,
        Assign::NeighbourVote => 2.0,
    }
}

/// Renumbers clusters 1.. by decreasing mean of `revenue` (ties: the smaller original label
/// first); noise stays `None`.
pub fn rank_by_revenue(labels: &[Option<u32>], revenue: &[f64]) -> (Vec<Option<u32>>, usize) {
    let mut sums: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for (l, &r) in labels.iter().zip(revenue) {
        if let Some(l) = l {
            let e = sums.entry(*l).or_insert((0.0, 0));
            e.0 += r;
            e.1 += 1;
        }
    }
    let mut order: Vec<(u32, f64)> = sums.iter().map(|(&l, &(s, n))| (l, s / n as f64)).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let rank: BTreeMap<u32, u32> = order
        .iter()
        .enumerate()
        .map(|(i, &(l, _))| (l, i as u32 + 1))
        .collect();
    (
        labels.iter().map(|l| l.map(|l| rank[&l])).collect(),
        order.len(),
    )
}

/// Space, clustering, and clusters ranked by mean `revenue` (one value per customer).
pub fn fit(
    input: ModelInput<'_>,
    revenue: &[f64],
    opts: &ModelOptions,
    seed: u64,
) -> Result<Fitted, AnalysisError> {
    let (space_seed, cluster_seed) = step_seeds(seed);
    let sample = opts
        .sample
        .sample(input.scaled.nrows(), derive_seed(seed, SAMPLE_STREAM));
    let (coords, mut space_info) = fit_space(input, opts, space_seed, sample.as_deref())?;
    let labels = fit_clusters(
        &coords,
        opts,
        cluster_seed,
        sample.as_deref(),
        &mut space_info,
    )?;
    let (cluster, k) = rank_by_revenue(&labels, revenue);
    if k == 0 {
        return Err(AnalysisError::TooLittleData(format!(
            "the {} engine put every customer in noise",
            opts.engine
        )));
    }
    Ok(Fitted {
        coords,
        space_info,
        cluster,
        k,
    })
}

/// One full-data fit of the consensus' final partition: (k, Calinski-Harabasz, labels).
type KFit = (usize, f64, Vec<Option<u32>>);

/// The consensus selection ([`crate::consensus`]): the space of every customer, the
/// consensus over resampled fits of the eligible ones, and the final partition (the
/// full-data fit at the k of the highest Calinski-Harabasz index) with the Insiders as
/// cluster 1 and the other clusters numbered 2.. by decreasing mean revenue. Customers who
/// may not be Insiders are not clustered (`None`).
pub fn fit_consensus(
    input: ModelInput<'_>,
    revenue: &[f64],
    eligible: &[bool],
    opts: &ModelOptions,
    seed: u64,
) -> Result<crate::Selection, AnalysisError> {
    let c = &opts.consensus;
    let (space_seed, cluster_seed) = step_seeds(seed);
    // A space other than the scaled features is fitted on a sample above
    // [model.sample] max_fit_rows (the consensus samples its fits itself).
    let sample = if opts.space == insiders_embed::space::IDENTITY {
        None
    } else {
        opts.sample
            .sample(input.scaled.nrows(), derive_seed(seed, SAMPLE_STREAM))
    };
    let (coords, mut space_info) = fit_space(input, opts, space_seed, sample.as_deref())?;
    let rows: Vec<usize> = (0..eligible.len()).filter(|&i| eligible[i]).collect();
    if rows.len() <= c.k_max {
        return Err(AnalysisError::TooLittleData(format!(
            "{} eligible customers for a consensus up to k = {}",
            rows.len(),
            c.k_max
        )));
    }
    let xe = coords.select(ndarray::Axis(0), &rows);
    let value: Vec<f64> = rows.iter().map(|&i| revenue[i].max(0.0).ln_1p()).collect();
    let cons = crate::consensus::consensus(
        &xe,
        &value,
        &opts.engine,
        &opts.engine_params,
        c,
        derive_seed(seed, 5),
    )?;
    // The final partition: the full-data fit of highest Calinski-Harabasz index.
    let model = |source| AnalysisError::Model {
        stage: "cluster",
        source,
    };
    // The final fits take the consensus fits' parameters too: they only draw the segments
    // beside the Insiders (whom the consensus chose), and cost as little as one more fit.
    let mut params = opts.engine_params.clone();
    for (k, v) in &c.fit_params {
        params.insert(k.clone(), v.clone());
    }
    let engine = insiders_engines::build(&opts.engine, &params).map_err(model)?;
    // Above max_fit_rows eligible customers, the final fits see a seeded sample of them,
    // and every customer is assigned to the nearest centre of the fit.
    let sample: Option<Vec<usize>> = (xe.nrows() > c.max_fit_rows).then(|| {
        crate::consensus::sample_rows(
            xe.nrows(),
            c.max_fit_rows,
            derive_seed(cluster_seed, 0x5a3b1e),
        )
    });
    let sampled = sample.as_ref().map(|idx| xe.select(ndarray::Axis(0), idx));
    let xf = sampled.as_ref().unwrap_or(&xe);
    let fits: Vec<Result<KFit, AnalysisError>> = (c.k_min..=c.k_max)
        .into_par_iter()
        .map(|k| {
            let p = engine
                .fit(xf.view(), Some(k), derive_seed(cluster_seed, k as u64))
                .map_err(model)?;
            let ch =
                insiders_eval::calinski_harabasz(xf.view(), &p.labels).unwrap_or(f64::NEG_INFINITY);
            let labels = match &sample {
                Some(_) => {
                    crate::consensus::assign(&xe, &crate::consensus::centroids(xf, &p.labels, k))
                }
                None => p.labels,
            };
            Ok((k, ch, labels))
        })
        .collect();
    let mut best: Option<KFit> = None;
    for f in fits {
        let f = f?;
        if best.as_ref().is_none_or(|b| f.1 > b.1) {
            best = Some(f);
        }
    }
    let Some((k_ch, ch, labels)) = best else {
        return Err(AnalysisError::TooLittleData("no k to fit".into()));
    };
    let none_reached = || {
        AnalysisError::TooLittleData(format!(
            "no customer reached the Insider probability {} in the consensus",
            c.threshold
        ))
    };
    let ins_e: Vec<bool> = match c.membership {
        crate::consensus::Membership::Probability => {
            cons.probability.iter().map(|&p| p >= c.threshold).collect()
        }
        crate::consensus::Membership::ValueBreak => {
            let (cut, wrong) =
                crate::consensus::value_break(&value, &cons.probability, c.threshold)
                    .ok_or_else(none_reached)?;
            space_info.insert("value_break_revenue".into(), cut.exp_m1());
            space_info.insert("value_break_disagreements".into(), wrong as f64);
            value.iter().map(|&v| v >= cut).collect()
        }
    };
    if !ins_e.iter().any(|&b| b) {
        return Err(none_reached());
    }
    // The other clusters, without the Insiders, numbered 2.. by decreasing mean revenue.
    let rest: Vec<Option<u32>> = labels
        .iter()
        .zip(&ins_e)
        .map(|(l, &ins)| if ins { None } else { *l })
        .collect();
    let rev_e: Vec<f64> = rows.iter().map(|&i| revenue[i]).collect();
    let (ranked, k_rest) = rank_by_revenue(&rest, &rev_e);
    let mut cluster = vec![None; eligible.len()];
    let mut probability = vec![0.0; eligible.len()];
    let mut insider = vec![false; eligible.len()];
    for (j, &i) in rows.iter().enumerate() {
        probability[i] = cons.probability[j];
        insider[i] = ins_e[j];
        cluster[i] = if ins_e[j] {
            Some(1)
        } else {
            ranked[j].map(|r| r + 1)
        };
    }
    space_info.insert("consensus_fits".into(), cons.fits as f64);
    space_info.insert(
        "consensus_fit_rows".into(),
        c.subsample_rows(rows.len()) as f64,
    );
    space_info.insert("final_fit_rows".into(), xf.nrows() as f64);
    space_info.insert("final_k_calinski_harabasz".into(), k_ch as f64);
    space_info.insert("calinski_harabasz".into(), ch);
    Ok(crate::Selection {
        fitted: Fitted {
            coords,
            space_info,
            cluster,
            k: k_rest + 1,
        },
        insiders_cluster: 1,
        insider,
        probability: Some(probability),
    })
}

/// Euclidean distance of every point to the centroid of its cluster in `coords` (NaN for
/// noise).
pub fn distance_to_centre(coords: &Matrix, cluster: &[Option<u32>], k: usize) -> Vec<f64> {
    let d = coords.ncols();
    let mut sum = vec![0.0; (k + 1) * d];
    let mut count = vec![0usize; k + 1];
    for (i, c) in cluster.iter().enumerate() {
        if let Some(c) = c {
            let c = *c as usize;
            count[c] += 1;
            for j in 0..d {
                sum[c * d + j] += coords[[i, j]];
            }
        }
    }
    cluster
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            None => f64::NAN,
            Some(c) => {
                let c = *c as usize;
                let n = count[c] as f64;
                (0..d)
                    .map(|j| {
                        let t = coords[[i, j]] - sum[c * d + j] / n;
                        t * t
                    })
                    .sum::<f64>()
                    .sqrt()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_mean_revenue_and_keeps_noise() {
        let labels = [Some(0), Some(1), Some(1), None, Some(2)];
        let revenue = [10.0, 50.0, 30.0, 1000.0, 5.0];
        let (r, k) = rank_by_revenue(&labels, &revenue);
        assert_eq!(k, 3);
        assert_eq!(r, vec![Some(2), Some(1), Some(1), None, Some(3)]);
    }

    #[test]
    fn above_max_fit_rows_the_model_is_fitted_on_a_sample_and_says_so() {
        // Three separated groups of 200 customers in 2-D; revenue rises with the group.
        let mut rng = insiders_core::Rng::new(4);
        let x = Matrix::from_shape_fn((600, 2), |(i, _)| (i % 3) as f64 * 10.0 + rng.normal());
        let revenue: Vec<f64> = (0..600).map(|i| (i % 3) as f64 * 100.0 + 1.0).collect();
        let names = vec!["a".to_string(), "b".to_string()];
        let input = ModelInput {
            scaled: &x,
            names: &names,
        };
        let mut opts = ModelOptions {
            space: "identity".into(),
            engine: "ward".into(),
            k: 3,
            ..ModelOptions::default()
        };
        let whole = fit(input, &revenue, &opts, 9).unwrap();
        assert!(!whole.space_info.contains_key("model_fit_rows"));
        opts.sample.max_fit_rows = 150;
        let sampled = fit(input, &revenue, &opts, 9).unwrap();
        assert_eq!(sampled.space_info["model_fit_rows"], 150.0);
        assert_eq!(sampled.space_info["assign_rule"], 2.0);
        // Every customer is assigned, to the cluster of its group (cluster 1: the richest).
        for (i, c) in sampled.cluster.iter().enumerate() {
            assert_eq!(*c, Some(3 - (i % 3) as u32), "customer {i}");
        }
        assert_eq!(sampled.cluster, whole.cluster);
        // A space that cannot place customers is an error naming the setting.
        opts.space = "tsne".into();
        let e = fit(input, &revenue, &opts, 9).unwrap_err().to_string();
        assert!(e.contains("model.sample.max_fit_rows"), "{e}");
    }

    #[test]
    fn distances_to_centroids() {
        let coords = ndarray::array![[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [5.0, 5.0]];
        let cluster = [Some(1), Some(1), Some(2), None];
        let d = distance_to_centre(&coords, &cluster, 2);
        assert_eq!(&d[..3], &[1.0, 1.0, 0.0]);
        assert!(d[3].is_nan());
    }
}
