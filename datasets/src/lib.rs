//! The registry of the data sets the project knows. The grid, the tests and the benchmarks
//! name data sets (`online-retail`, `cdnow`, `synthetic-10k`, `clustbench/fcps/hepta`), not
//! paths; each [`Dataset`] entry says where its files are, its source, licence, checksum,
//! format and ground truth, and loads it.
//!
//! ```no_run
//! let reg = insiders_datasets::Registry::new();
//! let hepta = reg.get("clustbench/fcps/hepta")?;
//! let insiders_datasets::Data::Points(b) = hepta.load()? else { unreachable!() };
//! assert_eq!(b.points.dim(), (212, 3));
//! # Ok::<(), insiders_datasets::DatasetError>(())
//! ```
//!
//! The files live outside the repository, in the shared folder ([`shared`]: `../shared`
//! beside the workspace, `INSIDERS_SHARED` and `INSIDERS_DATA` override). Tests and
//! benchmarks take an entry through [`require`]: a missing file skips on a developer machine
//! and fails under `CI=true`. [`fixtures`] reads the parity fixtures (reference values of the
//! Python study) of the same folder.
//!
//! The list of entries and how to add one: `docs/datasets.md`.

pub mod cdnow;
pub mod checksum;
pub mod clustbench;
mod error;
pub mod fixtures;
pub mod shared;
pub mod synthetic;

pub use error::DatasetError;

use std::path::{Path, PathBuf};

/// Id of the UCI Online Retail data set.
pub const ONLINE_RETAIL: &str = "online-retail";
/// Id of the CDNOW data set.
pub const CDNOW: &str = "cdnow";
/// Prefix of the clustering benchmark ids (`clustbench/<battery>/<name>`).
pub const CLUSTBENCH: &str = "clustbench";

const CLUSTBENCH_SOURCE: &str = "M. Gagolewski, \"A framework for benchmarking clustering \
    algorithms\", SoftwareX 20 (2022); Benchmark Suite for Clustering Algorithms, \
    clustering-data-v1 (published labels: clustering-results-v1)";

/// Which loader a data set has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// UCI Online Retail: invoice lines through `insiders_ingest::read_path`.
    OnlineRetail,
    /// CDNOW: purchase lines through [`cdnow::read`].
    Cdnow,
    /// A synthetic shop through `insiders_synth::generate`.
    Synthetic(synthetic::Preset),
    /// A clustering benchmark through [`clustbench::load`].
    Clustbench {
        /// The battery (`fcps`, `sipu`, `wut`).
        battery: String,
        /// The data set in the battery.
        name: String,
    },
}

/// A file of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Where it is.
    pub path: PathBuf,
    /// What it holds (`invoice lines`, `points`, `labels0`, ...).
    pub role: String,
    /// SHA-256 of the file as stored, when registered.
    pub sha256: Option<&'static str>,
    /// SHA-256 of its gunzipped content, when registered.
    pub sha256_gunzipped: Option<&'static str>,
}

impl DataFile {
    fn new(path: PathBuf, role: impl Into<String>) -> Self {
        DataFile {
            path,
            role: role.into(),
            sha256: None,
            sha256_gunzipped: None,
        }
    }
}

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The id the grid, tests and benchmarks use.
    pub id: String,
    /// One line about it.
    pub title: String,
    /// Where it comes from (citation or URL text).
    pub source: &'static str,
    /// Its licence.
    pub licence: &'static str,
    /// Its file format.
    pub format: &'static str,
    /// Its ground truth, if it has one.
    pub ground_truth: Option<&'static str>,
    /// Its files (none for a generated data set).
    pub files: Vec<DataFile>,
    /// Which loader.
    pub kind: Kind,
}

/// A loaded data set.
#[derive(Debug, Clone)]
pub enum Data {
    /// Invoice lines read by `insiders_ingest` (online-retail).
    Invoices(Box<insiders_ingest::Loaded>),
    /// A generated shop: its CSV bytes (the UCI format) and ground truth (synthetic).
    Shop(insiders_synth::Shop),
    /// CDNOW's purchase lines.
    Purchases(cdnow::Purchases),
    /// A point cloud with its reference labellings (clustbench).
    Points(clustbench::Benchmark),
}

impl Dataset {
    /// What [`Dataset::load`] gives, in words.
    pub fn holds(&self) -> &'static str {
        match self.kind {
            Kind::OnlineRetail => "invoice lines",
            Kind::Cdnow => "purchase lines",
            Kind::Synthetic(_) => "a generated shop",
            Kind::Clustbench { .. } => "points with reference labellings",
        }
    }

    /// The loader, in words (for `docs/datasets.md` and listings).
    pub fn loader(&self) -> &'static str {
        match self.kind {
            Kind::OnlineRetail => "insiders_ingest::read_path",
            Kind::Cdnow => "insiders_datasets::cdnow::read",
            Kind::Synthetic(_) => "insiders_synth::generate",
            Kind::Clustbench { .. } => "insiders_datasets::clustbench::load",
        }
    }

    /// Loads the data set.
    ///
    /// # Errors
    /// A missing file ([`DatasetError::Missing`] naming it), or any error of the loader.
    pub fn load(&self) -> Result<Data, DatasetError> {
        Ok(match &self.kind {
            Kind::OnlineRetail => Data::Invoices(Box::new(self.invoices(&Default::default())?)),
            Kind::Cdnow => Data::Purchases(cdnow::read(&self.files[0].path)?),
            Kind::Synthetic(p) => Data::Shop(insiders_synth::generate(&p.config())?),
            Kind::Clustbench { battery, name } => {
                let root = self.clustbench_root();
                Data::Points(clustbench::load(&root, battery, name)?)
            }
        })
    }

    /// The invoice lines of a shop data set (online-retail, or a synthetic shop read from its
    /// CSV bytes), through `insiders_ingest`.
    ///
    /// # Errors
    /// [`DatasetError::WrongKind`] for a data set without invoice lines; otherwise as
    /// `insiders_ingest::read_path` ([`DatasetError::Missing`] for a missing file).
    pub fn invoices(
        &self,
        opts: &insiders_ingest::InputOptions,
    ) -> Result<insiders_ingest::Loaded, DatasetError> {
        match &self.kind {
            Kind::OnlineRetail => {
                let path = &self.files[0].path;
                if !path.exists() {
                    return Err(DatasetError::Missing { path: path.clone() });
                }
                Ok(insiders_ingest::read_path(path, opts)?)
            }
            Kind::Synthetic(p) => {
                let shop = insiders_synth::generate(&p.config())?;
                let name = PathBuf::from(format!("{}.csv", p.id));
                Ok(insiders_ingest::read_bytes(&name, shop.csv, opts)?)
            }
            _ => Err(DatasetError::WrongKind {
                id: self.id.clone(),
                holds: self.holds(),
                wanted: "invoice lines",
            }),
        }
    }

    /// The clustbench root folder of a clustbench entry (`<shared>/datasets/clustbench`).
    fn clustbench_root(&self) -> PathBuf {
        // data/<battery>/<name>.data.gz -> the root, three levels up.
        self.files
            .first()
            .and_then(|f| f.path.ancestors().nth(3))
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The first file of the data set that does not exist.
    pub fn missing(&self) -> Option<&Path> {
        self.files
            .iter()
            .map(|f| f.path.as_path())
            .find(|p| !p.exists())
    }

    /// Whether any file has a registered checksum.
    pub fn has_checksum(&self) -> bool {
        self.files
            .iter()
            .any(|f| f.sha256.is_some() || f.sha256_gunzipped.is_some())
    }

    /// Checks that every file exists and has its registered checksum (streaming: files are
    /// not read into memory); returns the number of digests checked.
    ///
    /// # Errors
    /// [`DatasetError::Missing`] for a missing file, [`DatasetError::Checksum`] for a file
    /// that is not the registered one.
    pub fn verify(&self) -> Result<usize, DatasetError> {
        if let Some(path) = self.missing() {
            return Err(DatasetError::Missing {
                path: path.to_path_buf(),
            });
        }
        let mut checked = 0;
        for f in &self.files {
            if let Some(want) = f.sha256 {
                checksum::check(&f.path, "file", want, checksum::sha256_file(&f.path)?)?;
                checked += 1;
            }
            if let Some(want) = f.sha256_gunzipped {
                let got = checksum::sha256_gunzipped(&f.path)?;
                checksum::check(&f.path, "gunzipped content", want, got)?;
                checked += 1;
            }
        }
        Ok(checked)
    }
}

/// The registry: every data set the project knows, with its files under one shared folder.
#[derive(Debug, Clone)]
pub struct Registry {
    shared: PathBuf,
    entries: Vec<Dataset>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// The registry over [`shared::shared_dir`], with the UCI file at [`shared::data_path`]
    /// (so `INSIDERS_SHARED` and `INSIDERS_DATA` apply).
    pub fn new() -> Self {
        let mut r = Self::at(&shared::shared_dir());
        if let Some(e) = r.entries.iter_mut().find(|e| e.id == ONLINE_RETAIL) {
            e.files[0].path = shared::data_path();
        }
        r
    }

    /// The registry over the shared folder `shared`. The clustbench entries are the data
    /// sets found in `shared/datasets/clustbench/data` (none when it is missing).
    pub fn at(shared: &Path) -> Self {
        let datasets = shared.join("datasets");
        let mut entries = vec![online_retail(&datasets), cdnow_entry(&datasets)];
        entries.extend(synthetic::PRESETS.iter().map(|&p| synthetic_entry(p)));
        let root = datasets.join(CLUSTBENCH);
        for battery in clustbench::batteries(&root).unwrap_or_default() {
            for name in clustbench::names(&root, &battery).unwrap_or_default() {
                entries.push(clustbench_entry(&root, &battery, &name));
            }
        }
        Registry {
            shared: shared.to_path_buf(),
            entries,
        }
    }

    /// The shared folder.
    pub fn shared(&self) -> &Path {
        &self.shared
    }

    /// The clustbench root (`<shared>/datasets/clustbench`).
    pub fn clustbench_root(&self) -> PathBuf {
        self.shared.join("datasets").join(CLUSTBENCH)
    }

    /// Every entry: online-retail, cdnow, the synthetic presets, then the clustbench data
    /// sets by battery and name.
    pub fn entries(&self) -> &[Dataset] {
        &self.entries
    }

    /// Every id, in the order of [`Registry::entries`].
    pub fn ids(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.id.as_str()).collect()
    }

    /// The entry with this id. A `clustbench/<battery>/<name>` id that is not on disk still
    /// gives an entry, whose loading fails naming the missing file.
    ///
    /// # Errors
    /// [`DatasetError::Unknown`] for any other id not in the registry.
    pub fn get(&self, id: &str) -> Result<Dataset, DatasetError> {
        if let Some(e) = self.entries.iter().find(|e| e.id == id) {
            return Ok(e.clone());
        }
        let mut parts = id.split('/');
        if let (Some(CLUSTBENCH), Some(battery), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
            && !battery.is_empty()
            && !name.is_empty()
        {
            return Ok(clustbench_entry(&self.clustbench_root(), battery, name));
        }
        let mut known: Vec<&str> = self
            .entries
            .iter()
            .map(|e| e.id.as_str())
            .filter(|i| !i.starts_with(CLUSTBENCH))
            .collect();
        known.push("clustbench/<battery>/<name>");
        Err(DatasetError::Unknown {
            id: id.to_string(),
            known: known.join(", "),
        })
    }
}

/// The entry `id` of [`Registry::new`] when all its files exist. When one is missing:
/// panics under `CI=true`, otherwise prints why the test or benchmark is skipped and returns
/// `None` (the rule of [`shared::require`]).
///
/// # Panics
/// For an unknown id, and under `CI=true` for a missing file.
pub fn require(id: &str) -> Option<Dataset> {
    let d = Registry::new().get(id).unwrap_or_else(|e| panic!("{e}"));
    if let Some(p) = d.missing() {
        shared::skip_or_fail(&format!("{} (data set `{id}`)", p.display()));
        return None;
    }
    Some(d)
}

fn online_retail(datasets: &Path) -> Dataset {
    let mut file = DataFile::new(
        datasets.join("online-retail/online-retail.csv.gz"),
        "invoice lines",
    );
    file.sha256 = Some("737745256ddb4410bfe4e29f2dcb72329b7486e584837f1e84f9a07416cf7d45");
    file.sha256_gunzipped =
        Some("c35975c40d0e1e105090fbb11188a409393055f873841bd012915475fc84e69f");
    Dataset {
        id: ONLINE_RETAIL.into(),
        title: "UCI Online Retail: 541,909 invoice lines of a UK online gift shop, \
                2010-12-01 .. 2011-12-09"
            .into(),
        source: "UCI Machine Learning Repository, \"Online Retail\" (Daqing Chen, Sai Liang \
                 Sain, Kun Guo, 2012), doi 10.24432/C5BW33",
        licence: "CC BY 4.0",
        format: "gzip-compressed UTF-8 CSV: InvoiceNo, StockCode, Description, Quantity, \
                 InvoiceDate, UnitPrice, CustomerID, Country",
        ground_truth: None,
        files: vec![file],
        kind: Kind::OnlineRetail,
    }
}

fn cdnow_entry(datasets: &Path) -> Dataset {
    Dataset {
        id: CDNOW.into(),
        title: "CDNOW: 69,659 purchase lines of the 23,570 customers who first bought in \
                1997 Q1, to 1998-06-30"
            .into(),
        source: "CDNOW master data set (Fader, Hardie & Lee 2005, \"Counting your customers \
                 the easy way\"), as shipped in the lifetimes Python package",
        licence: "MIT (the lifetimes package)",
        format: "whitespace-separated text, one header line: customer id, date YYYYMMDD, \
                 number of CDs, dollar value of the line",
        ground_truth: None,
        files: vec![DataFile::new(
            datasets.join("cdnow/CDNOW_master.txt"),
            "purchase lines",
        )],
        kind: Kind::Cdnow,
    }
}

fn synthetic_entry(p: synthetic::Preset) -> Dataset {
    Dataset {
        id: p.id.into(),
        title: format!(
            "the seeded synthetic shop: {} customers, seed {}, 374 days from 2010-12-01",
            p.customers, p.seed
        ),
        source: "generated by insiders-synth (docs/synthetic-shop.md)",
        licence: "MIT OR Apache-2.0 (the project's)",
        format: "CSV bytes in memory, the UCI Online Retail columns",
        ground_truth: Some("the archetype of every customer (insiders_synth::Truth)"),
        files: Vec::new(),
        kind: Kind::Synthetic(p),
    }
}

fn clustbench_entry(root: &Path, battery: &str, name: &str) -> Dataset {
    let mut files = vec![DataFile::new(
        clustbench::data_file(root, battery, name),
        "points",
    )];
    let dir = root.join("data").join(battery);
    for j in 0.. {
        let p = dir.join(format!("{name}.labels{j}.gz"));
        if !p.exists() {
            break;
        }
        files.push(DataFile::new(p, format!("labels{j}")));
    }
    Dataset {
        id: format!("{CLUSTBENCH}/{battery}/{name}"),
        title: format!("clustering benchmark `{name}` of the `{battery}` battery"),
        source: CLUSTBENCH_SOURCE,
        licence: "AGPL-3.0 (LICENSE-data; published results: LICENSE-results)",
        format: "gzip text: <name>.data.gz whitespace-separated numbers, one point per line; \
                 <name>.labels<j>.gz one integer per line (0 = noise)",
        ground_truth: Some("reference labellings labels<j> (several = several valid truths)"),
        files,
        kind: Kind::Clustbench {
            battery: battery.into(),
            name: name.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_are_errors_listing_the_known_ones() {
        let r = Registry::at(Path::new("/nonexistent"));
        assert_eq!(
            r.ids()[..7],
            [
                "online-retail",
                "cdnow",
                "synthetic",
                "synthetic-10k",
                "synthetic-40k",
                "synthetic-100k",
                "synthetic-200k"
            ]
        );
        let e = r.get("uci").unwrap_err().to_string();
        assert!(
            e.contains("`uci`") && e.contains("online-retail, cdnow"),
            "{e}"
        );
        assert!(r.get("clustbench/fcps").is_err());
        let hepta = r.get("clustbench/fcps/hepta").unwrap();
        let e = hepta.load().unwrap_err();
        assert!(matches!(e, DatasetError::Missing { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("/nonexistent/datasets/clustbench/data/fcps/hepta.data.gz"),
            "{e}"
        );
    }

    #[test]
    fn missing_files_are_errors_naming_the_path() {
        let r = Registry::at(Path::new("/nonexistent"));
        for id in [ONLINE_RETAIL, CDNOW] {
            let d = r.get(id).unwrap();
            let want = d.files[0].path.display().to_string();
            assert_eq!(d.missing(), Some(d.files[0].path.as_path()));
            for e in [d.load().unwrap_err(), d.verify().unwrap_err()] {
                assert!(matches!(e, DatasetError::Missing { .. }), "{e}");
                assert!(e.to_string().contains(&want), "{e}");
            }
        }
    }

    #[test]
    fn a_synthetic_preset_loads_through_the_reader() {
        let d = Registry::at(Path::new("/nonexistent"))
            .get("synthetic")
            .unwrap();
        assert!(d.missing().is_none() && !d.has_checksum());
        assert_eq!(d.verify().unwrap(), 0);
        let lines = d.invoices(&Default::default()).unwrap();
        let Data::Shop(shop) = d.load().unwrap() else {
            panic!("not a shop")
        };
        assert_eq!(lines.report.rows_read, shop.stats.lines as u64);
        let cb = Registry::at(Path::new("/x")).get("clustbench/a/b").unwrap();
        let e = cb.invoices(&Default::default()).unwrap_err().to_string();
        assert!(e.contains("holds points with reference labellings"), "{e}");
    }
}
