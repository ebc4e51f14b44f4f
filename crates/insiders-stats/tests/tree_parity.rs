//! The CART tree against scikit-learn 1.9.1's `DecisionTreeClassifier`
//! (`datasets/fixtures/stats/make_tests_reference.py`): the Insiders of the fixtures (Ward k = 10 on the
//! study's tree space, highest mean gross revenue) explained by 10 of the study's features.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use insiders_core::Matrix;
use insiders_fixtures::{fixture, read_table};
use insiders_stats::tree::{ClassWeight, DecisionTree, TreeConfig};

fn reference() -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tests_reference.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn data() -> Option<(Matrix, Vec<String>, Vec<bool>)> {
    let r = reference();
    let names: Vec<String> = r["tree_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let feats = read_table(&fixture("features.csv.gz")?);
    let ward = read_table(&fixture("ward_labels.csv.gz")?);
    let cluster = r["insider_cluster"].as_f64().unwrap();
    let y: Vec<bool> = ward
        .column("tree_space_k10")
        .iter()
        .map(|&l| l == cluster)
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (n, d, v) = feats.matrix(&refs);
    Some((Matrix::from_shape_vec((n, d), v).unwrap(), names, y))
}

#[test]
fn same_or_better_training_accuracy_than_sklearn() {
    let Some((x, names, y)) = data() else { return };
    let r = reference();
    assert_eq!(y.iter().filter(|&&v| v).count(), 1093);
    for depth in 1..=4 {
        for (cw, key) in [
            (ClassWeight::Uniform, "none"),
            (ClassWeight::Balanced, "balanced"),
        ] {
            let want = &r["tree"][format!("depth{depth}_{key}")];
            let cfg = TreeConfig {
                max_depth: depth,
                min_samples_leaf: 1,
                class_weight: cw,
            };
            let tree = DecisionTree::fit(x.view(), &names, &y, &cfg).unwrap();
            let s = tree.training_scores();
            assert_eq!(s, tree.evaluate(x.view(), &y).unwrap());
            let acc = want["accuracy"].as_f64().unwrap();
            let (j, t) = tree.nodes[0].split.unwrap();
            println!(
                "depth {depth} {key}: accuracy {:.6} (sklearn {acc:.6}), precision {:.4} recall {:.4}, leaves {} (sklearn {}), root {} <= {t}",
                s.accuracy,
                s.precision,
                s.recall,
                tree.n_leaves(),
                want["n_leaves"],
                names[j]
            );
            assert!(s.accuracy >= acc - 1e-12, "depth {depth} {key}");
            assert_eq!(names[j], want["root_feature"].as_str().unwrap());
            assert_eq!(t, want["root_threshold"].as_f64().unwrap());
            assert!(tree.depth() <= depth);
        }
    }
}

#[test]
fn rules_account_for_the_positive_leaves() {
    let Some((x, names, y)) = data() else { return };
    let tree = DecisionTree::fit(x.view(), &names, &y, &TreeConfig::new(3)).unwrap();
    let rules = tree.rules();
    let s = tree.training_scores();
    assert!(!rules.is_empty());
    for rule in &rules {
        println!(
            "{} — support {} ({:.1}%), precision {:.3}, recall {:.3}",
            rule.text,
            rule.support,
            100.0 * rule.support_share,
            rule.precision,
            rule.recall
        );
        // every training row meeting the rule's conditions is counted in its support
        let cols: Vec<usize> = rule
            .conditions
            .iter()
            .map(|c| names.iter().position(|n| n == &c.feature).unwrap())
            .collect();
        let (mut support, mut pos) = (0, 0);
        for (i, row) in x.outer_iter().enumerate() {
            let meets = rule.conditions.iter().zip(&cols).all(|(c, &j)| {
                c.lower.is_none_or(|l| row[j] > l) && c.upper.is_none_or(|u| row[j] <= u)
            });
            if meets {
                support += 1;
                pos += usize::from(y[i]);
            }
        }
        assert_eq!((support, pos), (rule.support, rule.positives));
    }
    // rules and scores serialise for the JSON answers
    let json = serde_json::to_string(&(&rules, &s)).unwrap();
    assert!(json.contains("\"precision\"") && json.contains(&rules[0].text));
    // the positive leaves partition the predicted members
    let total_pos: usize = rules.iter().map(|r| r.positives).sum();
    assert_eq!(total_pos, s.true_positives);
    let recall: f64 = rules.iter().map(|r| r.recall).sum();
    assert!((recall - s.recall).abs() < 1e-12);
}
