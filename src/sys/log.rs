//! Logging through Dovecot's log (`mail_debug`, `log_path`, the event's
//! prefix such as `imap(bob)<pid><session>:`).

use std::ffi::CString;

use super::bindings::{event, sic_log_level, sic_shim_log};

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Shown with `mail_debug = yes`.
    Debug,
    /// Informational.
    Info,
    /// Something the administrator should look at.
    Warning,
    /// A failure.
    Error,
}

/// Writes `message` to Dovecot's log, on `event` when one is given.
///
/// Outside a Dovecot process (unit tests of the pure core) the line goes to
/// standard error instead: Dovecot's log is not initialised there.
pub fn log(event: Option<*mut event>, level: Level, message: &str) {
    if !in_dovecot() {
        eprintln!("{level:?}: {message}");
        return;
    }
    let level = match level {
        Level::Debug => sic_log_level::SIC_LOG_DEBUG,
        Level::Info => sic_log_level::SIC_LOG_INFO,
        Level::Warning => sic_log_level::SIC_LOG_WARNING,
        Level::Error => sic_log_level::SIC_LOG_ERROR,
    };
    let text = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    // SAFETY: `text` is a valid NUL-terminated string for the whole call, and
    // `event` is either null or an event the caller got from Dovecot on this
    // (Dovecot's) thread.
    unsafe { sic_shim_log(event.unwrap_or(std::ptr::null_mut()), level, text.as_ptr()) }
}

/// Set once the module is initialised by Dovecot.
static IN_DOVECOT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks that Dovecot's log is available (called from the plugin init).
pub fn set_in_dovecot(value: bool) {
    IN_DOVECOT.store(value, std::sync::atomic::Ordering::Relaxed);
}

fn in_dovecot() -> bool {
    IN_DOVECOT.load(std::sync::atomic::Ordering::Relaxed)
}

/// `mail_debug` lines (and warnings) of one Dovecot user. Holds Dovecot's event, so it is
/// neither `Send` nor `Sync`: it cannot leave Dovecot's thread.
#[derive(Clone, Debug, Default)]
pub struct DebugLog {
    event: Option<*mut event>,
}

impl DebugLog {
    /// Logs on `event` (null: logging is off).
    pub fn new(event: *mut event) -> DebugLog {
        DebugLog {
            event: (!event.is_null()).then_some(event),
        }
    }

    /// Writes the line `message()` makes, if debugging is on.
    pub fn line(&self, message: impl FnOnce() -> String) {
        if let Some(event) = self.event {
            log(Some(event), Level::Debug, &message());
        }
    }

    /// Writes a warning, debugging on or not (on the user's event when
    /// debugging, else on the process's log).
    pub fn warning(&self, message: &str) {
        log(self.event, Level::Warning, message);
    }
}
