//! Master-user login: log in as the folder's owner, authenticated as the
//! master user (the logged-in user), so the owner's backend applies the
//! master user's ACL rights.
//!
//! `AUTHENTICATE PLAIN` with authzid = owner and authcid = master (initial
//! response inline when SASL-IR is offered); or, when a separator is
//! configured, `LOGIN owner<sep>master password`, Dovecot's
//! `auth_master_user_separator` form. The password appears in no log or error.

use super::connection::{rejected, Completion, Connection};
use super::error::{ClientError, ClientResult};
use crate::imap::command::Command;
use crate::imap::response::{Code, Status};

/// Who logs in as whom.
pub struct MasterLogin<'a> {
    /// The user whose folders are opened (authorization identity).
    pub owner: &'a str,
    /// The user who authenticates (usually the logged-in user).
    pub master: &'a str,
    pub password: &'a str,
    /// `Some("*")` to use `LOGIN owner*master` instead of SASL PLAIN.
    pub separator: Option<&'a str>,
    /// The address of the user's own IMAP client, sent in `ID` before the
    /// login so the owner's servers log and limit by it, not by ours (they
    /// accept it from `login_trusted_networks`).
    pub client_ip: Option<&'a str>,
}

/// Logs in on a fresh connection and updates its capabilities.
pub fn login_as_master(connection: &mut Connection, login: &MasterLogin<'_>) -> ClientResult<()> {
    if login.owner == login.master {
        return Err(ClientError::SelfMaster {
            user: login.owner.to_string(),
        });
    }
    if connection.capabilities().is_empty() {
        connection.refresh_capabilities()?;
    }
    if let (Some(ip), true) = (login.client_ip, connection.has_capability("ID")) {
        send_client_id(connection, ip)?;
    }
    let refused = |reason: String| ClientError::AuthFailed {
        owner: login.owner.to_string(),
        master: login.master.to_string(),
        reason,
    };
    let done = match login.separator {
        Some(separator) => {
            let user = format!("{}{separator}{}", login.owner, login.master);
            let command = Command::new("LOGIN")
                .astring(user.as_bytes())?
                .secret(login.password.as_bytes())?;
            let tag = connection.send(&command)?;
            connection.wait(&tag)?
        }
        None if connection.has_capability("AUTH=PLAIN") => authenticate_plain(connection, login)?,
        None => return Err(refused(
            "the server offers no AUTH=PLAIN; set shared_imapc_master_user_separator to use LOGIN"
                .into(),
        )),
    };
    if matches!(&done.line.code, Some(Code::Named(c)) if c == "UNAVAILABLE") {
        // The owner's backend is down behind the proxy: not a refusal.
        return Err(rejected("LOGIN", done.line));
    }
    if done.line.status != Status::Ok {
        return Err(refused(done.line.text));
    }
    match done.line.code {
        Some(Code::Capability(caps)) => connection.set_capabilities(caps),
        _ => connection.refresh_capabilities()?,
    }
    Ok(())
}

/// `ID ("name" "shared_imapc" "x-originating-ip" ip)`; a refusal is not
/// fatal (the login then shows our own address).
fn send_client_id(connection: &mut Connection, ip: &str) -> ClientResult<()> {
    let command = Command::new("ID")
        .open_group()
        .string(b"name")?
        .string(b"shared_imapc")?
        .string(b"x-originating-ip")?
        .string(ip.as_bytes())?
        .close_group();
    let tag = connection.send(&command)?;
    connection.wait(&tag).map(|_| ())
}

fn authenticate_plain(
    connection: &mut Connection,
    login: &MasterLogin<'_>,
) -> ClientResult<Completion> {
    let response =
        base64(format!("{}\0{}\0{}", login.owner, login.master, login.password).as_bytes());
    let command = Command::new("AUTHENTICATE").syntax("PLAIN");
    if connection.has_capability("SASL-IR") {
        let tag = connection.send(&command.secret(response.as_bytes())?)?;
        return connection.wait(&tag);
    }
    let tag = connection.send(&command)?;
    match connection.wait_continuation(&tag, "AUTHENTICATE") {
        Ok(_) => {}
        Err(ClientError::Rejected { text, .. }) => {
            return Err(ClientError::AuthFailed {
                owner: login.owner.to_string(),
                master: login.master.to_string(),
                reason: text,
            })
        }
        Err(e) => return Err(e),
    }
    connection.send_line(response.as_bytes(), "AUTHENTICATE")?;
    connection.wait(&tag)
}

/// Standard base64 (RFC 4648) for SASL.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}
