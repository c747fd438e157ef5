//! What each owner's server last listed for this user, kept across the
//! user's sessions in one file in the user's home (`~/.shared_imapc.lists`)
//! for `shared_imapc_list_cache_time` (30 s by default).
//!
//! Mail clients list every folder at each connect; without this, every
//! session of a user who has 50 sharing owners costs the cluster 50 logins.
//! Within the validity a LIST shows the cached folders of the owners not yet
//! logged in to, like the acl plugin's own `acl_cache_secs`: a folder shared
//! or unshared in the meantime shows up (or disappears) at most that much
//! later. Opening a folder always asks the owner's server, so a cached name
//! never grants access; an owner who stops sharing altogether leaves the
//! shared dictionary and is not listed at all, at once.
//!
//! The file holds one line per owner; a process merges its own readings into
//! what is on disk when its user's session ends (written beside, renamed
//! over). A damaged or foreign file is a cache miss, never an error.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::names::ListedFolder;
use crate::client::pool::PoolKey;
use crate::tab_escape::{escape, unescape};

/// The file's first line; another one means the file is not ours to read.
const HEADER: &str = "shared_imapc listing cache 1";

/// The file, in the user's home.
pub const FILE_NAME: &str = ".shared_imapc.lists";

/// Which listing: the namespace prefix and the session it was read on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListKey {
    fields: [String; 5],
}

impl ListKey {
    /// The listing of the namespace `prefix` read on the session `key`.
    pub fn new(prefix: &str, key: &PoolKey) -> ListKey {
        ListKey {
            fields: [
                prefix.to_string(),
                key.owner.clone(),
                key.master.clone(),
                key.host.clone(),
                format!("{}/{:?}", key.port, key.ssl),
            ],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// When the owner's server listed it (seconds since the epoch).
    listed_at: u64,
    folders: Vec<ListedFolder>,
}

/// Entries older than this are dropped from the file whatever the settings.
const KEPT_AT_MOST: Duration = Duration::from_secs(24 * 3600);

/// The cached listings of one user.
pub struct ListCache {
    path: Option<PathBuf>,
    /// Loaded on first use.
    entries: Option<HashMap<ListKey, Entry>>,
    /// Readings of this process, to merge into the file.
    changed: HashMap<ListKey, Option<Entry>>,
}

impl ListCache {
    /// The cache in `path`; without one it keeps nothing.
    pub fn new(path: Option<PathBuf>) -> ListCache {
        ListCache {
            path,
            entries: None,
            changed: HashMap::new(),
        }
    }

    /// The folders listed for `key` less than `validity` ago.
    pub fn fresh(&mut self, key: &ListKey, validity: Duration) -> Option<Vec<ListedFolder>> {
        let path = self.path.as_deref()?;
        if validity.is_zero() {
            return None;
        }
        let entries = self.entries.get_or_insert_with(|| read_file(path));
        entries
            .get(key)
            .filter(|e| younger_than(e, validity))
            .map(|e| e.folders.clone())
    }

    /// Records what the owner's server just listed.
    pub fn store(&mut self, key: ListKey, folders: Vec<ListedFolder>) {
        if self.path.is_none() {
            return;
        }
        let entry = Entry {
            listed_at: now_secs(),
            folders,
        };
        self.entries
            .get_or_insert_with(HashMap::new)
            .insert(key.clone(), entry.clone());
        self.changed.insert(key, Some(entry));
    }

    /// Drops the listing of `key` (its server refused or failed, or the
    /// user changed the owner's folders).
    pub fn forget(&mut self, key: &ListKey) {
        if self.path.is_none() {
            return;
        }
        if let Some(entries) = self.entries.as_mut() {
            entries.remove(key);
        }
        self.changed.insert(key.clone(), None);
    }

    /// Merges this process's readings into the file. Failing to write only
    /// costs logins later, so errors are returned for the debug log.
    pub fn flush(&mut self) -> std::io::Result<()> {
        let Some(path) = self.path.as_ref() else {
            return Ok(());
        };
        if self.changed.is_empty() {
            return Ok(());
        }
        let mut merged = read_file(path);
        for (key, entry) in self.changed.drain() {
            match entry {
                Some(entry) => {
                    let newer = merged
                        .get(&key)
                        .map_or(true, |on_disk| on_disk.listed_at <= entry.listed_at);
                    if newer {
                        merged.insert(key, entry);
                    }
                }
                None => {
                    merged.remove(&key);
                }
            }
        }
        merged.retain(|_, e| younger_than(e, KEPT_AT_MOST));
        write_file(path, &merged)
    }
}

/// Listed less than `age` ago (and not in the future: a clock set back).
fn younger_than(entry: &Entry, age: Duration) -> bool {
    let now = now_secs();
    entry.listed_at <= now && now - entry.listed_at < age.as_secs()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read_file(path: &Path) -> HashMap<ListKey, Entry> {
    fs::read_to_string(path)
        .map(|text| parse(&text))
        .unwrap_or_default()
}

/// The entries of the file's text; lines that do not parse are skipped.
fn parse(text: &str) -> HashMap<ListKey, Entry> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return HashMap::new();
    }
    lines.filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<(ListKey, Entry)> {
    let mut fields = line.split('\t').map(unescape);
    let mut key = ListKey {
        fields: Default::default(),
    };
    for field in key.fields.iter_mut() {
        *field = fields.next()?;
    }
    let listed_at = fields.next()?.parse().ok()?;
    let folders = fields
        .map(|f| {
            let (bits, name) = f.split_once(':')?;
            Some(ListedFolder {
                name: name.to_string(),
                flags: bits.parse().ok()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some((key, Entry { listed_at, folders }))
}

fn format_line(key: &ListKey, entry: &Entry) -> String {
    let mut line: Vec<String> = key.fields.iter().map(|f| escape(f)).collect();
    line.push(entry.listed_at.to_string());
    line.extend(
        entry
            .folders
            .iter()
            .map(|f| escape(&format!("{}:{}", f.flags, f.name))),
    );
    line.join("\t")
}

/// Writes beside the file and renames over it: a reader sees the old file
/// or the new one, never half of one. Only the user may read it.
fn write_file(path: &Path, entries: &HashMap<ListKey, Entry>) -> std::io::Result<()> {
    let mut text = String::from(HEADER);
    text.push('\n');
    for (key, entry) in entries {
        text.push_str(&format_line(key, entry));
        text.push('\n');
    }
    let temp = path.with_extension(format!("lists.{}.tmp", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    let renamed = written.and_then(|()| fs::rename(&temp, path));
    if renamed.is_err() {
        let _ = fs::remove_file(&temp);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::settings::SslMode;

    const VALID: Duration = Duration::from_secs(30);

    fn key(owner: &str) -> ListKey {
        ListKey::new(
            &format!("shared/{owner}/"),
            &PoolKey {
                host: "proxy".into(),
                port: 143,
                ssl: SslMode::No,
                owner: owner.into(),
                master: "bob".into(),
            },
        )
    }

    fn folders(names: &[&str]) -> Vec<ListedFolder> {
        names
            .iter()
            .map(|n| ListedFolder {
                name: n.to_string(),
                flags: 8,
            })
            .collect()
    }

    /// A directory of the test's own for the cache file, removed after it.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("sic-list-cache-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn cache_file(&self) -> PathBuf {
            self.0.join(FILE_NAME)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_listing_serves_the_next_session_and_odd_names_survive() {
        let dir = TempDir::new("roundtrip");
        let path = dir.cache_file();
        let odd = folders(&[
            "Team",
            "Tab\there",
            "Back\\slash\u{1}",
            "Line\nbreak",
            "Café/Sub",
        ]);
        let mut first = ListCache::new(Some(path.clone()));
        assert_eq!(first.fresh(&key("alice"), VALID), None);
        first.store(key("alice"), odd.clone());
        first.flush().unwrap();
        let mut next = ListCache::new(Some(path.clone()));
        assert_eq!(next.fresh(&key("alice"), VALID), Some(odd));
        assert_eq!(next.fresh(&key("carol"), VALID), None);
        let mode = fs::metadata(&path).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0);
    }

    #[test]
    fn sessions_merge_and_forgetting_removes() {
        let dir = TempDir::new("merge");
        let path = dir.cache_file();
        let mut a = ListCache::new(Some(path.clone()));
        let mut b = ListCache::new(Some(path.clone()));
        a.store(key("alice"), folders(&["A"]));
        b.store(key("dave"), folders(&["D"]));
        a.flush().unwrap();
        b.flush().unwrap();
        let mut c = ListCache::new(Some(path.clone()));
        assert_eq!(c.fresh(&key("alice"), VALID), Some(folders(&["A"])));
        assert_eq!(c.fresh(&key("dave"), VALID), Some(folders(&["D"])));
        c.forget(&key("alice"));
        assert_eq!(c.fresh(&key("alice"), VALID), None);
        c.flush().unwrap();
        let mut d = ListCache::new(Some(path));
        assert_eq!(d.fresh(&key("alice"), VALID), None);
    }

    #[test]
    fn old_entries_and_other_files_are_misses() {
        let dir = TempDir::new("stale");
        let path = dir.cache_file();
        let entry = Entry {
            listed_at: now_secs() - 31,
            folders: folders(&["Old"]),
        };
        let future = Entry {
            listed_at: now_secs() + 3600,
            folders: folders(&["Future"]),
        };
        let text = format!(
            "{HEADER}\n{}\n{}\ngarbage\tline\n",
            format_line(&key("alice"), &entry),
            format_line(&key("dave"), &future)
        );
        fs::write(&path, text).unwrap();
        let mut cache = ListCache::new(Some(path.clone()));
        assert_eq!(cache.fresh(&key("alice"), VALID), None);
        assert_eq!(cache.fresh(&key("dave"), VALID), None);
        fs::write(&path, "something else\n").unwrap();
        let mut other = ListCache::new(Some(path.clone()));
        assert_eq!(other.fresh(&key("alice"), Duration::from_secs(3600)), None);
    }

    #[test]
    fn validity_zero_serves_nothing() {
        let dir = TempDir::new("off");
        let path = dir.cache_file();
        let mut cache = ListCache::new(Some(path));
        cache.store(key("alice"), folders(&["A"]));
        assert_eq!(cache.fresh(&key("alice"), Duration::ZERO), None);
        assert_eq!(cache.fresh(&key("alice"), VALID), Some(folders(&["A"])));
    }
}
