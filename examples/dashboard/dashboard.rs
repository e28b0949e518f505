//! The Financial Twin dashboard: one page — plain HTML, CSS and JavaScript, no build step — over
//! fintra-http's Views and its Pulse feed (server-sent events), on the embedded in-memory store
//! with the flagship's sample data.
//!
//! ```text
//! cargo run --example dashboard                      # http://127.0.0.1:8080
//! cargo run --example dashboard -- --addr 0.0.0.0:9000
//! ```
//! "Simulate next month" imports one more month of bank data; the page updates live through the
//! feed. `docs/http.md` describes the routes.

use std::io::Write as _;

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let mut address = "127.0.0.1:8080".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => address = args.next().ok_or("--addr needs host:port")?,
            other => {
                return Err(format!("unknown argument {other:?} (try --addr host:port)").into());
            }
        }
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let dashboard = fintra_dashboard::start(&address).await?;
        let mut out = std::io::stdout();
        writeln!(
            out,
            "fintra dashboard: {} (sample twin loaded in {:.2?}; Ctrl-C stops it)",
            dashboard.url,
            started.elapsed()
        )?;
        out.flush()?;
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
