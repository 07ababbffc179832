//! The typed API's NOTIFY commands (RFC 5465), defined once for both
//! drivers: the macro is expanded inside [`super::typed_commands`].

/// Defines the NOTIFY methods on a wrapper holding `m` (see
/// [`super::typed_commands`]).
macro_rules! notify_commands {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// `NOTIFY SET [STATUS] …` (RFC 5465): asks the server to report
        /// changes in the mailboxes `spec` names, also while another
        /// mailbox is selected. Reports about other mailboxes arrive as
        /// [`Event::Status`](crate::idle::Event::Status),
        /// [`Event::List`](crate::idle::Event::List) and
        /// [`Event::Metadata`](crate::idle::Event::Metadata) during IDLE
        /// (or any command, once events are on); returns the STATUS of
        /// each watched mailbox when the spec sets
        /// [`NotifySpec::status`](crate::typed::NotifySpec::status)
        /// (else nothing). An error, nothing sent, without NOTIFY or with
        /// a spec RFC 5465 forbids.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// use std::time::Duration;
        /// use imap4::typed::{NotifyEvent, NotifyMailboxes, NotifySpec};
        ///
        /// let spec = NotifySpec::new().group(
        ///     NotifyMailboxes::Personal,
        ///     [NotifyEvent::message_new(), NotifyEvent::MessageExpunge, NotifyEvent::MailboxName],
        /// );
        /// m.typed().notify_set(&spec)?;
        /// let mut idle = m.idle()?;
        /// while let Some(event) = idle.wait(Duration::from_secs(60))? {
        ///     if let imap4::Event::Status(st) = event {
        ///         println!("{}: {:?} messages", st.mailbox, st.messages);
        ///     }
        /// }
        /// idle.done()?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn notify_set(
            &mut self,
            spec: &$crate::typed::NotifySpec,
        ) -> Result<Vec<MailboxStatus>, Error> {
            let out = self.m.run_typed(|s| s.typed_notify_set(spec))$($await)*?;
            Ok(out.notify_statuses()?)
        }

        /// `NOTIFY NONE` (RFC 5465): no more notifications. An error,
        /// nothing sent, without NOTIFY.
        ///
        /// ```no_run
        /// # fn run(m: &mut imap4::Imap4) -> Result<(), imap4::Error> {
        /// m.typed().notify_none()?;
        /// # Ok(()) }
        /// ```
        pub $($async)* fn notify_none(&mut self) -> Result<(), Error> {
            self.m.run_typed(|s| s.typed_notify_none())$($await)*?;
            Ok(())
        }
    };
}

pub(crate) use notify_commands;
