//! The command line: every command, option and flag (clap definitions,
//! also the source of the man page and the shell completions).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Script an IMAP mailbox from the shell.
///
/// Every command connects, logs in, does its work and logs out. The
/// account comes from the configuration file (`--account NAME`, or its
/// default), from an `imap://` or `imaps://` URL given anywhere on the
/// command line, or from the connection flags. Passwords never go on the
/// command line: they come from a command, an environment variable,
/// ~/.netrc or a prompt.
#[derive(Debug, Parser)]
#[command(name = "imap4", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, shown under `--help` and in the man page.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  ok
  1  a local failure (a file could not be read or written)
  2  usage: bad arguments or configuration
  3  connect: the server could not be reached, or it timed out
  4  TLS: the handshake or the certificate failed, or STARTTLS is missing
  5  authentication failed, or no credentials were found
  6  mailbox (or message) not found
  7  the server refused the command (NO or BAD)
  8  protocol or limit: the server broke the protocol or a limit
  9  partial failure: some of the work was done, some not
 10  ok, with a warning: all done, and something needs attention (backup: a
     folder's UIDVALIDITY changed and was reconciled)
 11  ok, with changes (only with --changed-exit): backup or copy downloaded,
     copied or changed something (0 then means nothing changed)";

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The account: a name from the configuration file, or an imap:// or
    /// imaps:// URL (`imaps://alice@imap.example.org/Archive`).
    #[arg(short = 'a', long, global = true, env = "IMAP4_ACCOUNT")]
    pub account: Option<String>,
    /// The configuration file (default: $XDG_CONFIG_HOME/imap4/config.toml,
    /// else ~/.config/imap4/config.toml).
    #[arg(long, global = true, env = "IMAP4_CONFIG")]
    pub config: Option<PathBuf>,
    /// The server's host name.
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// The server's port (default 993 with implicit TLS, else 143).
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// How to secure the connection (default: implicit on port 993,
    /// starttls otherwise; starttls is required, never optional).
    #[arg(long, global = true, value_enum)]
    pub tls: Option<TlsMode>,
    /// The user name to log in with.
    #[arg(short = 'u', long, global = true)]
    pub user: Option<String>,
    /// How a password logs in (default auto: SCRAM where offered, else
    /// PLAIN, LOGIN or the LOGIN command, never in plaintext without TLS).
    #[arg(long, global = true, value_enum)]
    pub auth: Option<AuthMode>,
    /// A shell command printing the password (`pass show mail/work`).
    #[arg(long, global = true)]
    pub password_command: Option<String>,
    /// The environment variable holding the password (default
    /// IMAP4_PASSWORD is always tried).
    #[arg(long, global = true)]
    pub password_env: Option<String>,
    /// A shell command printing an OAuth2 access token; the login then
    /// uses OAUTHBEARER or XOAUTH2.
    #[arg(long, global = true)]
    pub token_command: Option<String>,
    /// A PEM file of CA certificates to trust (besides the system's).
    #[arg(long, global = true)]
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate (with --client-key).
    #[arg(long, global = true, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The PEM private key of --client-cert.
    #[arg(long, global = true, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// DANGEROUS: accept any certificate, so anyone on the path can read
    /// the password and the mail.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Seconds to wait for the server to connect and for each response.
    #[arg(long, global = true)]
    pub timeout: Option<u64>,
    /// COMPRESS=DEFLATE after login, where the server offers it (default
    /// auto: on, except to loopback and private addresses, where it only
    /// costs CPU).
    #[arg(long, global = true, value_enum)]
    pub compress: Option<CompressMode>,
    /// Machine-readable output: one JSON document per command, or JSON
    /// Lines for streams (`list`, `raw`); errors as JSON on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// backup, copy: exit 11 instead of 0 when the run changed something
    /// (downloaded, copied, flags mirrored), so 0 means nothing changed.
    #[arg(long, global = true)]
    pub changed_exit: bool,
    /// Show the protocol on stderr (passwords and tokens redacted).
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS, port 993).
    Implicit,
    /// Plaintext, upgraded with STARTTLS before anything else (port 143);
    /// the command fails if the server does not offer it.
    Starttls,
    /// DANGEROUS outside loopback: no TLS; the password travels in the
    /// clear.
    None,
}

/// Whether to turn COMPRESS=DEFLATE (RFC 4978) on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressMode {
    /// Never.
    Off,
    /// Whenever the server offers it.
    On,
    /// Where the server offers it and is not on loopback or a private
    /// network (10/8, 172.16/12, 192.168/16, fc00::/7, link-local).
    Auto,
}

/// How copy APPENDs a batch of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppendMode {
    /// MULTIAPPEND where offered, else pipelined APPENDs where literals
    /// need no go-ahead (LITERAL+, or LITERAL- for messages up to 4 KiB),
    /// else one APPEND at a time.
    Auto,
    /// One MULTIAPPEND per batch (all or nothing); one at a time where
    /// the server does not offer it.
    Multi,
    /// One APPEND per message, all of a batch sent before any answer is
    /// read (on servers with synchronizing literals only, such as
    /// Courier, this measured slower than one at a time).
    Pipelined,
    /// One APPEND at a time.
    Single,
}

/// How a password logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// The strongest method offered: SCRAM (bound to TLS where possible),
    /// else PLAIN, LOGIN or the LOGIN command.
    Auto,
    /// SCRAM only (SHA-256 before SHA-1; -PLUS over TLS): the password
    /// never reaches the server.
    Scram,
    /// SASL PLAIN only (the password goes to the server, inside TLS). For
    /// servers that advertise SCRAM but cannot do it (stored hashes it
    /// cannot use).
    Plain,
    /// SASL LOGIN, else the LOGIN command.
    Login,
}

impl AuthMode {
    /// The library's methods for this mode (`None`: its own order).
    pub fn methods(self) -> Option<Vec<imap4::sasl::LoginMethod>> {
        use imap4::sasl::LoginMethod as M;
        match self {
            AuthMode::Auto => None,
            AuthMode::Scram => Some(vec![
                M::ScramSha256Plus,
                M::ScramSha1Plus,
                M::ScramSha256,
                M::ScramSha1,
            ]),
            AuthMode::Plain => Some(vec![M::Plain]),
            AuthMode::Login => Some(vec![M::Login, M::LoginCommand]),
        }
    }
}

/// A mailbox option shared by the commands working in one.
#[derive(Debug, Args)]
pub struct MailboxArg {
    /// The mailbox (default: the URL's path, the account's `mailbox`, else
    /// INBOX).
    #[arg(short = 'm', long)]
    pub mailbox: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List mailboxes with their message counts, special use and
    /// subscription.
    Ls {
        /// A LIST pattern (`*` everything, `%` one level).
        #[arg(default_value = "*")]
        pattern: String,
        /// Skip the message counts (one STATUS per mailbox).
        #[arg(long)]
        no_counts: bool,
        /// Only subscribed mailboxes.
        #[arg(long)]
        subscribed: bool,
    },
    /// Search a mailbox on the server; prints the matching UIDs.
    ///
    /// A query is terms joined by AND: from:X to:X cc:X bcc:X subject:X
    /// body:X text:X header:NAME:VALUE since:DATE before:DATE on:DATE
    /// sent-since:DATE sent-before:DATE larger:SIZE smaller:SIZE
    /// keyword:K uid:SET seen unseen flagged unflagged answered
    /// unanswered deleted undeleted draft undraft new old recent all.
    /// `not TERM` (or `-TERM`) negates, `TERM or TERM` alternates, and
    /// parentheses group. DATE is YYYY-MM-DD; SIZE takes k, M or G.
    Search {
        #[command(flatten)]
        mailbox: MailboxArg,
        /// The query (default: all; `-TERM` is `not TERM`).
        query: Vec<String>,
    },
    /// List envelopes (date, from, subject, flags, size) of a mailbox or
    /// of a search, streamed as they arrive.
    List {
        #[command(flatten)]
        mailbox: MailboxArg,
        /// Show at most this many messages (a page).
        #[arg(short = 'n', long)]
        limit: Option<usize>,
        /// Which page of --limit messages (1 is the newest with --newest).
        #[arg(short = 'p', long, default_value_t = 1, requires = "limit")]
        page: usize,
        /// Newest first.
        #[arg(long)]
        newest: bool,
        /// A search query as for `search` (default: all).
        query: Vec<String>,
    },
    /// Write a message (or one part) by UID, its bytes exactly, to stdout
    /// or a file; it is not marked \Seen unless --mark-seen.
    #[command(visible_alias = "fetch")]
    Show {
        #[command(flatten)]
        mailbox: MailboxArg,
        /// The message's UID.
        uid: u32,
        /// A body section: `HEADER`, `TEXT`, `1`, `1.2.MIME`… (default:
        /// the whole message).
        #[arg(long, default_value = "")]
        part: String,
        /// Write to this file instead of stdout.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Mark the message \Seen.
        #[arg(long)]
        mark_seen: bool,
    },
    /// Append messages from files (or stdin: `-` or nothing).
    Append {
        #[command(flatten)]
        mailbox: MailboxArg,
        /// Flags to set, comma-separated (`\Seen,$Important`).
        #[arg(long, value_delimiter = ',')]
        flags: Vec<String>,
        /// The INTERNALDATE: RFC 3339 (`2026-12-01T10:00:00+01:00`) or
        /// IMAP's `01-Dec-2026 10:00:00 +0100` (default: the server's
        /// clock).
        #[arg(long)]
        date: Option<String>,
        /// Message files, each one message in RFC 5322 form.
        files: Vec<PathBuf>,
    },
    /// Add, remove or set flags of messages.
    Flag {
        #[command(flatten)]
        mailbox: MailboxArg,
        /// What to do.
        #[arg(value_enum)]
        op: FlagOp,
        /// The UIDs: `42`, `1:10,15`, `100:*`.
        uids: String,
        /// The flags (`\Seen`, `\Flagged`, `$Label`…); for `set`, none
        /// clears them all.
        flags: Vec<String>,
    },
    /// Move messages to another mailbox (MOVE, or COPY + delete).
    Mv {
        #[command(flatten)]
        mailbox: MailboxArg,
        /// The UIDs.
        uids: String,
        /// The destination mailbox.
        destination: String,
    },
    /// Copy messages to another mailbox.
    Cp {
        #[command(flatten)]
        mailbox: MailboxArg,
        /// The UIDs.
        uids: String,
        /// The destination mailbox.
        destination: String,
    },
    /// Delete messages: mark them \Deleted and expunge them.
    Rm {
        #[command(flatten)]
        mailbox: MailboxArg,
        /// The UIDs.
        uids: String,
        /// What to expunge: `uids` (only these messages; needs UIDPLUS),
        /// `none` (only mark them \Deleted), `all` (EXPUNGE: also every
        /// other message already marked \Deleted).
        #[arg(long, value_enum, default_value_t = Expunge::Uids)]
        expunge: Expunge,
    },
    /// Create a mailbox.
    Mkdir {
        /// Its name.
        name: String,
    },
    /// Delete a mailbox.
    Rmdir {
        /// Its name.
        name: String,
    },
    /// Rename a mailbox.
    Rename {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Send IMAP commands (without tags) from stdin or typed, and show
    /// what the server answers; passwords are redacted in the trace.
    Raw {
        /// Commands to run instead of reading stdin.
        #[arg(short = 'c', long = "command")]
        commands: Vec<String>,
    },
    /// Back up folders into a Maildir, mbox files or .eml files,
    /// incrementally: each run downloads only what is new and mirrors flag
    /// changes (QRESYNC/CONDSTORE where offered). The state is an SQLite
    /// database in the backup directory; bytes are kept exactly as the
    /// server sent them; an interrupted run resumes where it stopped.
    Backup {
        /// The account (a name or an imap:// URL; the same as --account).
        account: Option<String>,
        /// The backup directory (default: ./USER@HOST).
        #[arg(long)]
        to: Option<PathBuf>,
        /// How messages are stored: maildir (flags in the file names), mbox
        /// (one file per folder, mboxrd escaping) or eml (one file each).
        #[arg(long, value_enum, default_value_t = crate::backup::store::Format::Maildir)]
        format: crate::backup::store::Format,
        /// Only these folders (`*` matches anything: `Lists/*`); repeat for
        /// more. Default: every folder.
        #[arg(long = "folder")]
        folders: Vec<String>,
        /// Leave these folders out (patterns as for --folder).
        #[arg(long)]
        exclude: Vec<String>,
        #[command(flatten)]
        filters: Filters,
        /// Do not wait for the disk after each batch (faster; a power
        /// failure may then lose the last batches, though never the state's
        /// consistency with the files that survive).
        #[arg(long)]
        no_fsync: bool,
        /// Only say what would be downloaded; nothing is written, and the
        /// mailboxes are only EXAMINEd.
        #[arg(long)]
        dry_run: bool,
        /// Messages per fetch and per commit of the state.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Reconnect this many times when the connection drops mid-run
        /// (the run resumes from its last committed batch; 0: never).
        #[arg(long, default_value_t = 5)]
        retries: u32,
        /// Recreate a lost or damaged state from the server and the files
        /// (Maildir or eml), downloading nothing; the old state is kept as
        /// `.imap4-backup.sqlite.old`. The next run downloads what has no
        /// file.
        #[arg(long, conflicts_with = "dry_run")]
        rebuild_state: bool,
    },
    /// Copy folders to another server or account: bytes, flags and
    /// INTERNALDATE kept, MULTIAPPEND batches, rerunnable without
    /// duplicates (the state of each source/destination pair is kept in
    /// an SQLite file). The source is only read (EXAMINE, BODY.PEEK).
    ///
    /// Both sides are account names or URLs
    /// (`imap4 copy imaps://me@old.example imaps://me@new.example`); the
    /// global connection flags (--tls, --ca-file, --timeout…) apply to
    /// both, and a password comes from each account's own source.
    Copy {
        /// The source account (a name or a URL).
        source: String,
        /// The destination account (a name or a URL).
        destination: String,
        /// The state file (default:
        /// $XDG_STATE_HOME/imap4/copy/SOURCE--DESTINATION.sqlite).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Only these source folders (`*` matches anything); repeat for
        /// more. Default: every folder except virtual ones (\All,
        /// \Flagged), which are copied only when named exactly.
        #[arg(long = "folder")]
        folders: Vec<String>,
        /// Leave these source folders out (patterns as for --folder).
        #[arg(long)]
        exclude: Vec<String>,
        /// Copy source folder A (and its children) to B: `--map Old=Archive/Old`.
        #[arg(long = "map", value_parser = crate::copy::parse_map)]
        maps: Vec<(String, String)>,
        #[command(flatten)]
        filters: Filters,
        /// Only say what would be copied; nothing is changed on either
        /// server (folders are EXAMINEd and LISTed only).
        #[arg(long)]
        dry_run: bool,
        /// At most this many messages per APPEND.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// At most this many bytes per APPEND (a bigger message goes alone).
        #[arg(long, default_value_t = 8 << 20)]
        batch_bytes: u64,
        /// How a batch is APPENDed.
        #[arg(long, value_enum, default_value_t = AppendMode::Auto)]
        append: AppendMode,
        /// Reconnect this many times when a connection drops mid-run (the
        /// run resumes from its last recorded batch; 0: never).
        #[arg(long, default_value_t = 5)]
        retries: u32,
    },
    /// Watch folders and act on every change: new, expunged and flagged
    /// messages as they happen (IDLE on each folder, or one connection
    /// with NOTIFY where the server offers it), printed as lines or JSON
    /// Lines. Runs until stopped; a lost connection is reopened with
    /// backoff, and what changed meanwhile is reported. Only reads the
    /// server (EXAMINE).
    ///
    /// `--exec CMD` runs `sh -c CMD` on each batch of changes, one run at a
    /// time, with the changes as JSON Lines on its stdin and IMAP4_FOLDER,
    /// IMAP4_FOLDERS, IMAP4_UIDS and IMAP4_CHANGES set; its output goes to
    /// stderr. `--backup DIR` keeps an incremental backup there.
    Watch {
        /// The account (a name or an imap:// URL; the same as --account).
        account: Option<String>,
        /// A folder to watch (its name); repeat for more. Default: the
        /// account's mailbox (INBOX).
        #[arg(long = "folder")]
        folders: Vec<String>,
        /// A shell command to run on each batch of changes.
        #[arg(long)]
        exec: Option<String>,
        /// Back up the watched folders into this directory at the start
        /// and after each change (as `imap4 backup` does).
        #[arg(long)]
        backup: Option<PathBuf>,
        /// The backup's format.
        #[arg(long, value_enum, default_value_t = crate::backup::store::Format::Maildir)]
        format: crate::backup::store::Format,
        /// The backup does not wait for the disk after each batch.
        #[arg(long)]
        no_fsync: bool,
        /// Never use NOTIFY: one connection in IDLE per folder.
        #[arg(long)]
        no_notify: bool,
        /// At most this many connections (one per folder without NOTIFY).
        /// On Gmail also at most the 15 it allows an account, --backup's
        /// connection included.
        #[arg(long, default_value_t = 10)]
        max_connections: usize,
        /// Probe a server that has sent nothing for this many seconds
        /// (DONE, then NOOP).
        #[arg(long, default_value = "300", value_parser = crate::watch::parse_secs)]
        keepalive: std::time::Duration,
        /// Seconds the server has to answer a probe (or IDLE, or DONE)
        /// before the connection is declared dead and reopened.
        #[arg(long, default_value = "30", value_parser = crate::watch::parse_secs)]
        probe_timeout: std::time::Duration,
        /// Renew IDLE after this many seconds (servers may end it after 30
        /// minutes).
        #[arg(long, default_value = "1740", value_parser = crate::watch::parse_secs)]
        refresh: std::time::Duration,
        /// On a server without IDLE (or with --poll-only): seconds between
        /// NOOPs.
        #[arg(long, default_value = "60", value_parser = crate::watch::parse_secs)]
        poll: std::time::Duration,
        /// Poll with NOOP instead of IDLE, for a server whose IDLE reports
        /// nothing (GNU Mailutils).
        #[arg(long)]
        poll_only: bool,
        /// Seconds before the first reconnect; each failure in a row
        /// doubles it.
        #[arg(long, default_value = "1", value_parser = crate::watch::parse_secs)]
        backoff: std::time::Duration,
        /// The longest wait between reconnects, in seconds.
        #[arg(long, default_value = "300", value_parser = crate::watch::parse_secs)]
        backoff_max: std::time::Duration,
        /// Exit after this many changes (once their hook and backup have
        /// run).
        #[arg(long)]
        count: Option<u64>,
    },
    /// Print the JSON Schema of the --json output of every command.
    Schema,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout.
    Man,
}

/// Message filters of `backup` and `copy`, searched on the server.
#[derive(Debug, Clone, Default, Args)]
pub struct Filters {
    /// Only messages received on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<String>,
    /// Only messages received before this date (YYYY-MM-DD).
    #[arg(long)]
    pub before: Option<String>,
    /// Only messages larger than this (bytes, or 10k, 5M).
    #[arg(long)]
    pub larger: Option<String>,
    /// Only messages smaller than this.
    #[arg(long)]
    pub smaller: Option<String>,
}

impl Filters {
    /// The search key they make, if any (`since:… larger:…`, as `search`
    /// reads them).
    pub fn key(&self) -> Result<Option<imap4::typed::SearchKey>, String> {
        let words: Vec<String> = [
            ("since", &self.since),
            ("before", &self.before),
            ("larger", &self.larger),
            ("smaller", &self.smaller),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}:{v}")))
        .collect();
        if words.is_empty() {
            return Ok(None);
        }
        crate::query::parse(&words).map(Some)
    }
}

/// What `flag` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlagOp {
    /// Add the flags.
    Add,
    /// Remove the flags.
    Remove,
    /// Replace the flags with these.
    Set,
}

/// What `rm` expunges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Expunge {
    /// Only the messages named (UID EXPUNGE, RFC 4315).
    Uids,
    /// Nothing: the messages stay, marked \Deleted.
    None,
    /// Every message marked \Deleted in the mailbox.
    All,
}

/// Turns `-TERM` after `search` or `list` into `not TERM`, so a negated
/// query term is not taken for an option (`imap4 search unseen -deleted`).
pub fn negations(args: Vec<String>) -> Vec<String> {
    let Some(at) = args.iter().position(|a| a == "search" || a == "list") else {
        return args;
    };
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for (i, a) in args.into_iter().enumerate() {
        if a == "--" {
            rest = true;
        }
        match a.strip_prefix('-') {
            Some(t) if i > at && !rest && !t.starts_with('-') && crate::query::is_term(t) => {
                out.push("not".to_string());
                out.push(t.to_string());
            }
            _ => out.push(a),
        }
    }
    out
}

/// Finds an `imap://` or `imaps://` URL among the arguments and turns it
/// into `--account URL`, so `imap4 ls imaps://alice@host` works.
pub fn hoist_url(args: Vec<String>) -> Vec<String> {
    let is_url = |a: &str| {
        let l = a.to_ascii_lowercase();
        l.starts_with("imap://") || l.starts_with("imaps://")
    };
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let found =
        (1..end).find(|&i| is_url(&args[i]) && !matches!(args[i - 1].as_str(), "-a" | "--account"));
    // `copy SOURCE DESTINATION` takes its URLs as arguments
    let copy_before = |i: usize| args[1..i].iter().any(|a| a == "copy");
    match found {
        Some(i) if !copy_before(i) => {
            let mut args = args;
            let url = args.remove(i);
            args.insert(1, format!("--account={url}"));
            args
        }
        _ => args,
    }
}
