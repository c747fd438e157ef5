//! `shared-dict`: the administrator's tool for a shared_dict store.
//!
//! ```text
//! shared-dict dump STORE [PREFIX]      print key<TAB>value lines (shared/ keys), sorted
//! shared-dict check DIR                read every record; exit 1 on damage
//! shared-dict compact DIR              rewrite the state into a new generation
//! shared-dict import-file STORE FILE   import a Dovecot `file:` dict
//! shared-dict import-fs STORE FSDIR    import a Dovecot `fs:posix:prefix=FSDIR/` dict
//! ```
//!
//! STORE is what follows `shared_dict:` in the URI: a directory, or
//! `pgsql:<connection string>`. Run it as the mail user that owns the
//! store, so new files get the right owner. Imports are one transaction:
//! all keys or none.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use shared_imapc::dict::log_store::{LogOptions, LogStore};
use shared_imapc::dict::{Dict, DictError, IterateFlags, Op};
use shared_imapc::tab_escape::unescape as tab_unescape;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["dump", store] => dump(store, "shared/"),
        ["dump", store, prefix] => dump(store, prefix),
        ["check", dir] => check(Path::new(dir)),
        ["compact", dir] => open(Path::new(dir))
            .and_then(|mut s| s.compact())
            .map(|()| println!("compacted")),
        ["import-file", store, file] => import(store, read_file_dict(Path::new(file))),
        ["import-fs", store, fs_dir] => import(store, read_fs_dict(Path::new(fs_dir))),
        _ => {
            eprintln!(
                "usage: shared-dict dump STORE [PREFIX] | check DIR | compact DIR | import-file STORE FILE | import-fs STORE FSDIR"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shared-dict: {e}");
            ExitCode::FAILURE
        }
    }
}

fn open(dir: &Path) -> Result<LogStore, DictError> {
    LogStore::open(dir, LogOptions::default())
}

fn dump(store: &str, prefix: &str) -> Result<(), DictError> {
    let all = IterateFlags {
        recurse: true,
        ..IterateFlags::default()
    };
    for (key, value) in Dict::open(store)?.iterate(None, prefix, all)? {
        println!("{key}\t{value}");
    }
    Ok(())
}

fn check(dir: &Path) -> Result<(), DictError> {
    let mut store = open(dir)?;
    let keys = store.scan("")?.len();
    let (generation, size) = store.position();
    println!("ok: generation {generation}, {size} bytes of log, {keys} keys");
    Ok(())
}

fn import(store: &str, pairs: Result<Vec<(String, String)>, DictError>) -> Result<(), DictError> {
    let ops: Vec<Op> = pairs?.into_iter().map(|(k, v)| Op::Set(k, v)).collect();
    Dict::open(store)?.commit(None, &ops)?;
    println!("imported {} keys", ops.len());
    Ok(())
}

/// Dovecot's `file:` dict: key and value lines in turn, tab-escaped.
fn read_file_dict(path: &Path) -> Result<Vec<(String, String)>, DictError> {
    let text = std::fs::read_to_string(path).map_err(|e| DictError::io(path, "cannot read", e))?;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() % 2 != 0 {
        return Err(DictError::Invalid(format!(
            "{}: a key without a value on its last line",
            path.display()
        )));
    }
    Ok(lines
        .chunks(2)
        .map(|kv| (tab_unescape(kv[0]), tab_unescape(kv[1])))
        .collect())
}

/// Dovecot's `fs:posix` dict: one file per key, its path below the prefix
/// directory (`shared/` stripped) and its contents the value. Every file
/// becomes a `shared/` key, which is all the acl plugin's dict holds.
fn read_fs_dict(root: &Path) -> Result<Vec<(String, String)>, DictError> {
    let mut pairs = Vec::new();
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| DictError::io(&dir, "cannot list", e))? {
            let path = entry
                .map_err(|e| DictError::io(&dir, "cannot list", e))?
                .path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .expect("below root")
                .to_string_lossy()
                .into_owned();
            let value = std::fs::read_to_string(&path)
                .map_err(|e| DictError::io(&path, "cannot read", e))?;
            pairs.push((format!("shared/{relative}"), value));
        }
    }
    pairs.sort();
    Ok(pairs)
}
