//! The typed API's LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
//! SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154) and NAMESPACE commands,
//! defined once for both drivers: the macro is expanded inside
//! [`super::typed_commands`].

/// Defines the LIST-EXTENDED/SPECIAL-USE/NAMESPACE methods on a wrapper
/// holding `m` (see [`super::typed_commands`]).
macro_rules! list_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// An extended LIST (RFC 5258): the mailboxes matching any of
        /// `patterns` under `reference`, with the selection and return
        /// options of `options`; with `return_status` (LIST-STATUS, RFC
        /// 5819) each selectable mailbox's STATUS comes along. An error,
        /// nothing sent, when the server lacks LIST-EXTENDED (or
        /// LIST-STATUS, SPECIAL-USE for those options).
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{ListOptions, StatusAttr};
        ///
        /// let options = ListOptions::default()
        ///     .subscribed()
        ///     .return_status(&[StatusAttr::Messages, StatusAttr::Unseen]);
        /// for mb in m.typed().list_extended("", &["*"], &options)? {
        ///     let unseen = mb.status.as_ref().and_then(|s| s.unseen);
        ///     println!("{}: {:?} unseen", mb.info.name, unseen);
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn list_extended(
            &mut self,
            reference: &str,
            patterns: &[&str],
            options: &$crate::typed::ListOptions,
        ) -> Result<Vec<$crate::typed::ListedMailbox>, Error> {
            Ok(self
                .m
                .run_typed(|s| s.typed_list_extended(reference, patterns, options))$($await)*?
                .listed()?)
        }

        /// Every special-use folder (RFC 6154) as (use, mailbox), in the
        /// server's order: `LIST (SPECIAL-USE) "" "*"` where the server
        /// offers SPECIAL-USE and LIST-EXTENDED, else a plain LIST whose
        /// attributes are scanned.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// for (usage, mb) in m.typed().special_use_folders()? {
        ///     println!("{usage}: {}", mb.name);
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn special_use_folders(&mut self) -> Result<Vec<($crate::typed::SpecialUse, MailboxInfo)>, Error> {
            Ok(self
                .m
                .run_typed(|s| s.typed_list_special_use())$($await)*?
                .special_use_folders()?)
        }

        /// The folder for `usage` (Sent, Drafts, Trash…), if the server
        /// marks one (the first, if several); see
        /// [`Self::special_use_folders`].
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::SpecialUse;
        /// let sent = m.typed().special_use_folder(SpecialUse::Sent)?;
        /// println!("sent mail goes to {:?}", sent.map(|mb| mb.name));
        /// # Ok(()) }
        /// ```
        pub $($async)* fn special_use_folder(&mut self, usage: $crate::typed::SpecialUse) -> Result<Option<MailboxInfo>, Error> {
            Ok(self
                .special_use_folders()$($await)*?
                .into_iter()
                .find(|(u, _)| *u == usage)
                .map(|(_, mb)| mb))
        }

        /// `CREATE mailbox (USE (\Sent))` (RFC 6154): creates a mailbox
        /// with a special use. An error, nothing sent, when the server
        /// lacks CREATE-SPECIAL-USE.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::SpecialUse;
        /// m.typed().create_special_use("Outbox", SpecialUse::Sent)?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn create_special_use(&mut self, mailbox: &str, usage: $crate::typed::SpecialUse) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_create_special_use(mailbox, usage))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }

        /// NAMESPACE (RFC 2342): the personal, other users' and shared
        /// namespaces. An error, nothing sent, when the server lacks
        /// NAMESPACE.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// let ns = m.typed().namespace()?;
        /// if let Some(p) = ns.personal.first() {
        ///     println!("personal prefix {:?}, delimiter {:?}", p.prefix, p.delimiter);
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn namespace(&mut self) -> Result<$crate::typed::Namespaces, Error> {
            Ok(self
                .m
                .run_typed(|s| s.typed_namespace())$($await)*?
                .namespaces()?)
        }
    };
}

pub(crate) use list_commands;
