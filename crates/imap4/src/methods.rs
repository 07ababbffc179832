//! imaplib's command methods, written once for both drivers.
//!
//! `imaplib_commands!([] [] [])` defines them as blocking methods,
//! `imaplib_commands!([async] [.await] [+ Send])` as async ones; each is a
//! one-line call into the sans-IO session, run by the driver's own `run`.

/// Defines imaplib's plain command methods on a driver that has
/// `run(|session| ...)`.
macro_rules! imaplib_commands {
    ([$($async:tt)*] [$($await:tt)*] [$($send:tt)*]) => {
        /// APPEND `message` to `mailbox` (`""` means INBOX). `flags` are wrapped
        /// in parentheses if they aren't already; `date_time` must be an
        /// INTERNALDATE string such as [`crate::util::time2internaldate`]
        /// returns (sent as it is when double-quoted, else quoted). Bare LF and
        /// CR line ends in `message` become CRLF.
        pub $($async)* fn append(&mut self, mailbox: &str, flags: Option<&str>, date_time: Option<&str>, message: &[u8]) -> Result<Response, Error> {
            self.run(|s| s.append(mailbox, flags, date_time, message))$($await)*
        }

        /// CAPABILITY.
        pub $($async)* fn capability(&mut self) -> Result<Response, Error> {
            self.run(|s| s.capability())$($await)*
        }

        /// CHECK.
        pub $($async)* fn check(&mut self) -> Result<Response, Error> {
            self.run(|s| s.check())$($await)*
        }

        /// CLOSE the selected mailbox (state becomes AUTH even on failure).
        pub $($async)* fn close(&mut self) -> Result<Response, Error> {
            self.run(|s| s.close())$($await)*
        }

        /// COPY `message_set` to `new_mailbox`.
        pub $($async)* fn copy(&mut self, message_set: &str, new_mailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.copy(message_set, new_mailbox))$($await)*
        }

        /// CREATE `mailbox`.
        pub $($async)* fn create(&mut self, mailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.create(mailbox))$($await)*
        }

        /// DELETE `mailbox`.
        pub $($async)* fn delete(&mut self, mailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.delete(mailbox))$($await)*
        }

        /// DELETEACL: remove every right of `who` on `mailbox`.
        pub $($async)* fn deleteacl(&mut self, mailbox: &str, who: &str) -> Result<Response, Error> {
            self.run(|s| s.deleteacl(mailbox, who))$($await)*
        }

        /// ENABLE `capability` (RFC 5161); an error if the server lacks ENABLE.
        pub $($async)* fn enable(&mut self, capability: &str) -> Result<Response, Error> {
            self.run(|s| s.enable(capability))$($await)*
        }

        /// EXPUNGE; data is the expunged message numbers in order received.
        pub $($async)* fn expunge(&mut self) -> Result<Response, Error> {
            self.run(|s| s.expunge())$($await)*
        }

        /// FETCH `message_parts` (e.g. `"(UID BODY[TEXT])"`) of `message_set`.
        pub $($async)* fn fetch(&mut self, message_set: &str, message_parts: &str) -> Result<Response, Error> {
            self.run(|s| s.fetch(message_set, message_parts))$($await)*
        }

        /// GETACL `mailbox`.
        pub $($async)* fn getacl(&mut self, mailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.getacl(mailbox))$($await)*
        }

        /// GETANNOTATION (draft ANNOTATEMORE).
        pub $($async)* fn getannotation(&mut self, mailbox: &str, entry: &str, attribute: &str,) -> Result<Response, Error> {
            self.run(|s| s.getannotation(mailbox, entry, attribute))$($await)*
        }

        /// GETQUOTA `root` (RFC 2087).
        pub $($async)* fn getquota(&mut self, root: &str) -> Result<Response, Error> {
            self.run(|s| s.getquota(root))$($await)*
        }

        /// GETQUOTAROOT `mailbox`; data is `[List(quotaroot…), List(quota…)]`.
        pub $($async)* fn getquotaroot(&mut self, mailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.getquotaroot(mailbox))$($await)*
        }

        /// LIST mailboxes in `directory` matching `pattern` (imaplib's defaults
        /// are `"\"\""` and `"*"`).
        pub $($async)* fn list(&mut self, directory: &str, pattern: &str) -> Result<Response, Error> {
            self.run(|s| s.list(directory, pattern))$($await)*
        }

        /// LOGOUT; returns the server's BYE and closes the connection.
        pub $($async)* fn logout(&mut self) -> Result<Response, Error> {
            self.run(|s| s.logout())$($await)*
        }

        /// LSUB: subscribed mailboxes in `directory` matching `pattern`.
        pub $($async)* fn lsub(&mut self, directory: &str, pattern: &str) -> Result<Response, Error> {
            self.run(|s| s.lsub(directory, pattern))$($await)*
        }

        /// MYRIGHTS `mailbox`.
        pub $($async)* fn myrights(&mut self, mailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.myrights(mailbox))$($await)*
        }

        /// NAMESPACE (RFC 2342).
        pub $($async)* fn namespace(&mut self) -> Result<Response, Error> {
            self.run(|s| s.namespace())$($await)*
        }

        /// NOOP.
        pub $($async)* fn noop(&mut self) -> Result<Response, Error> {
            self.run(|s| s.noop())$($await)*
        }

        /// PARTIAL (obsolete RFC 2060 command): `length` bytes of
        /// `message_part` from `start`.
        pub $($async)* fn partial(&mut self, message_num: &str, message_part: &str, start: u32, length: u32,) -> Result<Response, Error> {
            self.run(|s| s.partial(message_num, message_part, start, length))$($await)*
        }

        /// PROXYAUTH `user`.
        pub $($async)* fn proxyauth(&mut self, user: &str) -> Result<Response, Error> {
            self.run(|s| s.proxyauth(user))$($await)*
        }

        /// The RECENT responses received so far, or a NOOP to prompt for them;
        /// data is `[None]` if there are none.
        pub $($async)* fn recent(&mut self) -> Result<Response, Error> {
            self.run(|s| s.recent())$($await)*
        }

        /// RENAME `oldmailbox` to `newmailbox`.
        pub $($async)* fn rename(&mut self, oldmailbox: &str, newmailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.rename(oldmailbox, newmailbox))$($await)*
        }

        /// SEARCH with `criteria` (each one an argument, e.g. `["FROM", "bob"]`
        /// or `["(FROM \"bob\")"]`), preceded by `CHARSET charset` if given.
        pub $($async)* fn search(&mut self, charset: Option<&str>, criteria: &[&str]) -> Result<Response, Error> {
            self.run(|s| s.search(charset, criteria))$($await)*
        }

        /// SELECT `mailbox`, or EXAMINE it when `readonly`. Data is the EXISTS
        /// count. A NO is returned (state AUTH); a mailbox the server opens
        /// read-only when writing was asked for is a `readonly` error.
        pub $($async)* fn select(&mut self, mailbox: &str, readonly: bool) -> Result<Response, Error> {
            self.run(|s| s.select(mailbox, readonly))$($await)*
        }

        /// SETACL: give `who` the rights `what` on `mailbox`.
        pub $($async)* fn setacl(&mut self, mailbox: &str, who: &str, what: &str) -> Result<Response, Error> {
            self.run(|s| s.setacl(mailbox, who, what))$($await)*
        }

        /// SETANNOTATION `mailbox args…` (draft ANNOTATEMORE).
        pub $($async)* fn setannotation(&mut self, mailbox: &str, args: &[&str]) -> Result<Response, Error> {
            self.run(|s| s.setannotation(mailbox, args))$($await)*
        }

        /// SETQUOTA `root limits` (e.g. `"(STORAGE 1000)"`).
        pub $($async)* fn setquota(&mut self, root: &str, limits: &str) -> Result<Response, Error> {
            self.run(|s| s.setquota(root, limits))$($await)*
        }

        /// SORT (RFC 5256); `sort_criteria` wrapped in parentheses if needed.
        pub $($async)* fn sort(&mut self, sort_criteria: &str, charset: &str, criteria: &[&str],) -> Result<Response, Error> {
            self.run(|s| s.sort(sort_criteria, charset, criteria))$($await)*
        }

        /// STATUS `mailbox names` (e.g. `"(MESSAGES UNSEEN)"`).
        pub $($async)* fn status(&mut self, mailbox: &str, names: &str) -> Result<Response, Error> {
            self.run(|s| s.status(mailbox, names))$($await)*
        }

        /// STORE `command` (e.g. `"+FLAGS"`) `flag_list` on `message_set`;
        /// flags wrapped in parentheses if needed.
        pub $($async)* fn store(&mut self, message_set: &str, command: &str, flag_list: &str,) -> Result<Response, Error> {
            self.run(|s| s.store(message_set, command, flag_list))$($await)*
        }

        /// SUBSCRIBE `mailbox`.
        pub $($async)* fn subscribe(&mut self, mailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.subscribe(mailbox))$($await)*
        }

        /// THREAD (RFC 5256).
        pub $($async)* fn thread(&mut self, threading_algorithm: &str, charset: &str, criteria: &[&str],) -> Result<Response, Error> {
            self.run(|s| s.thread(threading_algorithm, charset, criteria))$($await)*
        }

        /// UID `command args…`: the command with UIDs instead of message
        /// numbers; the result is shaped like the command's own.
        pub $($async)* fn uid(&mut self, command: &str, args: &[&str]) -> Result<Response, Error> {
            self.run(|s| s.uid(command, args))$($await)*
        }

        /// UNSELECT (RFC 3691): leave the mailbox without expunging.
        pub $($async)* fn unselect(&mut self) -> Result<Response, Error> {
            self.run(|s| s.unselect())$($await)*
        }

        /// UNSUBSCRIBE `mailbox`.
        pub $($async)* fn unsubscribe(&mut self, mailbox: &str) -> Result<Response, Error> {
            self.run(|s| s.unsubscribe(mailbox))$($await)*
        }

        /// AUTHENTICATE with `mechanism`: `authobject` is called with each
        /// (base64-decoded) server challenge and returns the answer to send
        /// (base64-encoded for you), or `None` to cancel the exchange.
        pub $($async)* fn authenticate<F>(&mut self, mechanism: &str, mut authobject: F) -> Result<Response, Error>
        where
            F: FnMut(&[u8]) -> Option<Vec<u8>> $($send)*,
        {
            self.check_credentials_may_go_out()?;
            self.run_with_auth(|s| s.authenticate(mechanism), Some(&mut authobject))$($await)*
        }

        /// LOGIN with a plaintext password (always quoted, never traced). A NO
        /// is an error, as in imaplib.
        pub $($async)* fn login(&mut self, user: &str, password: &str) -> Result<Response, Error> {
            self.check_credentials_may_go_out()?;
            self.run(|s| s.login(user, password))$($await)*
        }

        /// AUTHENTICATE CRAM-MD5 with `user` and `password`.
        pub $($async)* fn login_cram_md5(&mut self, user: &str, password: &str) -> Result<Response, Error> {
            let (user, password) = (user.to_string(), imap4_proto::sasl::Secret::new(password));
            self.authenticate("CRAM-MD5", move |challenge| {
                Some(imap4_proto::sasl::cram_md5_response(&user, password.expose(), challenge))
            })$($await)*
        }

        /// An extension command the server advertises: `name args…`. LOGIN and
        /// AUTHENTICATE sent this way obey `require_tls` too.
        pub $($async)* fn xatom(&mut self, name: &str, args: &[&str]) -> Result<Response, Error> {
            if name.eq_ignore_ascii_case("LOGIN") || name.eq_ignore_ascii_case("AUTHENTICATE") {
                self.check_credentials_may_go_out()?;
            }
            self.run(|s| s.xatom(name, args))$($await)*
        }

        /// Fails, sending nothing, when TLS is required and the connection
        /// is not encrypted.
        pub(crate) fn check_credentials_may_go_out(&self) -> Result<(), Error> {
            if self.require_tls && self.transport.tls().is_none() {
                return Err(Error::new(
                    $crate::ErrorKind::Error,
                    "TLS is required, and this connection is not encrypted: credentials not sent",
                ));
            }
            Ok(())
        }
    };
}

pub(crate) use imaplib_commands;

/// Defines the attribute accessors (no I/O) on a driver with `session`,
/// `transport` and `debug` fields.
macro_rules! session_attributes {
    () => {
        /// imaplib's `response(code)`: the data received for `code` so far
        /// (removing it), or `[None]`. No I/O.
        pub fn response(&mut self, code: &str) -> Response {
            self.session.response(code)
        }

        /// `IMAP4REV1` or `IMAP4` (imaplib's `PROTOCOL_VERSION`).
        pub fn protocol_version(&self) -> &str {
            self.session.protocol_version().unwrap_or("IMAP4REV1")
        }

        /// The server's capabilities, upper-cased, in the server's order, as
        /// learned after the greeting (and again after STARTTLS).
        pub fn capabilities(&self) -> &[String] {
            self.session.capabilities()
        }

        /// The greeting line (imaplib's `welcome`).
        pub fn welcome(&self) -> &[u8] {
            self.session.welcome().map(|b| &b[..]).unwrap_or_default()
        }

        /// The connection state.
        pub fn state(&self) -> $crate::State {
            self.session.state()
        }

        /// Whether the selected mailbox was opened read-only (EXAMINE).
        pub fn is_readonly(&self) -> bool {
            self.session.is_readonly()
        }

        /// imaplib's `untagged_responses`: untagged data collected by name.
        pub fn untagged_responses(&self) -> &[(String, Vec<$crate::Data>)] {
            self.session.untagged_responses()
        }

        /// The data of the last continuation request.
        pub fn continuation_response(&self) -> Option<&bytes::Bytes> {
            self.session.continuation_response()
        }

        /// This connection's debug level.
        pub fn debug_level(&self) -> u32 {
            self.debug
        }

        /// Sets this connection's debug level (above 3: trace every command
        /// and response through `tracing`).
        pub fn set_debug(&mut self, level: u32) {
            self.debug = level;
            self.session.set_tracing($crate::client::wants_trace(level));
        }

        /// The limits in force.
        pub fn limits(&self) -> &$crate::Limits {
            self.session.limits()
        }

        /// Changes the limits.
        pub fn set_limits(&mut self, limits: $crate::Limits) {
            self.session.set_limits(limits);
        }

        /// The TLS channel binding of this connection (RFC 9266
        /// `tls-exporter`: 32 bytes exported with the label
        /// `EXPORTER-Channel-Binding` and no context), for the SCRAM `-PLUS`
        /// mechanisms. `None` without TLS, and on TLS 1.2, whose exporter
        /// is only safe with the extended master secret, which cannot be
        /// checked here.
        pub fn tls_exporter(&self) -> Option<Vec<u8>> {
            self.transport.tls().and_then($crate::tls::tls_exporter)
        }

        /// Whether COMPRESS=DEFLATE is on (see [`crate::Typed::compress`]).
        pub fn is_compressed(&self) -> bool {
            self.session.is_compressed()
        }

        /// The sans-IO session underneath.
        pub fn session(&self) -> &imap4_proto::Session {
            &self.session
        }
    };
}

pub(crate) use session_attributes;
