//! Known server quirks, each named and tested against the typed result.
//!
//! Every transcript comes from a public bug report (the URL is above each
//! test); where the report was truncated, scrubbed or carried a huge
//! literal, the comment says what was filled in or shortened. Personal data
//! stays as the reporters scrubbed it.

use imap4_proto::parse::{
    parse_response, Address, BodySpecific, BodyStructure, ByteStr, Code, Fetch, FetchItem, Params,
    Response, Status, StatusKind, Untagged,
};

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

fn parse(raw: &[u8]) -> Response<'_> {
    parse_response(raw).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(raw)))
}

fn data(raw: &[u8]) -> Untagged<'_> {
    match parse(raw) {
        Response::Data(d) => d,
        other => panic!("not data: {other:?}"),
    }
}

fn status(raw: &[u8]) -> Status<'_> {
    match parse(raw) {
        Response::Status(s) => s,
        other => panic!("not a status: {other:?}"),
    }
}

/// A FETCH whose items are all typed.
fn fetch(raw: &[u8]) -> Fetch<'_> {
    let f = fetch_any(raw);
    for i in &f.items {
        assert!(!matches!(i, FetchItem::Other { .. }), "kept raw: {i:?}");
    }
    f
}

/// A FETCH, possibly with items kept raw.
fn fetch_any(raw: &[u8]) -> Fetch<'_> {
    match data(raw) {
        Untagged::Fetch(f) => f,
        other => panic!("not a FETCH: {other:?}"),
    }
}

fn s(b: &ByteStr<'_>) -> String {
    b.to_string()
}

fn os(b: &Option<ByteStr<'_>>) -> Option<String> {
    b.as_ref().map(|b| b.to_string())
}

fn multi<'r, 'a>(b: &'r BodyStructure<'a>) -> (&'r [BodyStructure<'a>], String) {
    match b {
        BodyStructure::Multi { parts, subtype, .. } => (parts, s(subtype)),
        other => panic!("not multipart: {other:?}"),
    }
}

fn single_type(b: &BodyStructure<'_>) -> (String, String, u64) {
    match b {
        BodyStructure::Single { fields, .. } => {
            (s(&fields.media_type), s(&fields.subtype), fields.size)
        }
        other => panic!("not single: {other:?}"),
    }
}

fn mailbox(a: &Address<'_>) -> (Option<String>, Option<String>) {
    (os(&a.mailbox), os(&a.host))
}

// ---------------------------------------------------------------------------
// Gmail
// ---------------------------------------------------------------------------

// https://github.com/mscdex/node-imap/issues/187 — Gmail sends system
// labels as quoted strings with an escaped backslash.
#[test]
fn gmail_x_gm_labels_are_quoted_with_escaped_backslash() {
    let f = fetch(b"* 1 FETCH (X-GM-THRID 1382927258807439521 X-GM-MSGID 1382927258807439521 X-GM-LABELS (\"\\\\Inbox\" \"\\\\Important\") UID 1 INTERNALDATE \"17-Oct-2011 14:36:48 +0000\" FLAGS (\\Seen) BODY[1.1.TEXT] NIL)\r\n");
    assert_eq!(f.items[0], FetchItem::GmThrId(1_382_927_258_807_439_521));
    assert_eq!(f.items[1], FetchItem::GmMsgId(1_382_927_258_807_439_521));
    let FetchItem::GmLabels(labels) = &f.items[2] else {
        panic!()
    };
    assert_eq!(
        labels.iter().map(s).collect::<Vec<_>>(),
        ["\\Inbox", "\\Important"]
    );
    assert_eq!(f.uid(), Some(1));
    assert!(
        matches!(&f.items[6], FetchItem::BodySection { section, origin: None, data: None } if section == &"1.1.TEXT")
    );
}

// Gmail labels as atoms, quoted strings with spaces and modified UTF-7
// (the documented X-GM-LABELS forms; RFC 3501 astrings).
#[test]
fn gmail_x_gm_labels_mix_atoms_quoted_and_utf7() {
    let f = fetch(b"* 7 FETCH (X-GM-LABELS (\\Inbox Work \"Family trip\" \"&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-\") UID 9)\r\n");
    let FetchItem::GmLabels(labels) = &f.items[0] else {
        panic!()
    };
    assert_eq!(
        labels.iter().map(s).collect::<Vec<_>>(),
        [
            "\\Inbox",
            "Work",
            "Family trip",
            "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"
        ]
    );
    let f = fetch(b"* 8 FETCH (X-GM-LABELS () UID 10)\r\n");
    assert_eq!(f.items[0], FetchItem::GmLabels(vec![]));
}

// https://github.com/modern-email/defects/issues/28 and
// https://github.com/duesee/imap-codec/issues/291 — Gmail sends a status
// response with a code and no text at all (not even the space).
#[test]
fn gmail_ok_with_code_and_no_text() {
    let st = status(b"* OK [HIGHESTMODSEQ 13632]\r\n");
    assert_eq!(
        (st.kind, st.code, s(&st.text)),
        (
            StatusKind::Ok,
            Some(Code::HighestModSeq(13632)),
            String::new()
        )
    );
}

// https://github.com/jstedfast/MailKit/issues/193 — Gmail keyword flags
// with brackets, in FLAGS and inside the PERMANENTFLAGS code; the tagged
// text itself starts with `[` (https://github.com/ruby/net-imap/pull/8).
#[test]
fn gmail_flags_with_brackets_and_text_starting_with_bracket() {
    let Untagged::Flags(flags) = data(b"* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen OIB-Seen-[Gmail]/Trash OIB-Seen-[Gmail]/Important $MailFlagBit2 OIB-Seen-Unsubscribe $Phishing $Forwarded $MDNSent OIB-Seen-INBOX JunkRecorded NotJunk $NotJunk $NotPhishing $Junk OIB-Seen-[Gmail]/All Mail OIB-Seen-[Gmail]/Spam)\r\n") else {
        panic!()
    };
    assert!(flags.iter().any(|f| f.is("OIB-Seen-[Gmail]/Trash")));
    assert!(flags.last().unwrap().is("OIB-Seen-[Gmail]/Spam"));
    let st = status(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen OIB-Seen-[Gmail]/Trash OIB-Seen-[Gmail]/Important $MailFlagBit2 OIB-Seen-Unsubscribe $Phishing $Forwarded $MDNSent OIB-Seen-INBOX JunkRecorded NotJunk $NotJunk $NotPhishing $Junk OIB-Seen-[Gmail]/All Mail OIB-Seen-[Gmail]/Spam \\*)] Flags permitted.\r\n");
    let Some(Code::PermanentFlags(p)) = &st.code else {
        panic!("{st:?}")
    };
    assert!(p.iter().any(|f| f.is("OIB-Seen-[Gmail]/Important")));
    assert!(p.last().unwrap().is("\\*"));
    assert_eq!(st.text, "Flags permitted.");
    let st = status(b"A00000005 OK [READ-WRITE] [Gmail]/Trash selected. (Success)\r\n");
    assert_eq!(
        (st.code, s(&st.text)),
        (
            Some(Code::ReadWrite),
            "[Gmail]/Trash selected. (Success)".into()
        )
    );
}

// https://github.com/duesee/imap-codec/issues/291 — an RFC 5530 code
// followed by text with brackets in it; and the Gmail greeting
// (https://github.com/jstedfast/MailKit/issues/1841).
#[test]
fn gmail_nonexistent_code_then_bracketed_text() {
    let st = status(
        b"S NO [NONEXISTENT] Unknown Mailbox: [Gmail] (now in authenticated state) (Failure)\r\n",
    );
    assert_eq!(st.tag.as_ref().map(s).as_deref(), Some("S"));
    assert_eq!(
        st.code,
        Some(Code::Other {
            name: ByteStr::borrowed(b"NONEXISTENT"),
            data: None
        })
    );
    assert_eq!(
        st.text,
        "Unknown Mailbox: [Gmail] (now in authenticated state) (Failure)"
    );
    let st = status(b"* OK Gimap ready for requests from 2a01:e0a:130:47d0:44b1:9cce:67e9:5b34 u9mb76462483wmq\r\n");
    assert_eq!((st.kind, st.code), (StatusKind::Ok, None));
}

// https://github.com/lefcha/imapfilter/pull/10 — Gmail puts the user's
// display name, raw UTF-8, into the tagged OK text.
#[test]
fn gmail_8bit_bytes_in_status_text() {
    let st = status(
        "1001 OK lukasz.jachymczyk@gmail.com Łukasz Jachymczyk authenticated (Success)\r\n"
            .as_bytes(),
    );
    assert_eq!(
        st.text,
        "lukasz.jachymczyk@gmail.com Łukasz Jachymczyk authenticated (Success)"
    );
    // Invalid UTF-8 is kept byte for byte and shown lossily.
    let st = status(b"1002 OK \xc5 caf\xe9\r\n");
    assert_eq!(st.text.as_bytes(), b"\xc5 caf\xe9");
    assert_eq!(st.text.to_str_lossy(), "\u{fffd} caf\u{fffd}");
}

// https://github.com/jstedfast/MailKit/issues/1841 — Gmail describes an
// empty multipart/alternative inside a message/rfc822 as `("ALTERNATIVE")`.
#[test]
fn gmail_multipart_without_parts_in_body() {
    let f = fetch(b"* 51 FETCH (MODSEQ (18812) BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"windows-1252\") NIL NIL \"QUOTED-PRINTABLE\" 211 5)(\"MESSAGE\" \"DELIVERY-STATUS\" NIL NIL NIL \"7BIT\" 344)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 2942 (\"Sat, 3 Jan 2015 19:26:15 +0100\" \"Re: MPG\" ((\"c p\" NIL \"---.---87\" \"gmail.com\")) ((\"c p\" NIL \"---.---87\" \"gmail.com\")) ((\"c p\" NIL \"---.---87\" \"gmail.com\")) ((\"am sa[cft]\" NIL \"sm\" \"cft.ce.fr\")) NIL NIL \"<D3CAD328B4CFD24E83DD07E8923DFEE902FA8F1B@PRDGCE8P4523.sigce.ce.fr>\" \"<D4A-8A32-4DC3-AC6C-98429154@gmail.com>\") (\"ALTERNATIVE\") 51) \"REPORT\"))\r\n");
    assert_eq!(f.items[0], FetchItem::ModSeq(18812));
    let (parts, subtype) = multi(f.body_structure().unwrap());
    assert_eq!((parts.len(), subtype.as_str()), (3, "REPORT"));
    let BodyStructure::Single {
        specific:
            BodySpecific::Message {
                envelope,
                body,
                lines,
            },
        ..
    } = &parts[2]
    else {
        panic!("{:?}", parts[2])
    };
    assert_eq!(
        (os(&envelope.subject), *lines),
        (Some("Re: MPG".into()), 51)
    );
    assert_eq!(envelope.to[0].name.as_ref().unwrap(), &"am sa[cft]");
    let (inner, inner_sub) = multi(body);
    assert_eq!((inner.len(), inner_sub.as_str()), (0, "ALTERNATIVE"));
}

// https://github.com/jstedfast/MailKit/issues/371 (comment with the Gmail
// log, also https://github.com/jstedfast/MailKit/issues/777) — Gmail sends
// parts `("RELATED" NIL ("ATTACHMENT" NIL) NIL)`: a multipart/related
// without parts, with its extension data (disposition ATTACHMENT).
#[test]
fn gmail_multipart_without_parts_with_extension_data() {
    let f = fetch(b"* 56697 FETCH (X-GM-THRID 1563190496481790748 X-GM-MSGID 1563491715126921418 X-GM-LABELS (\"\\\\Sent\") UID 227195 RFC822.SIZE 87705 MODSEQ (10677203) INTERNALDATE \"01-Apr-2017 15:51:32 +0000\" FLAGS (\\Seen) ENVELOPE (\"Sat, 01 Apr 2017 15:51:32 +0000\" \"=?UTF-8?B?RndkOiDXodeo15nXp9eqINeq157Xldeg15XXqg==?=\" ((\"...\" NIL \"...\" \"gmail.com\")) ((\"....\" NIL \"...\" \"gmail.com\")) ((\"... ...\" NIL \"...\" \"gmail.com\")) ((\"...@....com\" NIL \"...\" \"....com\")) NIL NIL \"<...@.......co.il>\" \"<..-...-...+a5Q@mail.gmail.com>\") BODYSTRUCTURE (((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\" \"DELSP\" \"yes\" \"FORMAT\" \"flowed\") NIL NIL \"BASE64\" 10418 133 NIL NIL NIL)(\"TEXT\" \"HTML\" (\"CHARSET\" \"UTF-8\") NIL NIL \"BASE64\" 34544 442 NIL NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"94eb2c1cd0507723d5054c1ce6cb\") NIL NIL)(\"RELATED\" NIL (\"ATTACHMENT\" NIL) NIL)(\"RELATED\" NIL (\"ATTACHMENT\" NIL) NIL)(\"RELATED\" NIL (\"ATTACHMENT\" NIL) NIL)(\"RELATED\" NIL (\"ATTACHMENT\" NIL) NIL) \"MIXED\" (\"BOUNDARY\" \"94eb2c1cd0507723e6054c1ce6cd\") NIL NIL) BODY[HEADER.FIELDS (JOB-ID KEYWORDS LIST-ARCHIVE LIST-HELP LIST-ID LIST-ID LIST-OWNER LIST-POST LIST-SUBSCRIBE LIST-UNSUBSCRIBE LIST-UNSUBSCRIBE-POST LIST-ID LIST-UNSUBSCRIBE MESSAGEID MIME-VERSION MIME-VERSION MAILING-LIST MCIPGROUP)] {21}\r\nMIME-Version: 1.0\r\n\r\n)\r\n");
    assert!(matches!(&f.items[2], FetchItem::GmLabels(l) if l[0] == "\\Sent"));
    assert_eq!(f.uid(), Some(227_195));
    let (parts, subtype) = multi(f.body_structure().unwrap());
    assert_eq!((parts.len(), subtype.as_str()), (5, "MIXED"));
    for p in &parts[1..] {
        let BodyStructure::Multi {
            parts,
            subtype,
            extension,
        } = p
        else {
            panic!("{p:?}")
        };
        assert!(parts.is_empty());
        assert_eq!(subtype, &"RELATED");
        let (kind, params) = extension.as_ref().unwrap().disposition.as_ref().unwrap();
        assert_eq!((s(kind), params.len()), ("ATTACHMENT".into(), 0));
    }
    let section = f
        .items
        .iter()
        .find_map(|i| match i {
            FetchItem::BodySection { section, data, .. } => Some((s(section), data.clone())),
            _ => None,
        })
        .unwrap();
    assert!(section.0.starts_with("HEADER.FIELDS (JOB-ID"));
    assert_eq!(section.1.unwrap(), "MIME-Version: 1.0\r\n\r\n");
}

// https://github.com/jstedfast/MailKit/issues/1841 — Gmail LIST with
// modified UTF-7 in a `[Gmail]/…` name.
#[test]
fn gmail_list_names_in_modified_utf7() {
    let Untagged::List(l) = data(
        b"* LIST (\\HasNoChildren \\Sent \\Subscribed) \"/\" \"[Gmail]/Messages envoy&AOk-s\"\r\n",
    ) else {
        panic!()
    };
    assert_eq!(l.mailbox.name, "[Gmail]/Messages envoyés");
    assert_eq!(l.mailbox.raw, "[Gmail]/Messages envoy&AOk-s");
    assert!(l.attributes.iter().any(|a| a.is("\\Sent")));
}

// ---------------------------------------------------------------------------
// Outlook.com, Office 365, Exchange
// ---------------------------------------------------------------------------

// https://github.com/ruby/net-imap/pull/240 (and imap-codec's
// quirk_spaces_between_addresses, https://github.com/duesee/imap-codec/pull/594)
// — Outlook.com puts a space between the addresses of an address list.
// The PR's own sample is not public; this is the shape it describes.
#[test]
fn outlook_space_between_addresses() {
    let f = fetch(b"* 3 FETCH (UID 9 ENVELOPE (\"Wed, 29 Nov 2023 10:00:00 +0000\" \"Lunch\" ((\"Ann Lee\" NIL \"ann\" \"example.com\")) ((\"Ann Lee\" NIL \"ann\" \"example.com\")) ((\"Ann Lee\" NIL \"ann\" \"example.com\")) ((\"Bo\" NIL \"bo\" \"example.net\") (\"Cy\" NIL \"cy\" \"example.org\") (NIL NIL \"dee\" \"example.org\")) NIL NIL NIL \"<x@example.com>\"))\r\n");
    let e = f.envelope().unwrap();
    assert_eq!(
        e.to.iter().map(mailbox).collect::<Vec<_>>(),
        [
            (Some("bo".into()), Some("example.net".into())),
            (Some("cy".into()), Some("example.org".into())),
            (Some("dee".into()), Some("example.org".into())),
        ]
    );
}

// https://github.com/jstedfast/MailKit/issues/919 — Exchange sends the
// disposition as a bare string (`"inline"`) instead of `("inline" NIL)`.
// The report cuts off inside the boundary; the tail is filled in.
#[test]
fn exchange_disposition_as_bare_string() {
    let f = fetch(b"* 37 FETCH (UID 67 FLAGS (\\Seen \\Recent) RFC822.SIZE 14801 ENVELOPE (\"Tue, 9 Jul 2019 13:53:17 +0200\" \"Verify your Apple ID email address\" ((\"Apple\" NIL \"appleid\" \"id.apple.com\")) NIL ((NIL NIL \"appleid_usen\" \"email.apple.com\")) ((NIL NIL \"milan.tanasic\" \"evocon.rs\")) NIL NIL NIL \"<786519723.45280397.1562673197246@email.apple.com>\") BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"ISO-8859-1\") NIL NIL \"QUOTED-PRINTABLE\" 850 31 NIL \"inline\" NIL NIL)(\"text\" \"html\" (\"charset\" \"ISO-8859-1\") NIL NIL \"QUOTED-PRINTABLE\" 14692 502 NIL \"inline\" NIL NIL) \"alternative\" (\"boundary\" \"----=_Part_4528\") NIL NIL NIL))\r\n");
    // A NIL sender is an empty list.
    assert!(f.envelope().unwrap().sender.is_empty());
    let (parts, _) = multi(f.body_structure().unwrap());
    for p in parts {
        let BodyStructure::Single {
            extension: Some(ext),
            specific,
            ..
        } = p
        else {
            panic!("{p:?}")
        };
        assert!(matches!(specific, BodySpecific::Text { .. }));
        assert_eq!(
            ext.disposition,
            Some((ByteStr::borrowed(b"inline"), Params::new()))
        );
    }
}

// https://github.com/javaee/javamail/issues/278 — Exchange 2016 sends an
// S/MIME multipart whose disposition is the bare string
// "S/MIME Encrypted Message"; the text part has `("inline" NIL)`.
#[test]
fn exchange_multipart_disposition_as_bare_string() {
    let f = fetch(b"* 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 0 NIL (\"inline\" NIL) NIL NIL)(\"application\" \"octet-stream\" (\"name\" \"private.txt\") NIL NIL \"base64\" 690 NIL (\"attachment\" (\"filename\" \"private.txt\")) NIL NIL) \"mixed\" (\"boundary\" \"----=_Part_0_-1731707885.1504253815584\") \"S/MIME Encrypted Message\" NIL))\r\n");
    let BodyStructure::Multi {
        parts,
        extension: Some(ext),
        ..
    } = f.body_structure().unwrap()
    else {
        panic!()
    };
    assert_eq!(parts.len(), 2);
    assert_eq!(ext.params[0].1, "----=_Part_0_-1731707885.1504253815584");
    assert_eq!(
        ext.disposition,
        Some((
            ByteStr::borrowed(b"S/MIME Encrypted Message"),
            Params::new()
        ))
    );
    assert!(ext.language.is_empty());
}

// https://github.com/djc/imap-proto/pull/152,
// https://github.com/duesee/imap-codec/pull/468 and
// https://github.com/modern-email/defects/issues/9 — Outlook/Exchange end
// STATUS with a space.
#[test]
fn outlook_status_with_trailing_space() {
    let Untagged::Status { mailbox, items } = data(b"* STATUS INBOX (MESSAGES 0) \r\n") else {
        panic!()
    };
    assert_eq!(
        (&*mailbox.name, s(&items[0].name), items[0].value),
        ("INBOX", "MESSAGES".into(), Some(0))
    );
}

// https://github.com/ruby/net-imap/issues/250 — Exchange 2013 answers
// UID MOVE with a bare `[COPYUID …]` line (no `*`, no tag, no OK).
#[test]
fn exchange_bare_response_code_line() {
    let st = status(b"[COPYUID 124 10 233]\r\n");
    assert_eq!((st.tag, st.kind), (None, StatusKind::Ok));
    assert_eq!(
        st.code,
        Some(Code::CopyUid {
            uid_validity: 124,
            source: ByteStr::borrowed(b"10"),
            destination: ByteStr::borrowed(b"233"),
        })
    );
    // A line that merely starts with `[` and is no code is what it was: a
    // tagged response (`[` may start a tag).
    let st = status(b"[x OK done\r\n");
    assert_eq!(
        (st.tag.as_ref().map(s).as_deref(), st.code),
        (Some("[x"), None)
    );
}

// https://github.com/ruby/net-imap/issues/597 — Office 365 puts a quoted
// string straight after the code name: `[Error="…" Proxy=…]`.
#[test]
fn office365_code_data_with_quoted_string() {
    let st = status(b"RUBY0001 OK [Error=\"Microsoft.Exchange.Data.Storage.WrongServerException:Cross Server access is not allowed for mailbox xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\" AuthResultFromPopImapEnd=0 Proxy=XXXXXXXXXXXXX.EURXXXX.PROD.OUTLOOK.COM:1993:SSL MailboxBE=XXXXXXXXXXXXX.EURXXXX.PROD.OUTLOOK.COM Service=Imap4] AUTHENTICATE completed.\r\n");
    let Some(Code::Other {
        name,
        data: Some(d),
    }) = &st.code
    else {
        panic!("{st:?}")
    };
    assert_eq!(name, &"Error=");
    assert!(s(d).starts_with("\"Microsoft.Exchange.Data.Storage.WrongServerException:"));
    assert!(s(d).ends_with("Service=Imap4"));
    assert_eq!(st.text, "AUTHENTICATE completed.");
    // A `]` inside the quotes does not end the code.
    let st = status(b"* OK [X-FOO \"a]b\" c] text\r\n");
    let Some(Code::Other { data: Some(d), .. }) = &st.code else {
        panic!()
    };
    assert_eq!((s(d), s(&st.text)), ("\"a]b\" c".into(), "text".into()));
}

// https://github.com/jstedfast/MailKit/issues/1446 — the Office 365
// session: a greeting ending in a bracketed blob, NAMESPACE, LIST with
// \Marked, EXAMINE.
#[test]
fn office365_session() {
    let st = status(b"* OK The Microsoft Exchange IMAP4 service is ready. [TQBOADIAUABSADEANgBDAEEAMAAwADYAMwAuAG4AYQBtAHAAcgBkADEANgAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]\r\n");
    assert_eq!(st.code, None);
    assert!(s(&st.text).ends_with("AG0A]"));
    let Untagged::Capability(caps) = data(b"* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+\r\n") else {
        panic!()
    };
    assert_eq!(caps.len(), 16);
    let Untagged::List(l) = data(b"* LIST (\\Marked \\HasNoChildren) \"/\" INBOX\r\n") else {
        panic!()
    };
    assert!(l.attributes[0].is("\\Marked"));
    assert_eq!(data(b"* 6995 RECENT\r\n"), Untagged::Recent(6995));
    assert_eq!(
        status(b"* OK [UIDVALIDITY 14] UIDVALIDITY value\r\n").code,
        Some(Code::UidValidity(14))
    );
    assert_eq!(
        status(b"* OK [PERMANENTFLAGS ()] Permanent flags\r\n").code,
        Some(Code::PermanentFlags(vec![]))
    );
}

// Exchange appends a numeric diagnostic to its texts: `BAD Command
// Argument Error. 11` (https://github.com/jstedfast/MailKit/issues/1139);
// the product issue quotes `* BYE Connection is closed. 13`.
#[test]
fn exchange_text_with_trailing_number() {
    let st = status(b"* BYE Connection is closed. 13\r\n");
    assert_eq!((st.tag, st.kind, st.code), (None, StatusKind::Bye, None));
    assert_eq!(st.text, "Connection is closed. 13");
    let st = status(b"A00000014 BAD Command Argument Error. 11\r\n");
    assert_eq!(
        (st.kind, s(&st.text)),
        (StatusKind::Bad, "Command Argument Error. 11".into())
    );
}

// ---------------------------------------------------------------------------
// Yahoo
// ---------------------------------------------------------------------------

// https://github.com/djc/imap-proto/pull/108 and
// https://github.com/ikvk/imap_tools/issues/97 — Yahoo ends SEARCH with a
// space, also when it found nothing.
#[test]
fn yahoo_search_with_trailing_space() {
    assert_eq!(
        data(
            b"* SEARCH 169654 169655 169656 169657 169658 169659 169660 169661 169662 169663 \r\n"
        ),
        Untagged::Search {
            numbers: (169_654..=169_663).collect(),
            modseq: None
        }
    );
    assert_eq!(
        data(b"* SEARCH 7456 \r\n"),
        Untagged::Search {
            numbers: vec![7456],
            modseq: None
        }
    );
    assert_eq!(
        data(b"* SEARCH \r\n"),
        Untagged::Search {
            numbers: vec![],
            modseq: None
        }
    );
}

// https://github.com/emailjs/emailjs-imap-handler/pull/8 — Yahoo Japan
// puts a space before the `)` that ends a multipart's extension data.
#[test]
fn yahoo_space_before_paren_in_bodystructure() {
    let f = fetch(b"* 2 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"ISO-2022-JP\") NIL NIL \"7bit\" 2515 64 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"ISO-2022-JP\") NIL NIL \"7bit\" 7723 151 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"pzu8t3naw7b5therma1t\") NIL ) FLAGS (\\Seen) INTERNALDATE \"30-Oct-2014 03:23:45 +0000\" UID 2 BODY[HEADER.FIELDS (FROM TO CC BCC SUBJECT REPLY-TO MESSAGE-ID REFERENCES)] {312}\r\nMessage-Id: <5451af3d-000e6070-af32c615041a5c3dae408c7ef67e5444-18793@tx203.storage.kks.yahoo.co.jp>\r\nFrom: box-master@mail.yahoo.co.jp\r\nTo: gaialibs@yahoo.co.jp\r\nSubject: Yahoo! JAPAN =?ISO-2022-JP?B?SUQbJEIkNEVQTz8kTiQqNVJNTSRYIUobKEJZYWhvbyE=?=\r\n =?ISO-2022-JP?B?GyRCJVwlQyUvJTkzK0BfJEskRCQkJEYhSxsoQg==?=\r\n\r\n)\r\n");
    let BodyStructure::Multi {
        parts,
        extension: Some(ext),
        ..
    } = f.body_structure().unwrap()
    else {
        panic!()
    };
    assert_eq!(parts.len(), 2);
    assert_eq!(ext.params[0].1, "pzu8t3naw7b5therma1t");
    assert_eq!((ext.disposition.as_ref(), ext.language.len()), (None, 0));
    assert_eq!(f.uid(), Some(2));
    let header = f
        .section("HEADER.FIELDS (FROM TO CC BCC SUBJECT REPLY-TO MESSAGE-ID REFERENCES)")
        .unwrap();
    assert_eq!(header.len(), 312);
}

// https://github.com/jstedfast/MailKit/issues/358 — Yahoo answers BODY
// (the non-extensible form) with extension data, FLAGS first.
#[test]
fn yahoo_body_with_extension_data() {
    let f = fetch(b"* 9978 FETCH (FLAGS (\\Seen) UID 140292 INTERNALDATE \"17-Feb-2014 13:10:20 +0000\" RFC822.SIZE 7534 BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 361 9 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 2798 69 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"_=_swift_v4_1392642617_f1879e3d80730d165870071e5caa785a_=_\") NIL) ENVELOPE (\"Mon, 17 Feb 2014 08:10:17 -0500\" \"Powerful Budgeting Solutions - Complimentary e-Book!\" ((\"Mvelopes\" NIL \"no-reply\" \"finicity.com\")) ((\"Mvelopes\" NIL \"no-reply\" \"finicity.com\")) ((\"Mvelopes\" NIL \"no-reply\" \"finicity.com\")) ((NIL NIL \"xasrb8d-mvelopes\" \"yahoo.com\")) NIL NIL NIL \"<0ee4ec41d3aff8034b4264a1d3cb024a@swift.generated>\"))\r\n");
    assert!(matches!(f.items[4], FetchItem::Body(_)));
    let BodyStructure::Multi {
        extension: Some(ext),
        ..
    } = f.body_structure().unwrap()
    else {
        panic!()
    };
    assert!(s(&ext.params[0].1).starts_with("_=_swift_v4"));
    assert_eq!(
        f.envelope().unwrap().to[0].mailbox.as_ref().unwrap(),
        &"xasrb8d-mvelopes"
    );
}

// ---------------------------------------------------------------------------
// Mail.ru
// ---------------------------------------------------------------------------

// https://github.com/kisli/vmime/issues/159,
// https://github.com/duesee/imap-codec/issues/700 and
// https://github.com/pimalaya/himalaya/issues/649 — Mail.ru sends
// `("boundary" NIL)`: NIL where a string belongs.
#[test]
fn mailru_nil_parameter_value() {
    let f = fetch(b"* 4 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 536 0 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 7130 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" NIL)))\r\n");
    let BodyStructure::Multi {
        parts,
        subtype,
        extension: Some(ext),
    } = f.body_structure().unwrap()
    else {
        panic!()
    };
    assert_eq!((parts.len(), s(subtype)), (2, "alternative".into()));
    assert_eq!(
        ext.params,
        [(ByteStr::borrowed(b"boundary"), ByteStr::default())]
    );
}

// https://github.com/jstedfast/MailKit/issues/1838 and
// https://github.com/jstedfast/MailKit/issues/1840 — Mail.ru writes large
// sizes in scientific notation (`9.3736e+06`, `1.86931e+06`). The reports
// carry only the token; the part around it is filled in.
#[test]
fn mailru_sizes_in_scientific_notation() {
    let f = fetch(b"* 12 FETCH (UID 77 BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 120 3 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"scan.pdf\") NIL NIL \"base64\" 9.3736e+06 NIL (\"attachment\" (\"filename\" \"scan.pdf\")) NIL NIL)(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"base64\" 1.86931e+06 2.5e+04 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL))\r\n");
    let (parts, _) = multi(f.body_structure().unwrap());
    assert_eq!(
        single_type(&parts[1]),
        ("application".into(), "pdf".into(), 9_373_600)
    );
    let BodyStructure::Single {
        fields, specific, ..
    } = &parts[2]
    else {
        panic!()
    };
    assert_eq!(
        (fields.size, specific),
        (1_869_310, &BodySpecific::Text { lines: 25_000 })
    );
}

// https://github.com/emersion/go-imap/issues/557 — Mail.ru: empty
// parameter lists `()`, message/rfc822 without envelope, body and lines,
// text parts in BODY, empty display names. The report's 40909-byte BODY[]
// literal is shortened.
#[test]
fn mailru_message_rfc822_without_envelope_and_empty_params() {
    let f = fetch(b"* 85648 FETCH (UID 369004 BODY (((\"text\" \"plain\" (\"charset\" \"koi8-r\") NIL NIL \"quoted-printable\" 5716 0)(\"text\" \"html\" (\"charset\" \"koi8-r\") NIL NIL \"quoted-printable\" 6181 0) \"alternative\")(\"message\" \"delivery-status\" () NIL NIL \"7bit\" 340)(\"message\" \"rfc822\" () NIL NIL \"7bit\" 23925) \"report\") ENVELOPE (\"Thu, 02 Nov 2023 13:28:10 +0000\" \"=?utf-8?B?...?=\" ((\"\" NIL \"foo\" \"example.org\")) NIL NIL ((\"\" NIL \"bar\" \"example.net\")) NIL NIL \"<111.222@f124.i.mail.ru>\" \"<baz@example.com>\") BODY[] {5}\r\nhello)\r\n");
    let (parts, subtype) = multi(f.body_structure().unwrap());
    assert_eq!((parts.len(), subtype.as_str()), (3, "report"));
    let BodyStructure::Single {
        fields, specific, ..
    } = &parts[2]
    else {
        panic!()
    };
    assert_eq!(
        (s(&fields.subtype), fields.params.len(), specific),
        ("rfc822".into(), 0, &BodySpecific::Basic)
    );
    let e = f.envelope().unwrap();
    assert_eq!(e.from[0].name.as_ref().unwrap(), &"");
    assert_eq!(os(&e.message_id).as_deref(), Some("<baz@example.com>"));
    assert_eq!(f.section(""), Some(&b"hello"[..]));
}

// ---------------------------------------------------------------------------
// DavMail (Exchange behind an IMAP gateway)
// ---------------------------------------------------------------------------

// https://github.com/mguessan/davmail/issues/122 and
// https://github.com/domainaware/parsedmarc/issues/505 — DavMail's
// keep-alive sends two spaces after `*`.
#[test]
fn davmail_double_space_after_star() {
    assert_eq!(data(b"*  1688 EXISTS\r\n"), Untagged::Exists(1688));
    assert_eq!(data(b"*  22279 EXISTS\r\n"), Untagged::Exists(22279));
}

// https://github.com/mguessan/davmail/issues/454 — DavMail puts two
// spaces between FETCH items. The report's 3797-byte literal is shortened.
#[test]
fn davmail_double_space_between_fetch_items() {
    let f = fetch(b"* 1 FETCH (UID 1989 FLAGS (\\Seen)  RFC822.HEADER {24}\r\nSubject: hi\r\nTo: x@y\r\n\r\n)\r\n");
    assert_eq!(f.uid(), Some(1989));
    assert!(
        matches!(&f.items[2], FetchItem::Rfc822Header(Some(h)) if h.as_bytes().starts_with(b"Subject: hi"))
    );
}

// https://github.com/joeyates/imap-backup/issues/213 — DavMail in front of
// Office 365: status responses with a code and no text, the double space.
#[test]
fn davmail_codes_without_text() {
    let transcript: &[&[u8]] = &[
        b"*  633 EXISTS\r\n",
        b"* 0 RECENT\r\n",
        b"* OK [UIDVALIDITY 1]\r\n",
        b"* OK [UIDNEXT 794]\r\n",
        b"* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Forwarded Junk)\r\n",
        b"* OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Forwarded Junk \\*)]\r\n",
        b"RUBY0006 OK [READ-ONLY] EXAMINE completed\r\n",
    ];
    let r: Vec<Response<'_>> = transcript.iter().map(|l| parse(l)).collect();
    assert_eq!(r[0], Response::Data(Untagged::Exists(633)));
    let Response::Status(st) = &r[2] else {
        panic!()
    };
    assert_eq!(
        (&st.code, st.text.as_bytes()),
        (&Some(Code::UidValidity(1)), &b""[..])
    );
    let Response::Status(st) = &r[5] else {
        panic!()
    };
    let Some(Code::PermanentFlags(p)) = &st.code else {
        panic!()
    };
    assert_eq!(p.len(), 8);
    let Response::Status(st) = &r[6] else {
        panic!()
    };
    assert_eq!(st.code, Some(Code::ReadOnly));
}

// https://github.com/mguessan/davmail/pull/239 — DavMail sent NIL for
// type fields ("for some fields NIL is not a valid value") and, per the
// review there, a line count `0` for non-text parts that lands where the
// MD5 belongs. The PR describes the shapes; these are built from it.
#[test]
fn davmail_nil_type_fields_and_stray_line_count() {
    let f = fetch(b"* 5 FETCH (UID 12 BODYSTRUCTURE ((NIL NIL NIL NIL NIL \"7bit\" 0 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 1234 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"x\") NIL NIL NIL))\r\n");
    let (parts, _) = multi(f.body_structure().unwrap());
    assert_eq!(single_type(&parts[0]), (String::new(), String::new(), 0));
    // The stray `0` makes the extension data unparsable: kept raw, the
    // part itself stays typed.
    let BodyStructure::Single {
        fields,
        extension: Some(ext),
        ..
    } = &parts[1]
    else {
        panic!()
    };
    assert_eq!(
        (fields.size, os(&ext.rest)),
        (1234, Some("0 NIL NIL NIL NIL".into()))
    );
}

// ---------------------------------------------------------------------------
// QQ Mail, 163, Coremail and other providers
// ---------------------------------------------------------------------------

// https://github.com/jakartaee/mail-api/issues/209 — imap.qq.com puts a
// space before the `)` of a FETCH.
#[test]
fn qq_space_before_fetch_close() {
    let f = fetch(b"* 11487 FETCH (UID 19436 )\r\n");
    assert_eq!(
        (f.seq, f.items.clone()),
        (11487, vec![FetchItem::Uid(19436)])
    );
}

// https://github.com/emersion/go-imap/issues/571,
// https://github.com/emersion/go-imap/pull/596 and
// https://github.com/modern-email/defects/issues/21 — imap.exmail.qq.com
// ends CAPABILITY with a space.
#[test]
fn qq_capability_with_trailing_space() {
    let Untagged::Capability(caps) = data(b"* CAPABILITY IMAP4 IMAP4rev1 XLIST MOVE IDLE XAPPLEPUSHSERVICE NAMESPACE CHILDREN ID UIDPLUS \r\n") else {
        panic!()
    };
    assert_eq!(caps.len(), 10);
    assert_eq!(caps[9], "UIDPLUS");
}

// https://github.com/jstedfast/MailKit/issues/279 — a QQ-hosted mailbox
// sends an ENVELOPE without its Message-ID (nine fields).
#[test]
fn envelope_without_message_id() {
    let f = fetch(b"* 33 FETCH (ENVELOPE (\"Wed, 7 Aug 2013 16:44:13 +0800\" \"=?GBK?B?UmU6ILnY09pRVFMgSUm1xNT2x78=?=\" ((\"=?GBK?B?1uzLs72h?=\" NIL \"xxx\" \"xxx.com\")) ((\"=?GBK?B?1uzLs72h?=\" NIL \"xxx\" \"xxx.com\")) ((\"=?GBK?B?1uzLs72h?=\" NIL \"xxx\" \"xxx.com\")) ((\"=?GBK?B?emhhbmcuYm8=?=\" NIL \"xxx\" \"xxx.com\")) NIL NIL \"<xxx@qq.com>\"))\r\n");
    let e = f.envelope().unwrap();
    assert_eq!(os(&e.in_reply_to).as_deref(), Some("<xxx@qq.com>"));
    assert_eq!(e.message_id, None);
    assert_eq!(e.to.len(), 1);
}

// https://github.com/jstedfast/MailKit/issues/932 — a GBK-speaking server
// ends the ENVELOPE after Bcc (eight fields).
#[test]
fn envelope_without_in_reply_to_and_message_id() {
    let f = fetch(b"* 450 FETCH (UID 9174 ENVELOPE (\"Tue, 24 Sep 2019 09:48:05 +0800\" \"=?GBK?B?sbG+qdW9x/jI1bGose0=?=\" ((\"=?GBK?B?yv2+3bfWzvbQodfp?=\" NIL \"unkonwn-name\" \"unknown-domain\")) ((\"=?GBK?B?yv2+3bfWzvbQodfp?=\" NIL \"unkonwn-name\" \"unknown-domain\")) ((\"=?GBK?B?yv2+3bfWzvbQodfp?=\" NIL \"unkonwn-name\" \"unknown-domain\")) NIL NIL NIL))\r\n");
    let e = f.envelope().unwrap();
    assert_eq!(e.reply_to[0].host.as_ref().unwrap(), &"unknown-domain");
    assert!(e.to.is_empty() && e.in_reply_to.is_none() && e.message_id.is_none());
}

// https://github.com/jstedfast/MailKit/issues/991 — an address list that
// starts with NIL, before an address whose name is a literal.
#[test]
fn nil_inside_address_list() {
    let f = fetch(b"* 3001 FETCH (UID 3001 FLAGS (\\Seen) INTERNALDATE \"18-Jun-2019 01:20:56 -0300\" ENVELOPE (\"Thu, 18 Jul 2019 01:29:32 -0300\" \"Xxx xxx xxx xxx..\" (NIL ({123}\r\n_XXXXXXXX_xxxxxx_xxxx_xxx_?= =?iso-8859-1?Q?xxxx_xx_xxxxxxx_xxxxxxxxxx.Xxxxxxxx_xx_xxx=Xxxxxx_xx_xx_Xx?= =?iso-8859-1?Q?s?= NIL \"xxxxxxx\" \"xxxxxxxxxx.xxx\")) (NIL ({123}\r\n_XXXXXXXX_xxxxxx_xxxx_xxx_?= =?iso-8859-1?Q?xxxx_xx_xxxxxxx_xxxxxxxxxx.Xxxxxxxx_xx_xxx=Xxxxxx_xx_xx_Xx?= =?iso-8859-1?Q?s?= NIL \"xxxxxxx\" \"xxxxxxxxxx.xxx\")) ((NIL NIL \"xxxxxxx\" \"xxxxx.xxx.xx\")) ((NIL NIL \"xxxxxxx\" \"xxxxxxx.xxx.xx\")) NIL NIL NIL \"<0A9F01100712011D213C15B6D2B6DA@XXXXXXX-XXXXXXX>\"))\r\n");
    let e = f.envelope().unwrap();
    assert_eq!(e.from.len(), 1);
    assert_eq!(e.from[0].name.as_ref().unwrap().as_bytes().len(), 123);
    assert_eq!(
        mailbox(&e.from[0]),
        (Some("xxxxxxx".into()), Some("xxxxxxxxxx.xxx".into()))
    );
    assert_eq!(e.sender, e.from);
    assert!(e.message_id.is_some());
}

// https://github.com/jstedfast/MailKit/issues/1393 — a message/rfc822
// whose body is `(NIL "alternative" (…) NIL NIL NIL)`: NIL in place of the
// parts of a multipart.
#[test]
fn multipart_with_nil_for_its_parts() {
    let f = fetch(b"* 6285 FETCH (UID 11889 BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 727 16 NIL NIL NIL NIL)(\"message\" \"delivery-status\" (\"name\" \"Delivery status\") NIL NIL \"7bit\" 416 NIL NIL NIL NIL)(\"message\" \"rfc822\" (\"name\" \"Message headers\") NIL NIL \"7bit\" 903 (\"Mon, 17 Nov 2014 13:29:21 +0100\" \"Re: Adresy\" ((\"username\" NIL \"e.username\" \"example.com\")) ((\"username\" NIL \"e.username\" \"example.com\")) ((\"username\" NIL \"e.username\" \"example.com\")) ((\"=?utf-8?Q?Justyna?=\" NIL \"salesde\" \"some-company.eu\")) ((NIL NIL \"saleseu\" \"some-company.eu\")(\"Bogdan\" NIL \"bogdan\" \"some-company.eu\")) NIL \"<004901d00260$35405970$9fc10c50$@some-company.eu>\" \"<D6173425-9D71-4D78-8C3C-1CEB03BCB4D0@example.com>\") (NIL \"alternative\" (\"boundary\" \"Apple-Mail=_352FCEEC-EB15-428F-9D8B-D3B4259DD646\") NIL NIL NIL) 17 NIL NIL NIL NIL) \"report\" (\"report-type\" \"delivery-status\" \"boundary\" \"_e0d7475d888f9882b71de053e5efb221_idea\") NIL NIL NIL))\r\n");
    let (parts, subtype) = multi(f.body_structure().unwrap());
    assert_eq!((parts.len(), subtype.as_str()), (3, "report"));
    let BodyStructure::Single {
        specific:
            BodySpecific::Message {
                envelope,
                body,
                lines,
            },
        ..
    } = &parts[2]
    else {
        panic!()
    };
    assert_eq!((envelope.cc.len(), *lines), (2, 17));
    let BodyStructure::Multi {
        parts,
        subtype,
        extension: Some(ext),
    } = &**body
    else {
        panic!("{body:?}")
    };
    assert!(parts.is_empty());
    assert_eq!(subtype, &"alternative");
    assert!(s(&ext.params[0].1).starts_with("Apple-Mail="));
}

// https://github.com/jstedfast/MailKit/issues/878 — GMX describes a
// multipart/related as a single part whose MD5 slot holds a parameter
// list: the extension data is kept raw, the rest typed.
#[test]
fn gmx_parameter_list_where_md5_belongs() {
    let f = fetch(b"* 58056 FETCH (UID 168531 RFC822.SIZE 5826 INTERNALDATE \"05-Jul-2019 23:29:19 +0000\" ENVELOPE (\"Fri, 05 Jul 2019 17:50:33 -0400\" \"**** decken sie jetzt ihren willkommensbonus auf!\" ((\"Cosmo Casino\" NIL \"Miai\" \"kyta.mantzen.com\")) ((\"Cosmo Casino\" NIL \"Miai\" \"kyta.mantzen.com\")) ((\"Cosmo Casino\" NIL \"Miai\" \"kyta.mantzen.com\")) ((NIL NIL \"****\" \"gmx.de\")) NIL NIL NIL \"<1802311402.10088.1413706923455.JavaMail.fatwhs@sd-hffeprod-01.sanoma.fi>\") BODYSTRUCTURE ((\"multipart\" \"related\" (\"boundary\" \"----=_@@@@BeautyqueenS87@_@147836_6893840099.85426606923635\") NIL NIL \"7BIT\" 400 (\"boundary\" \"----=_@@@@BeautyqueenS87@_@147836_6893840099.85426606923635\") NIL NIL NIL)(\"TEXT\" \"html\" (\"charset\" \"UTF8\") NIL NIL \"7BIT\" 1115 70 NIL NIL NIL NIL)(\"TEXT\" \"html\" (\"charset\" \"UTF8\") NIL NIL \"QUOTED-PRINTABLE\" 16 2 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"----=--_DRYORTABLE@@@_@@@8957836_03253840099.78526606923635\") NIL NIL NIL) FLAGS ())\r\n");
    let (parts, _) = multi(f.body_structure().unwrap());
    assert_eq!(parts.len(), 3);
    let BodyStructure::Single {
        fields,
        extension: Some(ext),
        ..
    } = &parts[0]
    else {
        panic!()
    };
    assert_eq!(
        (s(&fields.media_type), fields.size),
        ("multipart".into(), 400)
    );
    assert!(os(&ext.rest).unwrap().starts_with("(\"boundary\""));
    assert_eq!(f.flags(), Some(&[][..]));
}

// https://github.com/MailCore/mailcore2/issues/1178 — a text part whose
// MD5 slot holds the boundary list; the multipart lacks its location. The
// report's BODY[HEADER.FIELDS …] literal is cut off and left out here.
#[test]
fn parameter_list_where_md5_belongs_in_text_part() {
    let f = fetch(b"* 47 FETCH (UID 7482 FLAGS (\\Seen) BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"GB2312\") NIL NIL \"8BIT\" 0 0 (\"BOUNDARY\" \"----AMDCKIKDE8DFX44Y7Z6LV5HNKHYJ7Y\") NIL NIL) \"MIXED\" (\"BOUNDARY\" \"----AMDCKIKDE8DFX44Y7Z6LV5HNKHYJ7Y\") NIL NIL) INTERNALDATE \"2-Jun-2016 16:17:55 +0800\")\r\n");
    let (parts, _) = multi(f.body_structure().unwrap());
    let BodyStructure::Single {
        specific,
        extension: Some(ext),
        ..
    } = &parts[0]
    else {
        panic!()
    };
    assert_eq!(specific, &BodySpecific::Text { lines: 0 });
    assert!(ext.rest.is_some() && ext.md5.is_none());
    assert!(matches!(&f.items[3], FetchItem::InternalDate(d) if d == &"2-Jun-2016 16:17:55 +0800"));
}

// https://github.com/emersion/go-imap/issues/659 — 163.com does not
// escape quotes (`""""` as a description). Unparsable: BODY is kept raw
// as FetchItem::Other, everything else in the response is typed. The
// report's 69100-byte BODY[] literal is shortened.
#[test]
fn unescaped_quotes_keep_the_item_raw_not_the_response() {
    let f = fetch_any(b"* 150 FETCH (UID 1733220355 INTERNALDATE \"10-Dec-2024 15:11:12 +0800\" FLAGS (\\Seen) ENVELOPE (\"Tue, 10 Dec 2024 10:49:37 +0800\" \"=?UTF-8?B?MjE1NDk3MzU1MCAtIE9PQ0wgQm9va2luZyBBY2tub3dsZWRnZW1lbnQgKCBTWlUgKQ==?=\" ((NIL NIL \"PLEASE-No-Reply-IRIS-4\" \"XXXX.COM\")) ((NIL NIL \"edith.test\" \"oocl.com\")) NIL ((NIL NIL \"OP-XXXX\" \"YYYY.COM\")) NIL NIL NIL \"<20241210104938.537cd90c@smtp.qiye.163.com>\") BODY ((\"text\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"quoted-printable\" 1224 16)(\"application\" \"octet-stream\" (\"name\" \"2154973550.pdf\") NIL \"\"\"\" \"base64\" 65322) \"MIXED\") BODY[] {4}\r\nbody)\r\n");
    assert_eq!(f.uid(), Some(1_733_220_355));
    assert!(f.envelope().is_some());
    let FetchItem::Other { name, raw } = &f.items[4] else {
        panic!("{:?}", f.items[4])
    };
    assert_eq!(name, &"BODY");
    assert!(s(raw).starts_with("((\"text\" \"html\"") && s(raw).ends_with("\"MIXED\")"));
    assert_eq!(f.section(""), Some(&b"body"[..]));
}

// https://github.com/migadu/alps/pull/45 (NIL lines) and
// https://github.com/emersion/go-imap/pull/559 (absent lines) — text parts
// without body-fld-lines.
#[test]
fn text_part_without_line_count() {
    let f = fetch(b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" 1234 NIL NIL NIL NIL))\r\n");
    let BodyStructure::Single {
        fields,
        specific,
        extension,
    } = f.body_structure().unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (fields.size, specific),
        (1234, &BodySpecific::Text { lines: 0 })
    );
    assert!(extension.is_some());
    let f = fetch(b"* 2 FETCH (BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 120)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 300 7) \"alternative\"))\r\n");
    let (parts, _) = multi(f.body_structure().unwrap());
    let BodyStructure::Single {
        specific,
        extension: None,
        ..
    } = &parts[0]
    else {
        panic!()
    };
    assert_eq!(specific, &BodySpecific::Text { lines: 0 });
}

// https://github.com/apple/swift-nio-imap/issues/684 (and imap-codec's
// quirk_body_fld_enc_nil_to_empty) — NIL as the transfer encoding.
#[test]
fn nil_transfer_encoding() {
    let f = fetch(b"* 2114 FETCH (UID 2114 MODSEQ (3143) RFC822.SIZE 11867 BODYSTRUCTURE (((\"text\" \"plain\" (\"CHARSET\" \"UTF-8\") NIL NIL NIL 1423 44 NIL NIL NIL NIL)(\"text\" \"html\" (\"CHARSET\" \"UTF-8\") NIL NIL \"quoted-printable\" 2524 34 NIL NIL NIL NIL) \"alternative\" (\"BOUNDARY\" \"000000000000ccac3a05a5ef76c3\") NIL NIL NIL)(\"text\" \"plain\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7bit\" 151 4 NIL NIL NIL NIL) \"mixed\" (\"BOUNDARY\" \"===============5781602957316160403==\") NIL NIL NIL))\r\n");
    let (parts, _) = multi(f.body_structure().unwrap());
    let (alt, _) = multi(&parts[0]);
    let BodyStructure::Single { fields, .. } = &alt[0] else {
        panic!()
    };
    assert_eq!((fields.encoding.as_ref(), fields.size), (None, 1423));
}

// https://github.com/chatmail/async-imap/issues/123 — SurgeMail puts a
// space before `)` in FLAGS and PERMANENTFLAGS.
#[test]
fn surgemail_space_before_paren_in_flags() {
    let Untagged::Flags(f) =
        data(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Draft \\Seen $Forwarded )\r\n")
    else {
        panic!()
    };
    assert_eq!(f.len(), 6);
    let st = status(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Draft \\Seen $Forwarded )] Limited\r\n");
    assert!(matches!(&st.code, Some(Code::PermanentFlags(p)) if p.len() == 6));
    assert_eq!(
        status(b"* OK [UIDVALIDITY 1754171061] Uid epoch\r\n").code,
        Some(Code::UidValidity(1_754_171_061))
    );
    assert_eq!(
        status(b"A0002 OK [READ-WRITE] SELECT completed\r\n").code,
        Some(Code::ReadWrite)
    );
}

// https://github.com/djc/imap-proto/pull/91 and
// https://github.com/modern-email/defects/issues/44 — Zoho sends `\*` in
// FLAGS (only PERMANENTFLAGS may have it).
#[test]
fn zoho_star_in_flags() {
    let Untagged::Flags(f) =
        data(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)\r\n")
    else {
        panic!()
    };
    assert!(f.last().unwrap().is("\\*"));
}

// https://github.com/jstedfast/MailKit/issues/771 — InterMail (Spectrum,
// wi.rr.com) quotes a system flag.
#[test]
fn intermail_quoted_system_flag() {
    let Untagged::Flags(f) =
        data(b"* FLAGS (\"\\\\Deleted\" \\Answered \\Flagged \\Deleted \\Draft \\Seen)\r\n")
    else {
        panic!()
    };
    assert_eq!(f.len(), 6);
    assert!(f[0].is("\\Deleted"));
    // In a FETCH too.
    let f = fetch(b"* 3 FETCH (FLAGS (\"\\\\Seen\" $Label))\r\n");
    assert!(f.flags().unwrap()[0].is("\\Seen"));
}

// https://github.com/djc/imap-proto/pull/169 and
// https://github.com/modern-email/defects/issues/23 — Archiveopteryx puts
// two spaces inside a QUOTA resource.
#[test]
fn archiveopteryx_double_space_in_quota() {
    let Untagged::Quota { root, resources } = data(b"* QUOTA \"\" (STORAGE 10  512)\r\n") else {
        panic!()
    };
    assert_eq!(
        (s(&root), resources[0].usage, resources[0].limit),
        (String::new(), 10, 512)
    );
}

// https://github.com/modern-email/defects/issues/7 and
// https://github.com/duesee/imap-codec/issues/638 — a continuation
// request without the space: `+` CRLF.
#[test]
fn continuation_without_space() {
    let Response::Continuation(c) = parse(b"+\r\n") else {
        panic!()
    };
    assert_eq!((c.code, c.text.as_bytes()), (None, &b""[..]));
    let Response::Continuation(c) = parse(b"+ idling\r\n") else {
        panic!()
    };
    assert_eq!(c.text, "idling");
}

// imap-codec's quirk_crlf_relaxed
// (https://github.com/duesee/imap-codec/blob/main/imap-codec/Cargo.toml) —
// bare LF line ends, after the line and after a literal's announcement.
#[test]
fn bare_lf_line_ends() {
    let f = fetch(b"* 1 FETCH (UID 5 BODY[] {3}\nabc)\n");
    assert_eq!((f.uid(), f.section("")), (Some(5), Some(&b"abc"[..])));
    assert_eq!(status(b"a1 OK done\n").text, "done");
    assert_eq!(data(b"* 2 EXISTS\n"), Untagged::Exists(2));
}

// https://github.com/DirectoryTree/ImapEngine/issues/175 — GreenMail (and
// Dovecot) echo a mailbox name as raw 8-bit bytes in NO text.
#[test]
fn eight_bit_bytes_in_no_text() {
    let st = status("T2 NO DELETE failed. No such folder : Missing_àèì\r\n".as_bytes());
    assert_eq!(
        (st.kind, s(&st.text)),
        (
            StatusKind::No,
            "DELETE failed. No such folder : Missing_àèì".into()
        )
    );
}

// RFC 6855 / RFC 9051: with UTF8=ACCEPT (Gmail, Dovecot 2.4) names come as
// raw UTF-8, in quotes or as atoms; they are kept as sent and decoded.
#[test]
fn utf8_mailbox_names_sent_raw() {
    let Untagged::List(l) = data("* LIST (\\HasNoChildren) \"/\" \"Отправленные\"\r\n".as_bytes())
    else {
        panic!()
    };
    assert_eq!(l.mailbox.name, "Отправленные");
    let Untagged::Status { mailbox, .. } = data("* STATUS Entwürfe (MESSAGES 1)\r\n".as_bytes())
    else {
        panic!()
    };
    assert_eq!(mailbox.name, "Entwürfe");
}

// A known response name with odd contents is kept raw, never dropped (and
// a wholly unknown response too).
#[test]
fn odd_known_and_unknown_responses_are_kept_raw() {
    let Untagged::Other { name, raw } = data(b"* STATUS INBOX MESSAGES 3\r\n") else {
        panic!()
    };
    assert_eq!(
        (s(&name), s(&raw)),
        ("STATUS".into(), "INBOX MESSAGES 3".into())
    );
    let Untagged::Other { name, raw } = data(b"* SEARCH 1 2 garbage\r\n") else {
        panic!()
    };
    assert_eq!((s(&name), s(&raw)), ("SEARCH".into(), "1 2 garbage".into()));
    let Untagged::Other { name, raw } = data(b"* XAPPLEPUSHSERVICE aps-version 2 {3}\r\nabc\r\n")
    else {
        panic!()
    };
    assert_eq!(
        (s(&name), s(&raw)),
        (
            "XAPPLEPUSHSERVICE".into(),
            "aps-version 2 {3}\r\nabc".into()
        )
    );
}

// ---------------------------------------------------------------------------
// The test kit's servers (seen on the wire by crates/imap4/tests/servers.rs)
// ---------------------------------------------------------------------------

// GNU Mailutils imap4d 3.15 answers EXPUNGE with `* 1 EXPUNGED`.
#[test]
fn mailutils_expunged_is_expunge() {
    assert_eq!(data(b"* 1 EXPUNGED\r\n"), Untagged::Expunge(1));
    assert_eq!(data(b"* 1 EXPUNGE\r\n"), Untagged::Expunge(1));
    // Nothing else near the name is taken for it.
    assert!(matches!(data(b"* 1 EXPUNGEDX\r\n"), Untagged::Other { .. }));
}

// GNU Mailutils imap4d 3.15 writes a STATUS mailbox name with spaces as
// bare atoms (LIST quotes the same name).
#[test]
fn mailutils_status_name_with_spaces_unquoted() {
    let Untagged::Status { mailbox, items } = data(b"* STATUS Gepr&APw-ft &JxM- (MESSAGES 0)\r\n")
    else {
        panic!()
    };
    assert_eq!(s(&mailbox.raw), "Gepr&APw-ft &JxM-");
    assert_eq!(mailbox.name, "Geprüft ✓");
    assert_eq!(
        (s(&items[0].name), items[0].value),
        ("MESSAGES".into(), Some(0))
    );
    let Untagged::Status { mailbox, .. } = data(b"* STATUS Plain (MESSAGES 0)\r\n") else {
        panic!()
    };
    assert_eq!(s(&mailbox.raw), "Plain");
    // Only bare atoms: a quoted name followed by more, or a name part that
    // is no atom, is still odd (kept raw).
    for odd in [
        &b"* STATUS \"a b\" c (MESSAGES 0)\r\n"[..],
        b"* STATUS a \"b\" (MESSAGES 0)\r\n",
        b"* STATUS a b\r\n",
    ] {
        assert!(
            matches!(data(odd), Untagged::Other { .. }),
            "{:?}",
            String::from_utf8_lossy(odd)
        );
    }
}

// GNU Mailutils imap4d 3.15: no space between a message/rfc822 part's
// envelope and its body structure.
#[test]
fn mailutils_message_rfc822_envelope_then_body_without_space() {
    let f = fetch(b"* 4 FETCH (UID 6 BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 10 0 NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 2678 (\"Sun, 01 Jan 2023 14:09:13 +0000\" \"Mailbox be build two new these could storage\" ((\"Peggy Novak\" NIL \"peggy.novak\" \"lists.example.org\")) ((\"Peggy Novak\" NIL \"peggy.novak\" \"lists.example.org\")) ((\"Peggy Novak\" NIL \"peggy.novak\" \"lists.example.org\")) ((\"Rupert Tanaka\" NIL \"rupert.tanaka\" \"mail.test\")) NIL NIL NIL \"<6.dc1ce6db7f720818@example.com>\")(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 2049 39 NIL NIL NIL) 54 NIL NIL NIL) \"mixed\" (\"boundary\" \"b1\") NIL NIL))\r\n");
    let (parts, subtype) = multi(f.body_structure().unwrap());
    assert_eq!(subtype, "mixed");
    let BodyStructure::Single {
        specific:
            BodySpecific::Message {
                envelope,
                body,
                lines,
            },
        ..
    } = &parts[1]
    else {
        panic!("{:?}", parts[1])
    };
    assert_eq!(
        os(&envelope.message_id).as_deref(),
        Some("<6.dc1ce6db7f720818@example.com>")
    );
    assert_eq!(single_type(body), ("text".into(), "plain".into(), 2049));
    assert_eq!(*lines, 54);
    // Elsewhere a missing space is still an error (the item is kept raw).
    let f = fetch_any(
        b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7BIT\" 10 1)(\"x\"))\r\n",
    );
    assert!(
        f.items.iter().any(|i| matches!(i, FetchItem::Other { .. })),
        "{f:?}"
    );
}

/// Small accessors a program reaches for first.
#[test]
fn fetch_size_address_email_and_sets_from_iterators() {
    use imap4_proto::parse::{parse_response, Response, Untagged};
    let raw = b"* 3 FETCH (UID 9 RFC822.SIZE 1234 ENVELOPE (NIL NIL ((\"A\" NIL \"alice\" \"example.org\")(NIL NIL \"team\" NIL)) NIL NIL NIL NIL NIL NIL NIL))";
    let Ok(Response::Data(Untagged::Fetch(f))) = parse_response(raw) else {
        panic!("no FETCH")
    };
    assert_eq!(f.rfc822_size(), Some(1234));
    let from = &f.envelope().unwrap().from;
    assert_eq!(from[0].email().as_deref(), Some("alice@example.org"));
    assert_eq!(from[1].email(), None, "a group marker has no host");
    let set: imap4_proto::command::UidSet = [5, 1, 2, 3].into_iter().collect();
    assert_eq!(set.to_string(), "1:3,5");
}
