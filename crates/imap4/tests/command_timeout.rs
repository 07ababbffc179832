//! `Config::command_timeout` bounds a whole command, even against a server
//! that keeps trickling bytes so that no single read times out.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use imap4::{Config, Imap4};

#[test]
fn a_trickling_server_cannot_stretch_a_command() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"* OK hi\r\n").unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap();
        let tag = String::from_utf8_lossy(&buf[..n])
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        s.write_all(format!("* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n").as_bytes())
            .unwrap();
        let _ = s.read(&mut buf).unwrap(); // NOOP
                                           // One byte every 20 ms, forever (until the client hangs up).
        loop {
            thread::sleep(Duration::from_millis(20));
            if s.write_all(b"x").is_err() {
                break;
            }
        }
    });
    let config = Config {
        read_timeout: Some(Duration::from_secs(5)),
        command_timeout: Some(Duration::from_millis(400)),
        ..Config::default()
    };
    let mut m = Imap4::connect_with("127.0.0.1", port, config).unwrap();
    let started = Instant::now();
    let err = m.noop().unwrap_err();
    let took = started.elapsed();
    assert!(err.is_abort() && err.is_timeout(), "{err}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    // The connection is finished: the next command aborts at once.
    assert!(m.noop().unwrap_err().is_abort());
    drop(m);
    server.join().unwrap();
}
