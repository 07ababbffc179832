//! With the crate feature `serde`, the typed API's results serialize:
//! sets as their IMAP text, raw names as (lossily decoded) strings, and
//! `Fetches` as the sequence of its parsed FETCH responses.
#![cfg(feature = "serde")]

use bytes::Bytes;
use imap4_proto::command::{Bound, SeqSet, UidSet};
use imap4_proto::sasl::LoginMethod;
use imap4_proto::typed::{Fetches, MailboxInfo, MailboxStatus, SelectedMailbox, UidMapping};
use imap4_proto::{Event, MailboxState};
use serde_json::json;

#[test]
fn sets_serialize_as_imap_text() {
    let set: UidSet = "1:3,7,9:*".parse().unwrap();
    assert_eq!(serde_json::to_value(&set).unwrap(), json!("1:3,7,9:*"));
    assert_eq!(serde_json::to_value(SeqSet::default()).unwrap(), json!(""));
    assert_eq!(
        serde_json::to_value([Bound::Num(4), Bound::Star]).unwrap(),
        json!([{ "Num": 4 }, "Star"])
    );
    let mapping = UidMapping {
        uid_validity: 9,
        source: Some(UidSet::from_numbers([1, 2, 3])),
        destination: UidSet::from_numbers([10, 11, 12]),
    };
    assert_eq!(
        serde_json::to_value(&mapping).unwrap(),
        json!({ "uid_validity": 9, "source": "1:3", "destination": "10:12" })
    );
}

#[test]
fn fetches_serialize_as_parsed_fetches() {
    let fetches = Fetches::new(vec![
        Bytes::from_static(b"* 1 FETCH (UID 7 FLAGS (\\Seen))"),
        Bytes::from_static(b"* 3 EXISTS"),
        Bytes::from_static(b"* 2 FETCH (UID 8 BODY[] {3}\r\na\xffb)"),
    ]);
    assert_eq!(
        serde_json::to_value(&fetches).unwrap(),
        json!([
            { "seq": 1, "items": [{ "Uid": 7 }, { "Flags": ["\\Seen"] }] },
            { "seq": 2, "items": [{ "Uid": 8 }, { "BodySection": {
                "section": "", "origin": null, "data": "a\u{fffd}b" } }] },
        ])
    );
    // A response that cannot be parsed fails the serialization.
    let bad = Fetches::new(vec![Bytes::from_static(b"* 1 FETCH (UID")]);
    assert!(serde_json::to_value(&bad).is_err());
}

#[test]
fn mailboxes_and_events_serialize() {
    let info = MailboxInfo {
        name: "Entwürfe".into(),
        raw_name: b"Entw&APw-rfe".to_vec(),
        delimiter: Some('/'),
        attributes: vec!["\\Drafts".into()],
    };
    assert_eq!(
        serde_json::to_value(&info).unwrap(),
        json!({ "name": "Entwürfe", "raw_name": "Entw&APw-rfe", "delimiter": "/",
                "attributes": ["\\Drafts"] })
    );
    let odd = MailboxInfo {
        raw_name: b"a\xffb".to_vec(),
        ..info
    };
    assert_eq!(
        serde_json::to_value(&odd).unwrap()["raw_name"],
        "a\u{fffd}b"
    );

    let selected = SelectedMailbox {
        exists: 3,
        uid_validity: Some(42),
        ..SelectedMailbox::default()
    };
    let v = serde_json::to_value(&selected).unwrap();
    assert_eq!(v["exists"], 3);
    assert_eq!(
        serde_json::from_value::<SelectedMailbox>(v).unwrap(),
        selected
    );
    let status = MailboxStatus {
        mailbox: "INBOX".into(),
        messages: Some(3),
        other: vec![("X-FOO".into(), "(1 2)".into())],
        ..MailboxStatus::default()
    };
    let v = serde_json::to_value(&status).unwrap();
    assert_eq!(v["other"], json!([["X-FOO", "(1 2)"]]));
    assert_eq!(serde_json::from_value::<MailboxStatus>(v).unwrap(), status);
    let state = MailboxState::default();
    let v = serde_json::to_value(&state).unwrap();
    assert_eq!(serde_json::from_value::<MailboxState>(v).unwrap(), state);

    let event = Event::Vanished {
        earlier: false,
        uids: UidSet::from_numbers([4, 5]),
    };
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({ "Vanished": { "earlier": false, "uids": "4:5" } })
    );
    assert_eq!(
        serde_json::to_value(Event::Exists(9)).unwrap(),
        json!({ "Exists": 9 })
    );

    let method = LoginMethod::ScramSha256Plus;
    let v = serde_json::to_value(method).unwrap();
    assert_eq!(v, json!("ScramSha256Plus"));
    assert_eq!(serde_json::from_value::<LoginMethod>(v).unwrap(), method);
}
