//! The embedded store: a directory on a filesystem every backend shares (NFS
//! in production), read and written by many processes on many hosts.
//!
//! Files: `lock` (fcntl locks), `log.<generation>` (one or two of them).
//! A generation file starts with a snapshot of the whole state and goes on
//! with one checksummed record per committed transaction. Compaction writes
//! the next generation (a fresh snapshot) and closes the old one with a
//! `Moved` record that sends readers on.
//!
//! - Writers hold the exclusive lock while they write at the end they found
//!   (positioned writes, never O_APPEND) and `fdatasync` before a commit
//!   returns; a torn tail left by a killed writer is cut off first.
//! - Readers take the shared lock (which also makes an NFS client revalidate
//!   its cache) and read only what was appended since they last looked.
//! - Nothing relies on rename: generation files are created, written,
//!   synced and only then pointed to.
//! - Damage (a bad record followed by valid ones) is reported with the file
//!   and offset and never read as data.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::record::{decode, next_valid, Change, Invalid, Record};
use super::{DictError, DictResult};
use crate::sys::file_lock::{FileLock, LockKind};

/// Tuning of the embedded store.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// How long to wait for another process's lock.
    pub lock_timeout: Duration,
    /// Compact when the log is this many times larger than the live data …
    pub compact_ratio: u64,
    /// … and larger than this.
    pub compact_min_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            lock_timeout: Duration::from_secs(10),
            compact_ratio: 4,
            compact_min_bytes: 1 << 20,
        }
    }
}

/// One process's handle on the store.
pub struct LogStore {
    dir: PathBuf,
    options: LogOptions,
    lock_file: File,
    generation: u64,
    file: File,
    /// Bytes of `file` already applied to `map`.
    applied: u64,
    map: BTreeMap<String, String>,
    /// Bytes the live keys and values take (to decide on compaction).
    live_bytes: u64,
    /// Things worth a warning in the log (torn tails cut off, …).
    warnings: Vec<String>,
}

impl LogStore {
    /// Opens the store in `dir`, which must exist and be writable; creates
    /// its files on first use.
    pub fn open(dir: &Path, options: LogOptions) -> DictResult<LogStore> {
        let meta = std::fs::metadata(dir)
            .map_err(|e| DictError::io(dir, "cannot use the store directory", e))?;
        if !meta.is_dir() {
            return Err(DictError::Config(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let lock_path = dir.join("lock");
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| DictError::io(&lock_path, "cannot open", e))?;
        let generation = {
            let _shared = lock(
                &lock_file,
                &lock_path,
                LockKind::Shared,
                options.lock_timeout,
            )?;
            newest_generation(dir)?
        };
        let generation = match generation {
            Some(g) => g,
            None => {
                let _exclusive = lock(
                    &lock_file,
                    &lock_path,
                    LockKind::Exclusive,
                    options.lock_timeout,
                )?;
                match newest_generation(dir)? {
                    Some(g) => g,
                    None => {
                        write_generation(dir, 1, &BTreeMap::new())?;
                        1
                    }
                }
            }
        };
        let file = open_generation(dir, generation)?;
        Ok(LogStore {
            dir: dir.to_path_buf(),
            options,
            lock_file,
            generation,
            file,
            applied: 0,
            map: BTreeMap::new(),
            live_bytes: 0,
            warnings: Vec::new(),
        })
    }

    /// The oldest warning not yet taken (torn tails cut off, …).
    pub fn next_warning(&mut self) -> Option<String> {
        (!self.warnings.is_empty()).then(|| self.warnings.remove(0))
    }

    /// The value of `key` as of now.
    pub fn lookup(&mut self, key: &str) -> DictResult<Option<String>> {
        self.refresh_shared()?;
        Ok(self.map.get(key).cloned())
    }

    /// Every key starting with `prefix` as of now, sorted, with its value.
    pub fn scan(&mut self, prefix: &str) -> DictResult<Vec<(String, String)>> {
        self.refresh_shared()?;
        Ok(self
            .map
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Applies `ops` atomically. Returns whether every increment found its
    /// key (increments of missing keys are skipped, as Dovecot's drivers do).
    pub fn commit(&mut self, ops: &[super::Op]) -> DictResult<bool> {
        let _exclusive = self.lock_for_writing()?;
        let (changes, all_found) = self.resolve(ops)?;
        if changes.is_empty() {
            return Ok(all_found);
        }
        self.append(&Record::Commit(changes.clone()))?;
        for change in changes {
            self.apply(change);
        }
        if self.applied > self.options.compact_min_bytes
            && self.applied > self.live_bytes * self.options.compact_ratio
        {
            self.compact_locked()?;
        }
        Ok(all_found)
    }

    /// Rewrites the state into a new generation now (the admin tool's
    /// `compact`).
    pub fn compact(&mut self) -> DictResult<()> {
        let _exclusive = self.lock_for_writing()?;
        self.compact_locked()
    }

    /// The exclusive lock, with the state brought up to date, a torn tail
    /// cut off and an interrupted compaction finished.
    fn lock_for_writing(&mut self) -> DictResult<FileLock> {
        let exclusive = self.take_lock(LockKind::Exclusive)?;
        self.refresh(true)?;
        self.adopt_unfinished_compaction()?;
        Ok(exclusive)
    }

    /// Writes `record` at the end found under the lock and syncs it.
    fn append(&mut self, record: &Record) -> DictResult<()> {
        let bytes = record.encode();
        self.file
            .write_all_at(&bytes, self.applied)
            .map_err(|e| DictError::io(&self.path(), "cannot write", e))?;
        self.file
            .sync_data()
            .map_err(|e| DictError::io(&self.path(), "cannot fsync", e))?;
        self.applied += bytes.len() as u64;
        Ok(())
    }

    /// The generation and log size, for the admin tool.
    pub fn position(&self) -> (u64, u64) {
        (self.generation, self.applied)
    }

    fn path(&self) -> PathBuf {
        generation_path(&self.dir, self.generation)
    }

    fn refresh_shared(&mut self) -> DictResult<()> {
        let _shared = self.take_lock(LockKind::Shared)?;
        self.refresh(false)
    }

    fn take_lock(&self, kind: LockKind) -> DictResult<FileLock> {
        lock(
            &self.lock_file,
            &self.dir.join("lock"),
            kind,
            self.options.lock_timeout,
        )
    }

    /// Reads what was appended since the last look (following `Moved`
    /// records). Under the exclusive lock (`writer`), a torn tail is cut off.
    fn refresh(&mut self, writer: bool) -> DictResult<()> {
        loop {
            let size = self
                .file
                .metadata()
                .map_err(|e| DictError::io(&self.path(), "cannot stat", e))?
                .len();
            if size <= self.applied {
                return Ok(());
            }
            let mut tail = vec![0; (size - self.applied) as usize];
            self.file
                .read_exact_at(&mut tail, self.applied)
                .map_err(|e| DictError::io(&self.path(), "cannot read", e))?;
            let mut pos = 0;
            let mut moved_to = None;
            while pos < tail.len() && moved_to.is_none() {
                match decode(&tail[pos..]) {
                    Ok((record, len)) => {
                        pos += len;
                        match record {
                            Record::Commit(changes) => {
                                changes.into_iter().for_each(|c| self.apply(c))
                            }
                            Record::Snapshot(pairs) => {
                                self.map.clear();
                                self.live_bytes = 0;
                                pairs
                                    .into_iter()
                                    .for_each(|(k, v)| self.apply(Change::Set(k, v)));
                            }
                            Record::Moved { generation } => moved_to = Some(generation),
                        }
                    }
                    Err(invalid) => {
                        self.invalid_tail(&tail, pos, invalid, writer)?;
                        break;
                    }
                }
            }
            self.applied += pos as u64;
            match moved_to {
                Some(generation) => self.switch_to(generation)?,
                None => return Ok(()),
            }
        }
    }

    /// A record that does not decode: damage if valid records follow it,
    /// otherwise the torn tail of a write that was killed.
    fn invalid_tail(
        &mut self,
        tail: &[u8],
        pos: usize,
        invalid: Invalid,
        writer: bool,
    ) -> DictResult<()> {
        let offset = self.applied + pos as u64;
        if next_valid(tail, pos + 1).is_some() {
            let reason = match invalid {
                Invalid::Bad(reason) => reason,
                Invalid::Incomplete => "truncated record",
            };
            return Err(DictError::Corrupt {
                path: self.path(),
                offset,
                reason: reason.to_string(),
            });
        }
        if writer {
            self.file
                .set_len(offset)
                .map_err(|e| DictError::io(&self.path(), "cannot truncate", e))?;
            self.file
                .sync_data()
                .map_err(|e| DictError::io(&self.path(), "cannot fsync", e))?;
            self.warnings.push(format!(
                "{}: discarded {} bytes of an interrupted write at offset {offset}",
                self.path().display(),
                tail.len() - pos
            ));
        }
        Ok(())
    }

    /// Continues in `generation` (or the newest one, if that is gone too).
    fn switch_to(&mut self, generation: u64) -> DictResult<()> {
        let (generation, file) = match open_generation(&self.dir, generation) {
            Ok(file) => (generation, file),
            Err(_) => {
                let newest = newest_generation(&self.dir)?.ok_or_else(|| {
                    DictError::Config(format!("{}: no log file left", self.dir.display()))
                })?;
                (newest, open_generation(&self.dir, newest)?)
            }
        };
        self.generation = generation;
        self.file = file;
        self.applied = 0;
        Ok(())
    }

    /// A compaction killed after writing the next generation but before
    /// closing this one: finish it (no commit can have come in between, the
    /// killed writer held the lock). A torn next generation is removed.
    fn adopt_unfinished_compaction(&mut self) -> DictResult<()> {
        let next = self.generation + 1;
        let path = generation_path(&self.dir, next);
        if !path.exists() {
            return Ok(());
        }
        if open_generation(&self.dir, next).is_err() {
            std::fs::remove_file(&path)
                .map_err(|e| DictError::io(&path, "cannot remove a torn generation", e))?;
            self.warnings.push(format!(
                "{}: removed the torn output of an interrupted compaction",
                path.display()
            ));
            return Ok(());
        }
        self.close_generation(next)?;
        self.switch_to(next)?;
        self.refresh(true)
    }

    /// Writes the state as generation+1, closes this one, drops the one before.
    fn compact_locked(&mut self) -> DictResult<()> {
        let next = self.generation + 1;
        write_generation(&self.dir, next, &self.map)?;
        self.close_generation(next)?;
        let old = generation_path(&self.dir, self.generation.saturating_sub(1));
        if self.generation > 1 && old.exists() {
            let _ = std::fs::remove_file(&old);
        }
        self.switch_to(next)?;
        self.refresh(true)
    }

    fn close_generation(&mut self, next: u64) -> DictResult<()> {
        self.append(&Record::Moved { generation: next })
    }

    /// Turns ops into changes against the current state.
    fn resolve(&self, ops: &[super::Op]) -> DictResult<(Vec<Change>, bool)> {
        let mut pending: BTreeMap<&str, Option<String>> = BTreeMap::new();
        let mut changes = Vec::new();
        let mut all_found = true;
        for op in ops {
            match op {
                super::Op::Set(k, v) => {
                    pending.insert(k, Some(v.clone()));
                    changes.push(Change::Set(k.clone(), v.clone()));
                }
                super::Op::Unset(k) => {
                    pending.insert(k, None);
                    changes.push(Change::Unset(k.clone()));
                }
                super::Op::Inc(k, diff) => {
                    let current = pending
                        .get(k.as_str())
                        .cloned()
                        .unwrap_or_else(|| self.map.get(k).cloned());
                    let Some(current) = current else {
                        all_found = false;
                        continue;
                    };
                    let number: i64 = current.trim().parse().map_err(|_| {
                        DictError::Invalid(format!(
                            "atomic_inc of {k}: its value {current:?} is not a number"
                        ))
                    })?;
                    let value = number.wrapping_add(*diff).to_string();
                    pending.insert(k, Some(value.clone()));
                    changes.push(Change::Set(k.clone(), value));
                }
            }
        }
        Ok((changes, all_found))
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Set(k, v) => {
                let added = (k.len() + v.len()) as u64;
                if let Some(old) = self.map.insert(k.clone(), v) {
                    self.live_bytes -= (k.len() + old.len()) as u64;
                }
                self.live_bytes += added;
            }
            Change::Unset(k) => {
                if let Some(old) = self.map.remove(&k) {
                    self.live_bytes -= (k.len() + old.len()) as u64;
                }
            }
        }
    }
}

fn lock(file: &File, path: &Path, kind: LockKind, timeout: Duration) -> DictResult<FileLock> {
    FileLock::acquire(file, kind, timeout).map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut => DictError::LockTimeout {
            path: path.to_path_buf(),
            after: timeout,
        },
        _ => DictError::io(path, "cannot lock", e),
    })
}

fn generation_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("log.{generation}"))
}

/// The highest generation whose file starts with a valid snapshot.
fn newest_generation(dir: &Path) -> DictResult<Option<u64>> {
    let entries = std::fs::read_dir(dir).map_err(|e| DictError::io(dir, "cannot list", e))?;
    let mut generations: Vec<u64> = entries
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix("log.")?
                .parse()
                .ok()
        })
        .collect();
    generations.sort_unstable_by(|a, b| b.cmp(a));
    Ok(generations
        .into_iter()
        .find(|&g| open_generation(dir, g).is_ok()))
}

/// Opens a generation file, checking that it starts with a snapshot.
fn open_generation(dir: &Path, generation: u64) -> DictResult<File> {
    let path = generation_path(dir, generation);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| DictError::io(&path, "cannot open", e))?;
    let mut header = vec![0; super::record::HEADER_LEN];
    file.read_exact_at(&mut header, 0)
        .map_err(|e| DictError::io(&path, "cannot read", e))?;
    let len = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")) as u64;
    let size = file
        .metadata()
        .map_err(|e| DictError::io(&path, "cannot stat", e))?
        .len();
    if super::record::HEADER_LEN as u64 + len > size {
        return Err(DictError::Corrupt {
            path,
            offset: 0,
            reason: "snapshot record is incomplete".into(),
        });
    }
    let mut first = vec![0; super::record::HEADER_LEN + len as usize];
    file.read_exact_at(&mut first, 0)
        .map_err(|e| DictError::io(&path, "cannot read", e))?;
    match decode(&first) {
        Ok((Record::Snapshot(_), _)) => Ok(file),
        _ => Err(DictError::Corrupt {
            path,
            offset: 0,
            reason: "does not start with a valid snapshot".into(),
        }),
    }
}

/// Creates `log.<generation>` holding a snapshot of `map`, synced to disk.
fn write_generation(dir: &Path, generation: u64, map: &BTreeMap<String, String>) -> DictResult<()> {
    let path = generation_path(dir, generation);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| DictError::io(&path, "cannot create", e))?;
    let snapshot =
        Record::Snapshot(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).encode();
    file.write_all_at(&snapshot, 0)
        .map_err(|e| DictError::io(&path, "cannot write", e))?;
    file.sync_all()
        .map_err(|e| DictError::io(&path, "cannot fsync", e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| DictError::io(dir, "cannot fsync", e))?;
    Ok(())
}
