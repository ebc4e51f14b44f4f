//! The registry on the shared data (`../shared`, or `INSIDERS_SHARED` / `INSIDERS_DATA`).
//! A missing data set skips locally and fails under `CI=true`.

use insiders_datasets::{Data, DatasetError, Kind, Registry, clustbench, require, shared};
use std::path::Path;

#[test]
fn the_registry_lists_every_entry() {
    let reg = Registry::new();
    let ids = reg.ids();
    assert_eq!(
        ids[..7],
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
    for e in reg.entries() {
        assert!(
            !e.source.is_empty() && !e.licence.is_empty() && !e.format.is_empty(),
            "{e:?}"
        );
        assert_eq!(reg.get(&e.id).as_ref().ok(), Some(e));
    }
    let Some(root) = shared::require(reg.clustbench_root().join("data")) else {
        return;
    };
    // Every `<name>.data.gz` of every battery folder is an entry, and nothing else.
    let mut on_disk = Vec::new();
    for b in std::fs::read_dir(&root).unwrap() {
        let b = b.unwrap();
        for f in std::fs::read_dir(b.path()).unwrap() {
            let f = f.unwrap().file_name().into_string().unwrap();
            if let Some(n) = f.strip_suffix(".data.gz") {
                on_disk.push(format!(
                    "clustbench/{}/{n}",
                    b.file_name().into_string().unwrap()
                ));
            }
        }
    }
    on_disk.sort();
    let listed: Vec<&str> = ids[7..].to_vec();
    assert_eq!(listed, on_disk);
    assert_eq!(
        listed
            .iter()
            .filter(|i| i.starts_with("clustbench/fcps/"))
            .count(),
        9,
        "the README's nine fcps data sets"
    );
    assert!(ids.contains(&"clustbench/fcps/hepta"));
    assert_eq!(
        clustbench::batteries(&reg.clustbench_root()).unwrap(),
        ["fcps", "sipu", "wut"]
    );
}

#[test]
fn the_uci_file_has_the_registered_checksums() {
    let Some(d) = require("online-retail") else {
        return;
    };
    assert!(d.has_checksum());
    // Both digests of the shared README: the gzip file and its CSV content.
    assert_eq!(d.verify().unwrap(), 2);
}

#[test]
fn a_changed_file_fails_its_checksum_naming_it() {
    let Some(d) = require("online-retail") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("online-retail.csv.gz");
    let mut bytes = std::fs::read(&d.files[0].path).unwrap();
    bytes.truncate(1000);
    std::fs::write(&copy, bytes).unwrap();
    let mut changed = d.clone();
    changed.files[0].path = copy;
    let e = changed.verify().unwrap_err();
    assert!(
        matches!(e, DatasetError::Checksum { what: "file", .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("online-retail.csv.gz: sha256 of the file"),
        "{e}"
    );
}

#[test]
fn the_uci_file_loads_through_the_reader() {
    let Some(d) = require("online-retail") else {
        return;
    };
    let Data::Invoices(l) = d.load().unwrap() else {
        panic!("not invoice lines")
    };
    assert_eq!(l.report.rows_read, 541_909);
}

#[test]
fn a_clustbench_data_set_loads_with_its_shape_and_labels() {
    let Some(d) = require("clustbench/fcps/hepta") else {
        return;
    };
    assert_eq!(
        d.kind,
        Kind::Clustbench {
            battery: "fcps".into(),
            name: "hepta".into()
        }
    );
    let Data::Points(b) = d.load().unwrap() else {
        panic!("not points")
    };
    assert_eq!(b.points.dim(), (212, 3));
    assert_eq!(b.labels.len(), 1);
    assert_eq!((b.clusters(0), b.noise(0)), (7, 0));
    let mut sizes = [0usize; 8];
    for l in b.labels[0].iter().flatten() {
        sizes[*l as usize] += 1;
    }
    assert_eq!(sizes, [0, 32, 30, 30, 30, 30, 30, 30]);

    // Two reference labellings; the second has noise (label 0).
    let Some(t) = require("clustbench/fcps/target") else {
        return;
    };
    let Data::Points(t) = t.load().unwrap() else {
        panic!("not points")
    };
    assert_eq!(t.points.dim(), (770, 2));
    assert_eq!((t.clusters(0), t.noise(0)), (6, 0));
    assert_eq!((t.clusters(1), t.noise(1)), (2, 12));
}

#[test]
fn published_results_are_read_per_method_and_k() {
    let root = Registry::new().clustbench_root();
    let Some(root) =
        shared::require(root.join("results")).and_then(|r| r.parent().map(Path::to_path_buf))
    else {
        return;
    };
    let r = clustbench::results(&root, "fcps", "hepta", 212).unwrap();
    let methods: Vec<(&str, usize, usize)> = r
        .iter()
        .map(|x| (x.method.as_str(), x.k, x.variants.len()))
        .collect();
    assert_eq!(
        methods,
        [
            ("Genie", 7, 5),
            ("fastcluster_ward", 7, 1),
            ("sklearn_gm", 7, 1),
            ("sklearn_kmeans", 7, 1)
        ]
    );
    assert_eq!(r[0].variants[1], "Genie_G0.3");
    for x in &r {
        for l in &x.labels {
            assert_eq!(l.len(), 212);
            assert!(
                l.iter().all(|v| v.is_some_and(|c| (1..=7).contains(&c))),
                "{}",
                x.path.display()
            );
        }
    }
    let t = clustbench::results(&root, "fcps", "target", 770).unwrap();
    assert_eq!(
        t.iter()
            .filter(|x| x.method == "Genie")
            .map(|x| x.k)
            .collect::<Vec<_>>(),
        [2, 6]
    );
}

#[test]
fn cdnow_loads_every_line_and_customer() {
    let Some(d) = require("cdnow") else {
        return;
    };
    let Data::Purchases(p) = d.load().unwrap() else {
        panic!("not purchases")
    };
    assert_eq!(p.len(), 69_659);
    assert_eq!(p.customers(), 23_570);
    let day = |s: &str| insiders_ingest::date::parse_day(s).unwrap();
    assert_eq!(p.period(), Some((day("1997-01-01"), day("1998-06-30"))));
    assert_eq!(
        (p.rows[0].customer_id, p.rows[0].quantity, p.rows[0].amount),
        (1, 1, 11.77)
    );
}

#[test]
fn a_missing_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::at(dir.path());
    for id in ["online-retail", "cdnow", "clustbench/fcps/hepta"] {
        let d = reg.get(id).unwrap();
        let want = d.files[0].path.display().to_string();
        assert!(want.starts_with(&dir.path().display().to_string()));
        let e = d.load().unwrap_err();
        assert!(matches!(e, DatasetError::Missing { .. }), "{id}: {e}");
        assert!(e.to_string().contains(&want), "{id}: {e}");
    }
}
