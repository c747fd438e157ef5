//! The connections of one Dovecot session (one logged-in user): one remote
//! session per (server, owner, master user, TLS mode), reused across
//! folders, and logged in to many owners at once (bounded) when `LIST
//! shared/*` needs them all. The parallel logins run on threads of their
//! own; they never call Dovecot, and the caller waits for them.

use std::collections::HashMap;
use std::sync::Mutex;

use super::error::ClientResult;
use super::session::{RetryPolicy, Session, SessionSpec};
use crate::storage::settings::SslMode;

/// Stack of a login thread: TLS and parsing need far less than Rust's 2 MiB.
const LOGIN_THREAD_STACK: usize = 256 * 1024;

/// What makes two sessions interchangeable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub host: String,
    pub port: u16,
    pub ssl: SslMode,
    pub owner: String,
    pub master: String,
}

impl PoolKey {
    pub fn of(spec: &SessionSpec) -> PoolKey {
        PoolKey {
            host: spec.target.host.clone(),
            port: spec.target.port,
            ssl: spec.target.ssl,
            owner: spec.owner.clone(),
            master: spec.master.clone(),
        }
    }
}

/// Remote sessions by key.
pub struct Pool {
    sessions: HashMap<PoolKey, Session>,
    max_parallel_logins: usize,
    retry: RetryPolicy,
}

impl Pool {
    pub fn new(max_parallel_logins: usize, retry: RetryPolicy) -> Pool {
        Pool {
            sessions: HashMap::new(),
            max_parallel_logins: max_parallel_logins.max(1),
            retry,
        }
    }

    /// The session for `spec`, created (not yet connected) if new.
    pub fn session(&mut self, key: &PoolKey, spec: &SessionSpec) -> &mut Session {
        // Looked up for every response a FETCH streams: no key copied then.
        if !self.sessions.contains_key(key) {
            let session = Session::new(spec.clone(), self.retry);
            self.sessions.insert(key.clone(), session);
        }
        self.sessions.get_mut(key).expect("inserted above")
    }

    /// Logs out of the sessions unused for their idle timeout
    /// (`Session::close_if_unused`); returns the owners they were for.
    pub fn close_unused(&mut self) -> Vec<String> {
        self.sessions
            .values_mut()
            .filter_map(|s| s.close_if_unused().then(|| s.owner().to_string()))
            .collect()
    }

    /// Number of sessions with an open connection.
    pub fn connected(&self) -> usize {
        self.sessions.values().filter(|s| s.is_connected()).count()
    }

    /// Makes sure every spec has a logged-in session, logging in to those
    /// that have none at once, at most `max_parallel_logins` at a time.
    /// Returns the outcome per distinct key, in the order given.
    pub fn connect_all(&mut self, specs: &[SessionSpec]) -> Vec<(PoolKey, ClientResult<()>)> {
        self.connect_all_then(specs, |_| Ok(()))
            .into_iter()
            .map(|(key, outcome)| (key, outcome.unwrap_or(Ok(()))))
            .collect()
    }

    /// `connect_all`, and right after each new login (on the same thread)
    /// `then` on that session: its outcome, or `None` for a session that
    /// was logged in already.
    pub fn connect_all_then<T: Send>(
        &mut self,
        specs: &[SessionSpec],
        then: impl Fn(&mut Session) -> ClientResult<T> + Sync,
    ) -> Vec<(PoolKey, Option<ClientResult<T>>)> {
        let mut keys: Vec<PoolKey> = Vec::new();
        for spec in specs {
            let key = PoolKey::of(spec);
            self.session(&key, spec);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let pending: Vec<(&PoolKey, &mut Session)> = self
            .sessions
            .iter_mut()
            .filter(|(k, s)| keys.contains(k) && !s.is_connected())
            .collect();
        let workers = pending.len().min(self.max_parallel_logins);
        let queue = Mutex::new(pending.into_iter());
        let outcomes: Mutex<HashMap<PoolKey, ClientResult<T>>> = Mutex::new(HashMap::new());
        let work = || loop {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
            let Some((key, session)) = next else { break };
            let outcome = session.ensure_connected().and_then(|()| then(session));
            outcomes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key.clone(), outcome);
        };
        std::thread::scope(|scope| {
            // The calling thread works too. Small stacks: Dovecot limits a
            // process's address space (vsz_limit). A thread that cannot be
            // started leaves its share to the others.
            for _ in 1..workers {
                let spawned = std::thread::Builder::new()
                    .name("shared_imapc login".into())
                    .stack_size(LOGIN_THREAD_STACK)
                    .spawn_scoped(scope, work);
                if spawned.is_err() {
                    break;
                }
            }
            work();
        });
        let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
        keys.into_iter()
            .map(|key| {
                let outcome = outcomes.remove(&key);
                (key, outcome)
            })
            .collect()
    }
}
