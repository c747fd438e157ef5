//! The embedded shared_dict store: dictionary semantics, several processes
//! writing at once, processes killed at random points, and damaged files.
//!
//! Worker processes are this test binary run again with `SIC_DICT_WORKER`
//! set (see `worker`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use shared_imapc::dict::log_store::{LogOptions, LogStore};
use shared_imapc::dict::{Dict, DictError, Op};

fn store_dir(name: &str) -> PathBuf {
    common::scratch_dir(&format!("dict-{name}"))
}

fn set(k: &str, v: &str) -> Op {
    Op::Set(k.into(), v.into())
}

#[test]
fn dictionary_semantics() {
    let dir = store_dir("semantics");
    common::dict_semantics::check(&mut Dict::open(dir.to_str().unwrap()).unwrap());
}

#[test]
fn another_handle_sees_a_commit_at_its_next_lookup() {
    let dir = store_dir("visibility");
    let mut a = Dict::open(dir.to_str().unwrap()).unwrap();
    let mut b = Dict::open(dir.to_str().unwrap()).unwrap();
    assert_eq!(b.lookup(None, "shared/k").unwrap(), None);
    a.commit(None, &[set("shared/k", "v1")]).unwrap();
    assert_eq!(b.lookup(None, "shared/k").unwrap().as_deref(), Some("v1"));
    b.commit(None, &[set("shared/k", "v2")]).unwrap();
    assert_eq!(a.lookup(None, "shared/k").unwrap().as_deref(), Some("v2"));
}

#[test]
fn compaction_keeps_the_state_and_bounds_the_files() {
    let dir = store_dir("compaction");
    let options = LogOptions {
        compact_min_bytes: 4096,
        ..LogOptions::default()
    };
    let mut writer = LogStore::open(&dir, options.clone()).unwrap();
    let mut reader = LogStore::open(&dir, options).unwrap();
    for round in 0..2000 {
        writer
            .commit(&[set(
                &format!("shared/k{}", round % 50),
                &format!("v{round}"),
            )])
            .unwrap();
        if round % 97 == 0 {
            assert_eq!(
                reader.lookup(&format!("shared/k{}", round % 50)).unwrap(),
                Some(format!("v{round}"))
            );
        }
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(
        files <= 3,
        "lock plus at most two generations, found {files}"
    );
    assert!(writer.position().0 > 2, "compacted several times");
    let all = reader.scan("shared/").unwrap();
    assert_eq!(all.len(), 50);
    assert!(all.iter().any(|(k, v)| k == "shared/k49" && v == "v1999"));
}

#[test]
fn a_torn_tail_is_ignored_and_cut_off_by_the_next_writer() {
    let dir = store_dir("torn");
    let mut d = LogStore::open(&dir, LogOptions::default()).unwrap();
    d.commit(&[set("shared/a", "1")]).unwrap();
    d.commit(&[set("shared/b", "2"), set("shared/c", "3")])
        .unwrap();
    let log = dir.join("log.1");
    let len = std::fs::metadata(&log).unwrap().len();
    // A writer killed in the middle of its last record.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 5)
        .unwrap();

    let mut fresh = LogStore::open(&dir, LogOptions::default()).unwrap();
    assert_eq!(fresh.lookup("shared/a").unwrap().as_deref(), Some("1"));
    assert_eq!(
        fresh.lookup("shared/b").unwrap(),
        None,
        "none of the torn transaction"
    );
    assert_eq!(fresh.lookup("shared/c").unwrap(), None);
    fresh.commit(&[set("shared/d", "4")]).unwrap();
    let warning = fresh.next_warning().expect("a warning about the cut");
    assert!(
        warning.contains("interrupted write") && warning.contains("log.1"),
        "{warning}"
    );
    assert_eq!(
        LogStore::open(&dir, LogOptions::default())
            .unwrap()
            .lookup("shared/d")
            .unwrap()
            .as_deref(),
        Some("4")
    );
}

#[test]
fn damage_in_the_middle_is_reported_with_file_and_offset() {
    let dir = store_dir("corrupt");
    let mut d = LogStore::open(&dir, LogOptions::default()).unwrap();
    d.commit(&[set("shared/a", "first")]).unwrap();
    let offset = std::fs::metadata(dir.join("log.1")).unwrap().len();
    d.commit(&[set("shared/b", "second")]).unwrap();
    d.commit(&[set("shared/c", "third")]).unwrap();
    let log = dir.join("log.1");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[offset as usize + 20] ^= 0x40; // inside the second commit's payload
    std::fs::write(&log, &bytes).unwrap();

    let mut fresh = LogStore::open(&dir, LogOptions::default()).unwrap();
    let err = fresh.lookup("shared/a").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, DictError::Corrupt { .. }), "{message}");
    assert!(
        message.contains(&format!("log.1 at offset {offset}")) && message.contains("checksum"),
        "{message}"
    );
    assert!(
        fresh.commit(&[set("shared/z", "1")]).is_err(),
        "no writes on top of damage"
    );
}

#[test]
fn bad_directories_are_named() {
    let missing = Path::new("/nonexistent/shared-dict");
    let err = Dict::open(missing.to_str().unwrap())
        .err()
        .expect("missing directory");
    assert!(
        err.to_string().contains("/nonexistent/shared-dict"),
        "{err}"
    );
    let err = Dict::open("relative/dir").err().expect("relative path");
    assert!(err.to_string().contains("absolute directory"), "{err}");
}

// ---- several processes ------------------------------------------------

const WORKER_ENV: &str = "SIC_DICT_WORKER";

fn spawn_worker(dir: &Path, role: &str, id: usize, count: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["worker", "--exact", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, format!("{role}:{id}:{count}:{}", dir.display()))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs only inside a worker process: writes as its role says.
#[test]
fn worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        return;
    };
    let mut parts = spec.splitn(4, ':');
    let (role, id, count, dir) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let count: usize = count.parse().unwrap();
    let options = LogOptions {
        compact_min_bytes: 8192,
        ..LogOptions::default()
    };
    let mut store = LogStore::open(Path::new(dir), options).unwrap();
    for i in 0..count {
        let ops = match role {
            // Each commit adds its own key and bumps the shared counter.
            "writer" => vec![
                set(&format!("shared/w{id}/k{i}"), "1"),
                Op::Inc("shared/counter".into(), 1),
            ],
            // Each commit writes key i and the marker "last=i" together.
            _ => vec![
                set(&format!("shared/seq/k{i:06}"), "1"),
                set("shared/seq/last", &i.to_string()),
            ],
        };
        store.commit(&ops).unwrap();
    }
}

#[test]
fn eight_processes_writing_at_once_lose_no_commit() {
    let dir = store_dir("concurrent");
    let mut setup = LogStore::open(&dir, LogOptions::default()).unwrap();
    setup.commit(&[set("shared/counter", "0")]).unwrap();
    let (workers, each) = (8, 150);
    let children: Vec<Child> = (0..workers)
        .map(|id| spawn_worker(&dir, "writer", id, each))
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut check = LogStore::open(&dir, LogOptions::default()).unwrap();
    assert_eq!(
        check.lookup("shared/counter").unwrap(),
        Some((workers * each).to_string())
    );
    for id in 0..workers {
        assert_eq!(
            check.scan(&format!("shared/w{id}/")).unwrap().len(),
            each,
            "worker {id}"
        );
    }
}

#[test]
fn a_writer_killed_at_random_points_leaves_whole_transactions() {
    let dir = store_dir("killed");
    let mut rng = 0x2545F4914F6CDD1Du64;
    for round in 0..12 {
        let mut child = spawn_worker(&dir, "sequence", round, 1_000_000);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(30 + rng % 150));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let mut store = LogStore::open(&dir, LogOptions::default()).unwrap();
        let rows = store.scan("shared/seq/k").unwrap();
        let last = store.lookup("shared/seq/last").unwrap();
        if let Some(last) = last {
            let last: usize = last.parse().unwrap();
            // Every committed key exists; the last marker came with its key.
            assert!(
                rows.iter()
                    .any(|(k, _)| k == &format!("shared/seq/k{last:06}")),
                "round {round}"
            );
            assert!(
                rows.len() > last,
                "round {round}: keys up to the marker must all be there"
            );
        }
        // The store still takes writes.
        store
            .commit(&[set("shared/alive", &round.to_string())])
            .unwrap();
    }
}
