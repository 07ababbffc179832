//! The typed API's CONDSTORE and QRESYNC commands (RFC 7162), ENABLE
//! (RFC 5161) and the resync helper, defined once for both drivers: the
//! macro is expanded inside [`super::typed_commands`].

/// Defines the CONDSTORE/QRESYNC methods on a wrapper holding `m` (see
/// [`super::typed_commands`]).
macro_rules! condstore_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// ENABLE (RFC 5161) extensions, e.g. `QRESYNC`, `UTF8=ACCEPT`:
        /// returns those the server enabled (upper-cased). An error,
        /// nothing sent, when the server lacks ENABLE; valid only while
        /// no mailbox is selected (RFC 5161). What was enabled lasts for
        /// the connection ([`Self::is_enabled`]).
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// let enabled = m.typed().enable(&["QRESYNC"])?;
        /// assert!(enabled.iter().any(|e| e == "QRESYNC"));
        /// # Ok(()) }
        /// ```
        pub $($async)* fn enable(&mut self, extensions: &[&str]) -> Result<Vec<String>, Error> {
            Ok(self.m.run_typed(|s| s.typed_enable(extensions))$($await)*?.enabled()?)
        }

        /// Whether the server ENABLED `extension` on this connection
        /// (QRESYNC implies CONDSTORE).
        pub fn is_enabled(&self, extension: &str) -> bool {
            self.m.session.is_enabled(extension)
        }

        /// SELECT with CONDSTORE or QRESYNC (RFC 7162): the mailbox, and
        /// for QRESYNC the UIDs that vanished (`VANISHED (EARLIER)`) and
        /// the flag changes the server sent, since the mod-sequence given.
        /// An error, nothing sent, when the server lacks the extension (or
        /// QRESYNC was not enabled: [`Self::enable`] it first).
        /// `VANISHED (EARLIER)` never lowers [`crate::Imap4::mailbox_state`]'s
        /// count: those messages were gone before the SELECT.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{QresyncParams, SelectOptions, UidSet};
        ///
        /// m.typed().enable(&["QRESYNC"])?;
        /// let known = QresyncParams::new(1700000000, 4242).known_uids(UidSet::from(1..=500));
        /// let sync = m.typed().select_with("INBOX", &SelectOptions::qresync(known))?;
        /// println!("gone: {}; changed: {}", sync.vanished, sync.changes.len());
        /// for c in &sync.changes {
        ///     println!("UID {} now has {:?} (MODSEQ {:?})", c.uid, c.flags, c.modseq);
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn select_with(&mut self, mailbox: &str, options: &$crate::typed::SelectOptions) -> Result<$crate::typed::SelectedSync, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_select_with(mailbox, false, options))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.selected_sync(false)?)
        }

        /// EXAMINE (read-only) with CONDSTORE or QRESYNC; see
        /// [`Self::select_with`].
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::SelectOptions;
        /// let sync = m.typed().examine_with("INBOX", &SelectOptions::condstore())?;
        /// println!("HIGHESTMODSEQ {:?} (NOMODSEQ: {})", sync.mailbox.highest_modseq, sync.no_modseq);
        /// # Ok(()) }
        /// ```
        pub $($async)* fn examine_with(&mut self, mailbox: &str, options: &$crate::typed::SelectOptions) -> Result<$crate::typed::SelectedSync, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_select_with(mailbox, true, options))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.selected_sync(true)?)
        }

        /// `UID FETCH set (attrs) (CHANGEDSINCE modseq)` (CONDSTORE): only
        /// the messages whose MODSEQ is above `modseq` (each response
        /// carries MODSEQ). An error, nothing sent, without CONDSTORE or for
        /// `modseq` 0; an empty set asks the server nothing.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{FetchAttr, SelectOptions, UidSet};
        /// m.typed().select_with("INBOX", &SelectOptions::condstore())?;
        /// let changed = m.typed().uid_fetch_changed_since(&UidSet::all(), &[FetchAttr::Flags], 4242)?;
        /// for c in changed.flag_changes()? {
        ///     println!("UID {}: {:?}", c.uid, c.flags);
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_fetch_changed_since(
            &mut self,
            set: &UidSet,
            attrs: &[FetchAttr],
            modseq: u64,
        ) -> Result<$crate::typed::ChangedSince, Error> {
            self.changed_since(SetArg::Uid(set), attrs, modseq, false)$($await)*
        }

        /// `UID FETCH set (attrs) (CHANGEDSINCE modseq VANISHED)` (QRESYNC,
        /// enabled first): the changed messages, and in
        /// [`ChangedSince::vanished`](crate::typed::ChangedSince::vanished) the UIDs of the set expunged since
        /// `modseq`. An error, nothing sent, unless QRESYNC is enabled.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{FetchAttr, UidSet};
        /// m.typed().enable(&["QRESYNC"])?;
        /// m.typed().select("INBOX")?;
        /// let r = m.typed().uid_fetch_changed_since_vanished(&UidSet::from(1..=500), &[FetchAttr::Flags], 4242)?;
        /// println!("expunged: {}", r.vanished);
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_fetch_changed_since_vanished(
            &mut self,
            set: &UidSet,
            attrs: &[FetchAttr],
            modseq: u64,
        ) -> Result<$crate::typed::ChangedSince, Error> {
            self.changed_since(SetArg::Uid(set), attrs, modseq, true)$($await)*
        }

        /// `UID STORE set (UNCHANGEDSINCE modseq) ±FLAGS (flags)`
        /// (CONDSTORE): stores only on messages not changed since
        /// `modseq`; the others are in [`ConditionalStore::modified`](crate::typed::ConditionalStore::modified) (the
        /// server's `[MODIFIED set]`), untouched. An error, nothing sent,
        /// without CONDSTORE; an empty set asks the server nothing.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{StoreOp, UidSet};
        /// let r = m.typed().uid_store_unchanged_since(&UidSet::from(1..=3), 4242, StoreOp::Add, &["$Done"], false)?;
        /// if !r.modified.is_empty() {
        ///     println!("changed meanwhile, not stored: {}", r.modified);
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_store_unchanged_since(
            &mut self,
            set: &UidSet,
            modseq: u64,
            op: StoreOp,
            flags: &[&str],
            silent: bool,
        ) -> Result<$crate::typed::ConditionalStore, Error> {
            self.unchanged_since(SetArg::Uid(set), modseq, op, flags, silent)$($await)*
        }

        /// `FETCH set (attrs) (CHANGEDSINCE modseq)` by sequence numbers
        /// (CONDSTORE): [`Self::uid_fetch_changed_since`] for clients that
        /// keep sequence numbers. Put [`FetchAttr::Uid`] in `attrs` to read
        /// [`ChangedSince::flag_changes`](crate::typed::ChangedSince::flag_changes)
        /// (plain FETCH answers carry no UID otherwise). An error, nothing
        /// sent, without CONDSTORE or for `modseq` 0; an empty set asks the
        /// server nothing.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{FetchAttr, SelectOptions, SeqSet};
        /// m.typed().select_with("INBOX", &SelectOptions::condstore())?;
        /// let changed = m.typed().fetch_changed_since(&SeqSet::all(), &[FetchAttr::Uid, FetchAttr::Flags], 4242)?;
        /// # let _ = changed;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn fetch_changed_since(
            &mut self,
            set: &SeqSet,
            attrs: &[FetchAttr],
            modseq: u64,
        ) -> Result<$crate::typed::ChangedSince, Error> {
            self.changed_since(SetArg::Seq(set), attrs, modseq, false)$($await)*
        }

        /// `STORE set (UNCHANGEDSINCE modseq) ±FLAGS (flags)` by sequence
        /// numbers (CONDSTORE): [`Self::uid_store_unchanged_since`] for
        /// sequence numbers; `modified` then holds sequence numbers, as the
        /// server's `[MODIFIED]` does for a non-UID STORE.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{SeqSet, StoreOp};
        /// let r = m.typed().store_unchanged_since(&SeqSet::from(1..=3), 4242, StoreOp::Add, &["$Done"], false)?;
        /// # let _ = r;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn store_unchanged_since(
            &mut self,
            set: &SeqSet,
            modseq: u64,
            op: StoreOp,
            flags: &[&str],
            silent: bool,
        ) -> Result<$crate::typed::ConditionalStore, Error> {
            self.unchanged_since(SetArg::Seq(set), modseq, op, flags, silent)$($await)*
        }

        /// FETCH … (CHANGEDSINCE modseq [VANISHED]) on either kind of set
        /// (an empty one asks the server nothing).
        $($async)* fn changed_since(
            &mut self,
            set: SetArg<'_>,
            attrs: &[FetchAttr],
            modseq: u64,
            vanished: bool,
        ) -> Result<$crate::typed::ChangedSince, Error> {
            if set.is_empty() {
                return Ok($crate::typed::ChangedSince::default());
            }
            let out = self
                .m
                .run_typed(|s| s.typed_fetch_changed_since(set, attrs, modseq, vanished))$($await)*?;
            Ok(out.changed_since()?)
        }

        /// STORE … (UNCHANGEDSINCE modseq) on either kind of set (an empty
        /// one asks the server nothing).
        $($async)* fn unchanged_since(
            &mut self,
            set: SetArg<'_>,
            modseq: u64,
            op: StoreOp,
            flags: &[&str],
            silent: bool,
        ) -> Result<$crate::typed::ConditionalStore, Error> {
            if set.is_empty() {
                return Ok($crate::typed::ConditionalStore::default());
            }
            let out = self
                .m
                .run_typed(|s| s.typed_store_unchanged_since(set, modseq, op, flags, silent))$($await)*?;
            Ok(out.conditional_store()?)
        }

        /// Resynchronizes `mailbox` from what the client knew: the new,
        /// changed and vanished messages, or [`Resync::StartOver`](crate::typed::Resync::StartOver) when
        /// UIDVALIDITY changed. QRESYNC where offered (one SELECT; ENABLE
        /// QRESYNC first, once per connection), else CONDSTORE (SELECT, then
        /// a CHANGEDSINCE fetch and a UID SEARCH pipelined), else a fetch of
        /// every message's flags (then [`MailboxChanges::exact`](crate::typed::MailboxChanges::exact) is `false`
        /// and `changed` holds every surviving known message: without
        /// mod-sequences nothing tells which changed). The mailbox is
        /// selected afterwards. See [`imap4_proto::resync`].
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{Known, Resync, UidSet};
        ///
        /// let known = Known::new(1700000000, 4242, UidSet::from(1..=500));
        /// match m.typed().resync("INBOX", &known)? {
        ///     Resync::StartOver { new_uid_validity, .. } => println!("all new: {new_uid_validity:?}"),
        ///     Resync::Changes(c) => {
        ///         println!("new {}, gone {}, {} changed", c.new, c.vanished, c.changed.len());
        ///         let next_time = c.known_after(&known);
        ///         # let _ = next_time;
        ///     }
        ///     _ => {}
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn resync(&mut self, mailbox: &str, known: &$crate::typed::Known) -> Result<$crate::typed::Resync, Error> {
            self.resync_with(mailbox, known, $crate::typed::ResyncStrategy::Auto)$($await)*
        }

        /// [`Self::resync`] with a chosen strategy; one the server cannot
        /// serve is an error, nothing sent.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{Known, ResyncStrategy, UidSet};
        /// let known = Known::new(1700000000, 4242, UidSet::from(1..=500));
        /// let r = m.typed().resync_with("INBOX", &known, ResyncStrategy::Condstore)?;
        /// # let _ = r;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn resync_with(
            &mut self,
            mailbox: &str,
            known: &$crate::typed::Known,
            strategy: $crate::typed::ResyncStrategy,
        ) -> Result<$crate::typed::Resync, Error> {
            let mut run = imap4_proto::resync::ResyncRun::new(
                &self.m.session,
                mailbox,
                known.clone(),
                strategy,
            )?;
            while !run.is_done() {
                let outs = self.m.run_typed_many(|s| run.begin(s))$($await)*?;
                let mut done = Vec::with_capacity(outs.len());
                for out in outs {
                    done.push(out.map_err(|e| e.naming_mailbox(mailbox))?);
                }
                run.accept(&self.m.session, done)?;
            }
            Ok(run.finish()?)
        }
    };
}

pub(crate) use condstore_commands;
