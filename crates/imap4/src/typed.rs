//! The typed, Rust-native API: [`Typed`], reached with [`Imap4::typed`].
//!
//! It runs on the same connection and the same protocol core as the
//! imaplib surface; only arguments and results differ. Failures (NO, BAD)
//! are errors, with the server's status and text in the [`Error`].
//!
//! ```no_run
//! use imap4::{Imap4, typed::{FetchAttr, UidSet, SearchKey}};
//!
//! let mut m = Imap4::connect("localhost", 143)?;
//! m.login("alice", "secret")?;
//! let inbox = m.typed().select("INBOX")?;
//! println!("{} messages", inbox.exists);
//! let unseen = m.typed().uid_search(&SearchKey::Unseen)?;
//! let fetches = m.typed().uid_fetch(&unseen, &[FetchAttr::Uid, FetchAttr::Envelope])?;
//! for f in fetches.iter() {
//!     let f = f?;
//!     let subject = f.envelope().and_then(|e| e.subject.as_ref());
//!     println!("{:?}: {:?}", f.uid(), subject);
//! }
//! // A large message, streamed to a file in bounded memory:
//! let mut file = std::fs::File::create("/tmp/message.eml")?;
//! m.typed().uid_fetch_body_to(42, "", &mut file)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;

use bytes::Bytes;

use crate::error::Error;
use crate::{ErrorKind, Imap4};
use imap4_proto::sasl::{AutoLogin, LoginMethod, Mechanism, Secret};
use imap4_proto::Authenticated;

/// ACL (RFC 4314): [`Typed::get_acl`], [`Typed::set_acl`],
/// [`Typed::delete_acl`], [`Typed::list_rights`], [`Typed::my_rights`].
pub use imap4_proto::acl::{
    AclEntry, InvalidRights, ListedRights, Rights, RightsChange, RFC4314_RIGHTS,
};
/// METADATA (RFC 5464): [`Typed::get_metadata`], [`Typed::set_metadata`].
/// ANNOTATEMORE results ([`Typed::get_annotation`]).
pub use imap4_proto::annotatemore::Annotation;
pub use imap4_proto::command::{
    Bound, Date, FetchAttr, InvalidDate, InvalidSet, SearchKey, SeqSet, StatusAttr, StoreOp, UidSet,
};
/// CONDSTORE and QRESYNC (RFC 7162): SELECT options and results.
pub use imap4_proto::condstore::{
    ChangedSince, ConditionalStore, FlagChange, QresyncParams, SelectOptions, SelectedSync,
    MAX_MODSEQ,
};
/// ESEARCH (RFC 4731) and SEARCHRES (RFC 5182):
/// [`Typed::uid_search_return`], [`Typed::uid_fetch_saved`]; ESORT (RFC
/// 5267): [`Typed::uid_sort_return`].
pub use imap4_proto::esearch::{
    ESearchResult, ESortResult, PartialPage, PartialRange, SearchRes, SearchReturn,
};
/// LIST-EXTENDED, LIST-STATUS, SPECIAL-USE and NAMESPACE
/// ([`Typed::list_extended`], [`Typed::special_use_folder`],
/// [`Typed::namespace`]).
pub use imap4_proto::list::{ListOptions, ListedMailbox, NamespaceEntry, Namespaces, SpecialUse};
pub use imap4_proto::metadata::{
    check_entry_name, Depth, Metadata, MetadataEntry, MetadataOptions,
};
/// NOTIFY (RFC 5465): [`Typed::notify_set`], [`Typed::notify_none`];
/// the notifications come as [`crate::Event`]s.
pub use imap4_proto::notify::{NotifyEvent, NotifyGroup, NotifyMailboxes, NotifySpec};
/// The decoders behind [`Envelope::subject_decoded`],
/// [`Address::name_decoded`], [`Envelope::date_parsed`] and
/// [`Fetch::internal_date_parsed`], for other header text and dates.
pub use imap4_proto::parse::{decode_encoded_words, parse_internal_date, parse_rfc5322_date};
pub use imap4_proto::parse::{
    Address, Addresses, AnnotationEntry, BodyExtension, BodyFields, BodySpecific, BodyStructure,
    ByteStr, Capability, Code, Continuation, ESearch, Envelope, Fetch, FetchItem, Flag, InlineVec,
    ListItem, Mailbox, Namespace, Params, ParseError, QuotaResource, Response as ParsedResponse,
    Status as ParsedStatus, StatusItem, StatusKind, Thread, Untagged,
};
/// QUOTA (RFC 9208): [`Typed::get_quota`], [`Typed::get_quota_root`],
/// [`Typed::set_quota`]. (`QuotaResource` here is the parser's borrowed
/// type, kept for compatibility; the typed results hold [`QuotaUsage`].)
pub use imap4_proto::quota::{Quota, QuotaResource as QuotaUsage, QuotaRoots, MAX_QUOTA_LIMIT};
/// Mailbox resynchronization ([`Typed::resync`]).
pub use imap4_proto::resync::{Known, MailboxChanges, Resync, ResyncStrategy};
pub use imap4_proto::typed::{
    AppendMessage, Fetches, MailboxInfo, MailboxStatus, MailboxVerb, PartialBody, PartialBodyError,
    SelectedMailbox, SetArg, SortCriterion, SortKey, ThreadAlgorithm, UidMapping,
};

/// The error for a streamed body that could not be fetched.
pub(crate) fn partial_error(e: PartialBodyError) -> Error {
    let kind = match e {
        PartialBodyError::Parse(_) => ErrorKind::Abort,
        _ => ErrorKind::Error,
    };
    Error::new(kind, e.to_string())
}

/// What [`Typed::uid_fetch_streamed`] hands out, in the order it
/// arrives.
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchPart<'a> {
    /// A body starts: the bytes of item `section` (as the server names
    /// it, e.g. `BODY[]`) of message `seq` follow as
    /// [`FetchPart::BodyData`], `size` bytes in all.
    BodyStart {
        /// The message sequence number.
        seq: u32,
        /// The item, e.g. `BODY[]` or `BINARY[1]`.
        section: &'a str,
        /// The body's size in bytes.
        size: u64,
    },
    /// The next bytes of the body the last [`FetchPart::BodyStart`]
    /// announced (pieces of about one read each).
    BodyData(&'a [u8]),
    /// A complete FETCH response, after the bodies it carries; those
    /// appear in it as empty strings.
    Fetch(Fetch<'a>),
}

/// Turns what a streamed command yields into [`FetchPart`]s for the
/// caller's function, keeping the first error of either side.
#[derive(Default)]
pub(crate) struct StreamFold {
    count: u64,
    bad: Option<imap4_proto::SessionError>,
    failed: Option<std::io::Error>,
}

impl StreamFold {
    pub(crate) fn take(
        &mut self,
        piece: imap4_proto::Streamed,
        each: &mut impl FnMut(FetchPart<'_>) -> std::io::Result<()>,
    ) {
        use imap4_proto::Streamed;
        if self.failed.is_some() {
            return; // the rest of the command is drained, not handed out
        }
        let r = match piece {
            Streamed::BodyStart { seq, section, size } => each(FetchPart::BodyStart {
                seq,
                section: &String::from_utf8_lossy(&section),
                size,
            }),
            Streamed::BodyData(d) => each(FetchPart::BodyData(&d)),
            Streamed::Response(raw) => match imap4_proto::parse::parse_response(&raw) {
                Ok(ParsedResponse::Data(Untagged::Fetch(f))) => {
                    self.count += 1;
                    each(FetchPart::Fetch(f))
                }
                Ok(_) => Ok(()),
                Err(error) => {
                    self.bad
                        .get_or_insert(imap4_proto::SessionError::Unparsable {
                            error,
                            raw: raw.clone(),
                        });
                    Ok(())
                }
            },
            _ => Ok(()),
        };
        if let Err(e) = r {
            self.failed = Some(e);
        }
    }

    pub(crate) fn finish(self) -> Result<u64, Error> {
        if let Some(e) = self.failed {
            return Err(Error::io(e));
        }
        match self.bad {
            Some(e) => Err(e.into()),
            None => Ok(self.count),
        }
    }
}

/// Picks the bytes of the one body a [`Typed::uid_fetch_body_to`]
/// command asked for out of what the command yields: the streamed body,
/// or (from a server that answers with a quoted string) the body item
/// of the FETCH response.
#[derive(Debug)]
pub(crate) struct BodyPick {
    uid: u32,
    in_body: bool,
    seen: bool,
    bad: Option<imap4_proto::SessionError>,
    /// Bytes picked so far.
    pub(crate) written: u64,
}

impl BodyPick {
    pub(crate) fn new(uid: u32) -> Self {
        BodyPick {
            uid,
            in_body: false,
            seen: false,
            bad: None,
            written: 0,
        }
    }

    /// The command: `UID FETCH uid (BODY.PEEK[section])`, its body
    /// streamed.
    pub(crate) fn begin(
        uid: u32,
        section: &str,
    ) -> impl FnOnce(
        &mut imap4_proto::Session,
    ) -> Result<imap4_proto::Pending, imap4_proto::SessionError>
           + '_ {
        move |s| {
            let attrs = [FetchAttr::Section {
                section: section.to_string(),
                peek: true,
                partial: None,
            }];
            let p = s.typed_fetch(SetArg::Uid(&UidSet::single(uid)), &attrs)?;
            s.stream_bodies(&p, 0);
            Ok(p)
        }
    }

    /// The bytes of `piece` that belong to the body, if any.
    pub(crate) fn pick<'p>(
        &mut self,
        piece: &'p imap4_proto::Streamed,
    ) -> Option<std::borrow::Cow<'p, [u8]>> {
        use imap4_proto::Streamed;
        let out: Option<std::borrow::Cow<'p, [u8]>> = match piece {
            Streamed::BodyStart { .. } => {
                // one body item was asked for: the first one is it
                self.in_body = !self.seen;
                self.seen = true;
                None
            }
            Streamed::BodyData(d) if self.in_body => Some(std::borrow::Cow::Borrowed(&d[..])),
            Streamed::BodyData(_) => None,
            Streamed::Response(raw) => {
                self.in_body = false;
                match imap4_proto::parse::parse_response(raw) {
                    Ok(ParsedResponse::Data(Untagged::Fetch(f)))
                        if !self.seen && f.uid().is_none_or(|u| u == self.uid) =>
                    {
                        let data = f.items.into_iter().find_map(|item| match item {
                            FetchItem::BodySection { data, .. } => {
                                Some(data.map(|d| d.0.into_owned()).unwrap_or_default())
                            }
                            _ => None,
                        });
                        self.seen |= data.is_some();
                        data.map(std::borrow::Cow::Owned)
                    }
                    Ok(_) => None,
                    Err(error) => {
                        self.bad
                            .get_or_insert(imap4_proto::SessionError::Unparsable {
                                error,
                                raw: raw.clone(),
                            });
                        None
                    }
                }
            }
            _ => None,
        };
        if let Some(b) = &out {
            self.written += b.len() as u64;
        }
        out
    }

    /// After the command: an unparsable response, or no such message.
    pub(crate) fn finish(self) -> Result<u64, Error> {
        if let Some(e) = self.bad {
            return Err(e.into());
        }
        if !self.seen {
            return Err(partial_error(PartialBodyError::NoSuchMessage(self.uid)));
        }
        Ok(self.written)
    }
}

/// The CONDSTORE/QRESYNC commands and the resync helper, for
/// [`typed_commands`].
pub(crate) mod condstore;

/// The LIST-EXTENDED, SPECIAL-USE and NAMESPACE commands, for
/// [`typed_commands`].
pub(crate) mod list;

/// The QUOTA commands, for [`typed_commands`].
pub(crate) mod quota;

/// The ACL commands, for [`typed_commands`].
pub(crate) mod acl;

/// The METADATA commands, for [`typed_commands`].
pub(crate) mod metadata;

/// The ANNOTATEMORE commands, for [`typed_commands`].
pub(crate) mod annotatemore;

/// The ESEARCH and SEARCHRES commands, for [`typed_commands`].
pub(crate) mod esearch;

/// The NOTIFY commands, for [`typed_commands`].
pub(crate) mod notify;

/// The Gmail (X-GM-EXT-1) commands, for [`typed_commands`].
pub(crate) mod gmail;

/// UNAUTHENTICATE and REPLACE, for [`typed_commands`].
pub(crate) mod replace;

/// Default chunk size for [`Typed::uid_fetch_body_to_chunked`]: 1 MiB.
pub const DEFAULT_CHUNK: u32 = 1 << 20;

/// Defines the typed API's methods on a wrapper holding `m`, a driver
/// with `run_typed` (blocking: `typed_commands!([] [])`; async:
/// `typed_commands!([async] [.await])`).
macro_rules! typed_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// The capabilities the server announced last: after a login, the
        /// `[CAPABILITY ...]` of its OK (most servers send one), else those
        /// learned at connect. The typed commands check extensions against
        /// these; the driver's imaplib `capabilities()` keeps CPython's
        /// behaviour (set at connect and after STARTTLS only).
        pub fn current_capabilities(&self) -> &[String] {
            self.m.session.current_capabilities()
        }

        /// Whether the server offers `capability` (any case), by
        /// [`Self::current_capabilities`].
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.login("alice", "secret")?;
        /// if m.typed().has_capability("MOVE") {
        ///     // ...
        /// }
        /// # Ok(()) }
        /// ```
        pub fn has_capability(&self, capability: &str) -> bool {
            self.m.session.supports(capability)
        }

        /// SELECT a mailbox (name in UTF-8; encoded as the server needs).
        pub $($async)* fn select(&mut self, mailbox: &str) -> Result<SelectedMailbox, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_select(mailbox, false))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.selected(false)?)
        }

        /// EXAMINE a mailbox (read-only).
        pub $($async)* fn examine(&mut self, mailbox: &str) -> Result<SelectedMailbox, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_select(mailbox, true))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.selected(true)?)
        }

        $crate::typed::condstore::condstore_commands!([$($async)*] [$($await)*]);

        $crate::typed::list::list_commands!([$($async)*] [$($await)*]);

        $crate::typed::quota::quota_commands!([$($async)*] [$($await)*]);

        $crate::typed::acl::acl_commands!([$($async)*] [$($await)*]);

        $crate::typed::metadata::metadata_commands!([$($async)*] [$($await)*]);

        $crate::typed::annotatemore::annotatemore_commands!([$($async)*] [$($await)*]);

        $crate::typed::esearch::esearch_commands!([$($async)*] [$($await)*]);

        $crate::typed::notify::notify_commands!([$($async)*] [$($await)*]);

        $crate::typed::gmail::gmail_commands!([$($async)*] [$($await)*]);

        $crate::typed::replace::replace_commands!([$($async)*] [$($await)*]);

        /// FETCH by sequence numbers (an empty set fetches nothing and
        /// asks the server nothing).
        pub $($async)* fn fetch(&mut self, set: &SeqSet, attrs: &[FetchAttr]) -> Result<Fetches, Error> {
            if set.is_empty() {
                return Ok(Fetches::default());
            }
            Ok(self
                .m
                .run_typed(|s| s.typed_fetch(SetArg::Seq(set), attrs))$($await)*?
                .into_fetches())
        }

        /// UID FETCH (an empty set fetches nothing and asks the server
        /// nothing).
        pub $($async)* fn uid_fetch(&mut self, set: &UidSet, attrs: &[FetchAttr]) -> Result<Fetches, Error> {
            if set.is_empty() {
                return Ok(Fetches::default());
            }
            Ok(self
                .m
                .run_typed(|s| s.typed_fetch(SetArg::Uid(set), attrs))$($await)*?
                .into_fetches())
        }

        /// UID FETCH whose literals may not exceed `cap` bytes (one chunk
        /// of a streamed body): a larger one is refused before it is read.
        pub(crate) $($async)* fn uid_fetch_capped(
            &mut self,
            set: &UidSet,
            attrs: &[FetchAttr],
            cap: u64,
        ) -> Result<Fetches, Error> {
            Ok(self
                .m
                .run_typed(|s| {
                    let p = s.typed_fetch(SetArg::Uid(set), attrs)?;
                    s.set_literal_cap(&p, cap);
                    Ok(p)
                })$($await)*?
                .into_fetches())
        }

        /// UID FETCH, streamed: each FETCH response is parsed and handed
        /// to `each` as it arrives, then dropped, so memory stays at about
        /// one read's worth of responses whatever the number of messages
        /// (a million ENVELOPEs cost no more than a thousand). Returns how
        /// many FETCH responses were seen; one that cannot be parsed is an
        /// error once the command has completed.
        pub $($async)* fn uid_fetch_each(
            &mut self,
            set: &UidSet,
            attrs: &[FetchAttr],
            mut each: impl FnMut($crate::typed::Fetch<'_>) + Send,
        ) -> Result<u64, Error> {
            if set.is_empty() {
                return Ok(0);
            }
            let mut count = 0u64;
            let mut bad: Option<imap4_proto::SessionError> = None;
            let mut sink = |frame: bytes::Bytes| match imap4_proto::parse::parse_response(&frame) {
                Ok($crate::typed::ParsedResponse::Data($crate::typed::Untagged::Fetch(f))) => {
                    count += 1;
                    each(f);
                }
                Ok(_) => {}
                Err(error) => {
                    bad.get_or_insert(imap4_proto::SessionError::Unparsable { error, raw: frame.clone() });
                }
            };
            self.m
                .run_typed_each(|s| s.typed_fetch(SetArg::Uid(set), attrs), &mut sink)$($await)*?;
            match bad {
                Some(e) => Err(e.into()),
                None => Ok(count),
            }
        }

        /// UID FETCH with streamed bodies: every body item (`BODY[…]`,
        /// `BINARY[…]`, `RFC822…`) is handed to `each` in pieces as it
        /// arrives ([`crate::typed::FetchPart::BodyStart`], then
        /// `BodyData`), then the FETCH response it came in (`Fetch`, the
        /// body in it empty). One command,
        /// memory of about one read whatever the bodies' sizes: the way
        /// to archive large messages. An error `each` returns stops the
        /// handing out (the command still runs to its end, so the
        /// connection stays usable) and is returned. Returns how many
        /// FETCH responses were seen.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{Bound, FetchAttr, FetchPart, UidSet};
        /// use std::io::Write;
        ///
        /// let mut file = None;
        /// let attrs = [FetchAttr::Uid, FetchAttr::Section { section: String::new(), peek: true, partial: None }];
        /// m.typed().uid_fetch_streamed(&UidSet::range(1, Bound::Star), &attrs, |part| {
        ///     match part {
        ///         FetchPart::BodyStart { seq, .. } => {
        ///             file = Some(std::fs::File::create(format!("/tmp/{seq}.eml"))?)
        ///         }
        ///         FetchPart::BodyData(bytes) => file.as_mut().unwrap().write_all(bytes)?,
        ///         FetchPart::Fetch(f) => println!("message {} done", f.seq),
        ///         _ => {}
        ///     }
        ///     Ok(())
        /// })?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_fetch_streamed(
            &mut self,
            set: &UidSet,
            attrs: &[FetchAttr],
            mut each: impl FnMut($crate::typed::FetchPart<'_>) -> std::io::Result<()> + Send,
        ) -> Result<u64, Error> {
            if set.is_empty() {
                return Ok(0);
            }
            let mut fold = $crate::typed::StreamFold::default();
            let mut sink = |piece| fold.take(piece, &mut each);
            self.m
                .run_typed_streamed(
                    |s| {
                        let p = s.typed_fetch(SetArg::Uid(set), attrs)?;
                        s.stream_bodies(&p, 0);
                        Ok(p)
                    },
                    &mut sink,
                )$($await)*?;
            fold.finish()
        }

        /// UID FETCH of each set, at the cost of one round trip: the
        /// results come back in the order of `sets`, each exactly what a
        /// UID FETCH of that set returns (an empty set gives an empty
        /// result without a command). Consecutive sets go out as one UID
        /// FETCH of their union, split again by UID
        /// ([`imap4_proto::typed::merge_uid_sets`]; a long union becomes
        /// several commands, pipelined: all written before any answer is
        /// read). The first error is returned after every command has
        /// completed, so the connection stays in step.
        pub $($async)* fn uid_fetch_pipelined(
            &mut self,
            sets: &[UidSet],
            attrs: &[FetchAttr],
        ) -> Result<Vec<Fetches>, Error> {
            let groups =
                imap4_proto::typed::merge_uid_sets(sets, imap4_proto::typed::MERGED_RANGES);
            let outs = self
                .m
                .run_typed_many(|s| {
                    groups
                        .iter()
                        .map(|(union, _)| s.typed_fetch(SetArg::Uid(union), attrs))
                        .collect()
                })$($await)*?;
            let mut results = vec![Fetches::default(); sets.len()];
            let mut first_error = None;
            for ((_, members), out) in groups.iter().zip(outs) {
                match out {
                    Ok(o) => {
                        let of: Vec<&UidSet> = members.iter().map(|&i| &sets[i]).collect();
                        for (&i, part) in members.iter().zip(o.into_fetches().split_by_uid(&of)) {
                            results[i] = part;
                        }
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            match first_error {
                Some(e) => Err(e),
                None => Ok(results),
            }
        }

        /// SEARCH: the matching sequence numbers, as a set of ranges (never
        /// expanded, whatever ranges the server answers with).
        pub $($async)* fn search(&mut self, key: &SearchKey) -> Result<SeqSet, Error> {
            let out = self.m.run_typed(|s| s.typed_search(false, key))$($await)*?;
            Ok(SeqSet::from_ranges(out.search_ranges()?))
        }

        /// UID SEARCH: the matching UIDs, as a set of ranges.
        pub $($async)* fn uid_search(&mut self, key: &SearchKey) -> Result<UidSet, Error> {
            let out = self.m.run_typed(|s| s.typed_search(true, key))$($await)*?;
            Ok(UidSet::from_ranges(out.search_ranges()?))
        }

        /// UID STORE: change flags; returns the FETCH responses (empty when
        /// `silent`).
        pub $($async)* fn uid_store(
            &mut self,
            set: &UidSet,
            op: StoreOp,
            flags: &[&str],
            silent: bool,
        ) -> Result<Fetches, Error> {
            if set.is_empty() {
                return Ok(Fetches::default());
            }
            let out = self
                .m
                .run_typed(|s| s.typed_store(SetArg::Uid(set), op, flags, silent))$($await)*?;
            Ok(out.into_fetches())
        }

        /// STORE by sequence numbers.
        pub $($async)* fn store(
            &mut self,
            set: &SeqSet,
            op: StoreOp,
            flags: &[&str],
            silent: bool,
        ) -> Result<Fetches, Error> {
            if set.is_empty() {
                return Ok(Fetches::default());
            }
            let out = self
                .m
                .run_typed(|s| s.typed_store(SetArg::Seq(set), op, flags, silent))$($await)*?;
            Ok(out.into_fetches())
        }

        /// UID COPY; the UID mapping if the server supports UIDPLUS.
        pub $($async)* fn uid_copy(&mut self, set: &UidSet, mailbox: &str) -> Result<Option<UidMapping>, Error> {
            if set.is_empty() {
                return Ok(None);
            }
            let out = self
                .m
                .run_typed(|s| s.typed_copy(SetArg::Uid(set), mailbox, false))$($await)*?;
            Ok(out.uid_mapping())
        }

        /// UID MOVE (RFC 6851); the UID mapping if the server sends one.
        pub $($async)* fn uid_move(&mut self, set: &UidSet, mailbox: &str) -> Result<Option<UidMapping>, Error> {
            if set.is_empty() {
                return Ok(None);
            }
            let out = self
                .m
                .run_typed(|s| s.typed_copy(SetArg::Uid(set), mailbox, true))$($await)*?;
            Ok(out.uid_mapping())
        }

        /// COPY messages by sequence number; the UID mapping if the
        /// server supports UIDPLUS.
        pub $($async)* fn copy(&mut self, set: &SeqSet, mailbox: &str) -> Result<Option<UidMapping>, Error> {
            if set.is_empty() {
                return Ok(None);
            }
            let out = self
                .m
                .run_typed(|s| s.typed_copy(SetArg::Seq(set), mailbox, false))$($await)*?;
            Ok(out.uid_mapping())
        }

        /// MOVE (RFC 6851) messages by sequence number; the UID mapping if
        /// the server sends one. (`move` is a Rust keyword.)
        pub $($async)* fn move_messages(&mut self, set: &SeqSet, mailbox: &str) -> Result<Option<UidMapping>, Error> {
            if set.is_empty() {
                return Ok(None);
            }
            let out = self
                .m
                .run_typed(|s| s.typed_copy(SetArg::Seq(set), mailbox, true))$($await)*?;
            Ok(out.uid_mapping())
        }

        /// SORT (RFC 5256): sequence numbers of the messages matching
        /// `key`, ordered by `criteria`. An error, nothing sent, when the
        /// server lacks SORT.
        ///
        /// ```no_run
        /// use imap4::typed::{SearchKey, SortCriterion, SortKey};
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.typed().select("INBOX")?;
        /// let newest_first = m.typed().sort(&[SortCriterion::desc(SortKey::Date)], &SearchKey::All)?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn sort(&mut self, criteria: &[$crate::typed::SortCriterion], key: &SearchKey) -> Result<Vec<u32>, Error> {
            let out = self.m.run_typed(|s| s.typed_sort(false, criteria, key))$($await)*?;
            Ok(out.sorted()?)
        }

        /// UID SORT: like [`Self::sort`], with UIDs.
        pub $($async)* fn uid_sort(&mut self, criteria: &[$crate::typed::SortCriterion], key: &SearchKey) -> Result<Vec<u32>, Error> {
            let out = self.m.run_typed(|s| s.typed_sort(true, criteria, key))$($await)*?;
            Ok(out.sorted()?)
        }

        /// THREAD (RFC 5256): the messages matching `key` as threads of
        /// sequence numbers. An error, nothing sent, when the server lacks
        /// `THREAD=<algorithm>`.
        pub $($async)* fn thread(&mut self, algorithm: $crate::typed::ThreadAlgorithm, key: &SearchKey) -> Result<Vec<$crate::typed::Thread>, Error> {
            let out = self.m.run_typed(|s| s.typed_thread(false, algorithm, key))$($await)*?;
            Ok(out.threads()?)
        }

        /// UID THREAD: like [`Self::thread`], with UIDs.
        pub $($async)* fn uid_thread(&mut self, algorithm: $crate::typed::ThreadAlgorithm, key: &SearchKey) -> Result<Vec<$crate::typed::Thread>, Error> {
            let out = self.m.run_typed(|s| s.typed_thread(true, algorithm, key))$($await)*?;
            Ok(out.threads()?)
        }

        /// LIST mailboxes (`reference`, `pattern` with `*` and `%`).
        pub $($async)* fn list(&mut self, reference: &str, pattern: &str) -> Result<Vec<MailboxInfo>, Error> {
            Ok(self
                .m
                .run_typed(|s| s.typed_list(reference, pattern))$($await)*?
                .mailboxes()?)
        }

        /// LSUB: the subscribed mailboxes matching `pattern` (servers
        /// without LIST-EXTENDED; see `list_extended` for `(SUBSCRIBED)`).
        pub $($async)* fn lsub(&mut self, reference: &str, pattern: &str) -> Result<Vec<MailboxInfo>, Error> {
            Ok(self
                .m
                .run_typed(|s| s.typed_lsub(reference, pattern))$($await)*?
                .mailboxes()?)
        }

        /// STATUS of a mailbox.
        pub $($async)* fn status(&mut self, mailbox: &str, attrs: &[StatusAttr]) -> Result<MailboxStatus, Error> {
            Ok(self
                .m
                .run_typed(|s| s.typed_status(mailbox, attrs))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?
                .status()?)
        }

        /// CREATE a mailbox.
        pub $($async)* fn create(&mut self, mailbox: &str) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_mailbox_command(MailboxVerb::Create, mailbox))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }

        /// DELETE a mailbox.
        pub $($async)* fn delete(&mut self, mailbox: &str) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_mailbox_command(MailboxVerb::Delete, mailbox))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }

        /// RENAME a mailbox.
        pub $($async)* fn rename(&mut self, from: &str, to: &str) -> Result<(), Error> {
            self.m.run_typed(|s| s.typed_rename(from, to))$($await)*?;
            Ok(())
        }

        /// SUBSCRIBE to a mailbox.
        pub $($async)* fn subscribe(&mut self, mailbox: &str) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_mailbox_command(MailboxVerb::Subscribe, mailbox))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }

        /// UNSUBSCRIBE from a mailbox.
        pub $($async)* fn unsubscribe(&mut self, mailbox: &str) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_mailbox_command(MailboxVerb::Unsubscribe, mailbox))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }

        /// APPEND a message as it is (no line-end conversion); the new UID if
        /// the server supports UIDPLUS.
        pub $($async)* fn append(
            &mut self,
            mailbox: &str,
            flags: &[&str],
            internal_date: Option<&str>,
            message: impl Into<Bytes>,
        ) -> Result<Option<UidMapping>, Error> {
            let message = message.into();
            let out = self
                .m
                .run_typed(|s| s.typed_append(mailbox, flags, internal_date, message))$($await)*?;
            Ok(out.uid_mapping())
        }

        /// APPEND several messages in one command (MULTIAPPEND, RFC 3502):
        /// all of them are added or none. The new UIDs, in order, if the
        /// server supports UIDPLUS. Refused, with nothing sent, without
        /// MULTIAPPEND (a single message is a plain APPEND) or when a
        /// message is above the server's APPENDLIMIT.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::AppendMessage;
        /// let seen = ["\\Seen"];
        /// let batch = [
        ///     AppendMessage::new(&b"Subject: one\r\n\r\nbody\r\n"[..]),
        ///     AppendMessage { flags: &seen, ..AppendMessage::new(&b"Subject: two\r\n\r\nbody\r\n"[..]) },
        /// ];
        /// let uids = m.typed().append_many("Archive", &batch)?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn append_many(
            &mut self,
            mailbox: &str,
            messages: &[$crate::typed::AppendMessage<'_>],
        ) -> Result<Option<UidMapping>, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_append_many(mailbox, messages))$($await)*?;
            Ok(out.uid_mapping())
        }

        /// APPEND each message as a command of its own, pipelined: every
        /// APPEND is queued before any answer is awaited, so the batch
        /// costs about one round trip where the server takes
        /// non-synchronizing literals (LITERAL+, or LITERAL- up to 4 KiB);
        /// elsewhere each literal still waits for the server's go-ahead,
        /// in order, and that can be slower than one at a time: a server
        /// with Nagle's algorithm on (Courier) holds each go-ahead, a small
        /// write after the previous OK, until the client's delayed ACK
        /// (`imap4-bench pipeline`: 100 APPENDs to Courier over a 5 ms link
        /// took 5.6 s pipelined, 2.4 s one at a time). So pipeline where
        /// [`Typed::has_capability`] shows `LITERAL+` (or `LITERAL-` and
        /// messages up to 4 KiB). Unlike [`Typed::append_many`] (MULTIAPPEND, all or
        /// none) each message is added or refused alone: one result per
        /// message, in order, each with its new UID if the server supports
        /// UIDPLUS. The outer error is only for a failure before anything
        /// was queued; every command queued is driven to its end.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::AppendMessage;
        /// let batch = [
        ///     AppendMessage::new(&b"Subject: one\r\n\r\nbody\r\n"[..]),
        ///     AppendMessage::new(&b"Subject: two\r\n\r\nbody\r\n"[..]),
        /// ];
        /// for (i, r) in m.typed().append_pipelined("Archive", &batch)?.into_iter().enumerate() {
        ///     match r {
        ///         Ok(uid) => println!("message {i}: added {uid:?}"),
        ///         Err(e) => println!("message {i}: refused: {e}"),
        ///     }
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn append_pipelined(
            &mut self,
            mailbox: &str,
            messages: &[$crate::typed::AppendMessage<'_>],
        ) -> Result<Vec<Result<Option<UidMapping>, Error>>, Error> {
            let outs = self
                .m
                .run_typed_many(|s| {
                    messages
                        .iter()
                        .map(|m| s.typed_append(mailbox, m.flags, m.internal_date, m.message.clone()))
                        .collect()
                })$($await)*?;
            Ok(outs
                .into_iter()
                .map(|o| o.map(|o| o.uid_mapping()))
                .collect())
        }

        /// Whether a literal of `len` bytes (a message to APPEND, say) goes
        /// without waiting for the server's go-ahead: `LITERAL+`, or
        /// `LITERAL-` up to 4096 bytes. Where it does not,
        /// [`Typed::append_pipelined`] saves no round trip.
        pub fn literal_non_sync(&self, len: usize) -> bool {
            self.m.session.literal_non_sync(len)
        }

        /// The server-wide APPENDLIMIT (RFC 7889) in bytes, when its
        /// capability carries one; `None` otherwise (ask per mailbox with
        /// STATUS [`StatusAttr::AppendLimit`]).
        pub fn append_limit(&self) -> Option<u64> {
            self.m.session.append_limit()
        }

        /// EXPUNGE: the expunged sequence numbers.
        pub $($async)* fn expunge(&mut self) -> Result<Vec<u32>, Error> {
            Ok(self.m.run_typed(|s| s.typed_expunge(None))$($await)*?.expunged()?)
        }

        /// UID EXPUNGE (UIDPLUS): expunge only these UIDs.
        pub $($async)* fn uid_expunge(&mut self, set: &UidSet) -> Result<Vec<u32>, Error> {
            if set.is_empty() {
                return Ok(Vec::new());
            }
            Ok(self.m.run_typed(|s| s.typed_expunge(Some(set)))$($await)*?.expunged()?)
        }

        /// CLOSE (expunging) the selected mailbox.
        pub $($async)* fn close(&mut self) -> Result<(), Error> {
            self.m.run_typed(|s| s.typed_close(true))$($await)*?;
            Ok(())
        }

        /// UNSELECT the mailbox without expunging.
        pub $($async)* fn unselect(&mut self) -> Result<(), Error> {
            self.m.run_typed(|s| s.typed_close(false))$($await)*?;
            Ok(())
        }

        /// NOOP; returns the unsolicited updates it collected (EXISTS,
        /// EXPUNGE, FETCH …) as raw responses to iterate.
        pub $($async)* fn noop(&mut self) -> Result<Fetches, Error> {
            Ok(self.m.run_typed(|s| s.typed_noop())$($await)*?.into_fetches())
        }

        /// ID (RFC 2971): tells the server about the client (`None` sends
        /// `ID NIL`, revealing nothing) and returns what the server says
        /// about itself (empty for NIL). An error, with nothing sent, if
        /// the server does not advertise ID.
        pub $($async)* fn id(
            &mut self,
            params: Option<&[(&str, Option<&str>)]>,
        ) -> Result<Vec<(String, Option<String>)>, Error> {
            Ok(self.m.run_typed(|s| s.typed_id(params))$($await)*?.server_id())
        }

        /// COMPRESS=DEFLATE (RFC 4978): after the server's OK, everything
        /// sent and received is deflated (raw deflate, a sync flush after
        /// each write). The response limits apply to the decompressed
        /// bytes. An error, with nothing sent, if the server does not
        /// advertise `COMPRESS=DEFLATE` or compression is already on; once
        /// on, STARTTLS is refused (TLS must come first).
        pub $($async)* fn compress(&mut self) -> Result<(), Error> {
            self.m.run_typed(|s| s.typed_compress())$($await)*?;
            Ok(())
        }

        /// AUTHENTICATE with a SASL mechanism (see [`crate::sasl`]): its
        /// initial response goes on the command line when the server
        /// offers SASL-IR; challenges are answered by the mechanism, and
        /// success is reported only once the mechanism accepted it (a SCRAM
        /// server must prove it knows the password). The capabilities are
        /// refreshed afterwards, from the server's OK or with CAPABILITY.
        ///
        /// The mechanism is used as given: PLAIN goes out even without TLS
        /// (only `require_tls` stops it). [`Self::login_auto`] chooses
        /// safely. A failure is an error whose
        /// [`auth_failure`](Error::auth_failure) names the mechanism and
        /// carries the server's reason; a server that claims success it
        /// cannot prove is an abort, and the connection is closed.
        pub $($async)* fn authenticate(&mut self, mechanism: &mut dyn Mechanism) -> Result<Authenticated, Error> {
            self.m.check_credentials_may_go_out()?;
            let r = self.m.run_sasl(mechanism)$($await)*;
            self.after_login(r)$($await)*
        }

        /// Logs in with the strongest method the server offers:
        /// SCRAM-SHA-256-PLUS or SCRAM-SHA-1-PLUS when the TLS connection
        /// gives a channel binding, SCRAM-SHA-256, SCRAM-SHA-1, then — over
        /// TLS only — PLAIN, LOGIN, or the LOGIN command; a `-PLUS` the
        /// server refuses is retried once without channel binding (see
        /// [`AutoLogin::require_channel_binding`]). The password never
        /// goes out in plaintext unless
        /// [`AutoLogin::danger_allow_plaintext_password`] is set (see
        /// [`Self::login_auto_with`]). Returns the method used.
        pub $($async)* fn login_auto(&mut self, user: &str, secret: impl Into<Secret>) -> Result<LoginMethod, Error> {
            self.login_auto_with(user, secret, &AutoLogin::default())$($await)*
        }

        /// [`Self::login_auto`] with options.
        pub $($async)* fn login_auto_with(
            &mut self,
            user: &str,
            secret: impl Into<Secret>,
            options: &AutoLogin,
        ) -> Result<LoginMethod, Error> {
            self.m.check_credentials_may_go_out()?;
            let secret = secret.into();
            let tls = self.m.ssl().is_some();
            let binding = self.m.tls_exporter();
            let mut method =
                options.choose(self.m.session.current_capabilities(), tls, binding.is_some())?;
            let mut r = self.login_with(method, user, &secret, binding, options)$($await)*;
            if let Err(e) = &r {
                // a -PLUS the server cannot bind (tls-unique only): once more
                // without channel binding, see AutoLogin::require_channel_binding
                let caps = self.m.session.current_capabilities();
                if let Some(plain) = options.fallback(method, e.auth_failure(), caps) {
                    method = plain;
                    r = self.login_with(method, user, &secret, None, options)$($await)*;
                }
            }
            self.after_login(r)$($await)*?;
            Ok(method)
        }

        /// The LOGIN command, typed: the capabilities are refreshed
        /// afterwards. The password goes out as it is, so this refuses,
        /// sending nothing, on a connection without TLS (the imaplib
        /// `login()` keeps CPython's behaviour). Prefer
        /// [`Self::login_auto`], which uses SCRAM where offered.
        pub $($async)* fn login(&mut self, user: &str, password: impl Into<Secret>) -> Result<Authenticated, Error> {
            self.m.check_credentials_may_go_out()?;
            if self.m.ssl().is_none() {
                return Err(Error::new(
                    $crate::ErrorKind::Error,
                    "LOGIN would send the password in plaintext on this connection without TLS \
                     (use TLS, login_auto, or the imaplib login())",
                ));
            }
            let secret = password.into();
            let r = self.m.run_typed_login(user, &secret)$($await)*;
            self.after_login(r)$($await)*
        }

        /// One login attempt with `method`.
        $($async)* fn login_with(
            &mut self,
            method: LoginMethod,
            user: &str,
            secret: &Secret,
            binding: Option<Vec<u8>>,
            options: &AutoLogin,
        ) -> Result<Authenticated, Error> {
            match options.mechanism(method, user, secret, binding) {
                Some(mut mechanism) => self.m.run_sasl(&mut *mechanism)$($await)*,
                None => self.m.run_typed_login(user, secret)$($await)*,
            }
        }

        /// After a login: refresh stale capabilities; close a connection
        /// that aborted.
        $($async)* fn after_login(&mut self, r: Result<Authenticated, Error>) -> Result<Authenticated, Error> {
            match r {
                Ok(mut a) => {
                    if !a.capabilities_updated {
                        self.m.run(|s| s.refresh_capabilities())$($await)*?;
                        a.capabilities_updated = true;
                    }
                    Ok(a)
                }
                Err(e) => {
                    if e.is_abort() {
                        let _ = self.m.shutdown()$($await)*;
                    }
                    Err(e)
                }
            }
        }
    };
}

#[cfg_attr(not(feature = "tokio"), allow(unused_imports))]
pub(crate) use typed_commands;

/// The typed API on a connection (borrowed from [`Imap4::typed`]).
#[derive(Debug)]
pub struct Typed<'a> {
    m: &'a mut Imap4,
}

impl<'a> Typed<'a> {
    pub(crate) fn new(m: &'a mut Imap4) -> Self {
        Typed { m }
    }

    typed_commands!([] []);

    /// Streams `BODY.PEEK[section]` of the message with this UID into
    /// `out` as it arrives, in ONE command (`UID FETCH uid
    /// (BODY.PEEK[section])`): memory stays at about one read whatever
    /// the message's size. Returns the number of bytes written. A write
    /// error stops the writing; the command still runs to its end, so
    /// the connection stays usable, and the error is returned.
    pub fn uid_fetch_body_to<W: Write + Send + ?Sized>(
        &mut self,
        uid: u32,
        section: &str,
        out: &mut W,
    ) -> Result<u64, Error> {
        let mut pick = BodyPick::new(uid);
        let mut failed: Option<std::io::Error> = None;
        let mut sink = |piece: imap4_proto::Streamed| {
            if failed.is_some() {
                return;
            }
            if let Some(bytes) = pick.pick(&piece) {
                if let Err(e) = out.write_all(&bytes) {
                    failed = Some(e);
                }
            }
        };
        self.m
            .run_typed_streamed(BodyPick::begin(uid, section), &mut sink)?;
        if let Some(e) = failed {
            return Err(Error::io(e));
        }
        out.flush().map_err(Error::io)?;
        pick.finish()
    }

    /// [`Typed::uid_fetch_body_to`] in partial fetches
    /// (`BODY.PEEK[section]<offset.chunk>`, one command per chunk), for
    /// a server that cannot send a large message in one piece.
    pub fn uid_fetch_body_to_chunked<W: Write + ?Sized>(
        &mut self,
        uid: u32,
        section: &str,
        out: &mut W,
        chunk: u32,
    ) -> Result<u64, Error> {
        let mut body = PartialBody::new(uid, section, chunk);
        while let Some((set, attrs)) = body.next_request().map_err(partial_error)? {
            let fetches = self.uid_fetch_capped(&set, &attrs, u64::from(chunk.max(1)))?;
            let data = body.accept(&fetches).map_err(partial_error)?;
            out.write_all(&data).map_err(Error::io)?;
        }
        out.flush().map_err(Error::io)?;
        Ok(body.offset())
    }
}
