//! Starts one server of the kit and keeps it until stdin closes, for
//! poking at it by hand:
//! `cargo run -p imap4-testkit --example serve -- cyrus 20`
//! prints its ports, dir and users (each with 20 generated messages).

use std::io::Read;

use imap4_testkit::Kind;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "dovecot".into());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| std::io::Error::other(format!("no server kind {name:?}")))?;
    let mut b = kind.builder();
    for u in ["alice", "bob"] {
        b = b.messages(u, count, 1);
    }
    let s = b.start()?;
    println!(
        "{kind}: port {} tls {} dir {} users {:?} login {:?} password {}",
        s.port(),
        s.tls_port(),
        s.dir().display(),
        s.users(),
        s.login_name("alice"),
        s.password()
    );
    if let Some(c) = s.stream_command("alice") {
        println!("stream: {c}");
    }
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}
