//! The message generator and `Dovecot::fill`'s Maildir layout.

use std::os::unix::fs::MetadataExt;
use std::time::UNIX_EPOCH;

use imap4_testkit::{generate, generate_message, Dovecot};

#[test]
fn same_seed_same_bytes() {
    for i in [0, 1, 17, 500, 9_999] {
        assert_eq!(generate_message(42, i), generate_message(42, i));
        assert_ne!(generate_message(42, i), generate_message(43, i));
    }
    assert_ne!(generate_message(42, 1), generate_message(42, 2));
}

#[test]
fn size_mix_is_realistic() {
    let sizes: Vec<usize> = (0..2000).map(|i| generate(7, i).bytes.len()).collect();
    let small = sizes.iter().filter(|&&s| s < 10_000).count();
    let big = sizes.iter().filter(|&&s| s >= 100_000).count();
    assert!(sizes.iter().all(|&s| s > 1_000 && s < 1_100_000));
    assert!(small > 1200, "{small} of 2000 under 10 KB");
    assert!((20..150).contains(&big), "{big} of 2000 over 100 KB");
}

#[test]
fn fill_writes_maildir_files() {
    let server = Dovecot::builder()
        .messages_in("alice", "Archive/2023", 6, 3)
        .start()
        .unwrap();
    // a second fill with the same seed adds, never overwrites
    server.fill("alice", "Archive/2023", 6, 3).unwrap();
    let cur = server.home("alice").join("Maildir/.Archive.2023/cur");
    let mut files: Vec<_> = std::fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 12);
    let uid = std::fs::metadata(server.home("alice")).unwrap().uid();
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let q = name.split('Q').nth(1).unwrap();
        let index: usize = q[..q.find('.').unwrap()].parse().unwrap();
        let m = generate(3, index);
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(bytes, m.bytes);
        // `:2,` only with flags (what Dovecot guesses from its index)
        let info = if m.maildir_flags.is_empty() {
            String::new()
        } else {
            format!(":2,{}", m.maildir_flags)
        };
        assert!(
            name.ends_with(&format!(
                ".gen,S={},W={}{info}",
                m.bytes.len(),
                m.crlf_len()
            )),
            "{name}"
        );
        assert!(name.starts_with(&format!("{}.M", m.unix_time)), "{name}");
        let meta = std::fs::metadata(path).unwrap();
        let mtime = meta.modified().unwrap().duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(mtime.as_secs() as i64, m.unix_time);
        assert_eq!(meta.uid(), uid, "owned by the mail user");
    }
    assert!(cur.parent().unwrap().join("maildirfolder").exists());
    let tmp = cur.parent().unwrap().join("tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
}
