//! Trains the categoriser's model on lines generated from the catalogue, exports it as ONNX with
//! its model card, and shows it at work on the lines given:
//!
//! ```text
//! cargo run --release -p fintra-ml --example train -- --lines 200000 --out target/model "QWIXO PIZZA NAPOLI"
//! ```
//!
//! Load the file with `fintra_ml::model::OnnxModel::load` (feature `onnx`) and hand it to
//! `Cascade::set_model`; the trained model can be handed over directly too.

#![allow(clippy::print_stdout, reason = "an example prints")]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use fintra_ml::model::onnx::to_onnx;
use fintra_ml::model::{TrainOptions, train_generated};
use fintra_ml::{Cascade, Catalogue, Transaction};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut lines, mut out, mut texts) = (200_000usize, PathBuf::from("target/model"), Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lines" => lines = args.next().ok_or("--lines needs a number")?.parse()?,
            "--out" => out = PathBuf::from(args.next().ok_or("--out needs a directory")?),
            _ => texts.push(arg),
        }
    }
    let catalogue = Catalogue::builtin()?;
    let started = Instant::now();
    let model = train_generated(&catalogue, lines, 11, TrainOptions::default());
    println!("trained on {lines} generated lines in {:.1?}", started.elapsed());
    println!("{}", serde_json::to_string_pretty(&model.card)?);
    std::fs::create_dir_all(&out)?;
    let onnx = to_onnx(&model);
    let path = out.join("categoriser.onnx");
    std::fs::write(&path, &onnx)?;
    std::fs::write(out.join("model_card.json"), serde_json::to_string_pretty(&model.card)?)?;
    println!("wrote {} ({} bytes)", path.display(), onnx.len());
    let cascade = Cascade::new(&catalogue);
    cascade.set_model(Some(Arc::new(model)));
    for text in &texts {
        let r = cascade.categorise(&Transaction {
            description: text,
            amount_minor: -1_000,
            mcc: None,
            country: None,
            profile: None,
        });
        println!("{text:<40} {:<28} {:.2} by {:?}", r.category, r.confidence, r.lineage.layer);
    }
    Ok(())
}
