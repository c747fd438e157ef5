//! TLS for `imaps` and `STARTTLS`, with OpenSSL: the library Dovecot itself
//! links (`libssl_iostream_openssl`), so one TLS stack per process, the
//! system's CA store and `openssl.cnf` apply, and Debian's security updates
//! of libssl3 cover the plugin too. Certificates and host names (or IP
//! addresses) are verified unless `ssl_verify = no`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use openssl::ssl::{
    HandshakeError, SslConnector, SslFiletype, SslMethod, SslStream, SslVerifyMode,
};
use openssl::x509::store::X509Lookup;

/// How certificates are checked.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    pub verify: bool,
    pub ca_file: Option<PathBuf>,
    pub ca_dir: Option<PathBuf>,
}

impl Default for TlsConfig {
    fn default() -> TlsConfig {
        TlsConfig {
            verify: true,
            ca_file: None,
            ca_dir: None,
        }
    }
}

/// A plain or TLS-protected TCP stream.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
    /// Taken apart for a STARTTLS handshake; every use fails.
    Detached,
}

impl Stream {
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(s) => Some(s.get_ref()),
            Stream::Detached => None,
        }
    }
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "stream detached for TLS")
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Detached => Err(detached()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Detached => Err(detached()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Detached => Err(detached()),
        }
    }
}

/// Runs the TLS handshake on `tcp` for `host`; the error says why it failed
/// (including the certificate check's verdict).
pub fn handshake(tcp: TcpStream, host: &str, config: &TlsConfig) -> Result<Stream, String> {
    let connector = connector(config).map_err(|e| format!("TLS setup: {e}"))?;
    let mut ssl = connector
        .configure()
        .map_err(|e| format!("TLS setup: {e}"))?;
    if !config.verify {
        ssl.set_verify(SslVerifyMode::NONE);
        ssl.set_verify_hostname(false);
    }
    match ssl.connect(host, tcp) {
        Ok(stream) => Ok(Stream::Tls(Box::new(stream))),
        Err(HandshakeError::Failure(mid)) => {
            let verdict = mid.ssl().verify_result();
            Err(match verdict.as_raw() {
                0 => mid.error().to_string(),
                _ => format!(
                    "certificate verification failed: {}",
                    verdict.error_string()
                ),
            })
        }
        Err(HandshakeError::SetupFailure(e)) => Err(format!("TLS setup: {e}")),
        Err(HandshakeError::WouldBlock(_)) => Err("TLS handshake timed out".into()),
    }
}

fn connector(config: &TlsConfig) -> Result<SslConnector, openssl::error::ErrorStack> {
    let mut builder = SslConnector::builder(SslMethod::tls_client())?;
    if let Some(file) = &config.ca_file {
        builder.set_ca_file(file)?;
    }
    if let Some(dir) = &config.ca_dir {
        let lookup = builder
            .cert_store_mut()
            .add_lookup(X509Lookup::hash_dir())?;
        lookup.add_dir(&dir.to_string_lossy(), SslFiletype::PEM)?;
    }
    Ok(builder.build())
}
