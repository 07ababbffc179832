//! The readable search query of `search` and `list`, turned into an IMAP
//! SEARCH key (the library encodes it; nothing here reaches the wire as
//! text).
//!
//! Grammar (terms separated by spaces are ANDed):
//!
//! ```text
//! query := or+
//! or    := unary ("or" unary)*
//! unary := ("not" | "-") unary | "(" query ")" | term
//! term  := word | name ":" value
//! ```

use imap4::typed::{Date, SearchKey, UidSet};

/// Splits the words of the command line further at parentheses
/// (`(from:a` → `(`, `from:a`), keeping values intact.
fn tokens(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        let mut w = w.as_str();
        while let Some(rest) = w.strip_prefix('(') {
            out.push("(".to_string());
            w = rest;
        }
        let mut closes = 0;
        while let Some(rest) = w.strip_suffix(')') {
            // a value may hold a `)`: only split when the parentheses
            // do not balance inside the word
            if rest.matches('(').count() > rest.matches(')').count() {
                break;
            }
            closes += 1;
            w = rest;
        }
        if !w.is_empty() {
            out.push(w.to_string());
        }
        out.extend(std::iter::repeat_n(")".to_string(), closes));
    }
    out
}

/// Parses a query; an empty query is ALL.
pub fn parse(words: &[String]) -> Result<SearchKey, String> {
    let toks = tokens(words);
    if toks.is_empty() {
        return Ok(SearchKey::All);
    }
    let mut p = Parser { toks, pos: 0 };
    let key = p.query()?;
    if let Some(t) = p.peek() {
        return Err(format!("unexpected {t:?} in the query"));
    }
    Ok(key)
}

struct Parser {
    toks: Vec<String>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn query(&mut self) -> Result<SearchKey, String> {
        let mut keys = Vec::new();
        while let Some(t) = self.peek() {
            if t == ")" {
                break;
            }
            keys.push(self.or()?);
        }
        match keys.len() {
            0 => Err("an empty group in the query".to_string()),
            1 => Ok(keys.pop().unwrap_or(SearchKey::All)),
            _ => Ok(SearchKey::And(keys)),
        }
    }

    fn or(&mut self) -> Result<SearchKey, String> {
        let mut key = self.unary()?;
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("or")) {
            self.pos += 1;
            let right = self.unary()?;
            key = SearchKey::Or(Box::new(key), Box::new(right));
        }
        Ok(key)
    }

    fn unary(&mut self) -> Result<SearchKey, String> {
        let t = self.next().ok_or("the query ends too early")?;
        if t.eq_ignore_ascii_case("not") {
            return Ok(SearchKey::Not(Box::new(self.unary()?)));
        }
        if t == "(" {
            let k = self.query()?;
            return match self.next().as_deref() {
                Some(")") => Ok(k),
                _ => Err("a `(` without its `)` in the query".to_string()),
            };
        }
        if t == ")" || t.eq_ignore_ascii_case("or") {
            return Err(format!("unexpected {t:?} in the query"));
        }
        if let Some(rest) = t.strip_prefix('-').filter(|r| !r.is_empty()) {
            return Ok(SearchKey::Not(Box::new(term(rest)?)));
        }
        term(&t)
    }
}

/// One term.
pub fn term(t: &str) -> Result<SearchKey, String> {
    let Some((name, value)) = t.split_once(':') else {
        return flag_word(t).ok_or_else(|| {
            format!("unknown search term {t:?} (try from:, subject:, since:, unseen…)")
        });
    };
    let name = name.to_ascii_lowercase();
    let text = || {
        if value.is_empty() {
            Err(format!("{name}: needs a value"))
        } else {
            Ok(value.to_string())
        }
    };
    Ok(match name.as_str() {
        "from" => SearchKey::From(text()?),
        "to" => SearchKey::To(text()?),
        "cc" => SearchKey::Cc(text()?),
        "bcc" => SearchKey::Bcc(text()?),
        "subject" => SearchKey::Subject(text()?),
        "body" => SearchKey::Body(text()?),
        "text" => SearchKey::Text(text()?),
        "keyword" => SearchKey::Keyword(text()?),
        "header" => {
            let (h, v) = value
                .split_once(':')
                .ok_or("header: is header:NAME:VALUE")?;
            if h.is_empty() {
                return Err("header: needs a header name".to_string());
            }
            SearchKey::Header(h.to_string(), v.to_string())
        }
        "since" => SearchKey::Since(date(value)?),
        "before" => SearchKey::Before(date(value)?),
        "on" => SearchKey::On(date(value)?),
        "sent-since" => SearchKey::SentSince(date(value)?),
        "sent-before" => SearchKey::SentBefore(date(value)?),
        "sent-on" => SearchKey::SentOn(date(value)?),
        "larger" => SearchKey::Larger(size(value)?),
        "smaller" => SearchKey::Smaller(size(value)?),
        "uid" => SearchKey::Uid(
            value
                .parse::<UidSet>()
                .map_err(|e| format!("uid:{value}: {e}"))?,
        ),
        _ => return Err(format!("unknown search term {name}:")),
    })
}

/// Whether `w` is a term of the grammar (as `-w` it is a negation, not an
/// option).
pub fn is_term(w: &str) -> bool {
    match w.split_once(':') {
        Some(_) => {
            term(w).is_ok()
                || w.split_once(':')
                    .is_some_and(|(n, _)| TERM_NAMES.contains(&n.to_ascii_lowercase().as_str()))
        }
        None => flag_word(w).is_some(),
    }
}

const TERM_NAMES: [&str; 19] = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "body",
    "text",
    "keyword",
    "header",
    "since",
    "before",
    "on",
    "sent-since",
    "sent-before",
    "sent-on",
    "larger",
    "smaller",
    "uid",
    "all",
];

fn flag_word(w: &str) -> Option<SearchKey> {
    Some(match w.to_ascii_lowercase().as_str() {
        "all" => SearchKey::All,
        "seen" | "read" => SearchKey::Seen,
        "unseen" | "unread" => SearchKey::Unseen,
        "flagged" => SearchKey::Flagged,
        "unflagged" => SearchKey::Unflagged,
        "answered" => SearchKey::Answered,
        "unanswered" => SearchKey::Unanswered,
        "deleted" => SearchKey::Deleted,
        "undeleted" => SearchKey::Undeleted,
        "draft" => SearchKey::Draft,
        "undraft" => SearchKey::Undraft,
        "new" => SearchKey::New,
        "old" => SearchKey::Old,
        "recent" => SearchKey::Recent,
        _ => return None,
    })
}

/// `YYYY-MM-DD`.
pub fn date(s: &str) -> Result<Date, String> {
    let bad = || format!("bad date {s:?}: expected YYYY-MM-DD");
    let mut it = s.splitn(3, '-');
    let (y, m, d) = (
        it.next().ok_or_else(bad)?,
        it.next().ok_or_else(bad)?,
        it.next().ok_or_else(bad)?,
    );
    if y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
        return Err(bad());
    }
    let n = |x: &str| x.parse::<u16>().map_err(|_| bad());
    Date::new(n(y)?, n(m)? as u8, n(d)? as u8).map_err(|e| format!("{s}: {e}"))
}

/// A size: bytes, or with k, M, G (powers of 1024).
pub fn size(s: &str) -> Result<u64, String> {
    let bad = || format!("bad size {s:?}: expected a number, optionally with k, M or G");
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<SearchKey, String> {
        let words: Vec<String> = s
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect();
        parse(&words)
    }

    #[test]
    fn terms_and_combinations() {
        assert_eq!(q("").unwrap(), SearchKey::All);
        assert_eq!(q("unseen").unwrap(), SearchKey::Unseen);
        assert_eq!(
            q("from:alice since:2026-01-31 larger:1M").unwrap(),
            SearchKey::And(vec![
                SearchKey::From("alice".into()),
                SearchKey::Since(Date::new(2026, 1, 31).unwrap()),
                SearchKey::Larger(1 << 20),
            ])
        );
        assert_eq!(
            q("flagged or unseen -deleted").unwrap(),
            SearchKey::And(vec![
                SearchKey::Or(Box::new(SearchKey::Flagged), Box::new(SearchKey::Unseen)),
                SearchKey::Not(Box::new(SearchKey::Deleted)),
            ])
        );
        assert_eq!(
            q("not (from:a or from:b) subject:x").unwrap(),
            SearchKey::And(vec![
                SearchKey::Not(Box::new(SearchKey::Or(
                    Box::new(SearchKey::From("a".into())),
                    Box::new(SearchKey::From("b".into())),
                ))),
                SearchKey::Subject("x".into()),
            ])
        );
        assert_eq!(
            q("header:List-Id:rust").unwrap(),
            SearchKey::Header("List-Id".into(), "rust".into())
        );
        // a value with a colon and a parenthesis stays whole
        assert_eq!(
            parse(&["subject:re: (draft)".to_string()]).unwrap(),
            SearchKey::Subject("re: (draft)".into())
        );
        assert_eq!(
            q("uid:1:5,9").unwrap(),
            SearchKey::Uid("1:5,9".parse().unwrap())
        );
    }

    #[test]
    fn terms_are_recognised() {
        assert!(
            is_term("deleted") && is_term("Unseen") && is_term("from:x") && is_term("since:bad")
        );
        assert!(!is_term("n") && !is_term("json") && !is_term("m") && !is_term("n5"));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(q("bogus").unwrap_err().contains("bogus"));
        assert!(q("since:2026-02-30").is_err());
        assert!(q("since:yesterday").unwrap_err().contains("YYYY-MM-DD"));
        assert!(q("larger:lots").is_err());
        assert!(q("(from:a").unwrap_err().contains("`(`"));
        assert!(q("from:a )").is_err());
        assert!(q("or unseen").is_err());
        assert!(q("from:").is_err());
        assert!(q("larger:99999999999G").is_err());
    }
}
