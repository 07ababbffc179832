//! The typed API's QUOTA commands (RFC 9208, RFC 2087), defined once for
//! both drivers: the macro is expanded inside [`super::typed_commands`].

/// Defines the QUOTA methods on a wrapper holding `m` (see
/// [`super::typed_commands`]).
macro_rules! quota_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// `GETQUOTA root` (RFC 9208): the usage and limits of a quota
        /// root. An error, nothing sent, when the server lacks QUOTA; the
        /// server's NO (no such root) is an error with its status and text.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// let q = m.typed().get_quota("User quota")?;
        /// for r in &q.resources {
        ///     println!("{}: {} of {}", r.name, r.usage, r.limit);
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn get_quota(&mut self, root: &str) -> Result<$crate::typed::Quota, Error> {
            let out = self.m.run_typed(|s| s.typed_get_quota(root))$($await)*?;
            let quotas = out.quotas()?;
            let found = quotas.iter().position(|q| q.root == root).unwrap_or(0);
            quotas.into_iter().nth(found).ok_or_else(|| {
                Error::new(
                    $crate::ErrorKind::Error,
                    format!("GETQUOTA {root:?}: the server sent no QUOTA response"),
                )
            })
        }

        /// `GETQUOTAROOT mailbox` (RFC 9208): the mailbox's quota roots
        /// and each root's quota (STORAGE is in KiB). An error, nothing
        /// sent, when the server lacks QUOTA.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// let r = m.typed().get_quota_root("INBOX")?;
        /// for q in &r.quotas {
        ///     if let Some(s) = q.resource("STORAGE") {
        ///         println!("{}: {} KiB used of {} KiB", q.root, s.usage, s.limit);
        ///     }
        /// }
        /// # Ok(()) }
        /// ```
        pub $($async)* fn get_quota_root(&mut self, mailbox: &str) -> Result<$crate::typed::QuotaRoots, Error> {
            let out = self
                .m
                .run_typed(|s| s.typed_get_quota_root(mailbox))$($await)*
                .map_err(|e| e.naming_mailbox(mailbox))?;
            Ok(out.quota_roots()?)
        }

        /// `SETQUOTA root (resource limit …)` (RFC 9208): sets the limits
        /// of a quota root (usually an administrator's right); returns
        /// any QUOTA the server sent back. An error, nothing sent, when
        /// the server lacks QUOTA or a resource name is not an atom; the
        /// server's NO is an error with its status and text.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.typed().set_quota("user.bob", &[("STORAGE", 512 * 1024)])?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn set_quota(&mut self, root: &str, limits: &[(&str, u64)]) -> Result<Vec<$crate::typed::Quota>, Error> {
            Ok(self.m.run_typed(|s| s.typed_set_quota(root, limits))$($await)*?.quotas()?)
        }
    };
}

pub(crate) use quota_commands;
