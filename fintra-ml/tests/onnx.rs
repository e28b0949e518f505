//! The exported model: `tract-onnx` serves the ONNX file with the same probabilities as the
//! model trained in Rust, `onnxruntime` (from PyPI, installed by `scripts/test.sh`) agrees with
//! both within 1e-5, a bad file is a typed error naming it, and swapping models at run time
//! changes the version in lineage.

#![cfg(feature = "onnx")]
#![allow(clippy::unwrap_used, reason = "test setup fails the test")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fintra_ml::model::onnx::to_onnx;
use fintra_ml::model::{
    Classifier, FEATURES_DIM, LinearModel, ModelError, OnnxModel, SparseFeatures, TrainOptions,
    featurise, train_generated,
};
use fintra_ml::{Cascade, Catalogue, Layer, Transaction, parse};

fn dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Statement lines of the hand-written set (not the generator's).
fn fixture_lines() -> Vec<(String, i64)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/statements_handwritten_a.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take(60)
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let amount: f64 = v["amount"].as_str().unwrap().parse().unwrap();
            #[allow(clippy::cast_possible_truncation, reason = "small amounts")]
            (v["text"].as_str().unwrap().to_owned(), (amount * 100.0).round() as i64)
        })
        .collect()
}

fn model(seed: u64) -> LinearModel {
    let catalogue = Catalogue::builtin().unwrap();
    train_generated(&catalogue, 20_000, seed, TrainOptions { epochs: 2, ..TrainOptions::default() })
}

fn features(lines: &[(String, i64)]) -> Vec<SparseFeatures> {
    lines.iter().map(|(text, amount)| featurise(&parse(text), *amount, FEATURES_DIM)).collect()
}

#[test]
fn tract_and_onnxruntime_agree_with_the_rust_model() {
    let trained = model(3);
    let path = dir().join("categoriser.onnx");
    std::fs::write(&path, to_onnx(&trained)).unwrap();
    let served = OnnxModel::load(&path).unwrap();
    assert_eq!(served.card(), &trained.card);
    assert_eq!(Classifier::classes(&served), trained.classes.as_slice());
    let rows = features(&fixture_lines());
    let mut fixture = Vec::new();
    for x in &rows {
        let expected = trained.predict(x);
        let got = served.predict(x).unwrap();
        let worst = expected.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst <= 1e-5, "tract differs by {worst}");
        fixture.push(
            serde_json::json!({"indices": x.indices, "values": x.values, "expected": expected}),
        );
    }
    let fixture_path = dir().join("fixture.json");
    let body = serde_json::json!({"dim": FEATURES_DIM, "rows": fixture});
    std::fs::write(&fixture_path, body.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/onnxruntime_parity.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(&path)
        .arg(&fixture_path)
        .output()
        .unwrap_or_else(|e| panic!("python3 could not run ({e}): the parity test needs it"));
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{said}");
    assert!(out.status.success(), "onnxruntime disagrees or is missing: {said}");
}

#[test]
fn a_missing_or_corrupt_file_is_a_typed_error_naming_it() {
    let missing = dir().join("nope.onnx");
    let error = OnnxModel::load(&missing).unwrap_err();
    assert!(matches!(error, ModelError::Io { ref path, .. } if path == &missing), "{error}");
    assert!(error.to_string().contains("nope.onnx"));
    let corrupt = dir().join("corrupt.onnx");
    let mut bytes = to_onnx(&model(5));
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&corrupt, &bytes).unwrap();
    let error = OnnxModel::load(&corrupt).unwrap_err();
    assert!(matches!(error, ModelError::Invalid { ref path, .. } if path == &corrupt), "{error}");
    std::fs::write(&corrupt, b"not a model at all").unwrap();
    assert!(matches!(OnnxModel::load(&corrupt), Err(ModelError::Invalid { .. })));
}

/// A model sure of one class whatever the input: its bias says so.
fn sure_of(class: usize, version: &str) -> LinearModel {
    let classes = vec!["eating_out.coffee".to_owned(), "shopping.other".to_owned()];
    let mut bias = vec![0.0; 2];
    bias[class] = 6.0;
    LinearModel {
        dim: FEATURES_DIM,
        weights: vec![0.0; FEATURES_DIM * 2],
        bias,
        card: fintra_ml::model::ModelCard {
            version: version.to_owned(),
            data_hash: String::new(),
            examples: 0,
            epochs: 0,
            holdout_accuracy: None,
        },
        classes,
    }
}

#[test]
fn models_swap_at_run_time_and_lineage_names_the_one_that_decided() {
    let cascade = Cascade::new(&Catalogue::builtin().unwrap());
    let unknown = Transaction {
        description: "ZQXW 8812",
        amount_minor: -1_250,
        mcc: None,
        country: None,
        profile: None,
    };
    assert_eq!(cascade.categorise(&unknown).lineage.layer, Layer::Unknown);
    let path = dir().join("coffee.onnx");
    std::fs::write(&path, to_onnx(&sure_of(0, "test-coffee"))).unwrap();
    cascade.set_model(Some(Arc::new(OnnxModel::load(&path).unwrap())));
    let r = cascade.categorise(&unknown);
    assert_eq!(
        (r.category.as_str(), r.lineage.layer, r.lineage.version.as_str()),
        ("eating_out.coffee", Layer::Model, "test-coffee")
    );
    cascade.set_model(Some(Arc::new(sure_of(1, "test-shopping"))));
    let r = cascade.categorise(&unknown);
    assert_eq!(
        (r.category.as_str(), r.lineage.version.as_str()),
        ("shopping.other", "test-shopping")
    );
    // Rules still come first: a known merchant is never the model's.
    let tesco = Transaction { description: "TESCO STORES 3297", ..unknown };
    assert_eq!(cascade.categorise(&tesco).lineage.layer, Layer::MerchantTruth);
    cascade.set_model(None);
    assert_eq!(cascade.categorise(&unknown).lineage.layer, Layer::Unknown);
}
