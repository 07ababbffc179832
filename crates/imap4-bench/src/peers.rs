//! The typed peers from crates.io in the end-to-end benchmark, doing what
//! imap4's typed client does in each workload: rust-imap (`imap`
//! 3.0.0-alpha.15, blocking) and async-imap (0.12, on a current-thread
//! tokio runtime). Both parse with imap-proto. Each checks that every
//! FETCH carries what was asked (flags, size and envelope in (a), the body
//! in (b)) and counts messages and bytes as imap4's client does; neither
//! parses INTERNALDATE into a date (imap4 does not either).

use futures_util::StreamExt;

use crate::{Error, CHUNK, ENVELOPE_ITEMS};

/// The user and password of the benchmark's Dovecot.
const USER: &str = "bench";
const PASSWORD: &str = "secret";

/// rust-imap (`imap` on crates.io).
pub fn rust_imap(mode: &str, host: &str, port: u16) -> Result<(u64, u64), Error> {
    let tcp = std::net::TcpStream::connect((host, port))?;
    let mut client = imap::Client::new(tcp);
    client.read_greeting()?;
    let mut s = client.login(USER, PASSWORD).map_err(|e| e.0)?;
    let n = s.examine("INBOX")?.exists as usize;
    let (mut items, mut bytes) = (0u64, 0u64);
    match mode {
        "envelope" => {
            let fetches = s.uid_fetch("1:*", ENVELOPE_ITEMS)?;
            for f in fetches.iter() {
                let (Some(size), Some(_)) = (f.size, f.envelope()) else {
                    return Err(format!("rust-imap: an incomplete FETCH: {f:?}").into());
                };
                let _ = f.flags().len();
                items += 1;
                bytes += u64::from(size);
            }
        }
        "bodies" => {
            for (a, b) in crate::chunks(n, CHUNK) {
                let fetches = s.uid_fetch(format!("{a}:{b}"), "BODY.PEEK[]")?;
                for f in fetches.iter() {
                    let body = f.body().ok_or("rust-imap: a FETCH without BODY[]")?;
                    items += 1;
                    bytes += body.len() as u64;
                }
            }
        }
        _ => return Err(format!("unknown mode {mode:?}").into()),
    }
    s.logout()?;
    Ok((items, bytes))
}

/// async-imap on tokio.
pub fn async_imap(mode: &str, host: &str, port: u16) -> Result<(u64, u64), Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect((host, port)).await?;
        let mut client = async_imap::Client::new(tcp);
        client
            .read_response()
            .await?
            .ok_or("async-imap: no greeting")?;
        let mut s = client.login(USER, PASSWORD).await.map_err(|(e, _)| e)?;
        let n = s.examine("INBOX").await?.exists as usize;
        let (mut items, mut bytes) = (0u64, 0u64);
        match mode {
            "envelope" => {
                let mut fetches = Box::pin(s.uid_fetch("1:*", ENVELOPE_ITEMS).await?);
                while let Some(f) = fetches.next().await {
                    let f = f?;
                    let (Some(size), Some(_)) = (f.size, f.envelope()) else {
                        return Err(format!("async-imap: an incomplete FETCH: {f:?}").into());
                    };
                    let _ = f.flags().count();
                    items += 1;
                    bytes += u64::from(size);
                }
            }
            "bodies" => {
                for (a, b) in crate::chunks(n, CHUNK) {
                    let mut fetches =
                        Box::pin(s.uid_fetch(format!("{a}:{b}"), "BODY.PEEK[]").await?);
                    while let Some(f) = fetches.next().await {
                        let f = f?;
                        let body = f.body().ok_or("async-imap: a FETCH without BODY[]")?;
                        items += 1;
                        bytes += body.len() as u64;
                    }
                }
            }
            _ => return Err(format!("unknown mode {mode:?}").into()),
        }
        s.logout().await?;
        Ok((items, bytes))
    })
}
