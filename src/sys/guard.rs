//! No panic may unwind into C: every function exported to Dovecot runs its
//! body through [`ffi_guard`].

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::log::{log, Level};

/// Runs `body`; if it panics, logs the panic as a Dovecot error naming
/// `entry_point` and returns `on_panic` instead of unwinding.
pub fn ffi_guard<T>(entry_point: &str, on_panic: T, body: impl FnOnce() -> T) -> T {
    // The state a panicking body leaves behind is discarded with it, and
    // `on_panic` tells the C caller the call failed.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log(
                None,
                Level::Error,
                &format!("shared_imapc: internal error in {entry_point}: {reason}"),
            );
            on_panic
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback_value() {
        let got = ffi_guard("test_entry", -1, || -> i32 { panic!("boom") });
        assert_eq!(got, -1);
    }

    #[test]
    fn a_normal_return_passes_through() {
        assert_eq!(ffi_guard("test_entry", -1, || 7), 7);
    }
}
