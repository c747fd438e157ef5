//! The `shared_dict:` URI: `[option=value:]…/absolute/directory` for the
//! embedded store, or `pgsql:<libpq connection string>` for PostgreSQL.
//!
//! Options: `lock_timeout=<time>` (default 10s), `compact_ratio=<n>`
//! (default 4). Examples: `shared_dict:lock_timeout=30s:/srv/dovecot/shared-dict`,
//! `shared_dict:pgsql:host=db.example.net dbname=dovecot user=dovecot`.

use std::path::PathBuf;

use super::log_store::LogOptions;
use super::{DictError, DictResult};
use crate::storage::settings::parse_dovecot_time;

/// A parsed URI.
#[derive(Debug)]
pub enum Uri {
    Directory {
        directory: PathBuf,
        options: LogOptions,
    },
    Pgsql {
        conninfo: String,
    },
}

pub fn parse(uri: &str) -> DictResult<Uri> {
    if let Some(conninfo) = uri.strip_prefix("pgsql:") {
        return Ok(Uri::Pgsql {
            conninfo: conninfo.to_string(),
        });
    }
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
    Ok(Uri::Directory {
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
        let Uri::Directory { directory, .. } = parse("/srv/dict").unwrap() else {
            panic!()
        };
        assert_eq!(directory, PathBuf::from("/srv/dict"));
        let Uri::Directory { options, .. } =
            parse("lock_timeout=30s:compact_ratio=8:/srv/dict").unwrap()
        else {
            panic!()
        };
        assert_eq!(options.lock_timeout, Duration::from_secs(30));
        assert_eq!(options.compact_ratio, 8);
        let Uri::Pgsql { conninfo } = parse("pgsql:host=db dbname=x").unwrap() else {
            panic!()
        };
        assert_eq!(conninfo, "host=db dbname=x");
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
