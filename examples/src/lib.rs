//! Domain code shared by fintra's examples and benchmarks.
//!
//! [`bank_account`] is the model aggregate the quickstart walks through: small enough to read in
//! one sitting, complete enough to show deciders, rejections, time travel and forks.

pub mod bank_account;
