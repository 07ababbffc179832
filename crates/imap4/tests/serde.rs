//! With the `serde` feature, the typed API's results from a real Dovecot
//! serialize to JSON, through `imap4` alone.
#![cfg(feature = "serde")]

use imap4::typed::{FetchAttr, SearchKey, StatusAttr, UidSet};
use imap4::Imap4;
use imap4_testkit::Dovecot;
use serde_json::{json, Value};

/// To a JSON value (a macro: this crate does not depend on `serde` itself).
macro_rules! to_json {
    ($v:expr) => {
        serde_json::to_value($v).expect("serializes")
    };
}

#[test]
fn typed_results_serialize_to_json() {
    let d = Dovecot::builder().messages("alice", 5, 3).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    let method = m.typed().login_auto("alice", d.password()).unwrap();
    assert_eq!(to_json!(&method), json!("ScramSha256"));

    let inbox = m.typed().select("INBOX").unwrap();
    let j = to_json!(&inbox);
    assert_eq!(j["exists"], json!(5));
    assert_eq!(j["uid_next"], json!(6));
    assert_eq!(j["read_only"], json!(false));
    assert!(j["permanent_flags"]
        .as_array()
        .unwrap()
        .contains(&json!("\\Seen")));
    let back: imap4::typed::SelectedMailbox = serde_json::from_value(j).unwrap();
    assert_eq!(back, inbox);

    // A message of our own, with a known subject and flag.
    let message = "From: =?UTF-8?Q?J=C3=B6rg?= <jorg@example.org>\r\n\
                   To: alice@example.org\r\n\
                   Subject: serde check\r\n\
                   Message-ID: <serde@example.org>\r\n\
                   \r\n\
                   body\r\n";
    let mapping = m
        .typed()
        .append("INBOX", &["\\Flagged"], None, message)
        .unwrap()
        .expect("Dovecot has UIDPLUS");
    let j = to_json!(&mapping);
    assert_eq!(j["destination"], json!("6"));
    assert_eq!(j["source"], Value::Null);
    assert!(j["uid_validity"].as_u64().unwrap() > 0);

    m.typed().noop().unwrap();
    let state = m.mailbox_state().unwrap().clone();
    assert_eq!(to_json!(&state)["exists"], json!(6));

    m.typed().create("Archive/2024").unwrap();
    let boxes = m.typed().list("", "*").unwrap();
    let j = to_json!(&boxes);
    let names: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"INBOX"), "{names:?}");
    assert!(names.contains(&"Archive/2024"), "{names:?}");
    let archive = j
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "Archive/2024")
        .unwrap();
    assert_eq!(archive["raw_name"], json!("Archive/2024"));
    assert_eq!(archive["delimiter"], json!("/"));

    let status = m
        .typed()
        .status("INBOX", &[StatusAttr::Messages, StatusAttr::UidNext])
        .unwrap();
    let j = to_json!(&status);
    assert_eq!(j["mailbox"], json!("INBOX"));
    assert_eq!(j["messages"], json!(6));
    assert_eq!(j["uid_next"], json!(7));

    let all: UidSet = m.typed().uid_search(&SearchKey::All).unwrap();
    assert_eq!(to_json!(&all), json!("1:6"));
    let fetches = m
        .typed()
        .uid_fetch(
            &all,
            &[
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::Envelope,
                FetchAttr::BodyStructure,
            ],
        )
        .unwrap();
    let j = to_json!(&fetches);
    let list = j.as_array().unwrap();
    assert_eq!(list.len(), 6);
    // Each fetch serializes as its parsed form, item for item.
    for (f, v) in fetches.iter().zip(list) {
        let f = f.unwrap();
        assert_eq!(v["seq"], json!(f.seq));
        let subject = f.envelope().unwrap().subject.as_ref();
        let subject = subject.map(|s| s.to_str_lossy().into_owned());
        let items = v["items"].as_array().unwrap();
        let env = items.iter().find_map(|i| i.get("Envelope")).unwrap();
        assert_eq!(env["subject"], json!(subject));
        assert!(items.iter().any(|i| i.get("BodyStructure").is_some()));
    }
    let ours = list.last().unwrap()["items"].as_array().unwrap();
    assert!(ours.contains(&json!({ "Uid": 6 })), "{ours:?}");
    let flags = ours.iter().find_map(|i| i.get("Flags")).unwrap();
    assert!(flags.as_array().unwrap().contains(&json!("\\Flagged")));
    let env = ours.iter().find_map(|i| i.get("Envelope")).unwrap();
    assert_eq!(env["subject"], json!("serde check"));
    assert_eq!(env["message_id"], json!("<serde@example.org>"));
    assert_eq!(env["from"][0]["mailbox"], json!("jorg"));
    assert_eq!(env["from"][0]["host"], json!("example.org"));
    let body = ours.iter().find_map(|i| i.get("BodyStructure")).unwrap();
    let single = &body["Single"];
    assert_eq!(single["fields"]["media_type"], json!("text"));
    assert_eq!(single["specific"]["Text"]["lines"], json!(1));

    // A streamed fetch hands out the same Fetch type.
    let mut streamed = Vec::new();
    m.typed()
        .uid_fetch_each(&UidSet::single(6), &[FetchAttr::Uid], |f| {
            streamed.push(to_json!(&f))
        })
        .unwrap();
    assert_eq!(streamed, vec![json!({ "seq": 6, "items": [{ "Uid": 6 }] })]);
    m.logout().unwrap();
}

/// Every result of the typed API, and what it holds, is `Serialize`.
#[test]
fn typed_results_are_serialize() {
    fn serialize<T: serde::Serialize + ?Sized>() {}
    use imap4::typed::*;
    serialize::<SelectedMailbox>();
    serialize::<MailboxInfo>();
    serialize::<MailboxStatus>();
    serialize::<UidMapping>();
    serialize::<Fetches>();
    serialize::<Fetch<'_>>();
    serialize::<FetchItem<'_>>();
    serialize::<Envelope<'_>>();
    serialize::<Address<'_>>();
    serialize::<BodyStructure<'_>>();
    serialize::<BodyFields<'_>>();
    serialize::<BodySpecific<'_>>();
    serialize::<BodyExtension<'_>>();
    serialize::<ByteStr<'_>>();
    serialize::<Flag<'_>>();
    serialize::<Thread>();
    serialize::<UidSet>();
    serialize::<SeqSet>();
    serialize::<Bound>();
    serialize::<ParsedResponse<'_>>();
    serialize::<Untagged<'_>>();
    serialize::<imap4::sasl::LoginMethod>();
    serialize::<imap4::Authenticated>();
    serialize::<imap4::Event>();
    serialize::<imap4::MailboxState>();
}
