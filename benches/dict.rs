//! `make bench-dict`: shared_dict against Dovecot's `file` and `fs:posix`
//! drivers through Dovecot's own dict API, on the same workload in one run
//! (`benches/dict-bench.c` does the work per driver).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SMALL_USERS: u32 = 1_000; // 10,000 keys
const LARGE_USERS: u32 = 10_000; // 100,000 keys
const ITERATIONS: u32 = 200;
const WRITERS: u32 = 8;
const COMMITS_EACH: u32 = 250;

/// A driver under test: the dict URI of a fresh, empty store under `dir`.
struct Driver {
    name: &'static str,
    fresh_uri: Box<dyn Fn(&Path) -> String>,
    /// Whether the store lives in `dir` (files and bytes can be counted).
    on_disk: bool,
}

fn drivers(pg: &common::postgres::TestPostgres) -> Vec<Driver> {
    let conninfo = pg.conninfo.clone();
    vec![
        Driver {
            name: "shared_dict",
            fresh_uri: Box::new(|d| format!("shared_dict:{}", d.display())),
            on_disk: true,
        },
        Driver {
            name: "shared_dict pgsql",
            fresh_uri: Box::new(move |_| {
                let out = Command::new("psql")
                    .arg(&conninfo)
                    .args(["-qc", "DROP TABLE IF EXISTS shared_dict"])
                    .output();
                assert!(
                    out.is_ok_and(|o| o.status.success()),
                    "psql could not reset the table"
                );
                format!("shared_dict:pgsql:{conninfo}")
            }),
            on_disk: false,
        },
        Driver {
            name: "file",
            fresh_uri: Box::new(|d| format!("file:{}/shares.dict", d.display())),
            on_disk: true,
        },
        Driver {
            name: "fs:posix",
            fresh_uri: Box::new(|d| format!("fs:posix:prefix={}/", d.display())),
            on_disk: true,
        },
    ]
}

/// What one run of dict-bench does.
struct Work {
    users: u32,
    batch: u32,
    iterations: u32,
    writers: u32,
}

/// Longest one driver's run may take; Dovecot 2.3.19's fs:posix iterator
/// was seen re-reading one directory without end.
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// The RESULT values of one run, or None when it did not finish in time.
fn run(exe: &Path, modules: &Path, uri: &str, work: Work) -> Option<HashMap<String, f64>> {
    let mut child = Command::new(exe)
        .arg(modules)
        .arg(uri)
        .args(
            [
                work.users,
                work.batch,
                work.iterations,
                work.writers,
                COMMITS_EACH,
            ]
            .map(|n| n.to_string()),
        )
        .env_remove("LD_LIBRARY_PATH")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run dict-bench");
    let started = Instant::now();
    while child.try_wait().expect("wait for dict-bench").is_none() {
        if started.elapsed() > RUN_LIMIT {
            let _ = Command::new("pkill")
                .arg("-KILL")
                .arg("-P")
                .arg(child.id().to_string())
                .status();
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("dict-bench output");
    assert!(out.status.success(), "dict-bench {uri} failed");
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut parts = l.strip_prefix("RESULT ")?.split(' ');
                Some((parts.next()?.to_string(), parts.next()?.parse().ok()?))
            })
            .collect(),
    )
}

fn fresh(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name.replace(':', "-"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_and_bytes(dir: &Path) -> (u64, u64) {
    let mut pending = vec![dir.to_path_buf()];
    let (mut files, mut bytes) = (0, 0);
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(d).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                files += 1;
                bytes += std::os::unix::fs::MetadataExt::blocks(&meta) * 512;
            }
        }
    }
    (files, bytes)
}

fn main() {
    let root = common::scratch_dir("bench-dict");
    let modules = common::module_dir(&root);
    let exe = root.join("dict-bench");
    common::compile_c(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/dict-bench.c"),
        &exe,
    );

    let pg = common::postgres::TestPostgres::start();
    let mut rows: Vec<(&str, String, String, String, String, String)> = Vec::new();
    let mut small_rate = HashMap::new();
    for driver in drivers(&pg) {
        let uri = |name: &str| (driver.fresh_uri)(&fresh(&root, name));
        let work = |users, batch, iterations, writers| Work {
            users,
            batch,
            iterations,
            writers,
        };
        let timed_out = || format!("did not finish in {}s", RUN_LIMIT.as_secs());
        let small = run(
            &exe,
            &modules,
            &uri(driver.name),
            work(SMALL_USERS, 1, 0, 0),
        );
        let rate = small.map(|r| r["populate_commits"] / r["populate_seconds"]);
        small_rate.insert(driver.name, rate);

        // 100,000 keys, loaded in transactions of 1,000 (the file driver
        // rewrites itself per commit, so one per change would take hours).
        let large = run(
            &exe,
            &modules,
            &uri(driver.name),
            work(LARGE_USERS, 1000, ITERATIONS, 0),
        );
        let disk = if driver.on_disk {
            let (files, bytes) = files_and_bytes(&root.join(driver.name.replace(':', "-")));
            format!("{files} files, {:.1} MB", bytes as f64 / 1e6)
        } else {
            "(database server)".to_string()
        };
        let iterate = large.map_or_else(timed_out, |r| {
            format!("{:.3} ({} runs)", r["iterate_ms_each"], r["iterate_done"])
        });
        let concurrent = run(&exe, &modules, &uri(driver.name), work(0, 1, 0, WRITERS));
        rows.push((
            driver.name,
            rate.map_or_else(timed_out, |r| format!("{r:.0}")),
            iterate,
            concurrent.as_ref().map_or_else(timed_out, |c| {
                format!("{:.0}", c["concurrent_commits_per_second"])
            }),
            concurrent
                .as_ref()
                .map_or_else(|| "?".into(), |c| format!("{}", c["concurrent_lost"])),
            disk,
        ));
    }

    println!("\n## shared_dict against Dovecot's dict drivers (Dovecot dict API, same run)\n");
    println!("- writes: 10,000 keys (1,000 users x 10 shares), one transaction per change, fsync as each driver does");
    println!("- iterate: owners visible to one user with 100,000 keys stored (mean over up to {ITERATIONS} users, 20 s at most)");
    println!("- concurrent: {WRITERS} processes x {COMMITS_EACH} commits at once; lost = commits not found afterwards\n");
    println!("| driver | writes/s at 10k keys | ratio to file | iterate ms (100k keys) | concurrent commits/s | lost | files and disk (100k keys) |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (name, rate, iterate, concurrent, lost, disk) in rows {
        let ratio = match (small_rate[name], small_rate["file"]) {
            (Some(ours), Some(file)) => format!("{:.1}x", ours / file),
            _ => "?".into(),
        };
        println!("| {name} | {rate} | {ratio} | {iterate} | {concurrent} | {lost} | {disk} |");
    }
}
