//! The typed API's UNAUTHENTICATE (RFC 8437) and REPLACE (RFC 8508),
//! defined once for both drivers: the macro is expanded inside
//! [`super::typed_commands`].

/// Defines the UNAUTHENTICATE and REPLACE methods on a wrapper holding
/// `m` (see [`super::typed_commands`]).
macro_rules! replace_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// `UNAUTHENTICATE` (RFC 8437): back to NOT AUTHENTICATED on the
        /// same connection, to log in again (as another user, say). The
        /// selected mailbox, its state, ENABLEd extensions and UTF-8 mode
        /// are forgotten; the capabilities are the OK's `[CAPABILITY …]`,
        /// or else asked for with CAPABILITY. An error, nothing sent,
        /// without the UNAUTHENTICATE capability or when not logged in.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.login("alice", "secret")?;
        /// // ...
        /// m.typed().unauthenticate()?;
        /// m.login("bob", "other secret")?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn unauthenticate(&mut self) -> Result<(), Error> {
            let out = self.m.run_typed(|s| s.typed_unauthenticate())$($await)*?;
            if !out.capabilities_announced() {
                self.m.run(|s| s.refresh_capabilities())$($await)*?;
            }
            Ok(())
        }

        /// `UID REPLACE uid mailbox literal` (RFC 8508): appends
        /// `message` to `mailbox` and expunges message `uid` of the
        /// selected mailbox in one step (a draft saved again); the new
        /// message's UID if the server sends APPENDUID (UIDPLUS). An
        /// error, nothing sent, without the REPLACE capability, for UID 0,
        /// or for a message above the server's APPENDLIMIT.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.typed().select("Drafts")?;
        /// let v2 = b"Subject: draft\r\n\r\nsecond version\r\n".to_vec();
        /// let mapping = m.typed().uid_replace(7, "Drafts", v2)?;
        /// println!("now UID {:?}", mapping.map(|m| m.destination));
        /// # Ok(()) }
        /// ```
        pub $($async)* fn uid_replace(
            &mut self,
            uid: u32,
            mailbox: &str,
            message: impl Into<Bytes>,
        ) -> Result<Option<UidMapping>, Error> {
            let message = message.into();
            let out = self
                .m
                .run_typed(|s| s.typed_uid_replace(uid, mailbox, &[], None, message))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.uid_mapping())
        }
    };
}

pub(crate) use replace_commands;
