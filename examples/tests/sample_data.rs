//! The committed sample files are exactly what the generator produces from the fixed seed, so
//! they can be regenerated (and reviewed) at any time.

use std::path::PathBuf;

use examples::sample_data::{SEED, generate};

#[test]
fn sample_data_is_up_to_date() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    for (name, expected) in generate(SEED).files() {
        let committed = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("examples/data/{name}: {e}"));
        assert!(
            committed == expected,
            "examples/data/{name} differs from the generator: run `cargo run --example generate_sample_data`"
        );
    }
}

#[test]
fn another_seed_gives_other_data_and_the_same_seed_the_same() {
    assert_eq!(generate(7), generate(7));
    assert_ne!(generate(7).plaid_transactions, generate(8).plaid_transactions);
}
