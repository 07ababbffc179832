//! The typed API's ACL commands (RFC 4314), defined once for both
//! drivers: the macro is expanded inside [`super::typed_commands`].

/// Defines the ACL methods on a wrapper holding `m` (see
/// [`super::typed_commands`]).
macro_rules! acl_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// `GETACL mailbox` (RFC 4314): who has which rights on the
        /// mailbox (needs the `a` right). An error, nothing sent, when the
        /// server lacks ACL.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// for entry in m.typed().get_acl("INBOX")? {
        ///     println!("{}: {}", entry.identifier, entry.rights);
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn get_acl(&mut self, mailbox: &str) -> Result<Vec<$crate::typed::AclEntry>, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_get_acl(mailbox))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.acl()?)
        }

        /// `SETACL mailbox identifier rights` (RFC 4314): replaces the
        /// identifier's rights, or adds (`+`) or removes (`-`) some. An
        /// error, nothing sent, when the server lacks ACL or the
        /// identifier is empty ([`Rights`](crate::typed::Rights) are checked when built).
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use imap4::typed::{Rights, RightsChange};
        ///
        /// let read = Rights::parse("lrs").expect("rights letters");
        /// m.typed().set_acl("Shared", "bob", &RightsChange::Add(read))?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn set_acl(&mut self, mailbox: &str, identifier: &str, change: &$crate::typed::RightsChange) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_set_acl(mailbox, identifier, change))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }

        /// `DELETEACL mailbox identifier` (RFC 4314): removes the
        /// identifier's entry from the mailbox's ACL. An error, nothing
        /// sent, when the server lacks ACL or the identifier is empty.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.typed().delete_acl("Shared", "bob")?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn delete_acl(&mut self, mailbox: &str, identifier: &str) -> Result<(), Error> {
            self.m
                .run_typed(|s| s.typed_delete_acl(mailbox, identifier))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(())
        }

        /// `LISTRIGHTS mailbox identifier` (RFC 4314): the rights the
        /// identifier always has there, and those that can be granted. An
        /// error, nothing sent, when the server lacks ACL.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// let l = m.typed().list_rights("INBOX", "bob")?;
        /// println!("always {}, grantable {:?}", l.required, l.optional);
        /// # Ok(()) }
        /// ```
        pub $($async)* fn list_rights(&mut self, mailbox: &str, identifier: &str) -> Result<$crate::typed::ListedRights, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_list_rights(mailbox, identifier))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.list_rights()?)
        }

        /// `MYRIGHTS mailbox` (RFC 4314): the logged-in user's rights on
        /// the mailbox. An error, nothing sent, when the server lacks ACL.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// let mine = m.typed().my_rights("INBOX")?;
        /// if mine.contains('i') {
        ///     println!("may append to INBOX");
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn my_rights(&mut self, mailbox: &str) -> Result<$crate::typed::Rights, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_my_rights(mailbox))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.my_rights()?)
        }
    };
}

pub(crate) use acl_commands;
