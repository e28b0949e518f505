//! # fintra-store-parquet — the cold tier
//!
//! This crate will hold `ParquetArchive`: immutable, verifiable Parquet archives of the event log
//! on local disk or S3, tiering from the warm store, and replay from archives (DESIGN §4, issue 7).
//!
//! It has no public items yet: nothing here pretends to work before it does.
