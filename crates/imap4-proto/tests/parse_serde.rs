//! With the crate feature `serde`, typed values implement
//! `serde::Serialize`, byte strings as (lossily decoded) strings.
#![cfg(feature = "serde")]

use imap4_proto::parse::parse_response;
use serde_json::json;

#[test]
fn fetch_serializes_with_strings() {
    let raw = b"* 12 FETCH (UID 40 FLAGS (\\Seen $Junk) RFC822.SIZE 5 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" {6}\r\nGr\xc3\xbc\xc3\x9f ((\"Fred\" NIL \"fred\" \"example.org\")) NIL NIL NIL NIL NIL NIL \"<a@b>\") BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"8BIT\" 5 1 NIL (\"inline\" NIL) NIL NIL) BODY[1]<0> {5}\r\nh\xe9llo MODSEQ (7) X-GM-LABELS (\"\\\\Inbox\" Work) X-ODD (1 \"a\"))\r\n";
    let v = serde_json::to_value(parse_response(raw).unwrap()).unwrap();
    let items = &v["Data"]["Fetch"]["items"];
    assert_eq!(v["Data"]["Fetch"]["seq"], 12);
    assert_eq!(items[0], json!({ "Uid": 40 }));
    assert_eq!(items[1], json!({ "Flags": ["\\Seen", "$Junk"] }));
    assert_eq!(items[2], json!({ "Rfc822Size": 5 }));
    assert_eq!(
        items[3],
        json!({ "InternalDate": "17-Jul-1996 02:44:25 -0700" })
    );
    assert_eq!(
        items[4],
        json!({ "Envelope": {
            "date": "Mon, 7 Feb 1994 21:52:25 -0800",
            "subject": "Grüß",
            "from": [{ "name": "Fred", "adl": null, "mailbox": "fred", "host": "example.org" }],
            "sender": [], "reply_to": [], "to": [], "cc": [], "bcc": [],
            "in_reply_to": null,
            "message_id": "<a@b>",
        }})
    );
    let single = &items[5]["BodyStructure"]["Single"];
    assert_eq!(single["fields"]["media_type"], "TEXT");
    assert_eq!(single["fields"]["params"], json!([["CHARSET", "UTF-8"]]));
    assert_eq!(single["specific"], json!({ "Text": { "lines": 1 } }));
    assert_eq!(single["extension"]["disposition"], json!(["inline", []]));
    // Invalid UTF-8 in a literal is replaced, not an error.
    assert_eq!(
        items[6],
        json!({ "BodySection": { "section": "1", "origin": 0, "data": "h\u{fffd}llo" } })
    );
    assert_eq!(items[7], json!({ "ModSeq": 7 }));
    assert_eq!(items[8], json!({ "GmLabels": ["\\Inbox", "Work"] }));
    assert_eq!(
        items[9],
        json!({ "Other": { "name": "X-ODD", "raw": "(1 \"a\")" } })
    );
}

#[test]
fn status_list_and_thread_serialize() {
    let v = |raw: &[u8]| serde_json::to_value(parse_response(raw).unwrap()).unwrap();
    assert_eq!(
        v(b"a1 OK [COPYUID 3 1:2 5:6] Copied\r\n"),
        json!({ "Status": { "tag": "a1", "kind": "Ok",
            "code": { "CopyUid": { "uid_validity": 3, "source": "1:2", "destination": "5:6" } },
            "text": "Copied" } })
    );
    assert_eq!(
        v(b"* NO [ALREADYEXISTS] exists\r\n")["Status"]["code"],
        json!({ "Other": { "name": "ALREADYEXISTS", "data": null } })
    );
    assert_eq!(
        v(b"* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\n"),
        json!({ "Data": { "List": {
            "attributes": ["\\HasNoChildren"],
            "delimiter": "/",
            "mailbox": { "raw": "Entw&APw-rfe", "name": "Entwürfe" },
            "childinfo": [], "oldname": null, "extended": [] } } })
    );
    assert_eq!(
        v(b"* NAMESPACE ((\"\" \".\")) NIL NIL\r\n")["Data"]["Namespace"]["personal"],
        json!([{ "prefix": "", "delimiter": ".", "extensions": [] }])
    );
    assert_eq!(
        v(b"* THREAD (1 2)\r\n"),
        json!({ "Data": { "Thread": [{ "messages": [1, 2], "children": [] }] } })
    );
    assert_eq!(
        v(b"+ go\r\n"),
        json!({ "Continuation": { "code": null, "text": "go" } })
    );
}
