//! Scalers fitted on one table and applied to another (a monthly run reuses last month's
//! scaling), serialisable as JSON.

use crate::error::FeaturesError;
use crate::features::CustomerTable;
use insiders_core::Matrix;
use serde::{Deserialize, Serialize};

/// The scaling rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScalerKind {
    /// `(x - min) / (max - min)`, as scikit-learn's `MinMaxScaler` (the canonical one).
    #[default]
    MinMax,
    /// `(x - mean) / std` with the population std, as scikit-learn's `StandardScaler`.
    Standard,
    /// `(x - median) / IQR`, as scikit-learn's `RobustScaler` (quantiles 25 and 75).
    Robust,
    /// `(ln(1 + max(x, 0)) - mean) / std` of the log: for heavy-tailed counts and amounts
    /// (revenue, invoices, items), where a few customers would otherwise set the whole scale.
    /// Negative values (net returns) count as 0.
    #[serde(rename = "log_standard")]
    LogStandard,
}

/// The log transform of [`ScalerKind::LogStandard`].
fn log1p_pos(x: f64) -> f64 {
    x.max(0.0).ln_1p()
}

/// A fitted scaler: per column, `scaled = x * scale + offset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub kind: ScalerKind,
    pub columns: Vec<String>,
    pub scale: Vec<f64>,
    pub offset: Vec<f64>,
}

fn sorted_quantile(v: &[f64], q: f64) -> f64 {
    insiders_core::quantile_sorted(v, q)
}

impl Scaler {
    /// Fits on the named columns of a table. Missing values are an error.
    pub fn fit(
        kind: ScalerKind,
        table: &CustomerTable,
        columns: &[&str],
    ) -> Result<Scaler, FeaturesError> {
        let mut scale = Vec::new();
        let mut offset = Vec::new();
        for &c in columns {
            let v = table.column(c)?;
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(FeaturesError::NotFinite {
                    column: c.to_string(),
                    customer_id: table.customer_id[i],
                });
            }
            let (s, o) = match kind {
                ScalerKind::MinMax => {
                    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let range = max - min;
                    let s = if range == 0.0 { 1.0 } else { 1.0 / range };
                    (s, -min * s)
                }
                ScalerKind::LogStandard => {
                    let l: Vec<f64> = v.iter().map(|&x| log1p_pos(x)).collect();
                    let n = l.len() as f64;
                    let mean = l.iter().sum::<f64>() / n;
                    let var = l.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
                    let sd = var.sqrt();
                    let s = if sd == 0.0 { 1.0 } else { 1.0 / sd };
                    (s, -mean * s)
                }
                ScalerKind::Standard => {
                    let n = v.len() as f64;
                    let mean = v.iter().sum::<f64>() / n;
                    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
                    let sd = var.sqrt();
                    let s = if sd == 0.0 { 1.0 } else { 1.0 / sd };
                    (s, -mean * s)
                }
                ScalerKind::Robust => {
                    let mut sorted = v.to_vec();
                    sorted.sort_by(f64::total_cmp);
                    let med = sorted_quantile(&sorted, 0.5);
                    let iqr = sorted_quantile(&sorted, 0.75) - sorted_quantile(&sorted, 0.25);
                    let s = if iqr == 0.0 { 1.0 } else { 1.0 / iqr };
                    (s, -med * s)
                }
            };
            scale.push(s);
            offset.push(o);
        }
        Ok(Scaler {
            kind,
            columns: columns.iter().map(|s| s.to_string()).collect(),
            scale,
            offset,
        })
    }

    /// Scales the fitted columns of a table (which may be another table than the one fitted).
    pub fn transform(&self, table: &CustomerTable) -> Result<Matrix, FeaturesError> {
        let cols: Vec<&[f64]> = self
            .columns
            .iter()
            .map(|c| table.column(c))
            .collect::<Result<_, _>>()
            .map_err(|_| FeaturesError::ScalerColumns {
                fitted: self.columns.join(", "),
                given: table.columns.join(", "),
            })?;
        for (c, v) in self.columns.iter().zip(&cols) {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(FeaturesError::NotFinite {
                    column: c.clone(),
                    customer_id: table.customer_id[i],
                });
            }
        }
        // scikit-learn's scalers compute x * scale + offset (MinMaxScaler: X * scale_ + min_).
        let log = self.kind == ScalerKind::LogStandard;
        Ok(Matrix::from_shape_fn(
            (table.len(), cols.len()),
            |(i, j)| {
                let x = if log {
                    log1p_pos(cols[j][i])
                } else {
                    cols[j][i]
                };
                x * self.scale[j] + self.offset[j]
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(v: Vec<f64>) -> CustomerTable {
        CustomerTable {
            customer_id: (0..v.len() as u32).collect(),
            columns: vec!["a".into()],
            values: vec![v],
            unavailable: Vec::new(),
        }
    }

    #[test]
    fn scalers_fit_on_one_apply_to_another() {
        let t = table(vec![1.0, 3.0, 5.0, 9.0]);
        let m = Scaler::fit(ScalerKind::MinMax, &t, &["a"]).unwrap();
        let x = m.transform(&t).unwrap();
        assert_eq!(x.column(0).to_vec(), vec![0.0, 0.25, 0.5, 1.0]);
        let other = table(vec![17.0]);
        assert_eq!(m.transform(&other).unwrap()[[0, 0]], 2.0);
        let s = Scaler::fit(ScalerKind::Standard, &t, &["a"]).unwrap();
        let z = s.transform(&t).unwrap();
        let mean: f64 = z.iter().sum::<f64>() / 4.0;
        let var: f64 = z.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-15 && (var - 1.0).abs() < 1e-12);
        let l = Scaler::fit(
            ScalerKind::LogStandard,
            &table(vec![0.0, (1f64).exp_m1(), -5.0]),
            &["a"],
        )
        .unwrap();
        // ln(1 + x) = 0, 1, 0 (the negative value counts as 0): mean 1/3, std sqrt(2)/3.
        let z = l.transform(&table(vec![(1f64).exp_m1()])).unwrap()[[0, 0]];
        assert!((z - (2.0 / 3.0) / (2f64.sqrt() / 3.0)).abs() < 1e-12, "{z}");
        let r = Scaler::fit(ScalerKind::Robust, &t, &["a"]).unwrap();
        // median 4, IQR = 6 - 2.5 = 3.5
        assert!((r.transform(&t).unwrap()[[3, 0]] - 5.0 / 3.5).abs() < 1e-15);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Scaler>(&json).unwrap(), m);
        assert!(Scaler::fit(ScalerKind::MinMax, &t, &["b"]).is_err());
        assert!(Scaler::fit(ScalerKind::MinMax, &table(vec![1.0, f64::NAN]), &["a"]).is_err());
    }
}
