//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! `migrations` folder at compile time, and cargo does not watch it on its own.

#![allow(clippy::print_stdout, reason = "a build script speaks to cargo on stdout")]

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
