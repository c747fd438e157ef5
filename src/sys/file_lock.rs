//! Open-file-description locks (`F_OFD_SETLK`): fcntl locks that belong to
//! one open file, not to the whole process, so two stores in one process do
//! not release each other's lock, and that Linux forwards to NFS servers.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// A held lock on a whole file; released on drop. It keeps a duplicate of
/// the descriptor, which shares the open file description and so the lock.
pub struct FileLock {
    file: File,
}

/// Shared (many readers) or exclusive (one writer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    Shared,
    Exclusive,
}

impl FileLock {
    /// Takes the lock, retrying until `timeout`; `TimedOut` when it cannot.
    pub fn acquire(file: &File, kind: LockKind, timeout: Duration) -> io::Result<FileLock> {
        let file = file.try_clone()?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match set_lock(&file, Some(kind)) {
                Ok(()) => return Ok(FileLock { file }),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => {
                    if started.elapsed() >= timeout {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "held by another process",
                        ));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = set_lock(&self.file, None);
    }
}

fn set_lock(file: &File, kind: Option<LockKind>) -> io::Result<()> {
    let lock_type = match kind {
        Some(LockKind::Shared) => libc::F_RDLCK,
        Some(LockKind::Exclusive) => libc::F_WRLCK,
        None => libc::F_UNLCK,
    };
    // SAFETY: an all-zero flock is a valid value; the fields that matter
    // are set below (l_pid must be 0 for OFD locks).
    let mut flock: libc::flock = unsafe { std::mem::zeroed() };
    flock.l_type = lock_type as libc::c_short;
    flock.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: the descriptor is open for the lifetime of `file`, and
    // `flock` is a valid, initialised struct for this call.
    let ret = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut flock) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_shared_shares_even_in_one_process() {
        let path = std::env::temp_dir().join(format!("sic-lock-test-{}", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        let a = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let b = File::open(&path).unwrap();
        let short = Duration::from_millis(30);
        {
            let _held = FileLock::acquire(&a, LockKind::Exclusive, short).unwrap();
            let err = FileLock::acquire(&b, LockKind::Shared, short)
                .err()
                .expect("excluded");
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        }
        let _r1 = FileLock::acquire(&a, LockKind::Shared, short).unwrap();
        let _r2 = FileLock::acquire(&b, LockKind::Shared, short).unwrap();
        std::fs::remove_file(&path).unwrap();
    }
}
