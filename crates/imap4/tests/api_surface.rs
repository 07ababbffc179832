//! The imaplib-compatible surface, pinned: every method with the exact
//! signature users port code against. A change that breaks one of these
//! lines breaks users' code.

// Spelling the types out in full is the point of this file.
#![allow(clippy::type_complexity)]

use imap4::{Data, Error, ErrorKind, Imap4, Response, TlsOptions};

#[test]
fn signatures_are_stable() {
    let _: fn(&str, u16) -> Result<Imap4, Error> = Imap4::connect;
    let _: fn(&str, u16) -> Result<Imap4, Error> = Imap4::connect_ssl;
    let _: fn(&str, u16, TlsOptions) -> Result<Imap4, Error> = Imap4::connect_ssl_with;
    let _: fn(&str) -> Result<Imap4, Error> = Imap4::connect_stream;
    let _: fn(&mut Imap4, TlsOptions) -> Result<Response, Error> = Imap4::starttls;
    let _: fn(&mut Imap4, &str, Option<&str>, Option<&str>, &[u8]) -> Result<Response, Error> =
        Imap4::append;
    let _ = Imap4::authenticate::<fn(&[u8]) -> Option<Vec<u8>>>;
    type Plain = fn(&mut Imap4) -> Result<Response, Error>;
    let _: [Plain; 9] = [
        Imap4::capability,
        Imap4::check,
        Imap4::close,
        Imap4::expunge,
        Imap4::logout,
        Imap4::namespace,
        Imap4::noop,
        Imap4::recent,
        Imap4::unselect,
    ];
    type One = fn(&mut Imap4, &str) -> Result<Response, Error>;
    let _: [One; 10] = [
        Imap4::create,
        Imap4::delete,
        Imap4::subscribe,
        Imap4::unsubscribe,
        Imap4::getacl,
        Imap4::myrights,
        Imap4::getquota,
        Imap4::getquotaroot,
        Imap4::proxyauth,
        Imap4::enable,
    ];
    type Two = fn(&mut Imap4, &str, &str) -> Result<Response, Error>;
    let _: [Two; 10] = [
        Imap4::copy,
        Imap4::rename,
        Imap4::deleteacl,
        Imap4::setquota,
        Imap4::fetch,
        Imap4::list,
        Imap4::lsub,
        Imap4::login,
        Imap4::login_cram_md5,
        Imap4::status,
    ];
    type Three = fn(&mut Imap4, &str, &str, &str) -> Result<Response, Error>;
    let _: [Three; 3] = [Imap4::setacl, Imap4::getannotation, Imap4::store];
    let _: fn(&mut Imap4, &str, &[&str]) -> Result<Response, Error> = Imap4::setannotation;
    let _: fn(&mut Imap4, &str, &[&str]) -> Result<Response, Error> = Imap4::uid;
    let _: fn(&mut Imap4, &str, &[&str]) -> Result<Response, Error> = Imap4::xatom;
    let _: fn(&mut Imap4, &str, &str, u32, u32) -> Result<Response, Error> = Imap4::partial;
    let _: fn(&mut Imap4, Option<&str>, &[&str]) -> Result<Response, Error> = Imap4::search;
    let _: fn(&mut Imap4, &str, &str, &[&str]) -> Result<Response, Error> = Imap4::sort;
    let _: fn(&mut Imap4, &str, &str, &[&str]) -> Result<Response, Error> = Imap4::thread;
    let _: fn(&mut Imap4, &str, bool) -> Result<Response, Error> = Imap4::select;
    let _: fn(&mut Imap4, &str) -> Response = Imap4::response;
    let _: fn(&mut Imap4, usize) -> Result<Vec<u8>, Error> = Imap4::read;
    let _: fn(&mut Imap4) -> Result<Vec<u8>, Error> = Imap4::readline;
    let _: fn(&mut Imap4, &[u8]) -> Result<(), Error> = Imap4::send;
    let _: fn(&mut Imap4) -> Result<(), Error> = Imap4::shutdown;
    let _: fn(&Imap4) -> Option<&std::net::TcpStream> = Imap4::socket;
    let _: fn(&Imap4) -> &str = Imap4::protocol_version;
    let _: fn(&Imap4) -> &[String] = Imap4::capabilities;
    let _: fn(&Imap4) -> &[u8] = Imap4::welcome;
    let _: fn(&Imap4) -> bool = Imap4::is_readonly;
    let _: fn(&Imap4) -> Option<&imap4::TlsSession> = Imap4::ssl;
    let _: (u16, u16) = (imap4::IMAP4_PORT, imap4::IMAP4_SSL_PORT);
    assert_eq!((imap4::IMAP4_PORT, imap4::IMAP4_SSL_PORT), (143, 993));
    let _: fn(u64) -> Vec<u8> = imap4::int2ap;
    let _: fn(&[u8]) -> Vec<Vec<u8>> = imap4::parse_flags;
}

#[test]
fn shapes_match_imaplib() {
    // imaplib's three exception classes, matched exhaustively.
    let describe = |k: ErrorKind| match k {
        ErrorKind::Error => "error",
        ErrorKind::Abort => "abort",
        ErrorKind::ReadOnly => "readonly",
    };
    assert_eq!(describe(ErrorKind::ReadOnly), "readonly");
    // (typ, data) with imaplib's data shapes, bytes through AsRef<[u8]>.
    let r = Response {
        typ: "OK".to_string(),
        data: vec![
            Data::None,
            Data::Line("1 2".into()),
            Data::Literal {
                header: "1 (RFC822 {3}".into(),
                body: "abc".into(),
            },
            Data::List(vec![]),
        ],
    };
    assert_eq!(r.typ.to_string(), "OK");
    let lengths: Vec<usize> = r
        .data
        .iter()
        .map(|d| match d {
            Data::None => 0,
            Data::Line(l) => AsRef::<[u8]>::as_ref(l).len(),
            Data::Literal { header, body } => header.as_ref().len() + body.as_ref().len(),
            Data::List(items) => items.len(),
        })
        .collect();
    assert_eq!(lengths, vec![0, 3, 16, 0]);
}
