//! The typed parser against REAL server output.
//!
//! `tests/fixtures/dovecot/*.imap` are transcripts captured from the test
//! kit's Dovecot 2.3 (CONDSTORE, QRESYNC, ESEARCH, SORT, THREAD,
//! LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, METADATA, QUOTA, ACL, ID, ENABLE,
//! BINARY, PREVIEW, SAVEDATE, NAMESPACE) by [`capture_dovecot_fixtures`]:
//! each file starts with the client's command line(s), each prefixed `C: `
//! (literal data left out), followed by the server's exact bytes up to and
//! including the tagged completion. The committed fixtures make
//! [`dovecot_fixtures_parse_fully`] run without a server;
//! [`live_dovecot_parses_everything`] runs the same script against a fresh
//! server.
//!
//! To capture the fixtures anew (needs the Debian packages `dovecot-core`,
//! `dovecot-imapd` and `openssl`):
//!
//! ```text
//! IMAP4_CAPTURE_FIXTURES=1 cargo test -p imap4-proto --test parse_real \
//!     -- --ignored capture_dovecot_fixtures
//! ```
//!
//! Captured values (UIDVALIDITY, dates, mod-sequences) change from capture
//! to capture; the spot checks below are written against the committed
//! files.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use imap4_proto::parse::{
    parse_response, BodyExtension, BodyFields, BodySpecific, BodyStructure, ByteStr, Code, Fetch,
    FetchItem, ListItem, Response, Status, StatusKind, Untagged,
};

// ---------------------------------------------------------------------------
// Splitting a transcript into responses
// ---------------------------------------------------------------------------

/// If `line` (with its line ending) ends in a literal announcement
/// `{N}` / `{N+}` / `~{N}`, N.
fn literal_len(line: &[u8]) -> Option<usize> {
    let mut l = line;
    while let [rest @ .., b'\r' | b'\n'] = l {
        l = rest;
    }
    let l = l.strip_suffix(b"}")?;
    let l = l.strip_suffix(b"+").unwrap_or(l);
    let open = l.iter().rposition(|&b| b == b'{')?;
    let digits = &l[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Splits server bytes into complete responses (line plus literals).
fn split_responses(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut end = 0;
        loop {
            let nl = bytes[end..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| end + p + 1);
            let line = &bytes[end..nl];
            end = nl;
            match literal_len(line) {
                Some(n) if end + n <= bytes.len() => end += n,
                _ => break,
            }
        }
        out.push(&bytes[..end]);
        bytes = &bytes[end..];
    }
    out
}

/// A fixture file: the `C: ` lines and the server's bytes.
struct Transcript {
    name: String,
    client: Vec<String>,
    server: Vec<u8>,
}

fn read_transcript(path: &Path) -> Transcript {
    let bytes = std::fs::read(path).unwrap();
    let mut rest = &bytes[..];
    let mut client = Vec::new();
    while let Some(after) = rest.strip_prefix(b"C: ") {
        let nl = after.iter().position(|&b| b == b'\n').unwrap();
        client.push(String::from_utf8_lossy(&after[..nl]).trim_end().to_string());
        rest = &after[nl + 1..];
    }
    Transcript {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        client,
        server: rest.to_vec(),
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dovecot")
}

fn transcripts() -> BTreeMap<String, Transcript> {
    let mut paths: Vec<_> = std::fs::read_dir(fixture_dir())
        .expect("fixtures/dovecot")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "imap"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let t = read_transcript(p);
            (t.name.clone(), t)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The check applied to every response
// ---------------------------------------------------------------------------

/// Parses `raw`; an error, or anything kept raw (`Other`), is a failure —
/// every response Dovecot sends is of a known kind.
fn check(raw: &[u8]) -> Result<Response<'_>, String> {
    let show = || String::from_utf8_lossy(&raw[..raw.len().min(300)]).into_owned();
    let r = parse_response(raw).map_err(|e| format!("{e} in {:?}", show()))?;
    match &r {
        Response::Data(Untagged::Other { name, .. }) => {
            return Err(format!("untagged {name} kept raw: {:?}", show()));
        }
        Response::Data(Untagged::Fetch(f)) => {
            for item in &f.items {
                if let FetchItem::Other { name, raw: v } = item {
                    return Err(format!("FETCH item {name} kept raw ({v:?})"));
                }
            }
        }
        Response::Status(s) => {
            if let Some(Code::Other { name, .. }) = &s.code {
                // Codes without a variant of their own (RFC 5530 and the
                // like) are Other by design; a code whose variant exists
                // must not end up here.
                const TYPED: [&str; 18] = [
                    "ALERT",
                    "BADCHARSET",
                    "CAPABILITY",
                    "PARSE",
                    "PERMANENTFLAGS",
                    "READ-ONLY",
                    "READ-WRITE",
                    "TRYCREATE",
                    "UIDNEXT",
                    "UIDVALIDITY",
                    "UNSEEN",
                    "APPENDUID",
                    "COPYUID",
                    "UIDNOTSTICKY",
                    "HIGHESTMODSEQ",
                    "NOMODSEQ",
                    "MODIFIED",
                    "CLOSED",
                ];
                if TYPED
                    .iter()
                    .any(|k| name.as_bytes().eq_ignore_ascii_case(k.as_bytes()))
                {
                    return Err(format!("code {name} not typed: {:?}", show()));
                }
            }
        }
        _ => {}
    }
    Ok(r)
}

/// [`check`], panicking with `context`.
fn parse_fully<'a>(context: &str, raw: &'a [u8]) -> Response<'a> {
    check(raw).unwrap_or_else(|e| panic!("{context}: {e}"))
}

// ---------------------------------------------------------------------------
// The fixture test
// ---------------------------------------------------------------------------

/// The fixture whose BODYSTRUCTURE nests deeper than the default limit:
/// checked by [`dovecot_too_deep_is_a_clean_error`], not here.
const TOO_DEEP: &str = "fetch-too-deep";

#[test]
fn dovecot_fixtures_parse_fully() {
    let all = transcripts();
    assert!(all.len() >= 100, "only {} fixtures", all.len());
    let mut responses = 0;
    let mut fetch_items = 0;
    let mut failures = Vec::new();
    for t in all.values() {
        assert!(!t.client.is_empty(), "{}: no C: line", t.name);
        let parts = split_responses(&t.server);
        assert!(!parts.is_empty(), "{}: no server bytes", t.name);
        if t.name.ends_with(TOO_DEEP) {
            continue;
        }
        for raw in parts {
            responses += 1;
            match check(raw) {
                Ok(Response::Data(Untagged::Fetch(f))) => fetch_items += f.items.len(),
                Ok(_) => {}
                Err(e) => failures.push(format!("{}: {e}", t.name)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(responses > 500, "{responses} responses");
    assert!(fetch_items > 500, "{fetch_items} fetch items");
}

// ---------------------------------------------------------------------------
// Spot checks of typed values in the committed fixtures
// ---------------------------------------------------------------------------

/// The raw server bytes of fixture `*-name`.
fn server_bytes(name: &str) -> Vec<u8> {
    transcripts()
        .into_values()
        .find(|t| t.name.split_once('-').is_some_and(|(_, n)| n == name))
        .unwrap_or_else(|| panic!("no fixture NNN-{name}"))
        .server
}

/// Runs `f` on the parsed responses of fixture `*-name`.
fn with_fixture(name: &str, f: impl FnOnce(&[Response<'_>])) {
    let bytes = server_bytes(name);
    let rs: Vec<Response<'_>> = split_responses(&bytes)
        .into_iter()
        .map(|raw| parse_fully(name, raw))
        .collect();
    f(&rs);
}

fn data<'r, 'a>(rs: &'r [Response<'a>]) -> impl Iterator<Item = &'r Untagged<'a>> {
    rs.iter().filter_map(|r| match r {
        Response::Data(d) => Some(d),
        _ => None,
    })
}

fn untagged_statuses<'r, 'a>(rs: &'r [Response<'a>]) -> Vec<&'r Status<'a>> {
    rs.iter()
        .filter_map(|r| match r {
            Response::Status(s) if s.tag.is_none() => Some(s),
            _ => None,
        })
        .collect()
}

fn tagged<'r, 'a>(rs: &'r [Response<'a>]) -> &'r Status<'a> {
    match rs.last() {
        Some(Response::Status(s)) if s.tag.is_some() => s,
        other => panic!("not a tagged completion: {other:?}"),
    }
}

fn fetches<'r, 'a>(rs: &'r [Response<'a>]) -> Vec<&'r Fetch<'a>> {
    data(rs)
        .filter_map(|d| match d {
            Untagged::Fetch(f) => Some(f),
            _ => None,
        })
        .collect()
}

fn codes<'r, 'a>(rs: &'r [Response<'a>]) -> Vec<&'r Code<'a>> {
    rs.iter()
        .filter_map(|r| match r {
            Response::Status(s) => s.code.as_ref(),
            _ => None,
        })
        .collect()
}

fn other_code(c: &Code<'_>) -> (String, Option<String>) {
    match c {
        Code::Other { name, data } => (name.to_string(), data.as_ref().map(|d| d.to_string())),
        other => panic!("not an Other code: {other:?}"),
    }
}

fn uid_validity(name: &str) -> u32 {
    let mut v = None;
    with_fixture(name, |rs| {
        v = codes(rs).into_iter().find_map(|c| match c {
            Code::UidValidity(v) => Some(*v),
            _ => None,
        });
    });
    v.expect("UIDVALIDITY")
}

#[test]
fn dovecot_greeting_and_capabilities() {
    with_fixture("greeting", |rs| {
        let [Response::Status(s)] = rs else {
            panic!("{rs:?}")
        };
        assert_eq!((s.tag.is_none(), s.kind), (true, StatusKind::Ok));
        let Some(Code::Capability(caps)) = &s.code else {
            panic!("{s:?}")
        };
        assert!(caps.iter().any(|c| c == &"IMAP4rev1"));
        assert!(caps.iter().any(|c| c == &"AUTH=PLAIN"));
        assert!(s.text.to_string().ends_with("Dovecot ready."), "{}", s.text);
    });
    with_fixture("capability", |rs| {
        let Some(Untagged::Capability(caps)) = data(rs).next() else {
            panic!()
        };
        for cap in [
            "CONDSTORE",
            "QRESYNC",
            "ESEARCH",
            "METADATA",
            "BINARY",
            "PREVIEW",
            "SAVEDATE",
            "RIGHTS=texk",
            "STATUS=SIZE",
        ] {
            assert!(
                caps.iter().any(|c| c == &cap),
                "{cap} missing from {caps:?}"
            );
        }
        assert_eq!(tagged(rs).kind, StatusKind::Ok);
    });
    with_fixture("login-2", |rs| {
        let Some(Code::Capability(caps)) = &tagged(rs).code else {
            panic!()
        };
        assert!(caps.len() > 30, "{caps:?}");
    });
}

#[test]
fn dovecot_authenticate_continuation_and_idle() {
    with_fixture("authenticate-plain", |rs| {
        let Response::Continuation(c) = &rs[0] else {
            panic!("{rs:?}")
        };
        assert_eq!((c.code.as_ref(), c.text.as_bytes()), (None, &b""[..]));
        assert!(matches!(&rs[1], Response::Data(Untagged::Capability(_))));
        assert_eq!(tagged(rs).text, "Logged in");
    });
    with_fixture("append-rich", |rs| {
        let Response::Continuation(c) = &rs[0] else {
            panic!("{rs:?}")
        };
        assert_eq!(c.text, "OK");
    });
    with_fixture("idle", |rs| {
        let Response::Continuation(c) = &rs[0] else {
            panic!("{rs:?}")
        };
        assert_eq!(c.text, "idling");
    });
}

#[test]
fn dovecot_rfc5530_codes_are_kept_with_their_text() {
    for (fixture, kind, code) in [
        ("login-bad-password", StatusKind::No, "AUTHENTICATIONFAILED"),
        ("create-exists", StatusKind::No, "ALREADYEXISTS"),
        ("getacl-nonexistent", StatusKind::No, "NONEXISTENT"),
        ("append-noperm", StatusKind::No, "NOPERM"),
    ] {
        with_fixture(fixture, |rs| {
            let s = tagged(rs);
            assert_eq!(s.kind, kind, "{fixture}");
            assert_eq!(
                other_code(s.code.as_ref().unwrap()),
                (code.to_string(), None)
            );
            assert!(!s.text.as_bytes().is_empty(), "{fixture}");
        });
    }
    with_fixture("getmetadata-maxsize", |rs| {
        let s = tagged(rs);
        assert_eq!(s.kind, StatusKind::Ok);
        assert_eq!(
            other_code(s.code.as_ref().unwrap()),
            ("METADATA".to_string(), Some("LONGENTRIES 5".to_string()))
        );
    });
    with_fixture("search-badcharset", |rs| {
        assert_eq!(tagged(rs).code, Some(Code::BadCharset(vec![])));
    });
    with_fixture("copy-trycreate", |rs| {
        assert_eq!(tagged(rs).code, Some(Code::TryCreate));
    });
    for (fixture, kind) in [
        ("bad-command", StatusKind::Bad),
        ("bad-syntax", StatusKind::Bad),
        ("no-selected", StatusKind::Bad),
        ("delete-inbox", StatusKind::No),
        ("getquota-unknown", StatusKind::No),
    ] {
        with_fixture(fixture, |rs| {
            assert_eq!(
                (tagged(rs).kind, tagged(rs).code.as_ref()),
                (kind, None),
                "{fixture}"
            );
        });
    }
}

#[test]
fn dovecot_id_enable_namespace() {
    with_fixture("id", |rs| {
        let Some(Untagged::Id(Some(pairs))) = data(rs).next() else {
            panic!("{rs:?}")
        };
        assert_eq!(pairs[0].0, "name");
        assert_eq!(pairs[0].1.as_ref().unwrap(), &"Dovecot");
    });
    with_fixture("enable-condstore", |rs| {
        let Some(Untagged::Enabled(caps)) = data(rs).next() else {
            panic!()
        };
        assert_eq!(caps.len(), 1);
        assert_eq!(caps[0], "CONDSTORE");
    });
    with_fixture("namespace", |rs| {
        let Some(Untagged::Namespace {
            personal,
            other,
            shared,
        }) = data(rs).next()
        else {
            panic!()
        };
        assert_eq!(personal.len(), 1);
        assert_eq!(
            (personal[0].prefix.as_bytes(), personal[0].delimiter),
            (&b""[..], Some(b'/'))
        );
        assert!(other.is_empty() && shared.is_empty());
    });
}

fn lists<'r, 'a>(rs: &'r [Response<'a>]) -> Vec<&'r ListItem<'a>> {
    data(rs)
        .filter_map(|d| match d {
            Untagged::List(l) | Untagged::Lsub(l) => Some(l),
            _ => None,
        })
        .collect()
}

#[test]
fn dovecot_list_lsub_and_mailbox_names() {
    with_fixture("list-all", |rs| {
        let l = lists(rs);
        assert_eq!(l.len(), 9);
        let names: Vec<&str> = l.iter().map(|i| &*i.mailbox.name).collect();
        for n in [
            "INBOX",
            "Archive",
            "Archive/2023",
            "Entwürfe",
            "Отправленные",
            "Sent",
            "Drafts",
            "Trash",
            "Junk",
        ] {
            assert!(names.contains(&n), "{n} not in {names:?}");
        }
        let entw = l.iter().find(|i| i.mailbox.name == "Entwürfe").unwrap();
        assert_eq!(entw.mailbox.raw, "Entw&APw-rfe");
        assert_eq!(entw.delimiter, Some(b'/'));
        let sent = l.iter().find(|i| i.mailbox.name == "Sent").unwrap();
        assert!(sent.attributes.iter().any(|a| a.is("\\Sent")));
        assert!(sent.attributes.iter().any(|a| a.is("\\HasNoChildren")));
    });
    with_fixture("list-delimiter", |rs| {
        let l = lists(rs);
        assert_eq!(
            (l[0].delimiter, l[0].mailbox.raw.as_bytes()),
            (Some(b'/'), &b""[..])
        );
        assert!(l[0].attributes[0].is("\\Noselect"));
    });
    with_fixture("list-return-special-use", |rs| {
        let l = lists(rs);
        assert!(l.iter().any(|i| i.attributes.is_empty()));
        assert!(l
            .iter()
            .any(|i| i.attributes.iter().any(|a| a.is("\\Archive"))));
    });
    with_fixture("list-subscribed-childinfo", |rs| {
        let l = lists(rs);
        let archive = l.iter().find(|i| i.mailbox.name == "Archive").unwrap();
        assert_eq!(archive.childinfo.len(), 1);
        assert_eq!(archive.childinfo[0], "SUBSCRIBED");
        assert!(
            l.iter()
                .filter(|i| i.attributes.iter().any(|a| a.is("\\Subscribed")))
                .count()
                >= 4
        );
    });
    with_fixture("lsub", |rs| {
        assert!(matches!(data(rs).next(), Some(Untagged::Lsub(_))));
        assert!(lists(rs).iter().any(|i| i.mailbox.name == "Archive/2023"));
    });
    // NOTIFY: a rename by another session, with OLDNAME (RFC 5465/9051).
    with_fixture("noop-notify", |rs| {
        let l = lists(rs);
        assert_eq!(l[0].mailbox.name, "Entwurf");
        assert_eq!(l[0].oldname.as_ref().unwrap().name, "Drafts");
        assert!(l[0].extended.is_empty());
    });
}

fn status_items<'r, 'a>(u: &'r Untagged<'a>) -> (&'r str, Vec<(String, Option<u64>)>) {
    let Untagged::Status { mailbox, items } = u else {
        panic!("{u:?}")
    };
    (
        &mailbox.name,
        items
            .iter()
            .map(|i| (i.name.to_string(), i.value))
            .collect(),
    )
}

#[test]
fn dovecot_status_and_list_status() {
    with_fixture("status", |rs| {
        let (mailbox, items) = status_items(data(rs).next().unwrap());
        assert_eq!(mailbox, "INBOX");
        let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "MESSAGES",
                "RECENT",
                "UIDNEXT",
                "UIDVALIDITY",
                "UNSEEN",
                "HIGHESTMODSEQ"
            ]
        );
        assert_eq!(items[0].1, Some(30));
        assert_eq!(items[2].1, Some(31));
        assert!(items.iter().all(|(_, v)| v.is_some()));
    });
    with_fixture("status-size", |rs| {
        let (_, items) = status_items(data(rs).next().unwrap());
        assert_eq!(items[1].0, "SIZE");
        assert!(items[1].1.unwrap() > 1_000_000);
    });
    with_fixture("status-utf7", |rs| {
        assert_eq!(status_items(data(rs).next().unwrap()).0, "Entwürfe");
    });
    with_fixture("list-status", |rs| {
        // A LIST, then its STATUS, for each mailbox.
        let d: Vec<_> = data(rs).collect();
        assert_eq!(d.len(), 16);
        for pair in d.chunks(2) {
            let Untagged::List(l) = pair[0] else {
                panic!("{pair:?}")
            };
            let (mailbox, items) = status_items(pair[1]);
            assert_eq!(l.mailbox.name, mailbox);
            assert_eq!(items.len(), 3);
        }
    });
}

#[test]
fn dovecot_quota_acl_metadata() {
    with_fixture("getquotaroot", |rs| {
        let d: Vec<_> = data(rs).collect();
        let Untagged::QuotaRoot { mailbox, roots } = d[0] else {
            panic!()
        };
        assert_eq!((&*mailbox.name, roots.len()), ("INBOX", 1));
        assert_eq!(roots[0], "User quota");
        let Untagged::Quota { root, resources } = d[1] else {
            panic!()
        };
        assert_eq!(root, &"User quota");
        assert_eq!(resources[0].name, "STORAGE");
        assert!(resources[0].usage > 0 && resources[0].limit == 1_048_576);
    });
    with_fixture("getacl-archive", |rs| {
        let Some(Untagged::Acl { mailbox, entries }) = data(rs).next() else {
            panic!()
        };
        assert_eq!(mailbox.name, "Archive");
        let e: Vec<(String, String)> = entries
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(
            e,
            [
                ("bob".into(), "lrs".into()),
                ("alice".into(), "lrwstipekxacd".into())
            ]
        );
    });
    with_fixture("listrights", |rs| {
        let Some(Untagged::ListRights {
            identifier,
            required,
            optional,
            ..
        }) = data(rs).next()
        else {
            panic!()
        };
        assert_eq!(
            (identifier, required),
            (&ByteStr::borrowed(b"bob"), &ByteStr::borrowed(b""))
        );
        assert_eq!(optional.len(), 13);
    });
    with_fixture("myrights", |rs| {
        let Some(Untagged::MyRights { rights, .. }) = data(rs).next() else {
            panic!()
        };
        assert_eq!(rights, &"lrwstipekxacd");
    });
    with_fixture("getmetadata", |rs| {
        let Some(Untagged::Metadata { mailbox, entries }) = data(rs).next() else {
            panic!()
        };
        assert_eq!(mailbox.name, "INBOX");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, "/private/comment");
        assert_eq!(entries[0].1.as_ref().unwrap(), &"my inbox"); // a literal
        assert_eq!(
            (entries[1].0.to_string(), entries[1].1.as_ref()),
            ("/shared/comment".into(), None)
        );
    });
    with_fixture("getmetadata-server", |rs| {
        let Some(Untagged::Metadata { mailbox, entries }) = data(rs).next() else {
            panic!()
        };
        assert_eq!(mailbox.raw.as_bytes(), b"");
        assert_eq!(entries[0].1.as_ref().unwrap(), &"hello");
    });
}

#[test]
fn dovecot_select_and_examine() {
    with_fixture("examine", |rs| {
        let d: Vec<_> = data(rs).collect();
        let Untagged::Flags(flags) = d[0] else {
            panic!()
        };
        assert_eq!(flags.len(), 6);
        assert!(flags[0].is("\\Answered") && flags[5].is("$Important"));
        assert_eq!(d[1], &Untagged::Exists(34));
        assert_eq!(d[2], &Untagged::Recent(34));
        let c = codes(rs);
        assert_eq!(c[0], &Code::PermanentFlags(vec![]));
        assert!(c.contains(&&Code::Unseen(2)));
        assert!(c.contains(&&Code::UidNext(35)));
        assert!(c.contains(&&Code::HighestModSeq(9)));
        assert_eq!(tagged(rs).code, Some(Code::ReadOnly));
    });
    with_fixture("select-condstore", |rs| {
        let u = untagged_statuses(rs);
        assert_eq!(u[0].code, Some(Code::Closed));
        assert_eq!(u[0].text, "Previous mailbox closed.");
        let Some(Code::PermanentFlags(p)) = &u[1].code else {
            panic!()
        };
        assert!(p.last().unwrap().is("\\*"));
        assert_eq!(tagged(rs).code, Some(Code::ReadWrite));
    });
}

#[test]
fn dovecot_envelopes() {
    with_fixture("fetch-summary", |rs| {
        let f = fetches(rs);
        assert_eq!(f.len(), 34);
        for (i, m) in f.iter().enumerate() {
            assert_eq!(m.seq as usize, i + 1);
            assert_eq!(m.uid(), Some(m.seq));
            assert_eq!(m.items.len(), 6, "{m:?}");
            assert!(m.envelope().is_some());
        }
        // A generated message: RFC 2047 words are kept as sent.
        let e = f[1].envelope().unwrap();
        assert_eq!(
            e.subject.as_ref().unwrap(),
            &"Re: There budget would budget have was than"
        );
        assert_eq!(
            e.from[0].name.as_ref().unwrap(),
            &"=?utf-8?q?Victor_M=C3=BCller?="
        );
        assert!(e.in_reply_to.is_some() && e.message_id.is_some());
        assert!(matches!(f[0].items[3], FetchItem::Rfc822Size(874_087)));
        assert!(matches!(f[0].items[4], FetchItem::ModSeq(2)));
        assert!(
            matches!(&f[0].items[2], FetchItem::InternalDate(d) if d == &"01-Jan-2023 08:28:40 +0000")
        );

        // The rich message: 8-bit subject and name as literals, escaped
        // quotes, groups.
        let e = f[30].envelope().unwrap();
        assert_eq!(
            e.date.as_ref().unwrap(),
            &"Mon, 7 Feb 1994 21:52:25 -0800 (PST)"
        );
        assert_eq!(e.subject.as_ref().unwrap(), &"Grüße aus Köln");
        assert_eq!(
            e.sender[0].name.as_ref().unwrap(),
            &"Secretary \"the\" Office"
        );
        assert_eq!(e.reply_to, e.from);
        let to: Vec<(Option<String>, Option<String>)> =
            e.to.iter()
                .map(|a| {
                    (
                        a.mailbox.as_ref().map(|m| m.to_string()),
                        a.host.as_ref().map(|h| h.to_string()),
                    )
                })
                .collect();
        assert_eq!(
            to,
            [
                (Some("Team".into()), None), // group start
                (Some("anna".into()), Some("example.org".into())),
                (Some("bob".into()), Some("example.org".into())),
                (None, None), // group end
                (Some("undisclosed-recipients".into()), None),
                (None, None),
            ]
        );
        assert!(e.bcc.is_empty());
        assert_eq!(e.in_reply_to.as_ref().unwrap(), &"<parent@example.org>");
        assert!(f[30].flags().unwrap().iter().any(|fl| fl.is("$Important")));

        // Headers only: everything NIL but the subject.
        let e = f[31].envelope().unwrap();
        assert_eq!(
            (e.date.as_ref(), e.subject.as_ref().unwrap().to_string()),
            (None, "bare".to_string())
        );
        assert!(e.from.is_empty() && e.to.is_empty() && e.message_id.is_none());
    });
}

fn single<'r, 'a>(
    b: &'r BodyStructure<'a>,
) -> (
    &'r BodyFields<'a>,
    &'r BodySpecific<'a>,
    Option<&'r BodyExtension<'a>>,
) {
    match b {
        BodyStructure::Single {
            fields,
            specific,
            extension,
        } => (fields, specific, extension.as_deref()),
        other => panic!("not single: {other:?}"),
    }
}

fn multi<'r, 'a>(
    b: &'r BodyStructure<'a>,
) -> (
    &'r [BodyStructure<'a>],
    &'r ByteStr<'a>,
    Option<&'r BodyExtension<'a>>,
) {
    match b {
        BodyStructure::Multi {
            parts,
            subtype,
            extension,
        } => (parts, subtype, extension.as_deref()),
        other => panic!("not multi: {other:?}"),
    }
}

#[test]
fn dovecot_bodystructures() {
    with_fixture("fetch-bodystructure", |rs| {
        let f = fetches(rs);
        assert_eq!(f.len(), 33);
        assert!(f
            .iter()
            .all(|m| matches!(m.items[0], FetchItem::BodyStructure(_))));
        // Generated: multipart/mixed with attachments.
        let (parts, subtype, ext) = multi(f[0].body_structure().unwrap());
        assert_eq!((parts.len(), subtype.to_string()), (3, "mixed".into()));
        assert_eq!(ext.unwrap().params[0].0, "boundary");
        let (fields, specific, ext) = single(&parts[1]);
        assert_eq!(
            (fields.media_type.to_string(), fields.subtype.to_string()),
            ("image".into(), "jpeg".into())
        );
        assert_eq!(specific, &BodySpecific::Basic);
        assert_eq!(fields.encoding.as_ref().unwrap(), &"base64");
        let (kind, params) = ext.unwrap().disposition.as_ref().unwrap();
        assert_eq!(
            (kind.to_string(), params[0].1.to_string()),
            ("attachment".into(), "IMG_0-0.jpg".into())
        );

        // The rich message.
        let (parts, subtype, ext) = multi(f[30].body_structure().unwrap());
        assert_eq!((parts.len(), subtype.to_string()), (3, "mixed".into()));
        let ext = ext.unwrap();
        assert_eq!(
            ext.language,
            [ByteStr::borrowed(b"en"), ByteStr::borrowed(b"de")]
        );
        let (alt, alt_sub, _) = multi(&parts[0]);
        assert_eq!((alt.len(), alt_sub.to_string()), (2, "alternative".into()));
        let (fields, specific, _) = single(&alt[0]);
        assert_eq!(
            (fields.encoding.as_ref().unwrap().to_string(), fields.size),
            ("8bit".into(), 17)
        );
        assert_eq!(specific, &BodySpecific::Text { lines: 0 });
        let (fields, _, ext) = single(&alt[1]);
        assert_eq!(fields.id.as_ref().unwrap(), &"<html@example.org>");
        assert_eq!(fields.description.as_ref().unwrap(), &"The HTML part");
        let ext = ext.unwrap();
        assert_eq!(ext.md5.as_ref().unwrap(), &"Q2hlY2sgSW50ZWdyaXR5IQ==");
        assert_eq!(ext.language, [ByteStr::borrowed(b"de-DE")]);
        assert_eq!(
            ext.location.as_ref().unwrap(),
            &"http://example.org/part.html"
        );
        // message/rfc822 with its own envelope and multipart.
        let (fields, specific, ext) = single(&parts[1]);
        assert_eq!(fields.subtype, "rfc822");
        let BodySpecific::Message {
            envelope,
            body,
            lines,
        } = specific
        else {
            panic!("{specific:?}")
        };
        assert_eq!(envelope.subject.as_ref().unwrap(), &"inner message");
        assert_eq!(envelope.from[0].name.as_ref().unwrap(), &"Jörg Müller");
        assert!(*lines > 0);
        let (inner, _, _) = multi(body);
        assert_eq!(inner.len(), 3);
        let (pdf, _, pdf_ext) = single(&inner[1]);
        assert_eq!(pdf.params[0].0, "name*");
        assert_eq!(pdf.params[0].1, "utf-8''r%C3%A9sum%C3%A9.pdf");
        assert_eq!(pdf_ext.unwrap().disposition.as_ref().unwrap().1.len(), 2);
        // `Content-Disposition: attachment` without parameters: NIL.
        let (_, _, raw_ext) = single(&inner[2]);
        let (kind, params) = raw_ext.unwrap().disposition.as_ref().unwrap();
        assert_eq!((kind.to_string(), params.len()), ("attachment".into(), 0));
        assert_eq!(
            ext.unwrap().disposition.as_ref().unwrap().1[0].1,
            "forwarded.eml"
        );

        // Headers only: Dovecot's defaults.
        let (fields, specific, _) = single(f[31].body_structure().unwrap());
        assert_eq!(fields.params[0].1, "us-ascii");
        assert_eq!(specific, &BodySpecific::Text { lines: 1 });

        // 30 nested multiparts, well inside the default depth limit.
        let mut b = f[32].body_structure().unwrap();
        let mut depth = 0;
        while let BodyStructure::Multi { parts, .. } = b {
            b = &parts[0];
            depth += 1;
        }
        assert_eq!(depth, 30);
    });
    with_fixture("fetch-body", |rs| {
        let f = fetches(rs);
        assert!(f.iter().all(|m| matches!(m.items[0], FetchItem::Body(_))));
        let (parts, _, ext) = multi(f[30].body_structure().unwrap());
        assert!(ext.is_none());
        assert!(single(&parts[2]).2.is_none());
        let BodySpecific::Message { body, .. } = single(&parts[1]).1 else {
            panic!()
        };
        assert!(multi(body).2.is_none());
    });
    with_fixture("fetch-full-macro", |rs| {
        let f = fetches(rs);
        assert_eq!(f.len(), 3);
        assert!(f
            .iter()
            .all(|m| m.items.len() == 5 && matches!(m.items[4], FetchItem::Body(_))));
    });
}

#[test]
fn dovecot_too_deep_is_a_clean_error() {
    let bytes = server_bytes(TOO_DEEP);
    let raw = split_responses(&bytes)[0];
    let e = parse_response(raw).unwrap_err();
    assert!(e.expected.contains("depth"), "{e}");
    // With a higher limit it parses: 70 multiparts.
    let Ok(Response::Data(Untagged::Fetch(f))) =
        imap4_proto::parse::parse_response_with_depth(raw, 100)
    else {
        panic!()
    };
    let mut b = f.body_structure().unwrap();
    let mut depth = 0;
    while let BodyStructure::Multi { parts, .. } = b {
        b = &parts[0];
        depth += 1;
    }
    assert_eq!(depth, 70);
}

#[test]
fn dovecot_body_sections_and_literals() {
    with_fixture("fetch-body-sections", |rs| {
        let f = fetches(rs);
        let m = f[0];
        assert_eq!(m.uid(), Some(31));
        let sections: Vec<String> = m
            .items
            .iter()
            .filter_map(|i| match i {
                FetchItem::BodySection {
                    section,
                    origin: None,
                    data: Some(_),
                } => Some(section.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            sections,
            ["", "HEADER", "TEXT", "1.1", "1.2.MIME", "2.HEADER", "2.TEXT", "2.2", "4"]
        );
        let full = m.section("").unwrap();
        assert!(full.starts_with(b"Date: Mon, 7 Feb 1994"));
        assert_eq!(full.len(), 1823);
        assert_eq!(m.section("1.1").unwrap(), "Grüße aus Köln".as_bytes());
        assert!(m
            .section("1.2.MIME")
            .unwrap()
            .starts_with(b"Content-Type: text/html"));
        assert!(m
            .section("2.HEADER")
            .unwrap()
            .starts_with(b"Date: Tue, 8 Feb 1994"));
        assert_eq!(m.section("2.2").unwrap(), b"JVBERi0xLjQK");
        assert_eq!(m.section("4"), Some(&b""[..])); // no such part: empty
    });
    with_fixture("fetch-header-fields", |rs| {
        let f = fetches(rs);
        assert_eq!(f.len(), 3);
        let d = f[0].section("HEADER.FIELDS (SUBJECT FROM DATE)").unwrap();
        assert!(d.starts_with(b"From: ") && d.ends_with(b"\r\n\r\n"));
    });
    with_fixture("fetch-header-fields-not", |rs| {
        assert!(fetches(rs)[0]
            .section("HEADER.FIELDS.NOT (RECEIVED DKIM-SIGNATURE)")
            .is_some());
    });
    with_fixture("fetch-partial", |rs| {
        let f = fetches(rs);
        let FetchItem::BodySection {
            section,
            origin,
            data,
        } = &f[0].items[0]
        else {
            panic!()
        };
        assert_eq!(
            (
                section.to_string(),
                *origin,
                data.as_ref().unwrap().as_bytes().len()
            ),
            ("".into(), Some(0), 64)
        );
        let FetchItem::BodySection {
            section,
            origin,
            data,
        } = &f[0].items[1]
        else {
            panic!()
        };
        assert_eq!(
            (
                section.to_string(),
                *origin,
                data.as_ref().unwrap().as_bytes().len()
            ),
            ("TEXT".into(), Some(10), 20)
        );
    });
    with_fixture("fetch-rfc822", |rs| {
        let m = fetches(rs)[0];
        let size = m
            .items
            .iter()
            .find_map(|i| match i {
                FetchItem::Rfc822Size(s) => Some(*s),
                _ => None,
            })
            .unwrap();
        let header = m
            .items
            .iter()
            .find_map(|i| match i {
                FetchItem::Rfc822Header(Some(h)) => Some(h.as_bytes().len()),
                _ => None,
            })
            .unwrap();
        let text = m
            .items
            .iter()
            .find_map(|i| match i {
                FetchItem::Rfc822Text(Some(t)) => Some(t.as_bytes().len()),
                _ => None,
            })
            .unwrap();
        assert_eq!(size, (header + text) as u64);
        // Fetching RFC822.TEXT sets \Seen, which comes back unasked.
        assert!(m.flags().unwrap().iter().any(|f| f.is("\\Seen")));
    });
    with_fixture("fetch-rfc822-full", |rs| {
        assert_eq!(fetches(rs)[0].section("RFC822").unwrap().len(), 5100);
    });
}

#[test]
fn dovecot_binary_preview_savedate_modseq() {
    with_fixture("fetch-binary", |rs| {
        let m = fetches(rs)[0];
        assert_eq!(m.section("1.1").unwrap(), "Grüße aus Köln".as_bytes());
        // Quoted-printable decoded, sent as literal8.
        assert_eq!(m.section("1.2").unwrap(), "<p>Grüße</p>".as_bytes());
        let png = m.section("3").unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0"), "{png:?}");
        let sizes: Vec<(String, u64)> = m
            .items
            .iter()
            .filter_map(|i| match i {
                FetchItem::BinarySize { section, size } => Some((section.to_string(), *size)),
                _ => None,
            })
            .collect();
        assert_eq!(
            sizes,
            [("1.1".into(), 17), ("1.2".into(), 14), ("3".into(), 16)]
        );
    });
    with_fixture("fetch-binary-partial", |rs| {
        let m = fetches(rs)[0];
        assert!(
            matches!(&m.items[1], FetchItem::Binary { section, origin: Some(0), data: Some(d) }
            if section == &"1.2" && d.as_bytes() == "<p>Grüße".as_bytes())
        );
    });
    with_fixture("fetch-preview-savedate", |rs| {
        let f = fetches(rs);
        assert_eq!(f.len(), 5);
        for m in &f {
            assert!(matches!(&m.items[0], FetchItem::Preview(Some(p)) if !p.as_bytes().is_empty()));
            assert!(matches!(&m.items[1], FetchItem::SaveDate(Some(_))));
        }
        // An 8-bit preview comes as a literal.
        let FetchItem::Preview(Some(p)) = &f[3].items[0] else {
            panic!()
        };
        assert!(p.to_string().contains("Zürich"), "{p:?}");
    });
    with_fixture("fetch-changedsince", |rs| {
        let f = fetches(rs);
        assert!(f
            .iter()
            .all(|m| matches!(m.items[1], FetchItem::ModSeq(n) if n >= 2)));
    });
}

#[test]
fn dovecot_search_esearch_sort_thread() {
    with_fixture("search-all", |rs| {
        let Some(Untagged::Search {
            numbers,
            modseq: None,
        }) = data(rs).next()
        else {
            panic!()
        };
        assert_eq!(numbers, &(1..=34).collect::<Vec<u32>>());
    });
    with_fixture("search-empty", |rs| {
        assert_eq!(
            data(rs).next(),
            Some(&Untagged::Search {
                numbers: vec![],
                modseq: None
            })
        );
    });
    with_fixture("search-modseq", |rs| {
        let Some(Untagged::Search { numbers, modseq }) = data(rs).next() else {
            panic!()
        };
        assert_eq!((numbers.len(), *modseq), (34, Some(10)));
    });
    with_fixture("search-charset-utf8", |rs| {
        assert_eq!(
            data(rs).next(),
            Some(&Untagged::Search {
                numbers: vec![31],
                modseq: None
            })
        );
    });
    with_fixture("esearch", |rs| {
        let Some(Untagged::ESearch(e)) = data(rs).next() else {
            panic!()
        };
        assert!(e.tag.as_ref().unwrap().to_string().starts_with('A'));
        assert_eq!(
            (e.uid, e.min, e.max, e.count),
            (false, Some(1), Some(34), Some(34))
        );
        assert_eq!(e.all.as_ref().unwrap(), &"1:34");
    });
    with_fixture("esearch-uid", |rs| {
        let Some(Untagged::ESearch(e)) = data(rs).next() else {
            panic!()
        };
        assert_eq!((e.uid, e.count), (true, Some(10)));
    });
    with_fixture("esearch-empty", |rs| {
        let Some(Untagged::ESearch(e)) = data(rs).next() else {
            panic!()
        };
        assert_eq!(
            (e.min, e.max, e.count, e.all.as_ref()),
            (None, None, Some(0), None)
        );
    });
    with_fixture("esearch-modseq", |rs| {
        let Some(Untagged::ESearch(e)) = data(rs).next() else {
            panic!()
        };
        assert!(e.modseq.is_some() && e.other.is_empty());
    });
    with_fixture("sort-date", |rs| {
        let Some(Untagged::Sort(n)) = data(rs).next() else {
            panic!()
        };
        assert_eq!((n.len(), n[0]), (34, 31)); // 1994 sorts first
    });
    with_fixture("esort", |rs| {
        let Some(Untagged::ESearch(e)) = data(rs).next() else {
            panic!()
        };
        assert_eq!(e.count, Some(34));
    });
    with_fixture("thread-references", |rs| {
        let Some(Untagged::Thread(t)) = data(rs).next() else {
            panic!()
        };
        // (1 2 (3 9)(6 (18)(27)))
        let root = t.iter().find(|n| n.messages.first() == Some(&1)).unwrap();
        assert_eq!(root.messages, [1, 2]);
        let heads: Vec<&[u32]> = root.children.iter().map(|c| &c.messages[..]).collect();
        assert_eq!(heads, [&[3, 9][..], &[6][..]]);
        let under6: Vec<&[u32]> = root.children[1]
            .children
            .iter()
            .map(|c| &c.messages[..])
            .collect();
        assert_eq!(under6, [&[18][..], &[27][..]]);
        // Every message appears once.
        let count: usize = t.iter().map(|n| n.all_messages().len()).sum();
        assert_eq!(count, 34);
    });
    with_fixture("thread-orderedsubject", |rs| {
        let Some(Untagged::Thread(t)) = data(rs).next() else {
            panic!()
        };
        let root = t.iter().find(|n| n.messages.first() == Some(&1)).unwrap();
        assert_eq!(root.messages.len() + root.children.len(), 7);
    });
}

#[test]
fn dovecot_store_copy_move_expunge() {
    let validity = uid_validity("select-condstore");
    with_fixture("append-rich", |rs| {
        let Some(Code::AppendUid { uid_validity, uids }) = &tagged(rs).code else {
            panic!()
        };
        assert_eq!((*uid_validity, uids.to_string()), (validity, "31".into()));
    });
    with_fixture("store-flags", |rs| {
        let d: Vec<_> = data(rs).collect();
        assert!(matches!(d[0], Untagged::Flags(f) if f.iter().any(|f| f.is("$Custom"))));
        let f = fetches(rs);
        assert_eq!(f.len(), 2);
        assert!(matches!(f[0].items[0], FetchItem::ModSeq(_)));
        assert!(f[0].flags().unwrap().iter().any(|f| f.is("\\Flagged")));
    });
    with_fixture("store-unchangedsince", |rs| {
        assert_eq!(
            tagged(rs).code,
            Some(Code::Modified(ByteStr::borrowed(b"4:5")))
        );
    });
    with_fixture("copy", |rs| {
        let Some(Code::CopyUid {
            source,
            destination,
            ..
        }) = &tagged(rs).code
        else {
            panic!()
        };
        assert_eq!(
            (source.to_string(), destination.to_string()),
            ("1:3".into(), "1:3".into())
        );
    });
    with_fixture("move", |rs| {
        let u = untagged_statuses(rs);
        assert!(matches!(&u[0].code, Some(Code::CopyUid { source, .. }) if source == &"7"));
        assert!(data(rs).any(|d| d == &Untagged::Expunge(7)));
    });
    with_fixture("noop-unsolicited", |rs| {
        // What another session did: expunged 9 and 10, appended one (a
        // flag change on 8 may come here or earlier, depending on timing).
        let d: Vec<_> = data(rs)
            .filter(|d| !matches!(d, Untagged::Fetch(_)))
            .collect();
        assert_eq!(
            d,
            [
                &Untagged::Expunge(10),
                &Untagged::Expunge(9),
                &Untagged::Exists(32),
                &Untagged::Recent(31)
            ]
        );
    });
    with_fixture("select-qresync", |rs| {
        assert!(data(rs).any(
            |d| matches!(d, Untagged::Vanished { earlier: true, uids } if uids == &"7,10:11,14")
        ));
        assert!(fetches(rs).len() > 20);
    });
    with_fixture("expunge-vanished", |rs| {
        assert_eq!(
            data(rs).next(),
            Some(&Untagged::Vanished {
                earlier: false,
                uids: ByteStr::borrowed(b"1")
            })
        );
        assert!(matches!(tagged(rs).code, Some(Code::HighestModSeq(_))));
    });
    with_fixture("logout", |rs| {
        let u = untagged_statuses(rs);
        assert_eq!(
            (u[0].kind, u[0].text.to_string()),
            (StatusKind::Bye, "Logging out".into())
        );
    });
}

// ---------------------------------------------------------------------------
// The capture helper: a raw TcpStream client that records exact bytes
// ---------------------------------------------------------------------------

/// One raw connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_tag: usize,
    prefix: &'static str,
}

impl Conn {
    fn connect(port: u16, prefix: &'static str) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Conn {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
            next_tag: 1,
            prefix,
        }
    }

    /// Reads one complete response: a line and the literals it announces.
    fn read_response(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let start = out.len();
            let n = self.reader.read_until(b'\n', &mut out).expect("read");
            assert!(n > 0, "server closed the connection after {out:?}");
            match literal_len(&out[start..]) {
                Some(len) => {
                    let at = out.len();
                    out.resize(at + len, 0);
                    self.reader.read_exact(&mut out[at..]).expect("literal");
                }
                None => return out,
            }
        }
    }

    /// Sends `chunks` (the first is the command without its tag; the
    /// server's `+` is awaited before each further chunk) and returns the
    /// client lines to record and the server's bytes up to the tagged
    /// completion. No chunks: just read one response (the greeting).
    fn run(&mut self, chunks: &[Vec<u8>]) -> (Vec<String>, Vec<u8>) {
        let mut server = Vec::new();
        if chunks.is_empty() {
            server = self.read_response();
            return (vec!["(connect)".into()], server);
        }
        let tag = format!("{}{:03}", self.prefix, self.next_tag);
        self.next_tag += 1;
        let mut client = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let bytes = if i == 0 {
                let mut b = format!("{tag} ").into_bytes();
                b.extend_from_slice(chunk);
                b
            } else {
                chunk.clone()
            };
            let first = bytes.split(|&b| b == b'\n').next().unwrap();
            client.push(String::from_utf8_lossy(first).trim_end().to_string());
            self.writer.write_all(&bytes).unwrap();
            let last = i + 1 == chunks.len();
            loop {
                let r = self.read_response();
                let done = if last {
                    r.starts_with(format!("{tag} ").as_bytes())
                } else {
                    r.starts_with(b"+") || r.starts_with(format!("{tag} ").as_bytes())
                };
                server.extend_from_slice(&r);
                if done {
                    break;
                }
            }
        }
        (client, server)
    }
}

/// One step of the script: the connection (0, 1, …), a fixture name and the
/// chunks to send.
struct Step {
    conn: usize,
    name: &'static str,
    chunks: Vec<Vec<u8>>,
}

fn step(conn: usize, name: &'static str, command: &str) -> Step {
    Step {
        conn,
        name,
        chunks: vec![format!("{command}\r\n").into_bytes()],
    }
}

fn step_chunks(conn: usize, name: &'static str, chunks: &[&[u8]]) -> Step {
    Step {
        conn,
        name,
        chunks: chunks.iter().map(|c| c.to_vec()).collect(),
    }
}

/// APPEND with a synchronizing literal (records the `+` continuation).
fn append_sync(conn: usize, name: &'static str, mailbox: &str, flags: &str, msg: &[u8]) -> Step {
    Step {
        conn,
        name,
        chunks: vec![
            format!("APPEND {mailbox} {flags} {{{}}}\r\n", msg.len()).into_bytes(),
            [msg, b"\r\n"].concat(),
        ],
    }
}

/// APPEND with a non-synchronizing literal (LITERAL+).
fn append_plus(conn: usize, name: &'static str, mailbox: &str, msg: &[u8]) -> Step {
    let mut c = format!("APPEND {mailbox} {{{}+}}\r\n", msg.len()).into_bytes();
    c.extend_from_slice(msg);
    c.extend_from_slice(b"\r\n");
    Step {
        conn,
        name,
        chunks: vec![c],
    }
}

/// A message with everything an ENVELOPE and a BODYSTRUCTURE can carry:
/// groups, escaped quotes, a raw 8-bit subject, nested multiparts, a
/// forwarded message/rfc822 with its own multipart, MD5, language,
/// location, RFC 2231 parameters, dispositions.
const RICH: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Sender: \"Secretary \\\"the\\\" Office\" <office@example.org>\r\n\
Subject: Grüße aus Köln\r\n\
To: Team: anna@example.org, \"Bob B.\" <bob@example.org>;, undisclosed-recipients:;\r\n\
Cc: =?utf-8?q?Zo=C3=AB?= <zoe@example.org>\r\n\
Message-ID: <B27397-0100000@Blurdybloop.example>\r\n\
In-Reply-To: <parent@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
Content-Language: en, de\r\n\
\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=\"alt\"\r\n\
\r\n\
--alt\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Grüße aus Köln\r\n\
--alt\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
Content-ID: <html@example.org>\r\n\
Content-Description: The HTML part\r\n\
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\
Content-Language: de-DE\r\n\
Content-Location: http://example.org/part.html\r\n\
\r\n\
<p>Gr=C3=BC=C3=9Fe</p>\r\n\
--alt--\r\n\
--outer\r\n\
Content-Type: message/rfc822\r\n\
Content-Disposition: attachment; filename=\"forwarded.eml\"\r\n\
\r\n\
Date: Tue, 8 Feb 1994 10:00:00 +0100\r\n\
From: Jörg Müller <joerg@example.net>\r\n\
To: fred@Blurdybloop.example\r\n\
Subject: inner message\r\n\
Message-ID: <inner@example.net>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"inner\"\r\n\
\r\n\
--inner\r\n\
Content-Type: text/plain\r\n\
\r\n\
inner text\r\n\
--inner\r\n\
Content-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf; size=12\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--inner\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment\r\n\
\r\n\
raw\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: image/png; name=\"dot.png\"\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: inline; filename=\"dot.png\"\r\n\
\r\n\
iVBORw0KGgoAAAANSUhEUg==\r\n\
--outer--\r\n";

/// Headers only: no Date, From, To, Message-ID, Content-Type.
const BARE: &str = "Subject: bare\r\n\r\nno structure at all\r\n";

/// Multiparts nested `depth` deep.
fn nested(depth: usize) -> String {
    let mut m = String::from("Subject: nested\r\nMIME-Version: 1.0\r\n");
    for i in 0..depth {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    m.push_str("Content-Type: text/plain\r\n\r\ndeep\r\n");
    for i in (0..depth).rev() {
        m.push_str(&format!("--b{i}--\r\n"));
    }
    m
}

/// The command script: a broad list covering every response kind Dovecot
/// can send. Connection 0 does most; 1 makes changes that 0 then sees
/// as unsolicited responses; 2 is a QRESYNC session.
fn script(password: &str) -> Vec<Step> {
    let auth = base64_plain(&format!("\0alice\0{password}"));
    let deep = nested(30);
    let too_deep = nested(70);
    let utf8_subject = "Grüße";
    let mut s = vec![
        Step { conn: 0, name: "greeting", chunks: vec![] },
        step(0, "capability-preauth", "CAPABILITY"),
        step(0, "login-bad-password", "LOGIN alice wrong"),
        step_chunks(0, "authenticate-plain", &[b"AUTHENTICATE PLAIN\r\n", format!("{auth}\r\n").as_bytes()]),
        step(0, "capability", "CAPABILITY"),
        step(0, "id", "ID (\"name\" \"imap4-tests\" \"version\" \"1\")"),
        step(0, "id-nil", "ID NIL"),
        step(0, "enable-condstore", "ENABLE CONDSTORE"),
        step(0, "namespace", "NAMESPACE"),
        step(0, "create-utf7", "CREATE \"Entw&APw-rfe\""),
        step(0, "create-cyrillic", "CREATE \"&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-\""),
        step(0, "create-archive", "CREATE Archive/2023"),
        step(0, "create-sent", "CREATE Sent (USE (\\Sent))"),
        step(0, "create-exists", "CREATE Archive"),
        step(0, "subscribe", "SUBSCRIBE Archive/2023"),
        step(0, "list-all", "LIST \"\" *"),
        step(0, "list-percent", "LIST \"\" %"),
        step(0, "list-delimiter", "LIST \"\" \"\""),
        step(0, "list-special-use", "LIST (SPECIAL-USE) \"\" *"),
        step(0, "list-return-special-use", "LIST \"\" * RETURN (SPECIAL-USE)"),
        step(0, "list-subscribed-childinfo", "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %"),
        step(0, "list-status", "LIST \"\" % RETURN (CHILDREN STATUS (MESSAGES UNSEEN UIDNEXT))"),
        step(0, "list-status-modseq", "LIST \"\" INBOX RETURN (SUBSCRIBED STATUS (HIGHESTMODSEQ SIZE UIDVALIDITY))"),
        step(0, "lsub", "LSUB \"\" *"),
        step(0, "status", "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)"),
        step(0, "status-size", "STATUS INBOX (MESSAGES SIZE)"),
        step(0, "status-utf7", "STATUS \"Entw&APw-rfe\" (MESSAGES)"),
        step(0, "getquotaroot", "GETQUOTAROOT INBOX"),
        step(0, "getquota", "GETQUOTA \"User quota\""),
        step(0, "getquota-unknown", "GETQUOTA nosuchroot"),
        step(0, "getacl", "GETACL INBOX"),
        step(0, "setacl", "SETACL Archive bob lrs"),
        step(0, "getacl-archive", "GETACL Archive"),
        step(0, "listrights", "LISTRIGHTS INBOX bob"),
        step(0, "myrights", "MYRIGHTS INBOX"),
        step(0, "setmetadata", "SETMETADATA INBOX (/private/comment \"my inbox\")"),
        step(0, "setmetadata-server", "SETMETADATA \"\" (/private/vendor/imap4/x {5+}\r\nhello)"),
        step(0, "getmetadata", "GETMETADATA INBOX (/private/comment /shared/comment)"),
        step(0, "getmetadata-server", "GETMETADATA \"\" /private/vendor/imap4/x"),
        step(0, "getmetadata-maxsize", "GETMETADATA (MAXSIZE 2) \"\" /private/vendor/imap4/x"),
        step(0, "getmetadata-depth", "GETMETADATA (DEPTH infinity) INBOX /private"),
        append_sync(0, "append-rich", "INBOX", "(\\Seen $Important)", RICH.as_bytes()),
        append_plus(0, "append-bare", "INBOX", BARE.as_bytes()),
        append_plus(0, "append-nested", "INBOX", deep.as_bytes()),
        append_plus(0, "append-too-deep", "INBOX", too_deep.as_bytes()),
        step(0, "select-nonexistent", "SELECT NoSuchBox"),
        step(0, "examine", "EXAMINE INBOX"),
        step(0, "select-condstore", "SELECT INBOX (CONDSTORE)"),
        step(0, "fetch-summary", "FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE MODSEQ)"),
        step(0, "fetch-bodystructure", "FETCH 1:33 BODYSTRUCTURE"),
        step(0, "fetch-body", "FETCH 1:33 BODY"),
        step(0, "fetch-full-macro", "FETCH 1:3 FULL"),
        step(0, "fetch-body-sections", "UID FETCH 31 (BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1.1] BODY.PEEK[1.2.MIME] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.2] BODY.PEEK[4])"),
        step(0, "fetch-too-deep", "UID FETCH 34 BODYSTRUCTURE"),
        step(0, "fetch-header-fields", "FETCH 1:3 BODY.PEEK[HEADER.FIELDS (SUBJECT FROM DATE)]"),
        step(0, "fetch-header-fields-not", "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (RECEIVED DKIM-SIGNATURE)]"),
        step(0, "fetch-partial", "FETCH 1:2 (BODY.PEEK[]<0.64> BODY.PEEK[TEXT]<10.20>)"),
        step(0, "fetch-rfc822", "FETCH 2 (RFC822.HEADER RFC822.TEXT RFC822.SIZE)"),
        step(0, "fetch-rfc822-full", "FETCH 3 RFC822"),
        step(0, "fetch-preview-savedate", "FETCH 1:5 (PREVIEW SAVEDATE)"),
        step(0, "fetch-preview-lazy", "FETCH 1:2 (PREVIEW (LAZY))"),
        step(0, "fetch-changedsince", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1)"),
        step(0, "fetch-bad-item", "FETCH 1 NOSUCHITEM"),
        step(0, "search-all", "SEARCH ALL"),
        step(0, "search-empty", "SEARCH SUBJECT \"no such subject anywhere\""),
        step(0, "search-modseq", "SEARCH MODSEQ 1"),
        step(0, "search-charset-utf8", &format!("SEARCH CHARSET UTF-8 SUBJECT {{{}+}}\r\n{utf8_subject}", utf8_subject.len())),
        step(0, "search-within", "SEARCH YOUNGER 100000000"),
        step(0, "search-badcharset", "SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT hello"),
        step(0, "uid-search", "UID SEARCH SEEN"),
        step(0, "esearch", "SEARCH RETURN (MIN MAX COUNT ALL) ALL"),
        step(0, "esearch-uid", "UID SEARCH RETURN (MIN MAX COUNT ALL) 1:10"),
        step(0, "esearch-empty", "SEARCH RETURN (MIN MAX COUNT) SUBJECT \"no such subject anywhere\""),
        step(0, "esearch-modseq", "SEARCH RETURN (MAX) MODSEQ 1"),
        step(0, "sort-date", "SORT (DATE) UTF-8 ALL"),
        step(0, "sort-reverse-subject", "UID SORT (REVERSE SUBJECT) UTF-8 ALL"),
        step(0, "sort-display", "SORT (DISPLAYFROM) UTF-8 ALL"),
        step(0, "esort", "SORT RETURN (MIN MAX COUNT ALL) (ARRIVAL) UTF-8 ALL"),
        step(0, "thread-references", "THREAD REFERENCES UTF-8 ALL"),
        step(0, "thread-orderedsubject", "UID THREAD ORDEREDSUBJECT UTF-8 ALL"),
        step(0, "thread-refs", "THREAD REFS UTF-8 ALL"),
        step(0, "store-flags", "STORE 1:2 +FLAGS (\\Flagged $Custom)"),
        step(0, "store-silent", "STORE 3 +FLAGS.SILENT (\\Answered)"),
        step(0, "store-unchangedsince", "STORE 4,5 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)"),
        step(0, "uid-store", "UID STORE 6 FLAGS (\\Draft)"),
        step(0, "copy", "COPY 1:3 Archive"),
        step(0, "copy-trycreate", "COPY 1 NoSuchBox"),
        step(0, "uid-copy", "UID COPY 4:5 Archive/2023"),
        step(0, "move", "MOVE 7 Archive"),
        step(1, "greeting-2", ""),
        step(1, "login-2", &format!("LOGIN alice {password}")),
        step(1, "select-2", "SELECT INBOX"),
        step(1, "store-2", "STORE 8 +FLAGS (\\Flagged)"),
        step(1, "expunge-prepare-2", "STORE 9:10 +FLAGS.SILENT (\\Deleted)"),
        step(1, "expunge-2", "EXPUNGE"),
        step(0, "fetch-expunged", "FETCH 9:10 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])"),
        append_plus(1, "append-2", "INBOX", BARE.as_bytes()),
        step(0, "noop-unsolicited", "NOOP"),
        step(0, "check", "CHECK"),
        step_chunks(0, "idle", &[b"IDLE\r\n", b"DONE\r\n"]),
        step(0, "store-deleted", "STORE 11 +FLAGS.SILENT (\\Deleted)"),
        step(0, "uid-expunge", "UID EXPUNGE 1:*"),
        step(0, "fetch-binary", "UID FETCH 31 (BINARY.PEEK[1.1] BINARY.SIZE[1.1] BINARY.PEEK[1.2] BINARY.SIZE[1.2] BINARY.PEEK[3] BINARY.SIZE[3])"),
        step(0, "fetch-binary-partial", "UID FETCH 31 BINARY.PEEK[1.2]<0.10>"),
        step(0, "select-again-closed", "SELECT Archive"),
        step(0, "fetch-archive", "FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)"),
        step(0, "unselect", "UNSELECT"),
        step(0, "rename", "RENAME Archive/2023 Archive/2024"),
        step(0, "delete", "DELETE \"Entw&APw-rfe\""),
        step(0, "bad-command", "NOSUCHCOMMAND"),
        step(0, "bad-syntax", "LIST"),
        step(0, "delete-inbox", "DELETE INBOX"),
        step(0, "setacl-self", "SETACL Junk alice lr"),
        step(0, "append-noperm", &format!("APPEND Junk {{{}+}}\r\n{BARE}", BARE.len())),
        step(0, "notify-set", "NOTIFY SET (personal (MailboxName SubscriptionChange))"),
        step(1, "rename-2", "RENAME Drafts Entwurf"),
        step(1, "subscribe-2", "SUBSCRIBE Trash"),
        step(0, "noop-notify", "NOOP"),
        step(0, "notify-none", "NOTIFY NONE"),
        step(0, "no-selected", "FETCH 1 FLAGS"),
        step(0, "getacl-nonexistent", "GETACL NoSuchBox"),
        step(0, "enable-qresync-late", "ENABLE QRESYNC"),
        step(2, "greeting-3", ""),
        step(2, "login-3", &format!("LOGIN alice {password}")),
        step(2, "enable-qresync", "ENABLE QRESYNC"),
        step(2, "select-qresync", "SELECT INBOX (QRESYNC (1 1 1:100))"),
        step(2, "store-deleted-3", "STORE 1 +FLAGS.SILENT (\\Deleted)"),
        step(2, "expunge-vanished", "EXPUNGE"),
        step(2, "uid-fetch-vanished", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
        step(2, "close", "CLOSE"),
        step(2, "logout-3", "LOGOUT"),
        step(1, "logout-2", "LOGOUT"),
        step(0, "logout", "LOGOUT"),
    ];
    // The QRESYNC select needs the real UIDVALIDITY: patched in by the
    // runner (see `run_script`). Empty commands are greetings.
    for st in &mut s {
        if st.chunks.first().is_some_and(|c| c == b"\r\n") {
            st.chunks.clear();
        }
    }
    s
}

fn base64_plain(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Runs the script against a fresh kit Dovecot and returns, per step,
/// (name, client lines, server bytes).
fn run_script() -> Vec<(String, Vec<String>, Vec<u8>)> {
    let d = imap4_testkit::Dovecot::builder()
        .messages("alice", 30, 1)
        .start()
        .expect("start the kit's Dovecot (needs dovecot-core, dovecot-imapd, openssl)");
    let mut conns: Vec<Option<Conn>> = vec![None, None, None];
    let mut out = Vec::new();
    let mut uidvalidity = String::from("1");
    for mut st in script(d.password()) {
        let prefix = ["A", "B", "C"][st.conn];
        if st.name == "select-qresync" {
            st.chunks[0] =
                format!("SELECT INBOX (QRESYNC ({uidvalidity} 1 1:100))\r\n").into_bytes();
        }
        let conn = conns[st.conn].get_or_insert_with(|| Conn::connect(d.port(), prefix));
        let (client, server) = conn.run(&st.chunks);
        if st.name == "select-condstore" {
            let text = String::from_utf8_lossy(&server);
            if let Some(i) = text.find("[UIDVALIDITY ") {
                let rest = &text[i + 13..];
                uidvalidity = rest[..rest.find(']').unwrap()].to_string();
            }
        }
        out.push((st.name.to_string(), client, server));
    }
    out
}

/// Captures the fixtures anew (see the module docs).
#[test]
#[ignore = "writes tests/fixtures/dovecot; run with IMAP4_CAPTURE_FIXTURES=1"]
fn capture_dovecot_fixtures() {
    if std::env::var_os("IMAP4_CAPTURE_FIXTURES").is_none() {
        eprintln!("set IMAP4_CAPTURE_FIXTURES=1 to overwrite the fixtures");
        return;
    }
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "imap") {
            std::fs::remove_file(p).unwrap();
        }
    }
    for (i, (name, client, server)) in run_script().into_iter().enumerate() {
        let mut file = Vec::new();
        for c in client {
            file.extend_from_slice(format!("C: {c}\n").as_bytes());
        }
        file.extend_from_slice(&server);
        std::fs::write(dir.join(format!("{i:03}-{name}.imap")), file).unwrap();
    }
}

/// The same script live: everything a fresh Dovecot says parses, nothing
/// kept raw.
#[test]
fn live_dovecot_parses_everything() {
    let mut responses = 0;
    let mut failures = Vec::new();
    for (name, _client, server) in run_script() {
        if name == TOO_DEEP {
            continue;
        }
        for raw in split_responses(&server) {
            if let Err(e) = check(raw) {
                failures.push(format!("{name}: {e}"));
            }
            responses += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(responses > 500, "{responses}");
}
