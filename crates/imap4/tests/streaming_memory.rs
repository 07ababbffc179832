//! Streaming a large message keeps memory bounded: a 1 GiB message goes
//! to a file in ONE FETCH, in both drivers, with peak RSS growing by less
//! than 16 MiB. This file holds one test so that the process's peak RSS
//! measures it alone.

use std::io::{BufWriter, Read, Write};
use std::process::Command;

use imap4::Imap4;
use imap4_testkit::Dovecot;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

const LINE: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmno";
const HEADER: &[u8] = b"From: a@example.com\nSubject: big\n\n";

/// The message as the server sends it (CRLF line ends), `lines` lines of
/// body, fed to `f` in pieces.
fn expected(lines: usize, mut f: impl FnMut(&[u8])) {
    f(&HEADER
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect::<Vec<_>>());
    let mut line = LINE.to_vec();
    line.extend_from_slice(b"\r\n");
    let block: Vec<u8> = line.repeat(4096);
    let mut left = lines;
    while left > 0 {
        let n = left.min(4096);
        f(&block[..n * line.len()]);
        left -= n;
    }
}

/// Whether `path` holds exactly the expected message.
fn file_matches(path: &std::path::Path, lines: usize) -> bool {
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path).unwrap());
    let mut same = true;
    let mut buf = Vec::new();
    expected(lines, |want| {
        buf.resize(want.len(), 0);
        if same && (file.read_exact(&mut buf).is_err() || buf != want) {
            same = false;
        }
    });
    same && file.read(&mut [0u8; 1]).unwrap() == 0
}

#[cfg(feature = "tokio")]
#[test]
fn a_1_gib_message_goes_to_a_file_in_one_fetch_in_bounded_memory() {
    const SIZE: usize = 1 << 30; // 1 GiB body
    let lines = SIZE / (LINE.len() + 1) + 1;
    let d = Dovecot::builder().messages("alice", 1, 1).start().unwrap();
    let maildir = d.home("alice").join("Maildir");
    let path = maildir.join("new").join("1700000000.big.host:2,");
    {
        let f = std::fs::File::create(&path).unwrap();
        let mut w = BufWriter::with_capacity(1 << 20, f);
        w.write_all(HEADER).unwrap();
        let mut block = Vec::new();
        for _ in 0..4096 {
            block.extend_from_slice(LINE);
            block.push(b'\n');
        }
        let mut left = lines;
        while left > 0 {
            let n = left.min(4096);
            w.write_all(&block[..n * (LINE.len() + 1)]).unwrap();
            left -= n;
        }
        w.flush().unwrap();
    }
    let st = Command::new("chown")
        .arg("--reference")
        .arg(&maildir)
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    let mut size = 0u64;
    expected(lines, |b| size += b.len() as u64);
    let out = d.dir().join("fetched.eml");
    let uid = 2;

    // blocking driver
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    let inbox = m.typed().select("INBOX").unwrap();
    assert_eq!(inbox.exists, 2);
    let before = peak_rss_kib();
    let mut file = BufWriter::new(std::fs::File::create(&out).unwrap());
    let n = m.typed().uid_fetch_body_to(uid, "", &mut file).unwrap();
    drop(file);
    let blocking_grew = peak_rss_kib().saturating_sub(before) / 1024;
    assert_eq!(n, size);
    assert!(
        file_matches(&out, lines),
        "the file differs from the message"
    );
    // the connection is still in step afterwards
    assert_eq!(m.typed().select("INBOX").unwrap().exists, 2);
    m.logout().unwrap();
    std::fs::remove_file(&out).unwrap();

    // async driver
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let before = peak_rss_kib();
    let n = rt.block_on(async {
        let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
            .await
            .unwrap();
        m.login("alice", d.password()).await.unwrap();
        m.typed().select("INBOX").await.unwrap();
        let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(&out).await.unwrap());
        let n = m
            .typed()
            .uid_fetch_body_to(uid, "", &mut file)
            .await
            .unwrap();
        assert_eq!(m.typed().select("INBOX").await.unwrap().exists, 2);
        n
    });
    let async_grew = peak_rss_kib().saturating_sub(before) / 1024;
    assert_eq!(n, size);
    assert!(
        file_matches(&out, lines),
        "the file differs from the message"
    );
    eprintln!(
        "streamed {} MiB in one FETCH; peak RSS grew by {blocking_grew} MiB (blocking), {async_grew} MiB (tokio)",
        n >> 20
    );
    for (driver, grew) in [("blocking", blocking_grew), ("tokio", async_grew)] {
        assert!(
            grew < 16,
            "{driver}: peak RSS grew by {grew} MiB for a {} MiB message",
            n >> 20
        );
    }
}
