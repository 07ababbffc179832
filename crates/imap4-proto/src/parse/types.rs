//! Typed server responses.
//!
//! Values borrow from the response they were parsed from (`'a`); to keep
//! one longer, copy what you need ([`ByteStr::into_owned`] makes a byte
//! string `'static`).

use std::borrow::Cow;
use std::fmt;

use super::InlineVec;

#[cfg(feature = "serde")]
use serde::Serialize;

/// A byte string from the server. Usually valid UTF-8 (or ASCII), but not
/// always: 8-bit bytes are kept as they came. `Debug` and `serde` show it
/// as a (lossily decoded) string.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ByteStr<'a>(pub Cow<'a, [u8]>);

impl<'a> ByteStr<'a> {
    /// Borrows `b`.
    pub fn borrowed(b: &'a [u8]) -> Self {
        ByteStr(Cow::Borrowed(b))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, with invalid UTF-8 replaced.
    pub fn to_str_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// An owned copy.
    pub fn into_owned(self) -> ByteStr<'static> {
        ByteStr(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_str_lossy())
    }
}

impl fmt::Display for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_str_lossy())
    }
}

impl PartialEq<[u8]> for ByteStr<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for ByteStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == *other.as_bytes()
    }
}

#[cfg(feature = "serde")]
impl Serialize for ByteStr<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_str_lossy())
    }
}

/// The addresses of an envelope field (`From`, `To`, …): one is kept
/// inline, more are allocated.
pub type Addresses<'a> = InlineVec<Address<'a>>;

/// Body parameters (`charset`, `boundary`, `name`, …) as (attribute,
/// value) pairs, in the server's order: one is kept inline, more are
/// allocated.
pub type Params<'a> = InlineVec<(ByteStr<'a>, ByteStr<'a>)>;

/// A hierarchy delimiter as a string (`"/"`), like the byte strings.
#[cfg(feature = "serde")]
fn ser_delimiter<S: serde::Serializer>(d: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(b) => s.serialize_some(&String::from_utf8_lossy(&[*b])),
        None => s.serialize_none(),
    }
}

/// A response, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub enum Response<'a> {
    /// A status response: tagged completion, or untagged OK/NO/BAD/
    /// PREAUTH/BYE (greetings included).
    Status(Status<'a>),
    /// A continuation request (`+ …`).
    Continuation(Continuation<'a>),
    /// Untagged data.
    Data(Untagged<'a>),
}

/// The kind of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub enum StatusKind {
    /// OK.
    Ok,
    /// NO.
    No,
    /// BAD.
    Bad,
    /// PREAUTH (greeting only).
    PreAuth,
    /// BYE.
    Bye,
}

/// A status response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Status<'a> {
    /// The tag, for a tagged response.
    pub tag: Option<ByteStr<'a>>,
    /// OK, NO, BAD, PREAUTH or BYE.
    pub kind: StatusKind,
    /// The bracketed response code, if any.
    pub code: Option<Code<'a>>,
    /// The human-readable text (may be empty: some servers send none).
    pub text: ByteStr<'a>,
}

/// A continuation request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Continuation<'a> {
    /// A response code, if the text starts with one.
    pub code: Option<Code<'a>>,
    /// The text (base64 data during AUTHENTICATE).
    pub text: ByteStr<'a>,
}

/// A response code (`[CODE …]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub enum Code<'a> {
    /// ALERT: show the text to the user.
    Alert,
    /// BADCHARSET, with the supported charsets.
    BadCharset(Vec<ByteStr<'a>>),
    /// CAPABILITY list.
    Capability(Vec<Capability<'a>>),
    /// PARSE: the server could not parse a message's headers.
    Parse,
    /// PERMANENTFLAGS.
    PermanentFlags(Vec<Flag<'a>>),
    /// READ-ONLY.
    ReadOnly,
    /// READ-WRITE.
    ReadWrite,
    /// TRYCREATE.
    TryCreate,
    /// UIDNEXT.
    UidNext(u32),
    /// UIDVALIDITY.
    UidValidity(u32),
    /// UNSEEN (first unseen message number).
    Unseen(u32),
    /// APPENDUID (RFC 4315).
    AppendUid {
        /// UIDVALIDITY of the destination.
        uid_validity: u32,
        /// UIDs assigned (a uid-set).
        uids: ByteStr<'a>,
    },
    /// COPYUID (RFC 4315).
    CopyUid {
        /// UIDVALIDITY of the destination.
        uid_validity: u32,
        /// Source UIDs (a uid-set).
        source: ByteStr<'a>,
        /// Destination UIDs (a uid-set).
        destination: ByteStr<'a>,
    },
    /// UIDNOTSTICKY (RFC 4315).
    UidNotSticky,
    /// HIGHESTMODSEQ (RFC 7162).
    HighestModSeq(u64),
    /// NOMODSEQ (RFC 7162).
    NoModSeq,
    /// MODIFIED (RFC 7162), a sequence set.
    Modified(ByteStr<'a>),
    /// CLOSED (RFC 7162).
    Closed,
    /// A code from RFC 5530 (UNAVAILABLE, AUTHENTICATIONFAILED, …,
    /// NONEXISTENT), or another code without data.
    Other {
        /// The code's name, as sent.
        name: ByteStr<'a>,
        /// Its data, raw, if any.
        data: Option<ByteStr<'a>>,
    },
}

/// A capability name (`IMAP4rev1`, `AUTH=PLAIN`, …), as sent.
pub type Capability<'a> = ByteStr<'a>;

/// A message flag or mailbox attribute, as sent (`\Seen`, `$Junk`, `\*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Flag<'a>(pub ByteStr<'a>);

impl Flag<'_> {
    /// Whether this is the system flag `name` (e.g. `"\\Seen"`),
    /// case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.0.as_bytes().eq_ignore_ascii_case(name.as_bytes())
    }
}

/// Untagged data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub enum Untagged<'a> {
    /// CAPABILITY.
    Capability(Vec<Capability<'a>>),
    /// ENABLED (RFC 5161).
    Enabled(Vec<Capability<'a>>),
    /// ID (RFC 2971): field/value pairs, or NIL.
    Id(Option<Vec<(ByteStr<'a>, Option<ByteStr<'a>>)>>),
    /// FLAGS.
    Flags(Vec<Flag<'a>>),
    /// `n EXISTS`.
    Exists(u32),
    /// `n RECENT`.
    Recent(u32),
    /// `n EXPUNGE`.
    Expunge(u32),
    /// VANISHED (RFC 7162).
    Vanished {
        /// `(EARLIER)` was given.
        earlier: bool,
        /// The UIDs, as a uid-set.
        uids: ByteStr<'a>,
    },
    /// `n FETCH (…)`.
    Fetch(Fetch<'a>),
    /// LIST.
    List(ListItem<'a>),
    /// LSUB.
    Lsub(ListItem<'a>),
    /// STATUS.
    Status {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// The items, in the server's order.
        items: Vec<StatusItem<'a>>,
    },
    /// SEARCH (with CONDSTORE's `(MODSEQ n)` if present).
    Search {
        /// The numbers.
        numbers: Vec<u32>,
        /// The highest mod-sequence of the results.
        modseq: Option<u64>,
    },
    /// ESEARCH (RFC 4731).
    ESearch(ESearch<'a>),
    /// SORT.
    Sort(Vec<u32>),
    /// THREAD, as a forest.
    Thread(Vec<Thread>),
    /// NAMESPACE.
    Namespace {
        /// Personal namespaces.
        personal: Vec<Namespace<'a>>,
        /// Other users' namespaces.
        other: Vec<Namespace<'a>>,
        /// Shared namespaces.
        shared: Vec<Namespace<'a>>,
    },
    /// QUOTA.
    Quota {
        /// The quota root.
        root: ByteStr<'a>,
        /// The resources.
        resources: Vec<QuotaResource<'a>>,
    },
    /// QUOTAROOT.
    QuotaRoot {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// Its quota roots.
        roots: Vec<ByteStr<'a>>,
    },
    /// ACL.
    Acl {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// (identifier, rights) pairs.
        entries: Vec<(ByteStr<'a>, ByteStr<'a>)>,
    },
    /// LISTRIGHTS.
    ListRights {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// The identifier.
        identifier: ByteStr<'a>,
        /// Rights always granted.
        required: ByteStr<'a>,
        /// Optional rights groups.
        optional: Vec<ByteStr<'a>>,
    },
    /// MYRIGHTS.
    MyRights {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// The rights.
        rights: ByteStr<'a>,
    },
    /// ANNOTATION (ANNOTATEMORE draft and RFC 5257).
    Annotation {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// (entry, [(attribute, value)]) pairs.
        entries: Vec<AnnotationEntry<'a>>,
    },
    /// METADATA (RFC 5464): values, or (unsolicited) just entry names.
    Metadata {
        /// The mailbox (`""` for server metadata).
        mailbox: Mailbox<'a>,
        /// (entry, value) pairs; the value is `None` for NIL, or for the
        /// unsolicited form that lists entry names only.
        entries: Vec<(ByteStr<'a>, Option<ByteStr<'a>>)>,
    },
    /// A response this parser does not know, kept raw.
    Other {
        /// The response name (`XFOO`), as sent.
        name: ByteStr<'a>,
        /// Everything after the name, raw.
        raw: ByteStr<'a>,
    },
}

/// An ANNOTATION entry: its name and its (attribute, value) pairs.
pub type AnnotationEntry<'a> = (ByteStr<'a>, Vec<(ByteStr<'a>, Option<ByteStr<'a>>)>);

/// A mailbox name: as sent, and decoded (modified UTF-7, or UTF-8 where
/// the server sends UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Mailbox<'a> {
    /// The name as the server sent it.
    pub raw: ByteStr<'a>,
    /// The decoded name (`INBOX` is normalized to upper case).
    pub name: Cow<'a, str>,
}

/// A LIST or LSUB item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct ListItem<'a> {
    /// Name attributes (`\HasNoChildren`, `\Sent`, …).
    pub attributes: Vec<Flag<'a>>,
    /// The hierarchy delimiter (`None` for a flat namespace); serialized
    /// as a one-character string.
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_delimiter"))]
    pub delimiter: Option<u8>,
    /// The mailbox.
    pub mailbox: Mailbox<'a>,
    /// CHILDINFO subscription info (LIST-EXTENDED), if sent.
    pub childinfo: Vec<ByteStr<'a>>,
    /// OLDNAME (RFC 9051), if sent.
    pub oldname: Option<Mailbox<'a>>,
    /// Other extended items, raw: (tag, value).
    pub extended: Vec<(ByteStr<'a>, ByteStr<'a>)>,
}

/// One STATUS item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct StatusItem<'a> {
    /// The item name as sent (`MESSAGES`, `UIDNEXT`, `HIGHESTMODSEQ`, …).
    pub name: ByteStr<'a>,
    /// Its value, if numeric.
    pub value: Option<u64>,
    /// The raw value, for items that are not numbers.
    pub raw: ByteStr<'a>,
}

/// ESEARCH data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct ESearch<'a> {
    /// The correlator tag, if given.
    pub tag: Option<ByteStr<'a>>,
    /// Whether results are UIDs.
    pub uid: bool,
    /// MIN.
    pub min: Option<u32>,
    /// MAX.
    pub max: Option<u32>,
    /// COUNT.
    pub count: Option<u32>,
    /// ALL, as a sequence set.
    pub all: Option<ByteStr<'a>>,
    /// MODSEQ.
    pub modseq: Option<u64>,
    /// Other items, raw.
    pub other: Vec<(ByteStr<'a>, ByteStr<'a>)>,
}

/// A THREAD node (RFC 5256): a chain of messages, each the parent of the
/// next, and the branches under the chain's last message. A chain without
/// messages stands for a missing parent. `(3 6 (4 23)(44 7 96))` is
/// `messages [3, 6]` with two children, `[4, 23]` and `[44, 7, 96]`.
///
/// A long chain is a vector, not nested nodes, so the tree is only as deep
/// as the server's lists nest (bounded by `Limits::max_depth`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Thread {
    /// The chain: message numbers or UIDs, each the parent of the next
    /// (empty for a missing parent).
    pub messages: Vec<u32>,
    /// The threads under the last message of the chain.
    pub children: Vec<Thread>,
}

impl Thread {
    /// Every message in this thread, depth first, in the server's order.
    pub fn all_messages(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(t) = stack.pop() {
            out.extend_from_slice(&t.messages);
            stack.extend(t.children.iter().rev());
        }
        out
    }
}

/// A namespace description.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Namespace<'a> {
    /// The prefix.
    pub prefix: ByteStr<'a>,
    /// The delimiter; serialized as a one-character string.
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_delimiter"))]
    pub delimiter: Option<u8>,
    /// Extensions, raw.
    pub extensions: Vec<(ByteStr<'a>, ByteStr<'a>)>,
}

/// A QUOTA resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct QuotaResource<'a> {
    /// STORAGE, MESSAGE, …
    pub name: ByteStr<'a>,
    /// Usage.
    pub usage: u64,
    /// Limit.
    pub limit: u64,
}

/// A FETCH response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Fetch<'a> {
    /// The message sequence number.
    pub seq: u32,
    /// The items, in the server's order.
    pub items: Vec<FetchItem<'a>>,
}

impl<'a> Fetch<'a> {
    /// The UID item, if present.
    pub fn uid(&self) -> Option<u32> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Uid(u) => Some(*u),
            _ => None,
        })
    }

    /// The FLAGS item, if present.
    pub fn flags(&self) -> Option<&[Flag<'a>]> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Flags(f) => Some(&f[..]),
            _ => None,
        })
    }

    /// The MODSEQ item (CONDSTORE, RFC 7162), if present.
    pub fn modseq(&self) -> Option<u64> {
        self.items.iter().find_map(|i| match i {
            FetchItem::ModSeq(n) => Some(*n),
            _ => None,
        })
    }

    /// The RFC822.SIZE item, if present.
    pub fn rfc822_size(&self) -> Option<u64> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Rfc822Size(n) => Some(*n),
            _ => None,
        })
    }

    /// The ENVELOPE item, if present.
    pub fn envelope(&self) -> Option<&Envelope<'a>> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Envelope(e) => Some(&**e),
            _ => None,
        })
    }

    /// The BODYSTRUCTURE (or BODY) item, if present.
    pub fn body_structure(&self) -> Option<&BodyStructure<'a>> {
        self.items.iter().find_map(|i| match i {
            FetchItem::BodyStructure(b) | FetchItem::Body(b) => Some(&**b),
            _ => None,
        })
    }

    /// EMAILID (OBJECTID), if present.
    pub fn email_id(&self) -> Option<&ByteStr<'a>> {
        self.items.iter().find_map(|i| match i {
            FetchItem::EmailId(id) => Some(id),
            _ => None,
        })
    }

    /// THREADID (OBJECTID): `Some(None)` for NIL (the server does not
    /// thread).
    pub fn thread_id(&self) -> Option<Option<&ByteStr<'a>>> {
        self.items.iter().find_map(|i| match i {
            FetchItem::ThreadId(id) => Some(id.as_ref()),
            _ => None,
        })
    }

    /// SAVEDATE (as sent, `"17-Jul-1996 02:44:25 -0700"`): `Some(None)` for
    /// NIL.
    pub fn save_date(&self) -> Option<Option<&ByteStr<'a>>> {
        self.items.iter().find_map(|i| match i {
            FetchItem::SaveDate(d) => Some(d.as_ref()),
            _ => None,
        })
    }

    /// PREVIEW: `Some(None)` for NIL (none, or not computed yet with LAZY).
    pub fn preview(&self) -> Option<Option<&ByteStr<'a>>> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Preview(p) => Some(p.as_ref()),
            _ => None,
        })
    }

    /// `BINARY.SIZE[section]`, if present.
    pub fn binary_size(&self, section: &str) -> Option<u64> {
        self.items.iter().find_map(|i| match i {
            FetchItem::BinarySize { section: s, size }
                if s.as_bytes().eq_ignore_ascii_case(section.as_bytes()) =>
            {
                Some(*size)
            }
            _ => None,
        })
    }

    /// X-GM-MSGID (Gmail), if present.
    pub fn gm_msgid(&self) -> Option<u64> {
        self.items.iter().find_map(|i| match i {
            FetchItem::GmMsgId(n) => Some(*n),
            _ => None,
        })
    }

    /// X-GM-THRID (Gmail), if present.
    pub fn gm_thrid(&self) -> Option<u64> {
        self.items.iter().find_map(|i| match i {
            FetchItem::GmThrId(n) => Some(*n),
            _ => None,
        })
    }

    /// X-GM-LABELS (Gmail), if present.
    pub fn gm_labels(&self) -> Option<&[ByteStr<'a>]> {
        self.items.iter().find_map(|i| match i {
            FetchItem::GmLabels(l) => Some(&l[..]),
            _ => None,
        })
    }

    /// The data of `BODY[section]` (any origin), `RFC822` (section
    /// `"RFC822"`) or `BINARY[section]`, if present.
    pub fn section(&self, section: &str) -> Option<&[u8]> {
        self.items.iter().find_map(|i| match i {
            FetchItem::BodySection {
                section: s, data, ..
            }
            | FetchItem::Binary {
                section: s, data, ..
            } if s.as_bytes().eq_ignore_ascii_case(section.as_bytes()) => {
                data.as_ref().map(|d| d.as_bytes())
            }
            FetchItem::Rfc822(d) if section.eq_ignore_ascii_case("RFC822") => {
                d.as_ref().map(|d| d.as_bytes())
            }
            _ => None,
        })
    }
}

/// A FETCH item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub enum FetchItem<'a> {
    /// UID.
    Uid(u32),
    /// FLAGS.
    Flags(Vec<Flag<'a>>),
    /// INTERNALDATE, as sent (`"17-Jul-1996 02:44:25 -0700"`).
    InternalDate(ByteStr<'a>),
    /// RFC822.SIZE.
    Rfc822Size(u64),
    /// ENVELOPE.
    Envelope(Box<Envelope<'a>>),
    /// BODY (the non-extensible form of BODYSTRUCTURE).
    Body(Box<BodyStructure<'a>>),
    /// BODYSTRUCTURE.
    BodyStructure(Box<BodyStructure<'a>>),
    /// `BODY[section]<origin>`.
    BodySection {
        /// The section spec inside the brackets, as sent (`""`, `"1.2"`,
        /// `"HEADER.FIELDS (SUBJECT)"`).
        section: ByteStr<'a>,
        /// The origin of a partial fetch.
        origin: Option<u32>,
        /// The data (`None` for NIL).
        data: Option<ByteStr<'a>>,
    },
    /// RFC822.
    Rfc822(Option<ByteStr<'a>>),
    /// RFC822.HEADER.
    Rfc822Header(Option<ByteStr<'a>>),
    /// RFC822.TEXT.
    Rfc822Text(Option<ByteStr<'a>>),
    /// `BINARY[section]<origin>` (RFC 3516).
    Binary {
        /// The section part, as sent.
        section: ByteStr<'a>,
        /// The origin of a partial fetch.
        origin: Option<u32>,
        /// The decoded data.
        data: Option<ByteStr<'a>>,
    },
    /// `BINARY.SIZE[section]`.
    BinarySize {
        /// The section part, as sent.
        section: ByteStr<'a>,
        /// The decoded size.
        size: u64,
    },
    /// MODSEQ (RFC 7162).
    ModSeq(u64),
    /// X-GM-MSGID (Gmail).
    GmMsgId(u64),
    /// X-GM-THRID (Gmail).
    GmThrId(u64),
    /// X-GM-LABELS (Gmail).
    GmLabels(Vec<ByteStr<'a>>),
    /// EMAILID (RFC 8474).
    EmailId(ByteStr<'a>),
    /// THREADID (RFC 8474); `None` for NIL.
    ThreadId(Option<ByteStr<'a>>),
    /// SAVEDATE (RFC 8514); `None` for NIL.
    SaveDate(Option<ByteStr<'a>>),
    /// PREVIEW (RFC 8970); `None` for NIL.
    Preview(Option<ByteStr<'a>>),
    /// An item this parser does not know, or one it could not parse,
    /// kept raw.
    Other {
        /// The item name (with its section, if any), as sent.
        name: ByteStr<'a>,
        /// The value, raw.
        raw: ByteStr<'a>,
    },
}

/// An ENVELOPE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Envelope<'a> {
    /// Date header.
    pub date: Option<ByteStr<'a>>,
    /// Subject header (still RFC 2047-encoded, as sent).
    pub subject: Option<ByteStr<'a>>,
    /// From.
    pub from: Addresses<'a>,
    /// Sender.
    pub sender: Addresses<'a>,
    /// Reply-To.
    pub reply_to: Addresses<'a>,
    /// To.
    pub to: Addresses<'a>,
    /// Cc.
    pub cc: Addresses<'a>,
    /// Bcc.
    pub bcc: Addresses<'a>,
    /// In-Reply-To.
    pub in_reply_to: Option<ByteStr<'a>>,
    /// Message-ID.
    pub message_id: Option<ByteStr<'a>>,
}

/// An address of an ENVELOPE. A group is a start marker (`host` NIL,
/// `mailbox` the group name) and an end marker (all NIL but `name`-less).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Address<'a> {
    /// Display name.
    pub name: Option<ByteStr<'a>>,
    /// Source route (obsolete).
    pub adl: Option<ByteStr<'a>>,
    /// Local part (or group name).
    pub mailbox: Option<ByteStr<'a>>,
    /// Domain.
    pub host: Option<ByteStr<'a>>,
}

impl Address<'_> {
    /// `mailbox@host`, or `None` for a group marker (no host) or an
    /// address without a mailbox.
    ///
    /// ```
    /// use imap4_proto::parse::{Address, ByteStr};
    /// let a = Address {
    ///     name: None,
    ///     adl: None,
    ///     mailbox: Some(ByteStr::borrowed(b"alice")),
    ///     host: Some(ByteStr::borrowed(b"example.org")),
    /// };
    /// assert_eq!(a.email().as_deref(), Some("alice@example.org"));
    /// ```
    pub fn email(&self) -> Option<String> {
        let mailbox = self.mailbox.as_ref()?.to_str_lossy();
        let host = self.host.as_ref()?.to_str_lossy();
        Some(format!("{mailbox}@{host}"))
    }
}

/// A BODYSTRUCTURE (or BODY).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub enum BodyStructure<'a> {
    /// A non-multipart part.
    Single {
        /// Type, subtype, parameters, id, description, encoding, size.
        fields: BodyFields<'a>,
        /// TEXT/* line count, or MESSAGE/RFC822 contents.
        specific: BodySpecific<'a>,
        /// Extension data (BODYSTRUCTURE only).
        extension: Option<Box<BodyExtension<'a>>>,
    },
    /// A multipart.
    Multi {
        /// The parts.
        parts: Vec<BodyStructure<'a>>,
        /// The multipart subtype (`MIXED`, `ALTERNATIVE`, …).
        subtype: ByteStr<'a>,
        /// Extension data (BODYSTRUCTURE only).
        extension: Option<Box<BodyExtension<'a>>>,
    },
}

/// The basic fields of a non-multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct BodyFields<'a> {
    /// Media type (`TEXT`).
    pub media_type: ByteStr<'a>,
    /// Media subtype (`PLAIN`).
    pub subtype: ByteStr<'a>,
    /// Parameters (`CHARSET`, `NAME`, …).
    pub params: Params<'a>,
    /// Content-ID.
    pub id: Option<ByteStr<'a>>,
    /// Content-Description.
    pub description: Option<ByteStr<'a>>,
    /// Content-Transfer-Encoding.
    pub encoding: Option<ByteStr<'a>>,
    /// Size in octets (as encoded).
    pub size: u64,
}

/// Type-specific data of a non-multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub enum BodySpecific<'a> {
    /// Any type but TEXT and MESSAGE/RFC822.
    Basic,
    /// TEXT/*: size in lines.
    Text {
        /// Lines.
        lines: u64,
    },
    /// MESSAGE/RFC822 (and MESSAGE/GLOBAL).
    Message {
        /// The encapsulated message's envelope.
        envelope: Box<Envelope<'a>>,
        /// Its body structure.
        body: Box<BodyStructure<'a>>,
        /// Lines.
        lines: u64,
    },
}

/// Extension data of a body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct BodyExtension<'a> {
    /// Content-MD5 (single part) — for a multipart, unused.
    pub md5: Option<ByteStr<'a>>,
    /// Multipart parameters (for a single part, unused).
    pub params: Params<'a>,
    /// Content-Disposition: type and parameters.
    pub disposition: Option<(ByteStr<'a>, Params<'a>)>,
    /// Content-Language.
    pub language: Vec<ByteStr<'a>>,
    /// Content-Location.
    pub location: Option<ByteStr<'a>>,
    /// Further extensions, raw.
    pub rest: Option<ByteStr<'a>>,
}
