//! The typed API's ESEARCH (RFC 4731) and SEARCHRES (RFC 5182) commands,
//! defined once for both drivers: the macro is expanded inside
//! [`super::typed_commands`].

/// Defines the ESEARCH/SEARCHRES methods on a wrapper holding `m` (see
/// [`super::typed_commands`]).
macro_rules! esearch_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// `UID SEARCH RETURN (…) key` (RFC 4731): only what `returns`
        /// asks for (MIN, MAX, ALL, COUNT) instead of every UID; with
        /// [`SearchReturn::Save`](crate::typed::SearchReturn::Save)
        /// (SEARCHRES, RFC 5182) the server keeps the matches as `$`, and
        /// the result's `saved` marker lets later commands use them
        /// ([`Self::uid_fetch_saved`]). An error, nothing sent, when the
        /// server lacks ESEARCH (or SEARCHRES for SAVE).
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{SearchKey, SearchReturn};
        ///
        /// m.typed().select("INBOX")?;
        /// let r = m.typed().uid_search_return(&SearchKey::Unseen, &[SearchReturn::Count, SearchReturn::Max])?;
        /// println!("{:?} unseen, newest UID {:?}", r.count, r.max);
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_search_return(
            &mut self,
            key: &SearchKey,
            returns: &[$crate::typed::SearchReturn],
        ) -> Result<$crate::typed::ESearchResult, Error> {
            let out = self.m.run_typed(|s| s.typed_uid_search_return(key, returns))$($await)*?;
            Ok(out.uid_esearch(returns)?)
        }

        /// `UID SEARCH RETURN (PARTIAL range …) key` (PARTIAL, RFC 9394):
        /// one page of the matching UIDs by position (the first hundred,
        /// the last hundred…), in
        /// [`ESearchResult::partial`](crate::typed::ESearchResult::partial),
        /// with MIN, MAX and COUNT of all the matches if asked for in
        /// `also`. An error, nothing sent, when the server lacks PARTIAL.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{PartialRange, SearchKey, SearchReturn};
        /// m.typed().select("INBOX")?;
        /// let newest = PartialRange::Last { from: 1, to: 50 };
        /// let r = m.typed().uid_search_partial(&SearchKey::All, newest, &[SearchReturn::Count])?;
        /// println!("{:?} of {:?}", r.partial.map(|p| p.uids), r.count);
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_search_partial(
            &mut self,
            key: &SearchKey,
            range: $crate::typed::PartialRange,
            also: &[$crate::typed::SearchReturn],
        ) -> Result<$crate::typed::ESearchResult, Error> {
            let out = self.m.run_typed(|s| s.typed_uid_search_partial(key, range, also))$($await)*?;
            Ok(out.uid_esearch(also)?)
        }

        /// `UID SORT RETURN (…) (criteria) UTF-8 key` (ESORT, RFC 5267):
        /// MIN, MAX, COUNT and ALL of the sorted matches, ALL in sort
        /// order (MIN and MAX: the first and last sorted, not the lowest
        /// and highest UID). An error, nothing sent, when the server
        /// lacks ESORT, or for [`SearchReturn::Save`](crate::typed::SearchReturn::Save).
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{SearchKey, SearchReturn, SortCriterion, SortKey};
        ///
        /// m.typed().select("INBOX")?;
        /// let newest = [SortCriterion::desc(SortKey::Arrival)];
        /// let r = m.typed().uid_sort_return(&newest, &SearchKey::Unseen, &[SearchReturn::Min, SearchReturn::Count])?;
        /// println!("{:?} unseen, the newest is UID {:?}", r.count, r.min);
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_sort_return(
            &mut self,
            criteria: &[$crate::typed::SortCriterion],
            key: &SearchKey,
            returns: &[$crate::typed::SearchReturn],
        ) -> Result<$crate::typed::ESortResult, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_uid_sort_return(criteria, key, returns))$($await)*?;
            Ok(out.uid_esort()?)
        }

        /// `UID FETCH $ (attrs)` (RFC 5182): fetches the messages a
        /// search with SAVE kept, without sending their UIDs again. An
        /// error, nothing sent, when the server lacks SEARCHRES.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{FetchAttr, SearchKey, SearchReturn};
        ///
        /// m.typed().select("INBOX")?;
        /// let r = m.typed().uid_search_return(&SearchKey::Flagged, &[SearchReturn::Save])?;
        /// let saved = r.saved.expect("SAVE was asked");
        /// for f in m.typed().uid_fetch_saved(saved, &[FetchAttr::Uid, FetchAttr::Envelope])?.iter() {
        ///     println!("{:?}", f?.uid());
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_fetch_saved(
            &mut self,
            saved: $crate::typed::SearchRes,
            attrs: &[FetchAttr],
        ) -> Result<Fetches, Error> {
            Ok(self
                .m
                .run_typed(|s| s.typed_uid_fetch_saved(saved, attrs))$($await)*?
                .into_fetches())
        }

        /// `UID STORE $ …` (RFC 5182): changes the flags of the messages
        /// a search with SAVE kept; returns the FETCH responses (few or
        /// none when `silent`). An error, nothing sent, when the server
        /// lacks SEARCHRES.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{SearchKey, SearchReturn, StoreOp};
        ///
        /// m.typed().select("INBOX")?;
        /// let old = SearchKey::Before(imap4::typed::Date::new(2020, 1, 1).unwrap());
        /// let r = m.typed().uid_search_return(&old, &[SearchReturn::Save])?;
        /// m.typed().uid_store_saved(r.saved.expect("saved"), StoreOp::Add, &["\\Seen"], true)?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_store_saved(
            &mut self,
            saved: $crate::typed::SearchRes,
            op: StoreOp,
            flags: &[&str],
            silent: bool,
        ) -> Result<Fetches, Error> {
            Ok(self
                .m
                .run_typed(|s| s.typed_uid_store_saved(saved, op, flags, silent))$($await)*?
                .into_fetches())
        }

        /// `UID COPY $ mailbox` (RFC 5182): copies the messages a search
        /// with SAVE kept; the UID mapping if the server sends one
        /// (UIDPLUS). An error, nothing sent, when the server lacks
        /// SEARCHRES.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{SearchKey, SearchReturn};
        ///
        /// m.typed().select("INBOX")?;
        /// let r = m.typed().uid_search_return(&SearchKey::Flagged, &[SearchReturn::Save])?;
        /// m.typed().uid_copy_saved(r.saved.expect("saved"), "Archive")?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_copy_saved(&mut self, saved: $crate::typed::SearchRes, mailbox: &str) -> Result<Option<UidMapping>, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_uid_copy_saved(saved, mailbox, false))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.uid_mapping())
        }

        /// `UID MOVE $ mailbox` (RFC 5182, RFC 6851): moves the messages a
        /// search with SAVE kept; the UID mapping if the server sends one.
        /// An error, nothing sent, when the server lacks SEARCHRES.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{SearchKey, SearchReturn};
        ///
        /// m.typed().select("INBOX")?;
        /// let r = m.typed().uid_search_return(&SearchKey::Deleted, &[SearchReturn::Save])?;
        /// m.typed().uid_move_saved(r.saved.expect("saved"), "Trash")?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_move_saved(&mut self, saved: $crate::typed::SearchRes, mailbox: &str) -> Result<Option<UidMapping>, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_uid_copy_saved(saved, mailbox, true))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.uid_mapping())
        }
    };
}

pub(crate) use esearch_commands;
