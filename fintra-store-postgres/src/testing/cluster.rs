//! A private PostgreSQL cluster for destructive tests (feature `testing`): created in a
//! temporary directory with the installed server's `initdb`, started on a free loopback port,
//! stopped hard on demand, and removed when dropped. The shared server is never touched.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

/// A PostgreSQL cluster of the test's own.
#[derive(Debug)]
pub struct PrivateCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// Root may not run the server: commands then run as the `postgres` user.
    as_postgres: bool,
}

static CLUSTERS: AtomicU64 = AtomicU64::new(0);

/// The installed server's binaries: `FINTRA_PG_BINDIR`, else `pg_config --bindir`, else the
/// newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("FINTRA_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect())
        .unwrap_or_default();
    found.retain(|dir| dir.join("initdb").exists());
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries (initdb, pg_ctl) found: install PostgreSQL 15+ \
             (apt-get install postgresql) or set FINTRA_PG_BINDIR"
        )
    })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

impl PrivateCluster {
    /// Creates (`initdb`, trust authentication, user `postgres`) and starts a cluster.
    ///
    /// # Panics
    /// When the server binaries are missing or the cluster cannot be created or started.
    pub fn start() -> Self {
        let n = CLUSTERS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("fintra-cluster-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        let cluster = Self { dir, bin: bin_dir(), port: free_port(), as_postgres: is_root() };
        if cluster.as_postgres {
            let owned = Command::new("chown").arg("-R").arg("postgres:").arg(&cluster.dir).output();
            assert!(owned.is_ok_and(|o| o.status.success()), "chown the cluster directory");
        }
        let data = cluster.data_dir();
        let init = cluster.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
        );
        assert!(init.status.success(), "initdb failed: {}", String::from_utf8_lossy(&init.stderr));
        cluster.resume();
        cluster
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts the server (again) and waits until it accepts connections.
    ///
    /// # Panics
    /// When it does not start.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=60",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        let data = self.data_dir();
        let started = self
            .run("pg_ctl", &["-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start"]);
        assert!(
            started.status.success(),
            "pg_ctl start failed: {} (log: {log})",
            String::from_utf8_lossy(&started.stderr)
        );
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`): no checkpoint, open transactions
    /// cut off, crash recovery at the next start — what a power cut does to the server process.
    ///
    /// # Panics
    /// When `pg_ctl` fails.
    pub fn stop_immediately(&self) {
        let data = self.data_dir();
        let stopped = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        assert!(
            stopped.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&stopped.stderr)
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
