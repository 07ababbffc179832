//! CONDSTORE and QRESYNC (RFC 7162), and ENABLE (RFC 5161): the typed
//! commands and their results.
//!
//! - [`Session::typed_enable`]: `ENABLE QRESYNC` and the like; what the
//!   server enabled is remembered for the connection
//!   ([`Session::is_enabled`]).
//! - [`Session::typed_select_with`]: SELECT or EXAMINE with `(CONDSTORE)`
//!   or `(QRESYNC (uidvalidity modseq [known-uids [seq-match]]))`; the
//!   result, [`SelectedSync`], has the mailbox, the UIDs the server says
//!   vanished (`VANISHED (EARLIER)`) and the flag changes it sent.
//! - [`Session::typed_fetch_changed_since`]: `UID FETCH set (…)
//!   (CHANGEDSINCE n [VANISHED])`, result [`ChangedSince`].
//! - [`Session::typed_store_unchanged_since`]: `UID STORE set
//!   (UNCHANGEDSINCE n) …`, result [`ConditionalStore`] with the
//!   `[MODIFIED set]` the server refused to change.
//!
//! Each refuses, nothing sent, when the server lacks the capability (or,
//! for QRESYNC, when it was not enabled first). `VANISHED (EARLIER)`
//! reports messages expunged before this session knew them, so it never
//! lowers the live mailbox's message count; a plain `VANISHED` does (see
//! [`crate::MailboxState`]).
//!
//! ```
//! use imap4_proto::condstore::{QresyncParams, SelectOptions};
//! use imap4_proto::command::UidSet;
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC] hi\r\n");
//! s.read_greeting().unwrap();
//! let p = s.typed_enable(&["QRESYNC"]).unwrap();
//! assert_eq!(&s.take_output().unwrap()[..], b"A0 ENABLE QRESYNC\r\n");
//! s.receive(b"* ENABLED QRESYNC\r\nA0 OK enabled\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! assert_eq!(s.complete_typed(p, Ok(t)).unwrap().enabled().unwrap(), ["QRESYNC"]);
//!
//! let known = QresyncParams::new(67890007, 90060115194045000)
//!     .known_uids(UidSet::from(1..=200));
//! let p = s.typed_select_with("INBOX", false, &SelectOptions::qresync(known)).unwrap();
//! assert_eq!(
//!     &s.take_output().unwrap()[..],
//!     &b"A1 SELECT \"INBOX\" (QRESYNC (67890007 90060115194045000 1:200))\r\n"[..]
//! );
//! s.receive(b"* 100 EXISTS\r\n* OK [UIDVALIDITY 67890007] x\r\n\
//!     * OK [HIGHESTMODSEQ 90060115205545359] x\r\n\
//!     * VANISHED (EARLIER) 41,43:116\r\n\
//!     * 49 FETCH (UID 117 FLAGS (\\Seen) MODSEQ (90060115194045001))\r\n\
//!     A1 OK [READ-WRITE] done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! let sync = s.complete_typed(p, Ok(t)).unwrap().selected_sync(false).unwrap();
//! assert_eq!(sync.vanished.to_string(), "41,43:116");
//! assert_eq!(sync.changes[0].uid, 117);
//! assert_eq!(sync.mailbox.highest_modseq, Some(90060115205545359));
//! // VANISHED (EARLIER) did not take messages away from the live count
//! assert_eq!(s.mailbox_state().unwrap().exists, 100);
//! ```

use crate::command::{fetch_attrs, flag_list, FetchAttr, SeqSet, StoreOp, UidSet};
use crate::encode::is_atom_char;
use crate::parse::{self, Code, Fetch, Untagged};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{Fetches, SelectedMailbox, SetArg, TypedKind, TypedOutcome};

/// The largest mod-sequence (RFC 7162: a positive 63-bit number).
pub const MAX_MODSEQ: u64 = i64::MAX as u64;

/// The parameters of `SELECT … (QRESYNC (…))` (RFC 7162 section 3.2.5):
/// what the client remembers of the mailbox.
///
/// ```
/// use imap4_proto::command::{SeqSet, UidSet};
/// use imap4_proto::condstore::QresyncParams;
///
/// let p = QresyncParams::new(67890007, 20050715194045000)
///     .known_uids(UidSet::from(41..=211))
///     .seq_match(SeqSet::from_numbers([1, 3, 5]), UidSet::from_numbers([41, 43, 45]));
/// assert_eq!(p.uid_validity, 67890007);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct QresyncParams {
    /// The UIDVALIDITY the client knew (if it differs, the server
    /// reports nothing of the changes: every UID is void).
    pub uid_validity: u32,
    /// The HIGHESTMODSEQ the client knew (at least 1).
    pub modseq: u64,
    /// The UIDs the client knows (the server reports vanished ones among
    /// them only).
    pub known_uids: Option<UidSet>,
    /// Known sequence numbers and their UIDs, to help a server that
    /// forgot old expunges (sent only with `known_uids`).
    pub seq_match: Option<(SeqSet, UidSet)>,
}

impl QresyncParams {
    /// The UIDVALIDITY and HIGHESTMODSEQ the client knew.
    pub fn new(uid_validity: u32, modseq: u64) -> Self {
        QresyncParams {
            uid_validity,
            modseq,
            known_uids: None,
            seq_match: None,
        }
    }

    /// With the UIDs the client knows (an empty set is left out).
    pub fn known_uids(mut self, uids: UidSet) -> Self {
        self.known_uids = (!uids.is_empty()).then_some(uids);
        self
    }

    /// With known sequence numbers and the UIDs they had (the same
    /// number of each; left out when either is empty).
    pub fn seq_match(mut self, seqs: SeqSet, uids: UidSet) -> Self {
        self.seq_match = (!seqs.is_empty() && !uids.is_empty()).then_some((seqs, uids));
        self
    }

    fn encode(&self) -> Result<String, SessionError> {
        if self.uid_validity == 0 {
            return Err(SessionError::Usage(
                "QRESYNC needs a UIDVALIDITY above 0".into(),
            ));
        }
        check_modseq("QRESYNC", self.modseq, 1)?;
        let mut s = format!("(QRESYNC ({} {}", self.uid_validity, self.modseq);
        if let Some(known) = &self.known_uids {
            s.push(' ');
            s.push_str(&known.to_string());
            if let Some((seqs, uids)) = &self.seq_match {
                s.push_str(&format!(" ({seqs} {uids})"));
            }
        }
        s.push_str("))");
        Ok(s)
    }
}

/// How SELECT or EXAMINE asks for CONDSTORE or QRESYNC
/// ([`Session::typed_select_with`]).
///
/// ```
/// use imap4_proto::condstore::{QresyncParams, SelectOptions};
///
/// let plain = SelectOptions::default();
/// let condstore = SelectOptions::condstore();
/// let qresync = SelectOptions::qresync(QresyncParams::new(1, 42));
/// assert!(condstore.condstore && qresync.qresync.is_some() && !plain.condstore);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct SelectOptions {
    /// `(CONDSTORE)`: the server sends HIGHESTMODSEQ (or NOMODSEQ) and
    /// MODSEQ in FETCH responses from now on.
    pub condstore: bool,
    /// `(QRESYNC (…))`: resynchronize from what the client knew (needs
    /// `ENABLE QRESYNC` first; implies CONDSTORE).
    pub qresync: Option<QresyncParams>,
}

impl SelectOptions {
    /// `(CONDSTORE)`.
    pub fn condstore() -> Self {
        SelectOptions {
            condstore: true,
            qresync: None,
        }
    }

    /// `(QRESYNC (…))`.
    pub fn qresync(params: QresyncParams) -> Self {
        SelectOptions {
            condstore: false,
            qresync: Some(params),
        }
    }

    /// The parameter list as sent, if any; the capability checks first.
    fn encode(&self, s: &Session) -> Result<Option<String>, SessionError> {
        if let Some(q) = &self.qresync {
            if !s.supports("QRESYNC") {
                return Err(SessionError::Usage(
                    "the server does not offer QRESYNC".into(),
                ));
            }
            if !s.is_enabled("QRESYNC") {
                return Err(SessionError::Usage(
                    "QRESYNC is not enabled on this connection: ENABLE QRESYNC first".into(),
                ));
            }
            return q.encode().map(Some);
        }
        if self.condstore {
            if !s.supports("CONDSTORE") {
                return Err(SessionError::Usage(
                    "the server does not offer CONDSTORE".into(),
                ));
            }
            return Ok(Some("(CONDSTORE)".into()));
        }
        Ok(None)
    }
}

/// A message's flags as the server reported them: a FETCH response
/// with UID and FLAGS (and MODSEQ under CONDSTORE).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FlagChange {
    /// The message's sequence number when reported.
    pub seq: u32,
    /// Its UID.
    pub uid: u32,
    /// The flags it has now (as sent, e.g. `\Seen`, `$Label1`).
    pub flags: Vec<String>,
    /// Its MODSEQ, if the server sent it.
    pub modseq: Option<u64>,
}

impl FlagChange {
    /// The change a FETCH response reports; `None` without UID or FLAGS.
    pub fn from_fetch(f: &Fetch<'_>) -> Option<FlagChange> {
        Some(FlagChange {
            seq: f.seq,
            uid: f.uid()?,
            flags: f
                .flags()?
                .iter()
                .map(|f| f.0.to_str_lossy().into_owned())
                .collect(),
            modseq: f.modseq(),
        })
    }

    /// Whether the message has `flag` (any case).
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }
}

/// What SELECT or EXAMINE with [`SelectOptions`] tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SelectedSync {
    /// The mailbox (EXISTS, UIDVALIDITY, HIGHESTMODSEQ…).
    pub mailbox: SelectedMailbox,
    /// The server said `[NOMODSEQ]`: this mailbox keeps no
    /// mod-sequences (`mailbox.highest_modseq` is `None`), so CONDSTORE
    /// and QRESYNC cannot be used on it.
    pub no_modseq: bool,
    /// UIDs the server says were expunged (QRESYNC's `VANISHED
    /// (EARLIER)`; empty otherwise).
    pub vanished: UidSet,
    /// The messages changed since the QRESYNC mod-sequence, as the
    /// server sent them (UID, FLAGS, MODSEQ; empty without QRESYNC).
    pub changes: Vec<FlagChange>,
}

/// What `UID FETCH … (CHANGEDSINCE n [VANISHED])` returns.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ChangedSince {
    /// The FETCH responses: the messages of the set whose MODSEQ is above
    /// `n` (each carries MODSEQ).
    pub fetches: Fetches,
    /// With VANISHED: the UIDs of the set expunged since `n` (`VANISHED
    /// (EARLIER)`, and any VANISHED the server sent meanwhile).
    pub vanished: UidSet,
}

impl ChangedSince {
    /// The FETCH responses that carry UID and FLAGS, as [`FlagChange`]s.
    pub fn flag_changes(&self) -> Result<Vec<FlagChange>, parse::ParseError> {
        flag_changes(&self.fetches)
    }
}

/// The FETCH responses of `fetches` with UID and FLAGS.
pub(crate) fn flag_changes(fetches: &Fetches) -> Result<Vec<FlagChange>, parse::ParseError> {
    let mut out = Vec::new();
    for f in fetches.iter() {
        if let Some(c) = FlagChange::from_fetch(&f?) {
            out.push(c);
        }
    }
    Ok(out)
}

/// What `UID STORE … (UNCHANGEDSINCE n) …` returns.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ConditionalStore {
    /// The FETCH responses (new flags and MODSEQ of the stored messages;
    /// few or none with `.SILENT`).
    pub fetches: Fetches,
    /// The UIDs not stored because their MODSEQ was above `n` (the
    /// server's `[MODIFIED set]`): someone changed them meanwhile.
    pub modified: UidSet,
}

fn check_modseq(what: &str, modseq: u64, min: u64) -> Result<(), SessionError> {
    if modseq < min || modseq > MAX_MODSEQ {
        return Err(SessionError::Usage(format!(
            "{what} needs a mod-sequence from {min} to {MAX_MODSEQ}, not {modseq}"
        )));
    }
    Ok(())
}

fn need(s: &Session, capability: &str) -> Result<(), SessionError> {
    if s.supports(capability) {
        Ok(())
    } else {
        Err(SessionError::Usage(format!(
            "the server does not offer {capability}"
        )))
    }
}

impl Session {
    /// The extensions the server ENABLED on this connection (RFC 5161),
    /// upper-cased, from every `* ENABLED` response whatever command
    /// brought it.
    pub fn enabled_extensions(&self) -> &[String] {
        &self.live.enabled
    }

    /// Whether the server ENABLED `extension` (any case) on this
    /// connection; QRESYNC enables CONDSTORE too. (CONDSTORE is also
    /// switched on by its first use, which this does not track.)
    pub fn is_enabled(&self, extension: &str) -> bool {
        let has = |e: &str| self.live.enabled.iter().any(|x| x.eq_ignore_ascii_case(e));
        has(extension) || (extension.eq_ignore_ascii_case("CONDSTORE") && has("QRESYNC"))
    }

    /// ENABLE (RFC 5161) these extensions (atoms, e.g. `QRESYNC`,
    /// `UTF8=ACCEPT`); the result's [`TypedOutcome::enabled`] says which
    /// the server enabled. Refused, nothing sent, when the server does not
    /// offer ENABLE or a name is not an atom. Valid in the authenticated
    /// state only (RFC 5161). Once `UTF8=ACCEPT` is enabled, mailbox names
    /// go out in UTF-8.
    pub fn typed_enable(&mut self, extensions: &[&str]) -> Result<Pending, SessionError> {
        need(self, "ENABLE")?;
        if extensions.is_empty() {
            return Err(SessionError::Usage(
                "ENABLE needs at least one extension".into(),
            ));
        }
        if let Some(bad) = extensions
            .iter()
            .find(|e| e.is_empty() || !e.bytes().all(is_atom_char))
        {
            return Err(SessionError::Usage(format!(
                "{bad:?} is not an extension name (an atom)"
            )));
        }
        let list = extensions.join(" ");
        self.typed("ENABLE", TypedKind::Enable, &[State::Auth], |_, c| {
            c.raw(list.as_bytes())?;
            Ok(())
        })
    }

    /// SELECT (or EXAMINE when `readonly`) `mailbox` with CONDSTORE or
    /// QRESYNC parameters; read the result with
    /// [`TypedOutcome::selected_sync`]. Refused, nothing sent, when the
    /// server lacks the extension, or QRESYNC was not enabled.
    pub fn typed_select_with(
        &mut self,
        mailbox: &str,
        readonly: bool,
        options: &SelectOptions,
    ) -> Result<Pending, SessionError> {
        let param = options.encode(self)?;
        let name = if readonly { "EXAMINE" } else { "SELECT" };
        self.clear_untagged();
        self.reset_mailbox(readonly);
        self.typed(
            name,
            TypedKind::Select { readonly },
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                if let Some(p) = &param {
                    c.raw(p.as_bytes())?;
                }
                Ok(())
            },
        )
    }

    /// FETCH or UID FETCH `(attrs) (CHANGEDSINCE modseq)`, with
    /// `VANISHED` when `vanished` (UID FETCH only, QRESYNC enabled); read
    /// the result with [`TypedOutcome::changed_since`]. Refused, nothing
    /// sent, without CONDSTORE (or, for VANISHED, without QRESYNC
    /// enabled), or for a mod-sequence of 0 (fetch MODSEQ without
    /// CHANGEDSINCE to get everything).
    pub fn typed_fetch_changed_since(
        &mut self,
        set: SetArg<'_>,
        attrs: &[FetchAttr],
        modseq: u64,
        vanished: bool,
    ) -> Result<Pending, SessionError> {
        need(self, "CONDSTORE")?;
        check_modseq("CHANGEDSINCE", modseq, 1)?;
        if vanished {
            if !matches!(set, SetArg::Uid(_)) {
                return Err(SessionError::Usage(
                    "CHANGEDSINCE … VANISHED is for UID FETCH only".into(),
                ));
            }
            if !self.is_enabled("QRESYNC") {
                return Err(SessionError::Usage(
                    "VANISHED needs QRESYNC enabled on this connection: ENABLE QRESYNC first"
                        .into(),
                ));
            }
        }
        let modifier = if vanished {
            format!("(CHANGEDSINCE {modseq} VANISHED)")
        } else {
            format!("(CHANGEDSINCE {modseq})")
        };
        let (name, set_text) = set.command("FETCH");
        let p = self.typed(&name, TypedKind::Plain, &[State::Selected], |_, c| {
            c.set(&set_text)?;
            fetch_attrs(c, attrs)?;
            c.raw(modifier.as_bytes())?;
            Ok(())
        })?;
        set.route(self, &p);
        Ok(p)
    }

    /// STORE or UID STORE `(UNCHANGEDSINCE modseq)` (`.SILENT` when
    /// `silent`): messages whose MODSEQ is above `modseq` are left alone
    /// and reported ([`TypedOutcome::conditional_store`]). Refused,
    /// nothing sent, without CONDSTORE.
    pub fn typed_store_unchanged_since(
        &mut self,
        set: SetArg<'_>,
        modseq: u64,
        op: StoreOp,
        flags: &[&str],
        silent: bool,
    ) -> Result<Pending, SessionError> {
        need(self, "CONDSTORE")?;
        check_modseq("UNCHANGEDSINCE", modseq, 0)?;
        let (name, set_text) = set.command("STORE");
        let item = crate::typed::store_item(op, silent);
        let modifier = format!("(UNCHANGEDSINCE {modseq})");
        let p = self.typed(&name, TypedKind::Plain, &[State::Selected], |_, c| {
            c.set(&set_text)?;
            c.raw(modifier.as_bytes())?;
            c.raw(item.as_bytes())?;
            flag_list(c, flags)
        })?;
        set.route(self, &p);
        Ok(p)
    }
}

impl TypedOutcome {
    /// ENABLE results: the extensions the server enabled, upper-cased.
    pub fn enabled(&self) -> Result<Vec<String>, SessionError> {
        let mut out = Vec::new();
        for d in self.checked()? {
            if let Untagged::Enabled(caps) = d {
                out.extend(caps.iter().map(|c| c.to_str_lossy().to_ascii_uppercase()));
            }
        }
        Ok(out)
    }

    /// The UIDs of every VANISHED response (EARLIER or not).
    pub fn vanished(&self) -> Result<UidSet, SessionError> {
        let mut set = UidSet::default();
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            if let Some(Untagged::Vanished { uids, .. }) = d {
                let uids: UidSet =
                    uids.to_str_lossy()
                        .parse()
                        .map_err(|_| SessionError::Unparsable {
                            error: parse::ParseError {
                                offset: 0,
                                expected: "a UID set after VANISHED",
                            },
                            raw: frame.clone(),
                        })?;
                set = set.union(&uids);
            }
        }
        Ok(set)
    }

    /// SELECT/EXAMINE with [`SelectOptions`] results.
    pub fn selected_sync(&self, readonly_requested: bool) -> Result<SelectedSync, SessionError> {
        let mailbox = self.selected(readonly_requested)?;
        let no_modseq = self.codes().any(|c| matches!(c, Code::NoModSeq));
        let fetches = Fetches::new(self.frames.clone());
        let changes = flag_changes(&fetches).map_err(|error| self.unparsable(error))?;
        Ok(SelectedSync {
            mailbox,
            no_modseq,
            vanished: self.vanished()?,
            changes,
        })
    }

    /// `FETCH … (CHANGEDSINCE n [VANISHED])` results.
    pub fn changed_since(self) -> Result<ChangedSince, SessionError> {
        let vanished = self.vanished()?;
        Ok(ChangedSince {
            fetches: self.into_fetches(),
            vanished,
        })
    }

    /// `STORE … (UNCHANGEDSINCE n)` results: the `[MODIFIED set]` of the
    /// tagged OK (empty if none), and the FETCH responses.
    pub fn conditional_store(self) -> Result<ConditionalStore, SessionError> {
        let modified = match self.code() {
            Some(Code::Modified(set)) => {
                set.to_str_lossy()
                    .parse()
                    .map_err(|_| SessionError::Unparsable {
                        error: parse::ParseError {
                            offset: 0,
                            expected: "a set after MODIFIED",
                        },
                        raw: self.tagged.clone(),
                    })?
            }
            _ => UidSet::default(),
        };
        Ok(ConditionalStore {
            fetches: self.into_fetches(),
            modified,
        })
    }

    /// The error for a FETCH response that does not parse (the frame is
    /// found again for the error's `raw`).
    fn unparsable(&self, error: parse::ParseError) -> SessionError {
        let raw = self
            .frames
            .iter()
            .find(|f| parse::parse_response(f).is_err())
            .cloned()
            .unwrap_or_default();
        SessionError::Unparsable { error, raw }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, Poll};

    fn session(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "A");
        s.receive(format!("* PREAUTH [CAPABILITY IMAP4rev1 {caps}] hi\r\n").as_bytes());
        assert!(s.read_greeting().unwrap());
        s
    }

    fn run(s: &mut Session, p: Pending, reply: &[u8]) -> TypedOutcome {
        s.receive(reply);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("not done")
        };
        s.complete_typed(p, Ok(t)).unwrap()
    }

    fn select(s: &mut Session) {
        let p = s.typed_select("INBOX", false).unwrap();
        let sent = s.take_output().unwrap();
        let tag = String::from_utf8_lossy(&sent[..sent.iter().position(|&b| b == b' ').unwrap()]);
        let reply = format!("* 3 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n");
        run(s, p, reply.as_bytes());
    }

    #[test]
    fn every_command_needs_its_capability_and_sends_nothing_without() {
        let mut s = session("");
        let e = s.typed_enable(&["QRESYNC"]).unwrap_err();
        assert!(e.to_string().contains("ENABLE"), "{e}");
        let e = s
            .typed_select_with("INBOX", false, &SelectOptions::condstore())
            .unwrap_err();
        assert!(e.to_string().contains("CONDSTORE"), "{e}");
        let q = SelectOptions::qresync(QresyncParams::new(1, 2));
        let e = s.typed_select_with("INBOX", true, &q).unwrap_err();
        assert!(e.to_string().contains("QRESYNC"), "{e}");
        select(&mut s);
        let set = UidSet::all();
        let e = s
            .typed_fetch_changed_since(SetArg::Uid(&set), &[FetchAttr::Flags], 5, false)
            .unwrap_err();
        assert!(e.to_string().contains("CONDSTORE"), "{e}");
        let e = s
            .typed_store_unchanged_since(SetArg::Uid(&set), 5, StoreOp::Add, &["\\Seen"], false)
            .unwrap_err();
        assert!(e.to_string().contains("CONDSTORE"), "{e}");
        assert!(s.take_output().is_none(), "nothing sent");

        // QRESYNC offered but not enabled: SELECT (QRESYNC …) and VANISHED refused
        let mut s = session("ENABLE CONDSTORE QRESYNC");
        let e = s.typed_select_with("INBOX", false, &q).unwrap_err();
        assert!(e.to_string().contains("ENABLE QRESYNC first"), "{e}");
        select(&mut s);
        let e = s
            .typed_fetch_changed_since(SetArg::Uid(&set), &[FetchAttr::Flags], 5, true)
            .unwrap_err();
        assert!(e.to_string().contains("QRESYNC"), "{e}");
        // out-of-range mod-sequences, bad extension names
        let e = s
            .typed_fetch_changed_since(SetArg::Uid(&set), &[], 0, false)
            .unwrap_err();
        assert!(e.to_string().contains("CHANGEDSINCE"), "{e}");
        let e = s
            .typed_store_unchanged_since(SetArg::Uid(&set), u64::MAX, StoreOp::Add, &[], false)
            .unwrap_err();
        assert!(e.to_string().contains("UNCHANGEDSINCE"), "{e}");
        assert!(s.typed_enable(&["QRE SYNC"]).is_err());
        assert!(s.typed_enable(&[]).is_err());
        assert!(s.take_output().is_none(), "nothing sent");
    }

    #[test]
    fn changedsince_vanished_and_unchangedsince_modified() {
        let mut s = session("ENABLE CONDSTORE QRESYNC");
        let p = s.typed_enable(&["QRESYNC", "CONDSTORE"]).unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A0 ENABLE QRESYNC CONDSTORE\r\n"
        );
        let out = run(&mut s, p, b"* ENABLED QRESYNC\r\nA0 OK done\r\n");
        assert_eq!(out.enabled().unwrap(), ["QRESYNC"]);
        assert!(s.is_enabled("qresync") && s.is_enabled("CONDSTORE"));
        assert!(!s.is_enabled("UTF8=ACCEPT"));

        let p = s
            .typed_select_with("INBOX", false, &SelectOptions::condstore())
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A1 SELECT \"INBOX\" (CONDSTORE)\r\n"
        );
        let out = run(
            &mut s,
            p,
            b"* 4 EXISTS\r\n* OK [NOMODSEQ] no\r\nA1 OK [READ-WRITE] done\r\n",
        );
        let sync = out.selected_sync(false).unwrap();
        assert!(sync.no_modseq && sync.mailbox.highest_modseq.is_none());
        assert_eq!(sync.mailbox.exists, 4);

        let set = UidSet::range(1, crate::command::Bound::Star);
        let p = s
            .typed_fetch_changed_since(SetArg::Uid(&set), &[FetchAttr::Flags], 12, true)
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A2 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12 VANISHED)\r\n"
        );
        let out = run(
            &mut s,
            p,
            b"* VANISHED (EARLIER) 2,5:6\r\n* 2 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (13))\r\nA2 OK done\r\n",
        );
        // EARLIER: not taken from the live count
        assert_eq!(s.mailbox_state().unwrap().exists, 4);
        let changed = out.changed_since().unwrap();
        assert_eq!(changed.vanished.to_string(), "2,5:6");
        let c = changed.flag_changes().unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].uid, c[0].modseq), (4, Some(13)));
        assert!(c[0].has_flag("\\seen"));

        let set = UidSet::from_numbers([3, 4, 7]);
        let p = s
            .typed_store_unchanged_since(SetArg::Uid(&set), 13, StoreOp::Add, &["$X"], true)
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A3 UID STORE 3:4,7 (UNCHANGEDSINCE 13) +FLAGS.SILENT ($X)\r\n"
        );
        let out = run(
            &mut s,
            p,
            b"* 2 FETCH (UID 4 MODSEQ (14))\r\n* VANISHED 7\r\nA3 OK [MODIFIED 3] partly\r\n",
        );
        // a VANISHED that is not EARLIER is an expunge now
        assert_eq!(s.mailbox_state().unwrap().exists, 3);
        let st = out.conditional_store().unwrap();
        assert_eq!(st.modified.to_string(), "3");
        assert_eq!(st.fetches.iter().count(), 1);
    }

    #[test]
    fn enabling_utf8_accept_switches_mailbox_names_to_utf8() {
        let mut s = session("ENABLE UTF8=ACCEPT");
        let p = s.typed_enable(&["UTF8=ACCEPT"]).unwrap();
        s.take_output().unwrap();
        run(&mut s, p, b"* ENABLED UTF8=ACCEPT\r\nA0 OK done\r\n");
        assert!(s.utf8_enabled());
        // ENABLE is for the authenticated state only
        select(&mut s);
        assert!(s.typed_enable(&["UTF8=ACCEPT"]).is_err());
    }

    #[test]
    fn qresync_parameters_encode_in_rfc_order() {
        let p = QresyncParams::new(67890007, 20050715194045000)
            .known_uids(UidSet::from_numbers([41, 43, 44, 45]))
            .seq_match(SeqSet::from_numbers([1, 3]), UidSet::from_numbers([41, 43]));
        assert_eq!(
            p.encode().unwrap(),
            "(QRESYNC (67890007 20050715194045000 41,43:45 (1,3 41,43)))"
        );
        // seq-match without known UIDs cannot be sent, so it is left out
        let p = QresyncParams::new(1, 2)
            .seq_match(SeqSet::single(1), UidSet::single(1))
            .known_uids(UidSet::default());
        assert_eq!(p.encode().unwrap(), "(QRESYNC (1 2))");
        assert!(QresyncParams::new(0, 2).encode().is_err());
        assert!(QresyncParams::new(1, 0).encode().is_err());
    }
}
