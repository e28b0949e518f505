//! The OpenAPI document against the running server, with schemathesis (PyPI): generated
//! requests — well-formed and malformed — find no 5xx, and every answer matches the document
//! (status, content type, headers, body schema). The event stream is left out: it never ends.

#![allow(clippy::unwrap_used, reason = "tests fail on a setup error")]
#![allow(clippy::print_stdout, reason = "the test shows schemathesis's summary")]

mod common;

use common::{TENANT, served};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let s = served().await;
    let schema = format!("{}/openapi.json", s.base);
    let checks = [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "missing_required_header",
    ];
    let report = std::env::temp_dir().join(format!("fintra-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&report).unwrap();
    // The profile's real id and tenant, so generated requests also reach the 200 answers.
    let config = report.join("schemathesis.toml");
    std::fs::write(&config, format!("[parameters]\n\"path.id\" = \"{}\"\n", s.id)).unwrap();
    let output = tokio::process::Command::new("schemathesis")
        .args(["--config-file", &config.display().to_string()])
        .args(["run", &schema, "--checks", &checks.join(","), "--exclude-path-regex", "/events$"])
        .args(["--header", &format!("x-tenant-id: {TENANT}"), "--max-examples", "60", "--seed", "20261130"])
        .args(["--report-dir", &report.display().to_string(), "--no-color"])
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("could not run schemathesis ({e}): install it with `python3 -m pip install schemathesis` (scripts/test.sh does)")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "schemathesis found problems:\n{stdout}\n{stderr}");
    assert!(stdout.contains("passed") || stdout.contains("PASSED"), "no test ran:\n{stdout}");
    let summary: Vec<&str> = stdout.lines().rev().take(25).collect();
    println!("{}", summary.into_iter().rev().collect::<Vec<_>>().join("\n"));
    let _ = std::fs::remove_dir_all(report);
}
