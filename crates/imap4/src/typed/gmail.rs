//! The typed API's Gmail commands (X-GM-EXT-1), defined once for both
//! drivers: the macro is expanded inside [`super::typed_commands`].

/// Defines the Gmail methods on a wrapper holding `m` (see
/// [`super::typed_commands`]).
macro_rules! gmail_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// `UID STORE set [+|-]X-GM-LABELS (labels)` (Gmail): sets
        /// ([`StoreOp::Replace`]), adds or removes labels; system labels
        /// such as `\Inbox`, `\Important` and `\Starred` are written as
        /// they are, other labels quoted (a literal where needed). Returns
        /// the FETCH responses, whose
        /// [`Fetch::gm_labels`](crate::typed::Fetch::gm_labels) are the
        /// labels the messages have now. An error, nothing sent, without
        /// X-GM-EXT-1 (an empty set sends nothing and returns nothing).
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{SearchKey, StoreOp};
        ///
        /// m.typed().select("[Gmail]/All Mail")?;
        /// let found = m.typed().uid_search(&SearchKey::GmRaw("from:boss has:attachment".into()))?;
        /// m.typed().uid_store_labels(&found, StoreOp::Add, &["\\Important", "Work/Boss"])?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_store_labels(
            &mut self,
            set: &UidSet,
            op: StoreOp,
            labels: &[&str],
        ) -> Result<Fetches, Error> {
            if set.is_empty() && self.has_capability("X-GM-EXT-1") {
                return Ok(Fetches::default());
            }
            Ok(self
                .m
                .run_typed(|s| s.typed_uid_store_labels(set, op, labels))$($await)*?
                .into_fetches())
        }
    };
}

pub(crate) use gmail_commands;
