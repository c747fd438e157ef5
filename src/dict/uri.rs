//! The `shared_dict:` URI: `[option=value:]…/absolute/directory`.
//!
//! Options: `lock_timeout=<time>` (default 10s), `compact_ratio=<n>`
//! (default 4). Example: `shared_dict:lock_timeout=30s:/srv/dovecot/shared-dict`.

use std::path::PathBuf;

use super::log_store::LogOptions;
use super::{DictError, DictResult};
use crate::storage::settings::parse_dovecot_time;

/// A parsed URI.
#[derive(Debug)]
pub struct Uri {
    pub directory: PathBuf,
    pub options: LogOptions,
}

pub fn parse(uri: &str) -> DictResult<Uri> {
    let mut options = LogOptions::default();
    let mut rest = uri;
    while !rest.starts_with('/') {
        let Some((option, after)) = rest.split_once(':') else {
            return Err(DictError::Config(format!(
                "shared_dict:{uri}: expected an absolute directory path (shared_dict:/path/to/dir)"
            )));
        };
        let (name, value) = option.split_once('=').ok_or_else(|| {
            DictError::Config(format!(
                "shared_dict:{uri}: option {option:?} is not name=value"
            ))
        })?;
        let bad = |what: &str| {
            DictError::Config(format!("shared_dict:{uri}: {name}={value}: must be {what}"))
        };
        match name {
            "lock_timeout" => {
                options.lock_timeout = parse_dovecot_time(value)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| bad("a time such as 10s"))?
            }
            "compact_ratio" => {
                options.compact_ratio = value
                    .parse()
                    .ok()
                    .filter(|&r| r >= 2)
                    .ok_or_else(|| bad("a number of at least 2"))?
            }
            _ => {
                return Err(DictError::Config(format!(
                    "shared_dict:{uri}: unknown option {name:?}"
                )))
            }
        }
        rest = after;
    }
    Ok(Uri {
        directory: PathBuf::from(rest),
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn paths_and_options() {
        let u = parse("/srv/dict").unwrap();
        assert_eq!(u.directory, PathBuf::from("/srv/dict"));
        let u = parse("lock_timeout=30s:compact_ratio=8:/srv/dict").unwrap();
        assert_eq!(u.options.lock_timeout, Duration::from_secs(30));
        assert_eq!(u.options.compact_ratio, 8);
    }

    #[test]
    fn bad_uris_name_the_problem() {
        assert!(parse("relative/dir")
            .unwrap_err()
            .to_string()
            .contains("absolute directory"));
        assert!(parse("lock_timeout=soon:/d")
            .unwrap_err()
            .to_string()
            .contains("lock_timeout=soon"));
        assert!(parse("colour=blue:/d")
            .unwrap_err()
            .to_string()
            .contains("unknown option"));
        assert!(parse("").is_err());
    }
}
