//! # fintra-ml — the Brain
//!
//! This crate will hold the fast brain (categorisation cascade, merchant resolution, recurrence
//! detection, anomaly scores) and the slow brain (training from archives, ONNX models served by a
//! pure-Rust runtime, cash-flow forecasts) described in DESIGN §7.
//!
//! It has no public items yet: nothing here pretends to work before it does.
