//! `imap4`: script an IMAP mailbox from the shell.
//!
//! A thin layer over the `imap4` library's typed API: argument parsing,
//! accounts, output. See `imap4 --help`, `imap4 man` and the README's CLI
//! section.

#![forbid(unsafe_code)]

mod backup;
mod cli;
mod commands;
mod config;
mod connect;
mod copy;
mod matching;
mod output;
mod progress;
mod query;
mod retry;
mod trace;
mod watch;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, MailboxArg};
use commands::Out;
use output::{Class, ErrorBody, ErrorOut, Failure};

fn main() -> ExitCode {
    let args = cli::negations(cli::hoist_url(std::env::args().collect()));
    let mut cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Class::Usage.code()
            } else {
                0
            });
        }
    };
    if let Command::Backup {
        account: Some(a), ..
    }
    | Command::Watch {
        account: Some(a), ..
    } = &cli.command
    {
        cli.global.account = Some(a.clone());
    }
    let json = cli.global.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // a success that changed something (`--changed-exit`): no message
        Err(f) if f.class == Class::Changed => ExitCode::from(f.class.code()),
        Err(f) => {
            if json {
                let body = ErrorOut {
                    error: ErrorBody {
                        class: f.class,
                        exit_code: f.class.code(),
                        message: &f.message,
                    },
                };
                let mut e = std::io::stderr().lock();
                let _ = output::json_line(&mut e, &body);
            } else {
                eprintln!("imap4: {}", f.message);
            }
            ExitCode::from(f.class.code())
        }
    }
}

/// The JSON Schema of every command's `--json` output, by command.
fn schema() -> serde_json::Value {
    use commands::*;
    let mut map = serde_json::Map::new();
    let mut put = |name: &str, s: schemars::Schema| {
        map.insert(name.to_string(), s.to_value());
    };
    put("ls", schemars::schema_for!(LsOut));
    put("search", schemars::schema_for!(SearchOut));
    put("list", schemars::schema_for!(EnvelopeOut));
    put("show", schemars::schema_for!(ShowOut));
    put("append", schemars::schema_for!(AppendOut));
    put("flag", schemars::schema_for!(FlagOut));
    put("mv", schemars::schema_for!(TransferOut));
    put("cp", schemars::schema_for!(TransferOut));
    put("rm", schemars::schema_for!(RmOut));
    put("mkdir", schemars::schema_for!(MailboxOpOut));
    put("rmdir", schemars::schema_for!(MailboxOpOut));
    put("rename", schemars::schema_for!(MailboxOpOut));
    put("raw", schemars::schema_for!(RawOut));
    put("backup", schemars::schema_for!(backup::BackupEvent));
    put("copy", schemars::schema_for!(copy::CopyEvent));
    put("watch", schemars::schema_for!(watch::WatchEvent));
    put("error", schemars::schema_for!(ErrorOut<'static>));
    serde_json::Value::Object(map)
}

fn print_out(bytes: &[u8]) -> Result<(), Failure> {
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|e| Failure::new(Class::Local, format!("writing the output: {e}")))
}

fn run(cli: Cli) -> Result<(), Failure> {
    // commands that need no server
    match &cli.command {
        Command::Schema => {
            let text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
            return print_out(format!("{text}\n").as_bytes());
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "imap4", &mut buf);
            return print_out(&buf);
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .map_err(|e| Failure::new(Class::Local, e.to_string()))?;
            return print_out(&buf);
        }
        _ => {}
    }
    let g = &cli.global;
    let file = config::load(g.config.as_deref())?;
    let out = Out {
        json: g.json,
        progress: std::io::stderr().is_terminal(),
        stdout_is_terminal: std::io::stdout().is_terminal(),
    };
    if let Command::Copy { .. } = &cli.command {
        return run_copy(&cli, &file, &out);
    }
    let account = config::resolve(g, &file)?;
    let key = |words: &[String]| query::parse(words).map_err(|e| Failure::new(Class::Usage, e));
    let mailbox = |m: &MailboxArg| m.mailbox.clone().unwrap_or_else(|| account.mailbox.clone());
    // parse everything local before connecting
    let search_key = match &cli.command {
        Command::Search { query, .. } | Command::List { query, .. } => Some(key(query)?),
        _ => None,
    };
    let backup_filter = match &cli.command {
        Command::Backup { filters, .. } => {
            filters.key().map_err(|e| Failure::new(Class::Usage, e))?
        }
        _ => None,
    };
    trace::install(g.verbose, matches!(cli.command, Command::Raw { .. }));
    if let Command::Watch { .. } = &cli.command {
        return run_watch(&cli.command, &account, &out);
    }
    let mut m = connect::open(&account)?;
    let r = match &cli.command {
        Command::Ls {
            pattern,
            no_counts,
            subscribed,
        } => commands::ls(&mut m, &out, pattern, !no_counts, *subscribed),
        Command::Search { mailbox: mb, .. } => commands::search(
            &mut m,
            &out,
            &mailbox(mb),
            search_key.as_ref().unwrap_or(&imap4::typed::SearchKey::All),
        ),
        Command::List {
            mailbox: mb,
            limit,
            page,
            newest,
            ..
        } => commands::list(
            &mut m,
            &out,
            &mailbox(mb),
            search_key.as_ref().unwrap_or(&imap4::typed::SearchKey::All),
            *limit,
            *page,
            *newest,
        ),
        Command::Show {
            mailbox: mb,
            uid,
            part,
            output,
            mark_seen,
        } => commands::show(
            &mut m,
            &out,
            &mailbox(mb),
            *uid,
            part,
            output.as_deref(),
            *mark_seen,
        ),
        Command::Append {
            mailbox: mb,
            flags,
            date,
            files,
        } => commands::append(&mut m, &out, &mailbox(mb), flags, date.as_deref(), files),
        Command::Flag {
            mailbox: mb,
            op,
            uids,
            flags,
        } => commands::flag(&mut m, &out, &mailbox(mb), *op, uids, flags),
        Command::Mv {
            mailbox: mb,
            uids,
            destination,
        } => commands::transfer(&mut m, &out, &mailbox(mb), uids, destination, true),
        Command::Cp {
            mailbox: mb,
            uids,
            destination,
        } => commands::transfer(&mut m, &out, &mailbox(mb), uids, destination, false),
        Command::Rm {
            mailbox: mb,
            uids,
            expunge,
        } => commands::rm(&mut m, &out, &mailbox(mb), uids, *expunge),
        Command::Mkdir { name } => commands::mailbox_op(&mut m, &out, "created", name, None),
        Command::Rmdir { name } => commands::mailbox_op(&mut m, &out, "deleted", name, None),
        Command::Rename { from, to } => {
            commands::mailbox_op(&mut m, &out, "renamed", to, Some(from))
        }
        Command::Raw { commands } => commands::raw(&mut m, &out, commands),
        Command::Backup {
            to,
            format,
            folders,
            exclude,
            no_fsync,
            dry_run,
            batch,
            retries,
            rebuild_state,
            ..
        } => {
            let dir = to
                .clone()
                .unwrap_or_else(|| backup::default_dir(&account.user, &account.host));
            let args = backup::BackupArgs {
                to: &dir,
                format: *format,
                folders,
                exclude,
                fsync: !no_fsync,
                dry_run: *dry_run,
                batch: *batch,
                quiet: false,
                filter: backup_filter.as_ref(),
                rebuild: *rebuild_state,
            };
            let mut summary = backup::BackupSummary::default();
            let r = retry::with_retries(
                &mut m,
                &account,
                *retries,
                |r| retry::announce(&out, r, backup::BackupEvent::Reconnect),
                |m| {
                    summary = backup::BackupSummary::default();
                    backup::backup_into(m, &out, &args, &mut summary)
                },
            );
            let changed = summary.downloaded + summary.flags_changed + summary.vanished > 0;
            changed_exit(r, g.changed_exit && changed && !*dry_run)
        }
        Command::Schema
        | Command::Completions { .. }
        | Command::Man
        | Command::Copy { .. }
        | Command::Watch { .. } => Ok(()),
    };
    if m.state() != imap4::State::Logout {
        let _ = m.logout();
    }
    r
}

/// `copy SOURCE DESTINATION`: two accounts, two connections.
fn run_copy(cli: &Cli, file: &config::ConfigFile, out: &Out) -> Result<(), Failure> {
    let Command::Copy {
        source,
        destination,
        state,
        folders,
        exclude,
        maps,
        filters,
        dry_run,
        batch,
        batch_bytes,
        append,
        retries,
    } = &cli.command
    else {
        return Ok(());
    };
    let g = &cli.global;
    if g.account.is_some() || g.host.is_some() || g.port.is_some() || g.user.is_some() {
        return Err(Failure::new(
            Class::Usage,
            "copy takes both sides as arguments (accounts or URLs); --account, --host, --port \
             and --user would name one of them twice",
        ));
    }
    let side = |name: &str| {
        let mut g = g.clone();
        g.account = Some(name.to_string());
        config::resolve(&g, file)
    };
    let (src, dst) = (side(source)?, side(destination)?);
    let filter = filters.key().map_err(|e| Failure::new(Class::Usage, e))?;
    let state = match state {
        Some(s) => s.clone(),
        None => copy::default_state(&src, &dst).ok_or_else(|| {
            Failure::new(
                Class::Usage,
                "no HOME or XDG_STATE_HOME for the state file: give --state",
            )
        })?,
    };
    let args = copy::CopyArgs {
        state: &state,
        folders,
        exclude,
        maps,
        dry_run: *dry_run,
        batch: *batch,
        batch_bytes: *batch_bytes,
        append: *append,
        filter: filter.as_ref(),
    };
    trace::install(g.verbose, false);
    let mut m = connect::open(&src)?;
    let names = (copy::side_name(&src), copy::side_name(&dst));
    let mut summary = copy::CopySummary::default();
    let r = retry::with_retries(
        &mut m,
        &src,
        *retries,
        |r| retry::announce(out, r, copy::CopyEvent::Reconnect),
        |m| copy::copy(m, &dst, out, &args, (&names.0, &names.1), &mut summary),
    );
    let changed = summary.copied + summary.flags_changed > 0;
    let r = changed_exit(r, g.changed_exit && changed && !*dry_run);
    if m.state() != imap4::State::Logout {
        let _ = m.logout();
    }
    r
}

/// `watch ACCOUNT`: runs until stopped (or `--count`).
fn run_watch(command: &Command, account: &config::Account, out: &Out) -> Result<(), Failure> {
    let Command::Watch {
        folders,
        exec,
        backup,
        format,
        no_fsync,
        no_notify,
        max_connections,
        keepalive,
        probe_timeout,
        refresh,
        poll,
        poll_only,
        backoff,
        backoff_max,
        count,
        ..
    } = command
    else {
        return Ok(());
    };
    let args = watch::WatchArgs {
        folders: if folders.is_empty() {
            vec![account.mailbox.clone()]
        } else {
            // each folder once (twice would report every change twice)
            let mut seen = std::collections::HashSet::new();
            folders
                .iter()
                .filter(|f| seen.insert(f.as_str()))
                .cloned()
                .collect()
        },
        exec: exec.clone(),
        backup: backup.as_ref().map(|dir| watch::BackupTarget {
            dir: dir.clone(),
            format: *format,
            fsync: !no_fsync,
        }),
        notify: !no_notify,
        max_connections: *max_connections,
        idle: imap4::IdleConfig {
            refresh: *refresh,
            keepalive: *keepalive,
            probe_timeout: *probe_timeout,
            poll_interval: *poll,
            poll_only: *poll_only,
        },
        backoff_min: *backoff,
        backoff_max: *backoff_max,
        count: *count,
    };
    watch::watch(account, out, &args)
}

/// A success that changed something is exit 11 with `--changed-exit`.
fn changed_exit(r: Result<(), Failure>, changed: bool) -> Result<(), Failure> {
    match r {
        Ok(()) if changed => Err(Failure::new(Class::Changed, "changed")),
        r => r,
    }
}
