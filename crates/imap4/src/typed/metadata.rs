//! The typed API's METADATA commands (RFC 5464), defined once for both
//! drivers: the macro is expanded inside [`super::typed_commands`].

/// Defines the METADATA methods on a wrapper holding `m` (see
/// [`super::typed_commands`]).
macro_rules! metadata_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// `GETMETADATA` (RFC 5464): the values of `entries` of `mailbox`
        /// (`""`: the server's own metadata), with MAXSIZE and DEPTH from
        /// `options`. Values are bytes as sent (`None` for NIL);
        /// [`Metadata::long_entries`](crate::typed::Metadata::long_entries)
        /// reports `[METADATA LONGENTRIES n]` when MAXSIZE left values out.
        /// An error, nothing sent, when the server lacks METADATA (or
        /// METADATA-SERVER for `""`) or an entry name is not one (it must
        /// start with `/private/` or `/shared/`; no `*`, `%` or control
        /// characters).
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{Depth, MetadataOptions};
        ///
        /// let o = MetadataOptions { max_size: Some(4096), depth: Some(Depth::One) };
        /// let md = m.typed().get_metadata("INBOX", &["/shared/comment", "/private/vendor"], &o)?;
        /// for e in &md.entries {
        ///     println!("{} = {:?}", e.name, e.value_str());
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn get_metadata(
            &mut self,
            mailbox: &str,
            entries: &[&str],
            options: &$crate::typed::MetadataOptions,
        ) -> Result<$crate::typed::Metadata, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_get_metadata(mailbox, entries, options))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.metadata()?)
        }

        /// `SETMETADATA` (RFC 5464): sets each entry of `mailbox` (`""`:
        /// the server's) to its value, or removes it for `None`. Printable
        /// ASCII values go quoted, others as literals; NUL is refused. An
        /// error, nothing sent, when the server lacks the capability or an
        /// entry name is not one; the server's NO (e.g. `[METADATA
        /// TOOMANY]`) is an error with its status and text.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.typed().set_metadata("INBOX", &[
        ///     ("/private/comment", Some(&b"my inbox"[..])),
        ///     ("/shared/comment", None),
        /// ])?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn set_metadata(&mut self, mailbox: &str, entries: &[(&str, Option<&[u8]>)]) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_set_metadata(mailbox, entries))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }
    };
}

pub(crate) use metadata_commands;
