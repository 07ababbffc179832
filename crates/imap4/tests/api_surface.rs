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
            Data::literal("1 (RFC822 {3}", "abc"),
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
            Data::Literal(l) => l.header.as_ref().len() + l.body.as_ref().len(),
            Data::List(items) => items.len(),
        })
        .collect();
    assert_eq!(lengths, vec![0, 3, 16, 0]);
}

/// Every type the typed API, IDLE and SASL hand out (or take) is named
/// through `imap4` alone: a program never needs `imap4-proto` in its own
/// Cargo.toml.
#[test]
fn typed_api_types_are_reexported() {
    use imap4::typed::{
        Address, AnnotationEntry, BodyExtension, BodyFields, BodySpecific, BodyStructure, Bound,
        ByteStr, Capability, Code, Continuation, Date, ESearch, Envelope, Fetch, FetchAttr,
        FetchItem, Fetches, Flag, InvalidDate, InvalidSet, ListItem, Mailbox, MailboxInfo,
        MailboxStatus, Namespace, ParseError, ParsedResponse, ParsedStatus, QuotaResource,
        SearchKey, SelectedMailbox, SeqSet, StatusAttr, StatusItem, StatusKind, StoreOp, Thread,
        Typed, UidMapping, UidSet, Untagged, DEFAULT_CHUNK,
    };
    use imap4::{AuthFailed, Authenticated, Event, Idle, IdleConfig, Limits, MailboxState, State};

    // The typed methods' results, by their signatures.
    let _: fn(&mut Typed<'static>, &str) -> Result<SelectedMailbox, Error> = Typed::select;
    let _: fn(&mut Typed<'static>, &str, &str) -> Result<Vec<MailboxInfo>, Error> = Typed::list;
    let _: fn(&mut Typed<'static>, &str, &[StatusAttr]) -> Result<MailboxStatus, Error> =
        Typed::status;
    let _: fn(&mut Typed<'static>, &UidSet, &[FetchAttr]) -> Result<Fetches, Error> =
        Typed::uid_fetch;
    let _: fn(&mut Typed<'static>, &SeqSet, &[FetchAttr]) -> Result<Fetches, Error> = Typed::fetch;
    let _: fn(&mut Typed<'static>, &SearchKey) -> Result<UidSet, Error> = Typed::uid_search;
    let _: fn(&mut Typed<'static>, &SearchKey) -> Result<SeqSet, Error> = Typed::search;
    let _: fn(&mut Typed<'static>, &UidSet, StoreOp, &[&str], bool) -> Result<Fetches, Error> =
        Typed::uid_store;
    let _: fn(&mut Typed<'static>, &UidSet, &str) -> Result<Option<UidMapping>, Error> =
        Typed::uid_copy;
    let _: fn(&mut Typed<'static>, &[UidSet], &[FetchAttr]) -> Result<Vec<Fetches>, Error> =
        Typed::uid_fetch_pipelined;
    let _: fn(
        &mut Typed<'static>,
        &mut dyn imap4::sasl::Mechanism,
    ) -> Result<Authenticated, Error> = Typed::authenticate;
    let _ = |t: &mut Typed<'static>| -> Result<imap4::sasl::LoginMethod, Error> {
        t.login_auto("alice", imap4::sasl::Secret::from("secret"))
    };
    let _: fn(&mut Imap4, IdleConfig) -> Result<Idle<'_>, Error> = Imap4::idle_with;
    let _: fn(&mut Idle<'static>, std::time::Duration) -> Result<Option<Event>, Error> = Idle::wait;
    let _: fn(&Imap4) -> Option<&MailboxState> = Imap4::mailbox_state;
    let _: fn(&Error) -> Option<&AuthFailed> = Error::auth_failure;
    let _: fn(&Imap4) -> State = Imap4::state;
    let _: fn(Limits) -> Limits = std::convert::identity;

    // QUOTA, ACL, METADATA, ESEARCH/SEARCHRES (issue 11).
    use imap4::typed::{
        AclEntry, Depth, ESearchResult, InvalidRights, ListedRights, Metadata, MetadataEntry,
        MetadataOptions, Quota, QuotaRoots, QuotaUsage, Rights, RightsChange, SearchRes,
        SearchReturn,
    };
    let _: fn(&mut Typed<'static>, &str) -> Result<Quota, Error> = Typed::get_quota;
    let _: fn(&mut Typed<'static>, &str) -> Result<QuotaRoots, Error> = Typed::get_quota_root;
    let _: fn(&mut Typed<'static>, &str, &[(&str, u64)]) -> Result<Vec<Quota>, Error> =
        Typed::set_quota;
    let _ = |q: Quota| -> Vec<QuotaUsage> { q.resources };
    let _: fn(&mut Typed<'static>, &str) -> Result<Vec<AclEntry>, Error> = Typed::get_acl;
    let _: fn(&mut Typed<'static>, &str, &str, &RightsChange) -> Result<(), Error> = Typed::set_acl;
    let _: fn(&mut Typed<'static>, &str, &str) -> Result<(), Error> = Typed::delete_acl;
    let _: fn(&mut Typed<'static>, &str, &str) -> Result<ListedRights, Error> = Typed::list_rights;
    let _: fn(&mut Typed<'static>, &str) -> Result<Rights, Error> = Typed::my_rights;
    let _: fn(&str) -> Result<Rights, InvalidRights> = Rights::parse;
    let _: fn(&mut Typed<'static>, &str, &[&str], &MetadataOptions) -> Result<Metadata, Error> =
        Typed::get_metadata;
    let _: fn(&mut Typed<'static>, &str, &[(&str, Option<&[u8]>)]) -> Result<(), Error> =
        Typed::set_metadata;
    let _ = |m: Metadata| -> (Vec<MetadataEntry>, Option<u64>) { (m.entries, m.long_entries) };
    let _ = MetadataOptions {
        max_size: Some(1),
        depth: Some(Depth::Infinity),
    };
    let _: fn(&mut Typed<'static>, &SearchKey, &[SearchReturn]) -> Result<ESearchResult, Error> =
        Typed::uid_search_return;
    let _: fn(&mut Typed<'static>, SearchRes, &[FetchAttr]) -> Result<Fetches, Error> =
        Typed::uid_fetch_saved;
    let _: fn(&mut Typed<'static>, SearchRes, &str) -> Result<Option<UidMapping>, Error> =
        Typed::uid_move_saved;
    let _ = |r: ESearchResult| -> (UidSet, Option<SearchRes>) { (r.all, r.saved) };

    // ESORT (issue 11).
    use imap4::typed::{ESortResult, SortCriterion};
    let _: fn(
        &mut Typed<'static>,
        &[SortCriterion],
        &SearchKey,
        &[SearchReturn],
    ) -> Result<ESortResult, Error> = Typed::uid_sort_return;
    let _ = |r: ESortResult| -> (Vec<u32>, Option<u32>, Option<u32>, Option<u32>, Option<u64>) {
        (r.all, r.min, r.max, r.count, r.modseq)
    };

    // Gmail (issue 11).
    let _: fn(&mut Typed<'static>, &UidSet, StoreOp, &[&str]) -> Result<Fetches, Error> =
        Typed::uid_store_labels;
    let _ = [
        SearchKey::GmRaw("in:inbox".into()),
        SearchKey::GmMsgId(1),
        SearchKey::GmThrId(2),
    ];
    let _: fn(&SearchKey) -> Option<&'static str> = SearchKey::required_capability;

    // UNAUTHENTICATE and REPLACE (issue 11).
    let _: fn(&mut Typed<'static>) -> Result<(), Error> = Typed::unauthenticate;
    let _: fn(&mut Typed<'static>, u32, &str, Vec<u8>) -> Result<Option<UidMapping>, Error> =
        Typed::uid_replace;

    // NOTIFY (issue 11).
    use imap4::typed::{NotifyEvent, NotifyGroup, NotifyMailboxes, NotifySpec};
    let _: fn(&mut Typed<'static>, &NotifySpec) -> Result<Vec<MailboxStatus>, Error> =
        Typed::notify_set;
    let _: fn(&mut Typed<'static>) -> Result<(), Error> = Typed::notify_none;
    let _ = NotifySpec::new().status().group(
        NotifyMailboxes::Subtree(vec!["a".into()]),
        [NotifyEvent::message_new()],
    );
    let _ = |g: NotifyGroup| -> (NotifyMailboxes, Vec<NotifyEvent>) { (g.mailboxes, g.events) };
    let _ = |e: Event| match e {
        Event::Status(st) => st.mailbox,
        Event::List { mailbox, old_name } => old_name.unwrap_or(mailbox.name),
        Event::Metadata { mailbox, entries } => mailbox + &entries.concat(),
        Event::NotificationOverflow => String::new(),
        e @ Event::Fetch { .. } => format!("{:?}", e.fetch().and_then(|f| f.uid())),
        _ => String::new(),
    };
    let _: u32 = DEFAULT_CHUNK;

    // What iterating `Fetches` yields, and everything inside it.
    let _: fn(&Fetches) -> Option<Result<Fetch<'_>, ParseError>> = |f| f.iter().next();
    let _: fn(&'static Fetch<'static>) -> Option<&'static Envelope<'static>> = Fetch::envelope;
    let _: fn(&'static Fetch<'static>) -> Option<&'static BodyStructure<'static>> =
        Fetch::body_structure;
    let _: fn(&'static Fetch<'static>) -> Option<&'static [Flag<'static>]> = Fetch::flags;
    let _ = |i: FetchItem<'static>| -> Option<Box<Envelope<'static>>> {
        match i {
            FetchItem::Envelope(e) => Some(e),
            _ => None,
        }
    };
    let _ = |a: Address<'static>| -> Option<ByteStr<'static>> { a.host };
    let _ = |b: BodyStructure<'static>| -> Option<(BodyFields<'static>, BodySpecific<'static>)> {
        match b {
            BodyStructure::Single {
                fields, specific, ..
            } => Some((fields, specific)),
            _ => None,
        }
    };
    let _ = |e: BodyExtension<'static>| -> Vec<ByteStr<'static>> { e.language };
    let _ = |s: UidSet| -> Vec<(Bound, Bound)> { s.ranges().to_vec() };
    let _: fn(u16, u8, u8) -> Result<Date, InvalidDate> = Date::new;
    let _: fn(&str) -> Result<UidSet, InvalidSet> = |s| s.parse();

    // The parser's other responses, for `imap4::typed::ParsedResponse`.
    let _ = |r: ParsedResponse<'static>| -> Option<(
        ParsedStatus<'static>,
        Option<Code<'static>>,
        StatusKind,
    )> {
        match r {
            ParsedResponse::Status(s) => {
                let (code, kind) = (s.code.clone(), s.kind);
                Some((s, code, kind))
            }
            _ => None,
        }
    };
    let _ = |c: Continuation<'static>| c.text;
    let _ = |u: Untagged<'static>| -> Option<(
        ListItem<'static>,
        Mailbox<'static>,
        Vec<Capability<'static>>,
        Vec<StatusItem<'static>>,
        Option<ESearch<'static>>,
        Vec<Namespace<'static>>,
        Vec<QuotaResource<'static>>,
        Vec<AnnotationEntry<'static>>,
        Vec<Thread>,
    )> {
        match u {
            Untagged::List(l) => Some((
                l.clone(),
                l.mailbox,
                Vec::new(),
                Vec::new(),
                None,
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            )),
            _ => None,
        }
    };
}

/// `?` on what iterating `Fetches` yields, in a function returning
/// `imap4::Error`: a malformed response is an `error`, not a panic.
#[test]
fn parse_errors_convert_into_imap4_errors() {
    fn count(f: &imap4::typed::Fetches) -> Result<usize, imap4::Error> {
        let mut n = 0;
        for fetch in f.iter() {
            fetch?;
            n += 1;
        }
        Ok(n)
    }
    let _ = count;
    let e: imap4::Error = imap4::typed::ParseError {
        offset: 3,
        expected: "a FETCH item",
    }
    .into();
    assert_eq!(e.kind(), imap4::ErrorKind::Error);
    assert!(e.to_string().contains("a FETCH item"), "{e}");
}

#[test]
fn response_codes_parse_for_matching() {
    use imap4::ResponseCode as C;
    assert_eq!(
        C::parse(b"[NONEXISTENT] No such mailbox"),
        Some(C::NonExistent)
    );
    assert_eq!(C::parse(b"[overquota] full"), Some(C::OverQuota));
    assert_eq!(C::parse(b"[TRYCREATE]"), Some(C::TryCreate));
    assert_eq!(
        C::parse(b"[X-CUSTOM 12] hm"),
        Some(C::Other("X-CUSTOM".into()))
    );
    assert_eq!(C::parse(b"no code"), None);
    assert_eq!(C::parse(b"[] empty"), None);
    assert_eq!(C::parse(b"[UNTERMINATED"), None);
}
