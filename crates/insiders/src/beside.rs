//! `insiders run`'s comparison with the study's method: the same data (the run's input and
//! cleaning options) through the `study` preset's features, space, model and eligibility,
//! on the run's data and on Q5's calibration data, laid beside the configured Insiders
//! ([`insiders_analysis::beside`]).

use anyhow::Result;
use insiders_analysis::beside::{Beside, Chosen, forward_check, sides};
use insiders_analysis::{Segmentation, segment};
use insiders_features::{Cleaned, CustomerTable};
use insiders_pipeline::{Config, ModelMatrix, Prepared, model_matrix};

/// The study's method under `cfg`'s input and cleaning options.
fn study_config(cfg: &Config) -> Result<Config> {
    let study = Config::preset("study")?;
    let mut c = cfg.clone();
    c.features = study.features;
    c.model = study.model;
    c.insiders = study.insiders;
    Ok(c)
}

/// The study's Insiders beside the configured ones, or `None` when the configured method is
/// the study's. `calibration`: Q5's calibration data and the configured Insiders chosen
/// there (ids), with the backtest's last calibration day.
pub(crate) fn beside_study(
    cfg: &Config,
    p: &Prepared,
    seg: &Segmentation,
    calibration: Option<(&Cleaned, &CustomerTable, &[u32], i64)>,
) -> Result<Option<Beside>> {
    let study = study_config(cfg)?;
    if study.features == cfg.features && study.model == cfg.model && study.insiders == cfg.insiders
    {
        return Ok(None);
    }
    let limit = cfg.insiders.beside_study_up_to;
    if p.table.len() > limit {
        return Ok(Some(Beside {
            methods: Vec::new(),
            both: 0,
            jaccard: None,
            forward_check: None,
            note: Some(format!(
                "{} customers: more than insiders.beside_study_up_to = {limit}, so the study's \
                 method (Ward, quadratic in the customers) was not run beside",
                p.table.len()
            )),
        }));
    }
    let opts = study.analysis();
    let chosen = |q: &Prepared, m: &ModelMatrix| -> Result<Vec<bool>> {
        Ok(segment(q.inputs(m), &opts, cfg.seed)?.insider)
    };
    let sm = model_matrix(&p.table, &study)?;
    let study_insider = chosen(p, &sm)?;
    // The same table as the run's segmentation: its anonymous customers.
    let anon = &seg.anonymous;
    let mut b = sides(
        &p.table,
        anon,
        Chosen {
            method: "configured",
            insider: &seg.insider,
        },
        Chosen {
            method: "study preset",
            insider: &study_insider,
        },
    )?;
    match calibration {
        Some((cal_cleaned, cal_table, ids, last_calibration_day)) => {
            let cm = model_matrix(cal_table, &study)?;
            let cal_inputs = insiders_analysis::Inputs {
                lines: &p.loaded.lines,
                cleaned: cal_cleaned,
                table: cal_table,
                scaled: &cm.x,
                selected: &cm.names,
            };
            let cal_seg = segment(cal_inputs, &opts, cfg.seed)?;
            let (cal_study, cal_anon) = (cal_seg.insider, cal_seg.anonymous);
            let configured: Vec<bool> = cal_table
                .customer_id
                .iter()
                .map(|id| ids.binary_search(id).is_ok())
                .collect();
            b.forward_check = Some(forward_check(
                &p.table,
                anon,
                cal_table,
                &cal_anon,
                &[
                    Chosen {
                        method: "configured",
                        insider: &configured,
                    },
                    Chosen {
                        method: "study preset",
                        insider: &cal_study,
                    },
                ],
                last_calibration_day + 1,
                p.cleaned.last_day,
            )?);
        }
        None => {
            b.note = Some(
                "no forward check: the data are too short for Q5's backtest (no calibration \
                 data)"
                    .into(),
            );
        }
    }
    Ok(Some(b))
}
