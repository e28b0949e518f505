//! Domain code shared by fintra's examples and benchmarks.
//!
//! [`bank_account`] is the model aggregate the quickstart walks through: small enough to read in
//! one sitting, complete enough to show deciders, rejections, time travel and forks.
//! [`sample_data`] generates the Financial Twin sample files; [`twin_import`] loads them into a
//! twin (the `financial_twin` example and the Connect benchmark share it); [`outlook`] is the
//! flagship's balance forecast chart and Brain events.

pub mod bank_account;
pub mod outlook;
pub mod sample_data;
pub mod twin_import;
