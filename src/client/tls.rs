//! TLS for `imaps` and `STARTTLS`, with rustls (and ring's cryptography),
//! built into the plugin: every imap process loads the plugin, and with
//! OpenSSL linked each one also loaded and relocated libssl and libcrypto
//! (about 460 kB of private memory and 1.1 ms of CPU per process, measured),
//! needed or not. TLS 1.2 and 1.3. Certificates are checked against the
//! system's CA store (as OpenSSL's default paths) plus `ssl_ca_file` and
//! `ssl_ca_dir` (PEM), and so are host names or IP addresses, unless
//! `ssl_verify = no`.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};

/// How certificates are checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
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

    /// Whether a read would find data (or the end of the stream) now,
    /// never waiting. With TLS, decrypted data already taken from the
    /// socket counts, and bytes on the socket only once they make up
    /// data: a record of TLS's own (a session ticket) must not make a
    /// read wait for data that is not coming.
    pub fn has_input(&mut self) -> io::Result<bool> {
        match self {
            Stream::Plain(s) => socket_readable(s),
            Stream::Tls(s) => {
                if s.conn
                    .process_new_packets()
                    .map_err(io::Error::other)?
                    .plaintext_bytes_to_read()
                    > 0
                {
                    return Ok(true);
                }
                if !socket_readable(&s.sock)? {
                    return Ok(false);
                }
                // Readable: one read of the socket does not wait.
                if s.conn.read_tls(&mut s.sock)? == 0 {
                    return Ok(true);
                }
                let state = s.conn.process_new_packets().map_err(io::Error::other)?;
                Ok(state.plaintext_bytes_to_read() > 0 || state.peer_has_closed())
            }
            Stream::Detached => Err(detached()),
        }
    }
}

/// Whether the socket has bytes to read, or has been closed by the peer.
fn socket_readable(tcp: &TcpStream) -> io::Result<bool> {
    tcp.set_nonblocking(true)?;
    let peeked = tcp.peek(&mut [0u8; 1]);
    tcp.set_nonblocking(false)?;
    match peeked {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(e),
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
pub fn handshake(mut tcp: TcpStream, host: &str, config: &TlsConfig) -> Result<Stream, String> {
    let client_config = client_config(config)?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("TLS setup: {host:?} is no host name or IP address"))?;
    let mut tls =
        ClientConnection::new(client_config, name).map_err(|e| format!("TLS setup: {e}"))?;
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp).map_err(|e| handshake_error(&e))?;
    }
    Ok(Stream::Tls(Box::new(StreamOwned::new(tls, tcp))))
}

fn handshake_error(error: &io::Error) -> String {
    if matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        return "TLS handshake timed out".into();
    }
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(why)) => {
            format!("certificate verification failed: {why:?}")
        }
        _ => error.to_string(),
    }
}

/// Reading the CA store costs milliseconds: once per process and setting.
static CONFIGS: LazyLock<Mutex<HashMap<TlsConfig, Arc<ClientConfig>>>> =
    LazyLock::new(Default::default);

fn client_config(config: &TlsConfig) -> Result<Arc<ClientConfig>, String> {
    let configs = || CONFIGS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(built) = configs().get(config) {
        return Ok(built.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let built = if config.verify {
        builder.with_root_certificates(roots(config)?)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    };
    let built = Arc::new(built.with_no_client_auth());
    configs().insert(config.clone(), built.clone());
    Ok(built)
}

/// The system's CA store (the certificates it cannot parse are passed
/// over, as OpenSSL does), and `ssl_ca_file`'s and `ssl_ca_dir`'s.
fn roots(config: &TlsConfig) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(file) = &config.ca_file {
        let certs = pem_certificates(file)
            .map_err(|e| format!("TLS setup: ssl_ca_file {}: {e}", file.display()))?;
        roots.add_parsable_certificates(certs);
    }
    if let Some(dir) = &config.ca_dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("TLS setup: ssl_ca_dir {}: {e}", dir.display()))?;
        let files = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.is_file());
        // A CA directory may hold other files too (OpenSSL skips them).
        for certs in files.filter_map(|file| pem_certificates(&file).ok()) {
            roots.add_parsable_certificates(certs);
        }
    }
    Ok(roots)
}

fn pem_certificates(
    file: &Path,
) -> Result<Vec<CertificateDer<'static>>, rustls::pki_types::pem::Error> {
    CertificateDer::pem_file_iter(file)?.collect()
}

/// `ssl_verify = no`: any certificate and name, but the handshake's
/// signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
