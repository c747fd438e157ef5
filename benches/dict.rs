//! `make bench-dict`: shared_dict against Dovecot's `file` and `fs:posix`
//! drivers through Dovecot's own dict API, on the same workload in one run
//! (`benches/dict-bench.c` does the work per driver).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

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

fn run(exe: &Path, modules: &Path, uri: &str, work: Work) -> HashMap<String, f64> {
    let out = Command::new(exe)
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
        .output()
        .expect("run dict-bench");
    assert!(
        out.status.success(),
        "dict-bench {uri}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.strip_prefix("RESULT ")?.split(' ');
            Some((parts.next()?.to_string(), parts.next()?.parse().ok()?))
        })
        .collect()
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
        let small = run(
            &exe,
            &modules,
            &uri(driver.name),
            work(SMALL_USERS, 1, 0, 0),
        );
        let rate = small["populate_commits"] / small["populate_seconds"];
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
        let iterate = format!(
            "{:.3} ({} runs)",
            large["iterate_ms_each"], large["iterate_done"]
        );
        let concurrent = run(&exe, &modules, &uri(driver.name), work(0, 1, 0, WRITERS));
        rows.push((
            driver.name,
            format!("{rate:.0}"),
            iterate,
            format!("{:.0}", concurrent["concurrent_commits_per_second"]),
            format!("{}", concurrent["concurrent_lost"]),
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
        let ratio = small_rate[name] / small_rate["file"];
        println!("| {name} | {rate} | {ratio:.1}x | {iterate} | {concurrent} | {lost} | {disk} |");
    }
}
