//! Streaming a large message keeps memory bounded. This file holds one
//! test so that the process's peak RSS measures it alone.

use std::io::{BufWriter, Write};
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

/// Counts the bytes written to it and keeps the last ones.
struct Count {
    n: u64,
    tail: Vec<u8>,
}

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.n += buf.len() as u64;
        self.tail.clear();
        self.tail
            .extend_from_slice(&buf[buf.len().saturating_sub(16)..]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_large_message_streams_in_bounded_memory() {
    const SIZE: usize = 192 << 20; // 192 MiB body
    let d = Dovecot::builder().messages("alice", 1, 1).start().unwrap();
    let maildir = d.home("alice").join("Maildir");
    let path = maildir.join("new").join("1700000000.big.host:2,");
    {
        let f = std::fs::File::create(&path).unwrap();
        let mut w = BufWriter::new(f);
        w.write_all(b"From: a@example.com\nSubject: big\n\n")
            .unwrap();
        let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmno\n";
        let mut written = 0;
        while written < SIZE {
            w.write_all(line).unwrap();
            written += line.len();
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

    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    let inbox = m.typed().select("INBOX").unwrap();
    assert_eq!(inbox.exists, 2);
    let uid = 2;
    let before = peak_rss_kib();
    let mut sink = Count {
        n: 0,
        tail: Vec::new(),
    };
    let n = m.typed().uid_fetch_body_to(uid, "", &mut sink).unwrap();
    let after = peak_rss_kib();
    assert!(sink.tail.ends_with(b"lmno\r\n"), "{:?}", sink.tail);
    // CRLF conversion makes the message larger than the file.
    assert!(n > SIZE as u64, "{n}");
    assert_eq!(n, sink.n);
    let grew_mib = (after.saturating_sub(before)) / 1024;
    eprintln!("streamed {} MiB; peak RSS grew by {grew_mib} MiB", n >> 20);
    assert!(
        grew_mib < 32,
        "peak RSS grew by {grew_mib} MiB for a {} MiB message",
        n >> 20
    );
}
