//! A scripted IMAP server on loopback, for faults a real server won't
//! produce: each test gives it a script that reads and writes the socket.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// The server side of one connection, as the script sees it.
pub struct Peer {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Peer {
    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.writer.write_all(bytes);
        let _ = self.writer.flush();
    }

    /// Sends bytes one at a time, flushing each (every split point).
    pub fn trickle(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.send(std::slice::from_ref(b));
        }
    }

    /// Reads one command line; returns its tag and the rest.
    pub fn command(&mut self) -> (String, String) {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read command");
        let line = line.trim_end().to_string();
        let (tag, rest) = line.split_once(' ').unwrap_or((&line, ""));
        (tag.to_string(), rest.to_string())
    }
}

/// A listening fake server running `script` on the first connection.
pub struct FakeServer {
    pub port: u16,
    handle: Option<JoinHandle<()>>,
}

/// What the server does with one connection.
pub type Script = Box<dyn FnOnce(&mut Peer) + Send>;

impl FakeServer {
    pub fn start(script: impl FnOnce(&mut Peer) + Send + 'static) -> FakeServer {
        Self::start_many(vec![Box::new(script)])
    }

    /// The same, listening on another address (e.g. `[::1]:0`).
    pub fn start_at(address: &str, script: impl FnOnce(&mut Peer) + Send + 'static) -> FakeServer {
        Self::listen(address, vec![Box::new(script)])
    }

    /// Runs one script per connection, in order; then stops listening.
    pub fn start_many(scripts: Vec<Script>) -> FakeServer {
        Self::listen("127.0.0.1:0", scripts)
    }

    fn listen(address: &str, scripts: Vec<Script>) -> FakeServer {
        let listener = TcpListener::bind(address).expect("bind");
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            for script in scripts {
                let (stream, _) = listener.accept().expect("accept");
                // A command that never comes fails the test, not hangs it.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let reader = BufReader::new(stream.try_clone().unwrap());
                script(&mut Peer {
                    reader,
                    writer: stream,
                });
            }
        });
        FakeServer {
            port,
            handle: Some(handle),
        }
    }

    /// Waits for the script to finish.
    pub fn finish(mut self) {
        if let Some(h) = self.handle.take() {
            h.join().expect("fake server script panicked");
        }
    }
}
