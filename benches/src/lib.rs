//! fintra's benchmarks live in this package's `[[bench]]` targets; run them with
//! `cargo bench -p benches`. Results and the machine they ran on are in `docs/benchmarks.md`.
