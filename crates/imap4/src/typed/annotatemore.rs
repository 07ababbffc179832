//! The typed API's ANNOTATEMORE commands (older Cyrus; METADATA's
//! predecessor), defined once for both drivers: the macro is expanded
//! inside [`super::typed_commands`].

/// Defines the ANNOTATEMORE methods on a wrapper holding `m` (see
/// [`super::typed_commands`]).
macro_rules! annotatemore_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// `GETANNOTATION` (ANNOTATEMORE, older Cyrus): the `attributes`
        /// (`value.shared`, `value.priv`, `size.*`…) of `entries`
        /// (`/comment`, `/vendor/*`…) of `mailbox` (`""`: the server's),
        /// one [`Annotation`](crate::typed::Annotation) per entry. Prefer
        /// [`Self::get_metadata`] where METADATA is offered. An error,
        /// nothing sent, without ANNOTATEMORE or for a name that is not
        /// one.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// for a in m.typed().get_annotation("INBOX", &["/comment"], &["value.*"])? {
        ///     println!("{} {:?}", a.entry, a.get("value.shared"));
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn get_annotation(
            &mut self,
            mailbox: &str,
            entries: &[&str],
            attributes: &[&str],
        ) -> Result<Vec<$crate::typed::Annotation>, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_get_annotation(mailbox, entries, attributes))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.annotations()?)
        }

        /// `SETANNOTATION` (ANNOTATEMORE): sets each attribute of `entry`
        /// of `mailbox`, or removes it for `None`. An error, nothing sent,
        /// without ANNOTATEMORE, for a wildcard, a NUL in a value, or a
        /// name that is not one.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.typed().set_annotation("INBOX", "/comment", &[("value.shared", Some(&b"team inbox"[..]))])?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn set_annotation(
            &mut self,
            mailbox: &str,
            entry: &str,
            attributes: &[(&str, Option<&[u8]>)],
        ) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_set_annotation(mailbox, entry, attributes))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }
    };
}

pub(crate) use annotatemore_commands;
