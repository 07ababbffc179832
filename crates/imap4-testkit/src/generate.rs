//! Deterministic, realistic e-mail messages for tests and benchmarks.
//!
//! Message `index` of seed `seed` depends only on `(seed, index)`, never on how
//! many messages are generated, so a test can fill a mailbox with `n` messages
//! and later compare message `k` with [`generate_message`]`(seed, k)`.
//!
//! The mix (by count) follows real mailboxes: about 85 % are 2–20 KB text mails
//! (plain, or multipart/alternative with an HTML part), about 12 % are
//! 10–150 KB (long text + HTML, often an inline image) and about 3 % are
//! 100 KB–1 MB with one to three attachments. Some subjects and display names
//! are non-ASCII (RFC 2047 encoded words, both `B` and `Q`), about 30 % of the
//! messages are replies (`In-Reply-To`, `References`, `Re:` subject of the
//! thread root) and some attachments carry RFC 2231 file names. Lines end in
//! LF (the Maildir convention); IMAP servers send them as CRLF.

use std::fmt::Write as _;

use crate::rng::{mix, Rng};

/// 2023-01-01T08:00:00Z; message `i` is dated about `i` hours later.
const T0: i64 = 1_672_560_000;

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "been",
    "one",
    "all",
    "we",
    "their",
    "has",
    "would",
    "when",
    "if",
    "so",
    "no",
    "what",
    "up",
    "out",
    "who",
    "them",
    "some",
    "more",
    "will",
    "into",
    "could",
    "than",
    "then",
    "its",
    "time",
    "only",
    "new",
    "over",
    "also",
    "after",
    "year",
    "other",
    "people",
    "about",
    "two",
    "just",
    "first",
    "any",
    "these",
    "report",
    "meeting",
    "project",
    "release",
    "server",
    "client",
    "protocol",
    "message",
    "mailbox",
    "folder",
    "update",
    "review",
    "budget",
    "deadline",
    "customer",
    "invoice",
    "schedule",
    "design",
    "benchmark",
    "latency",
    "throughput",
    "storage",
    "network",
    "index",
    "cache",
    "thread",
    "attachment",
    "proposal",
    "agenda",
    "summary",
    "question",
    "answer",
    "follow",
    "draft",
    "final",
    "revision",
    "comment",
    "patch",
    "merge",
    "build",
    "test",
    "deploy",
];
const UNI: &[&str] = &[
    "café",
    "naïve",
    "Zürich",
    "São Paulo",
    "Ελλάδα",
    "Москва",
    "東京",
    "Kraków",
    "façade",
    "résumé",
    "😀",
    "€100",
];
const FIRST: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoë", "José",
    "Björn", "Łukasz",
];
const LAST: &[&str] = &[
    "Smith", "Jones", "Müller", "Garcia", "Rossi", "Nguyen", "Kim", "Novak", "Silva", "Dubois",
    "Kowalski", "Ivanova", "Tanaka", "Larsen", "O'Brien",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.test",
    "lists.example.org",
    "corp.example",
];
const LISTS: &[&str] = &["dev", "announce", "users"];
const PUNCT: &[char] = &['.', '.', '.', '.', '.', '.', '.', '?', '!'];
/// (type, subtype, file name pattern, magic bytes)
const ATTACH: &[(&str, &str, &str, &[u8])] = &[
    ("application", "pdf", "report-#.pdf", b"%PDF-1.4\n"),
    ("application", "zip", "archive-#.zip", b"PK\x03\x04"),
    (
        "image",
        "jpeg",
        "IMG_#.jpg",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    ),
    ("text", "csv", "data-#.csv", b""),
    (
        "application",
        "vnd.openxmlformats-officedocument.wordprocessingml.document",
        "notes-#.docx",
        b"PK\x03\x04",
    ),
    ("application", "pdf", "résumé-#.pdf", b"%PDF-1.7\n"),
];

/// One generated message and the metadata [`crate::Dovecot::fill`] stores with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedMessage {
    /// The RFC 5322 message, LF line endings.
    pub bytes: Vec<u8>,
    /// Seconds since the Unix epoch of the `Date:` header (also the file's mtime,
    /// which Dovecot reports as INTERNALDATE).
    pub unix_time: i64,
    /// Maildir flag letters in sorted order, a subset of `"FRS"`
    /// (F = `\Flagged`, R = `\Answered`, S = `\Seen`).
    pub maildir_flags: String,
    /// The `Subject:` as text, before RFC 2047 encoding (what a decoder
    /// should give back).
    pub subject: String,
    /// The `From:` display name as text, before RFC 2047 encoding.
    pub from_name: String,
    /// The `To:` display names as text, in order, before RFC 2047 encoding.
    pub to_names: Vec<String>,
}

impl GeneratedMessage {
    /// The IMAP system flags matching [`GeneratedMessage::maildir_flags`].
    pub fn imap_flags(&self) -> Vec<&'static str> {
        self.maildir_flags
            .chars()
            .filter_map(|c| match c {
                'F' => Some("\\Flagged"),
                'R' => Some("\\Answered"),
                'S' => Some("\\Seen"),
                _ => None,
            })
            .collect()
    }

    /// Size with CRLF line endings: what an IMAP server reports as RFC822.SIZE.
    pub fn crlf_len(&self) -> usize {
        self.bytes.len() + self.bytes.iter().filter(|&&b| b == b'\n').count()
    }

    /// The message with CRLF line endings, as an IMAP server sends it.
    pub fn to_crlf(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.crlf_len());
        for &b in &self.bytes {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    }
}

/// Message `index` for `seed` (LF line endings). Same arguments, same bytes.
pub fn generate_message(seed: u64, index: usize) -> Vec<u8> {
    generate(seed, index).bytes
}

/// Message `index` for `seed` with its date and flags.
pub fn generate(seed: u64, index: usize) -> GeneratedMessage {
    let mut rng = Rng::new(sub_seed(seed, index, 0));
    let ts = T0 + index as i64 * 3600 + rng.below(3000) as i64;
    let mut h = String::with_capacity(1024);

    for hop in 0..rng.range(1, 3) {
        let _ = write!(
            h,
            "Received: from mx{hop}.{d1} (mx{hop}.{d2} [192.0.2.{ip}])\n\tby mail.example.com with ESMTPS id {id:012x};\n\t{date}\n",
            d1 = rng.pick(DOMAINS),
            d2 = rng.pick(DOMAINS),
            ip = rng.range(1, 254),
            id = rng.next_u64() & 0xffff_ffff_ffff,
            date = rfc2822_date(ts - hop as i64 * 7),
        );
    }
    let (from_name, from) = person(&mut rng);
    h.push_str("From: ");
    h.push_str(&from);
    h.push('\n');
    let extra_to = *rng.pick(&[0, 0, 0, 1, 2]);
    let (to_names, to): (Vec<String>, Vec<String>) =
        (0..=extra_to).map(|_| person(&mut rng)).unzip();
    h.push_str("To: ");
    h.push_str(&to.join(",\n "));
    h.push('\n');
    if rng.chance(0.2) {
        let cc: Vec<String> = (0..rng.range(1, 3)).map(|_| person(&mut rng).1).collect();
        h.push_str("Cc: ");
        h.push_str(&cc.join(",\n "));
        h.push('\n');
    }
    let subject = match parent_of(seed, index) {
        Some(parent) => {
            let mut chain = vec![parent];
            let mut cur = parent;
            while let Some(p) = parent_of(seed, cur) {
                chain.push(p);
                cur = p;
            }
            // chain: parent, grandparent, ..., root
            let _ = writeln!(h, "In-Reply-To: {}", message_id(seed, parent));
            let refs: Vec<String> = chain
                .iter()
                .take(10)
                .rev()
                .map(|&i| message_id(seed, i))
                .collect();
            h.push_str("References: ");
            h.push_str(&refs.join("\n "));
            h.push('\n');
            format!("Re: {}", base_subject(seed, cur))
        }
        None => base_subject(seed, index),
    };
    write_subject(&mut h, &subject, &mut rng);
    let _ = writeln!(h, "Date: {}", rfc2822_date(ts));
    let _ = writeln!(h, "Message-ID: {}", message_id(seed, index));
    if rng.chance(0.25) {
        let _ = writeln!(h, "List-Id: <{}.lists.example.org>", rng.pick(LISTS));
    }
    h.push_str("MIME-Version: 1.0\n");

    let kind = rng.below(1000);
    let body = if kind < 850 {
        let size = rng.range(1200, 8500);
        let text = text_of(&mut rng, size);
        if rng.chance(0.35) {
            alternative(&mut rng, text)
        } else {
            text_part(text)
        }
    } else if kind < 970 {
        let size = rng.range(6000, 45000);
        let text = text_of(&mut rng, size);
        let alt = alternative(&mut rng, text);
        if rng.chance(0.5) {
            let n = rng.range(3000, 30000);
            let png = binary_part(
                &mut rng,
                ("image", "png", "inline-#.png", b"\x89PNG\r\n\x1a\n"),
                &index.to_string(),
                n,
                "inline",
            );
            multi(&mut rng, "mixed", vec![alt, png])
        } else {
            alt
        }
    } else {
        let size = rng.range(500, 4000);
        let mut parts = vec![text_part(text_of(&mut rng, size))];
        let total = rng.range(70_000, 740_000);
        let k = rng.range(1, 3);
        for j in 0..k {
            let spec = *rng.pick(ATTACH);
            let name = format!("{index}-{j}");
            if spec.1 == "csv" {
                parts.push(csv_part(&mut rng, &name, total / k));
            } else {
                parts.push(binary_part(&mut rng, spec, &name, total / k, "attachment"));
            }
        }
        multi(&mut rng, "mixed", parts)
    };
    body.write_to(&mut h);

    let mut flags = String::new();
    if rng.chance(0.05) {
        flags.push('F');
    }
    if rng.chance(0.15) {
        flags.push('R');
    }
    if rng.chance(0.75) {
        flags.push('S');
    }
    GeneratedMessage {
        bytes: h.into_bytes(),
        unix_time: ts,
        maildir_flags: flags,
        subject,
        from_name,
        to_names,
    }
}

/// The `Message-ID` header value (with angle brackets) of message `index`.
pub fn message_id(seed: u64, index: usize) -> String {
    let h = mix(sub_seed(seed, index, 1));
    let domain = DOMAINS[(mix(h) % DOMAINS.len() as u64) as usize];
    format!("<{index}.{h:016x}@{domain}>")
}

/// The message that `index` replies to, if it is a reply (about 30 %).
pub fn parent_of(seed: u64, index: usize) -> Option<usize> {
    if index == 0 {
        return None;
    }
    let mut rng = Rng::new(sub_seed(seed, index, 2));
    if rng.chance(0.3) {
        Some(index - 1 - rng.below(index.min(200) as u64) as usize)
    } else {
        None
    }
}

fn sub_seed(seed: u64, index: usize, stream: u64) -> u64 {
    mix(mix(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15)) ^ index as u64)
}

fn base_subject(seed: u64, index: usize) -> String {
    let mut rng = Rng::new(sub_seed(seed, index, 3));
    let n = rng.range(3, 9);
    let mut s = String::new();
    sentence(&mut rng, n, &mut s, &mut 0, usize::MAX);
    let s = s.trim_end_matches(['.', '?', '!']).to_string();
    if rng.chance(0.1) {
        format!("{s} {}", rng.pick(UNI))
    } else {
        s
    }
}

/// A display name and the address header text for it.
fn person(rng: &mut Rng) -> (String, String) {
    let first = *rng.pick(FIRST);
    let last = *rng.pick(LAST);
    let local: String = format!("{first}.{last}")
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let domain = rng.pick(DOMAINS);
    let name = format!("{first} {last}");
    let text = if name.is_ascii() {
        format!("{name} <{local}@{domain}>")
    } else {
        let words = encoded_words(&name, false, 60);
        format!("{} <{local}@{domain}>", words.join(" "))
    };
    (name, text)
}

/// Writes `Subject:`; non-ASCII subjects become RFC 2047 encoded words, either
/// all in `B` or ASCII words plain plus `Q` encoded runs of non-ASCII words.
fn write_subject(h: &mut String, subject: &str, rng: &mut Rng) {
    let (prefix, subject) = match subject.strip_prefix("Re: ") {
        Some(rest) => (Some("Re:".to_string()), rest),
        None => (None, subject),
    };
    let tokens: Vec<String> = if subject.is_ascii() {
        subject.split(' ').map(str::to_string).collect()
    } else if rng.chance(0.5) {
        encoded_words(subject, true, 39)
    } else {
        let mut out = Vec::new();
        let mut run: Vec<&str> = Vec::new();
        for w in subject.split(' ') {
            if w.is_ascii() {
                if !run.is_empty() {
                    out.extend(encoded_words(&run.join(" "), false, 52));
                    run.clear();
                }
                out.push(w.to_string());
            } else {
                run.push(w);
            }
        }
        if !run.is_empty() {
            out.extend(encoded_words(&run.join(" "), false, 52));
        }
        out
    };
    // fold at 78 columns
    h.push_str("Subject:");
    let mut col = 8;
    for t in prefix.into_iter().chain(tokens) {
        if col + 1 + t.len() > 78 && col > 8 {
            h.push_str("\n ");
            col = 1;
        } else {
            h.push(' ');
            col += 1;
        }
        h.push_str(&t);
        col += t.len();
    }
    h.push('\n');
}

/// RFC 2047 encoded words for `text`, never splitting a character. For `B`,
/// `max` is the number of UTF-8 bytes per word; for `Q`, of encoded characters.
fn encoded_words(text: &str, b: bool, max: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut chunk = String::new();
    let mut cost = 0;
    let flush = |chunk: &mut String, words: &mut Vec<String>| {
        if chunk.is_empty() {
            return;
        }
        if b {
            words.push(format!("=?utf-8?b?{}?=", base64(chunk.as_bytes())));
        } else {
            words.push(format!("=?utf-8?q?{chunk}?="));
        }
        chunk.clear();
    };
    for c in text.chars() {
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        let piece: String = if b {
            c.to_string()
        } else if c == ' ' {
            "_".to_string()
        } else if c.is_ascii_alphanumeric() {
            c.to_string()
        } else {
            bytes.iter().map(|b| format!("={b:02X}")).collect()
        };
        let c_cost = if b { bytes.len() } else { piece.len() };
        if cost + c_cost > max {
            flush(&mut chunk, &mut words);
            cost = 0;
        }
        chunk.push_str(&piece);
        cost += c_cost;
    }
    flush(&mut chunk, &mut words);
    words
}

/// Appends one sentence of `n` words to `out`, wrapping at `width` columns.
fn sentence(rng: &mut Rng, n: usize, out: &mut String, col: &mut usize, width: usize) {
    let uni_at = if rng.chance(0.08) {
        Some(rng.below(n as u64) as usize)
    } else {
        None
    };
    let punct = *rng.pick(PUNCT);
    for w in 0..n {
        let word = if Some(w) == uni_at {
            *rng.pick(UNI)
        } else {
            *rng.pick(WORDS)
        };
        let len = word.chars().count() + usize::from(w + 1 == n);
        if *col > 0 {
            if *col + 1 + len > width {
                out.push('\n');
                *col = 0;
            } else {
                out.push(' ');
                *col += 1;
            }
        }
        if w == 0 {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(word);
        }
        if w + 1 == n {
            out.push(punct);
        }
        *col += len;
    }
}

/// Paragraphs of text wrapped at 72 columns until at least `size` bytes.
fn text_of(rng: &mut Rng, size: usize) -> String {
    let mut out = String::with_capacity(size + 600);
    while out.len() < size {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let mut col = 0;
        for _ in 0..rng.range(2, 7) {
            let n = rng.range(6, 18);
            sentence(rng, n, &mut out, &mut col, 72);
        }
    }
    out.push('\n');
    out
}

enum Part {
    Leaf {
        headers: String,
        body: String,
    },
    Multi {
        subtype: &'static str,
        boundary: String,
        parts: Vec<Part>,
    },
}

impl Part {
    fn write_to(&self, out: &mut String) {
        match self {
            Part::Leaf { headers, body } => {
                out.push_str(headers);
                out.push('\n');
                out.push_str(body);
            }
            Part::Multi {
                subtype,
                boundary,
                parts,
            } => {
                let _ = write!(
                    out,
                    "Content-Type: multipart/{subtype};\n boundary=\"{boundary}\"\n\n"
                );
                for p in parts {
                    let _ = writeln!(out, "--{boundary}");
                    p.write_to(out);
                    if !out.ends_with('\n') {
                        out.push('\n');
                    }
                }
                let _ = writeln!(out, "--{boundary}--");
            }
        }
    }
}

fn multi(rng: &mut Rng, subtype: &'static str, parts: Vec<Part>) -> Part {
    Part::Multi {
        subtype,
        boundary: format!(
            "==============={:019}==",
            rng.next_u64() % 10_000_000_000_000_000_000
        ),
        parts,
    }
}

fn text_part(body: String) -> Part {
    let cte = if body.is_ascii() { "7bit" } else { "8bit" };
    Part::Leaf {
        headers: format!(
            "Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: {cte}\n"
        ),
        body,
    }
}

fn alternative(rng: &mut Rng, text: String) -> Part {
    let mut html = String::with_capacity(text.len() * 11 / 10 + 100);
    html.push_str("<html><head><meta charset=\"utf-8\"></head><body>\n");
    html.push_str("<p>");
    let mut first = true;
    for line in text.trim_end().lines() {
        if line.is_empty() {
            html.push_str("</p>\n<p>");
            first = true;
        } else {
            if !first {
                html.push(' ');
            }
            html.push_str(line);
            first = false;
        }
    }
    html.push_str("</p>\n");
    html.push_str("</body></html>\n");
    let html = Part::Leaf {
        headers: "Content-Type: text/html; charset=\"utf-8\"\nContent-Transfer-Encoding: quoted-printable\n"
            .to_string(),
        body: quoted_printable(html.as_bytes()),
    };
    multi(rng, "alternative", vec![text_part(text), html])
}

fn binary_part(
    rng: &mut Rng,
    (mt, st, pattern, magic): (&str, &str, &str, &[u8]),
    name: &str,
    n: usize,
    disposition: &str,
) -> Part {
    let filename = pattern.replace('#', name);
    let mut headers = String::new();
    if filename.is_ascii() {
        let _ = write!(
            headers,
            "Content-Type: {mt}/{st}; name=\"{filename}\"\nContent-Transfer-Encoding: base64\nContent-Disposition: {disposition};\n filename=\"{filename}\"\n"
        );
    } else {
        let _ = write!(
            headers,
            "Content-Type: {mt}/{st}\nContent-Transfer-Encoding: base64\nContent-Disposition: {disposition};\n filename*=utf-8''{}\n",
            percent_encode(&filename)
        );
    }
    if disposition == "inline" {
        let _ = writeln!(headers, "Content-ID: <{filename}@mail.example.com>");
    }
    Part::Leaf {
        headers,
        body: random_base64(rng, magic, n),
    }
}

/// Random data in the pool: this many 57-byte lines.
const POOL_LINES: usize = 16_384;

/// 16,384 lines of base64 (76 characters + LF) of fixed pseudo-random data,
/// made once per process. Attachments copy runs of whole lines from it, so
/// big messages cost a memcpy instead of encoding every byte.
fn pool() -> &'static str {
    static POOL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let mut rng = Rng::new(0x706f_6f6c);
        let mut data = Vec::with_capacity(POOL_LINES * 57);
        rng.extend_bytes(&mut data, POOL_LINES * 57);
        base64_lines(&data)
    })
}

/// Base64 lines (76 characters) of `n` bytes of data: `magic`, then
/// pseudo-random bytes. The first line is encoded here, then whole lines come
/// from the [`pool`] at a random offset, then the encoded tail.
fn random_base64(rng: &mut Rng, magic: &[u8], n: usize) -> String {
    let first_len = n.min(57);
    let mut first = Vec::with_capacity(57);
    first.extend_from_slice(&magic[..magic.len().min(first_len)]);
    let missing = first_len - first.len();
    rng.extend_bytes(&mut first, missing);
    let rest = n - first_len;
    let full = (rest / 57).min(POOL_LINES);
    let tail = rest - full * 57;
    let start = rng.below((POOL_LINES - full + 1) as u64) as usize;
    let mut out = String::with_capacity(n / 57 * 77 + 160);
    out.push_str(&base64_lines(&first));
    out.push_str(&pool()[start * 77..(start + full) * 77]);
    if tail > 0 {
        let mut data = Vec::with_capacity(tail);
        rng.extend_bytes(&mut data, tail);
        out.push_str(&base64_lines(&data));
    }
    out
}

fn csv_part(rng: &mut Rng, name: &str, n: usize) -> Part {
    let body = text_of(rng, n).replace(' ', ",");
    let cte = if body.is_ascii() { "7bit" } else { "8bit" };
    Part::Leaf {
        headers: format!(
            "Content-Type: text/csv; charset=\"utf-8\"\nContent-Transfer-Encoding: {cte}\nContent-Disposition: attachment; filename=\"data-{name}.csv\"\n"
        ),
        body,
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, one line.
pub(crate) fn base64(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    base64_into(data, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

fn base64_into(data: &[u8], out: &mut Vec<u8>) {
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend_from_slice(&[
            B64[(n >> 18) as usize & 63],
            B64[(n >> 12) as usize & 63],
            B64[(n >> 6) as usize & 63],
            B64[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[
                B64[(n >> 18) as usize & 63],
                B64[(n >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend_from_slice(&[
                B64[(n >> 18) as usize & 63],
                B64[(n >> 12) as usize & 63],
                B64[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
}

/// Base64 in 76-character lines, each ending in LF.
fn base64_lines(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(data.len().div_ceil(57) * 77);
    for line in data.chunks(57) {
        base64_into(line, &mut out);
        out.push(b'\n');
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Quoted-printable (RFC 2045) with soft line breaks before 76 columns.
fn quoted_printable(input: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(input.len() * 11 / 10);
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    for line in body.split(|&b| b == b'\n') {
        let mut col = 0;
        let mut i = 0;
        while i < line.len() {
            // a run of bytes that stay literal and fit on the current line
            let room = 75 - col;
            let mut j = i;
            while j < line.len() && j - i < room {
                if !QP_SAFE[usize::from(line[j])] || (j + 1 == line.len() && line[j] <= b' ') {
                    break;
                }
                j += 1;
            }
            out.extend_from_slice(&line[i..j]);
            col += j - i;
            i = j;
            if i == line.len() {
                break;
            }
            if col == 75 || (!is_qp_literal(line, i) && col + 3 > 75) {
                out.extend_from_slice(b"=\n");
                col = 0;
                continue;
            }
            if !is_qp_literal(line, i) {
                let b = line[i];
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                col += 3;
                i += 1;
            }
        }
        out.push(b'\n');
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Bytes that quoted-printable keeps as they are (space and tab only when
/// not at the end of a line).
const QP_SAFE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 32;
    while b < 127 {
        t[b] = b != b'=' as usize;
        b += 1;
    }
    t[b'\t' as usize] = true;
    t
};

fn is_qp_literal(line: &[u8], i: usize) -> bool {
    QP_SAFE[usize::from(line[i])] && !(i + 1 == line.len() && line[i] <= b' ')
}

/// `Sun, 01 Jan 2023 08:00:00 +0000`
pub(crate) fn rfc2822_date(ts: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[(days + 4).rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// IMAP's date-time, `01-Jan-2023 08:00:00 +0000`, as APPEND takes it.
pub fn internal_date(ts: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil_from_days(ts.div_euclid(86_400));
    let secs = ts.rem_euclid(86_400);
    format!(
        "{:02}-{}-{} {:02}:{:02}:{:02} +0000",
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_dates() {
        assert_eq!(internal_date(0), "01-Jan-1970 00:00:00 +0000");
        assert_eq!(internal_date(1_672_560_000), "01-Jan-2023 08:00:00 +0000");
    }

    #[test]
    fn dates() {
        assert_eq!(rfc2822_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822_date(T0), "Sun, 01 Jan 2023 08:00:00 +0000");
        assert_eq!(rfc2822_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn encodings() {
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi"), "aGk=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(quoted_printable("a=b é \n".as_bytes()), "a=3Db =C3=A9=20\n");
        let w = encoded_words("Zoë Müller", false, 60);
        assert_eq!(w, ["=?utf-8?q?Zo=C3=AB_M=C3=BCller?="]);
        for w in encoded_words(&"東京 ".repeat(30), true, 39) {
            assert!(w.len() <= 75, "{w}");
        }
    }

    #[test]
    fn messages_are_sane() {
        let mut big = 0;
        for i in 0..300 {
            let m = generate(42, i);
            assert_eq!(m, generate(42, i));
            let text = String::from_utf8(m.bytes.clone()).expect("utf-8");
            assert!(text.contains(&format!("Message-ID: {}\n", message_id(42, i))));
            assert!(text.contains("\n\n"), "has a body");
            assert!(!text.contains('\r'));
            for line in text.lines() {
                assert!(line.len() <= 998, "line too long in {i}: {line}");
            }
            let header = &text[..text.find("\n\n").expect("header end")];
            for line in header.lines() {
                assert!(line.is_ascii(), "non-ASCII header line in {i}: {line}");
            }
            if let Some(p) = parent_of(42, i) {
                assert!(text.contains(&format!("In-Reply-To: {}\n", message_id(42, p))));
                assert!(text.contains("Subject: Re: "));
            }
            big += usize::from(m.bytes.len() > 100_000);
        }
        assert!(big > 0 && big < 30, "{big}");
        assert_ne!(generate_message(1, 5), generate_message(2, 5));
    }
}
