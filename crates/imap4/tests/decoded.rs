//! RFC 2047 subjects and names, ENVELOPE dates and INTERNALDATE, decoded
//! from a real Dovecot's answers, on both drivers, against what the test
//! kit's generator put in.

use imap4::typed::{Fetch, FetchAttr, SearchKey};
use imap4_testkit::{generate, Dovecot};

const SEED: u64 = 3;
const COUNT: usize = 20;
const ATTRS: [FetchAttr; 3] = [FetchAttr::Uid, FetchAttr::Envelope, FetchAttr::InternalDate];

/// Checks one FETCH against message `uid - 1` of the generator; returns
/// how many of its subject and names came RFC 2047-encoded.
fn check(f: &Fetch<'_>) -> usize {
    let uid = f.uid().expect("uid");
    let g = generate(SEED, uid as usize - 1);
    let env = f.envelope().expect("envelope");
    assert_eq!(
        env.subject_decoded().as_deref(),
        Some(&*g.subject),
        "uid {uid}"
    );
    assert_eq!(env.from.len(), 1);
    assert_eq!(env.from[0].name_decoded().as_deref(), Some(&*g.from_name));
    let to: Vec<String> = env.to.iter().filter_map(|a| a.name_decoded()).collect();
    assert_eq!(to, g.to_names, "uid {uid}");
    assert_eq!(env.date_parsed().map(|d| d.timestamp()), Some(g.unix_time));
    assert_eq!(
        f.internal_date_parsed().map(|d| d.timestamp()),
        Some(g.unix_time),
        "{:?}",
        f.internal_date().map(String::from_utf8_lossy)
    );
    let encoded = |s: Option<&imap4::typed::ByteStr<'_>>| {
        usize::from(s.is_some_and(|s| s.as_bytes().windows(2).any(|w| w == b"=?")))
    };
    encoded(env.subject.as_ref())
        + env
            .from
            .iter()
            .chain(&env.to)
            .map(|a| encoded(a.name.as_ref()))
            .sum::<usize>()
}

#[test]
fn decoded_envelopes_blocking() {
    let d = Dovecot::builder()
        .messages("alice", COUNT, SEED)
        .start()
        .unwrap();
    let mut m = imap4::Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    m.typed().select("INBOX").unwrap();
    let all = m.typed().uid_search(&SearchKey::All).unwrap();
    let fetches = m.typed().uid_fetch(&all, &ATTRS).unwrap();
    let (mut n, mut encoded) = (0, 0);
    for f in fetches.iter() {
        encoded += check(&f.unwrap());
        n += 1;
    }
    assert_eq!(n, COUNT);
    assert!(encoded >= 5, "only {encoded} encoded subjects and names");
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn decoded_envelopes_tokio() {
    let d = Dovecot::builder()
        .messages("alice", COUNT, SEED)
        .start()
        .unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    m.typed().select("INBOX").await.unwrap();
    let all = m.typed().uid_search(&SearchKey::All).await.unwrap();
    let fetches = m.typed().uid_fetch(&all, &ATTRS).await.unwrap();
    let (mut n, mut encoded) = (0, 0);
    for f in fetches.iter() {
        encoded += check(&f.unwrap());
        n += 1;
    }
    assert_eq!(n, COUNT);
    assert!(encoded >= 5, "only {encoded} encoded subjects and names");
}
