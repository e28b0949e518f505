//! Writes the sample data (`examples/data/`) from the fixed seed.
//!
//! `cargo run --example generate_sample_data [-- <seed>]`. With the default seed the output is
//! byte-for-byte the committed files (a test checks it).

use std::path::PathBuf;

use examples::sample_data::{SEED, generate};

fn main() -> std::io::Result<()> {
    let seed = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(SEED);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    std::fs::create_dir_all(&dir)?;
    for (name, contents) in generate(seed).files() {
        std::fs::write(dir.join(name), contents)?;
        #[allow(clippy::print_stdout, reason = "a command-line tool reports what it wrote")]
        {
            println!("wrote {}", dir.join(name).display());
        }
    }
    Ok(())
}
