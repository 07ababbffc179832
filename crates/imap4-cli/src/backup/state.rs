//! The state of a backup: an SQLite database (`.imap4-backup.sqlite`) in
//! the backup's directory.
//!
//! - `meta`: the store's format and the schema version.
//! - `folder`: per mailbox, its store path, UIDVALIDITY, HIGHESTMODSEQ,
//!   UIDNEXT and message count as of the last complete run, the committed
//!   length of its mbox, and whether a run was interrupted in it.
//! - `message`: per stored message, its UIDVALIDITY and UID (NULL once
//!   it is no longer on the server: the local copy stays), size, SHA-256,
//!   Message-ID, INTERNALDATE, flags and local path (and mbox offset),
//!   and on Gmail its message id (`X-GM-MSGID`, the same in every label's
//!   folder: a message already stored under another label is copied from
//!   the backup, not downloaded again).
//!
//! A batch of messages is committed in one transaction after its files
//! are durable, so the state never names a file that may not exist.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::store::{Format, Stored};

/// The database's file name in the backup directory.
pub const FILE: &str = ".imap4-backup.sqlite";
const SCHEMA_VERSION: &str = "1";

/// A folder as the state knows it.
#[derive(Debug, Clone)]
pub struct FolderRow {
    /// Its row id.
    pub id: i64,
    /// Its store path, relative to the backup's root.
    pub path: String,
    /// UIDVALIDITY (None before the first committed batch).
    pub uid_validity: Option<u32>,
    /// HIGHESTMODSEQ as of the last complete run (0: unknown).
    pub highest_modseq: u64,
    /// UIDNEXT as of the last complete run.
    pub uid_next: Option<u32>,
    /// MESSAGES as of the last complete run.
    pub messages: Option<u32>,
    /// The committed length of its mbox.
    pub mbox_length: u64,
    /// A run was interrupted while downloading into it.
    pub dirty: bool,
}

/// A message that came in, to record.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Its UID.
    pub uid: u32,
    /// Its flags.
    pub flags: Vec<String>,
    /// Its INTERNALDATE as sent.
    pub internal_date: Option<String>,
    /// Where and what was stored.
    pub stored: Stored,
    /// Its Gmail message id (`X-GM-MSGID`), on Gmail.
    pub gm_msgid: Option<u64>,
}

/// A message recorded earlier, for reconciling after a UIDVALIDITY change.
#[derive(Debug, Clone)]
pub struct OldMessage {
    /// Its row id.
    pub id: i64,
    /// Its size.
    pub size: u64,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Its INTERNALDATE as sent.
    pub internal_date: Option<String>,
    /// Its path.
    pub path: String,
}

/// The open state database.
pub struct State {
    db: Connection,
}

fn flags_text(flags: &[String]) -> String {
    flags.join(" ")
}

impl State {
    /// Opens (creating) the state of the backup in `root`, in `format`
    /// (a backup directory keeps its format); `durable`: every commit
    /// waits for the disk.
    pub fn open(root: &Path, format: Format, durable: bool) -> Result<State, String> {
        let path = root.join(FILE);
        let db = Connection::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let e = |e: rusqlite::Error| format!("{}: {e}", path.display());
        db.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        db.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })
            .map_err(e)?;
        // a second run on the same directory waits, then gives up
        db.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(e)?;
        db.execute_batch(
            "BEGIN;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS folder (
                 id INTEGER PRIMARY KEY,
                 name TEXT NOT NULL UNIQUE,
                 path TEXT NOT NULL,
                 uidvalidity INTEGER,
                 highestmodseq INTEGER NOT NULL DEFAULT 0,
                 uidnext INTEGER,
                 messages INTEGER,
                 mbox_length INTEGER NOT NULL DEFAULT 0,
                 dirty INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS message (
                 id INTEGER PRIMARY KEY,
                 folder INTEGER NOT NULL REFERENCES folder(id),
                 uidvalidity INTEGER NOT NULL,
                 uid INTEGER,
                 size INTEGER NOT NULL,
                 sha256 BLOB NOT NULL,
                 message_id TEXT,
                 internaldate TEXT,
                 flags TEXT NOT NULL,
                 path TEXT NOT NULL,
                 offset INTEGER,
                 gm_msgid INTEGER,
                 UNIQUE (folder, uid));
             COMMIT;",
        )
        .map_err(e)?;
        // a state written before Gmail message ids were recorded
        let has_gm: bool = db
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('message') WHERE name = 'gm_msgid'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(e)?
            > 0;
        if !has_gm {
            db.execute_batch("ALTER TABLE message ADD COLUMN gm_msgid INTEGER")
                .map_err(e)?;
        }
        db.execute_batch("CREATE INDEX IF NOT EXISTS message_gm ON message (gm_msgid)")
            .map_err(e)?;
        let stored: Option<String> = db
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(e)?;
        match stored {
            Some(f) if f != format.name() => {
                return Err(format!(
                    "{} holds a backup in {f} format, not {}",
                    root.display(),
                    format.name()
                ))
            }
            Some(_) => {}
            None => {
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('format', ?1), ('schema', ?2)",
                    params![format.name(), SCHEMA_VERSION],
                )
                .map_err(e)?;
            }
        }
        Ok(State { db })
    }

    /// Opens the state of an existing backup in `root` read-only (for
    /// `--dry-run`), or `None` when there is none.
    pub fn open_existing(root: &Path) -> Result<Option<State>, String> {
        let path = root.join(FILE);
        if !path.exists() {
            return Ok(None);
        }
        let db = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some(State { db }))
    }

    /// The folder `name`, if known.
    pub fn folder(&self, name: &str) -> rusqlite::Result<Option<FolderRow>> {
        self.db
            .query_row(
                "SELECT id, path, uidvalidity, highestmodseq, uidnext, messages, mbox_length, dirty
                 FROM folder WHERE name = ?1",
                [name],
                |r| {
                    Ok(FolderRow {
                        id: r.get(0)?,
                        path: r.get(1)?,
                        uid_validity: r.get(2)?,
                        highest_modseq: r.get::<_, i64>(3)? as u64,
                        uid_next: r.get(4)?,
                        messages: r.get(5)?,
                        mbox_length: r.get::<_, i64>(6)? as u64,
                        dirty: r.get(7)?,
                    })
                },
            )
            .optional()
    }

    /// Records a new folder stored at `path`.
    pub fn add_folder(&self, name: &str, path: &str) -> rusqlite::Result<FolderRow> {
        self.db.execute(
            "INSERT INTO folder (name, path) VALUES (?1, ?2)",
            params![name, path],
        )?;
        Ok(self.folder(name)?.expect("just inserted"))
    }

    /// The paths of every message of the folder.
    pub fn paths(&self, folder: i64) -> rusqlite::Result<HashSet<String>> {
        let mut st = self
            .db
            .prepare("SELECT DISTINCT path FROM message WHERE folder = ?1")?;
        let rows = st.query_map([folder], |r| r.get(0))?;
        rows.collect()
    }

    /// The UIDs of the folder's messages still on the server.
    pub fn uids(&self, folder: i64) -> rusqlite::Result<Vec<u32>> {
        let mut st = self.db.prepare(
            "SELECT uid FROM message WHERE folder = ?1 AND uid IS NOT NULL ORDER BY uid",
        )?;
        let rows = st.query_map([folder], |r| r.get(0))?;
        rows.collect()
    }

    /// Marks the folder as being downloaded into (cleared by
    /// [`State::finish_folder`]).
    pub fn set_dirty(&self, folder: i64) -> rusqlite::Result<()> {
        self.db
            .execute("UPDATE folder SET dirty = 1 WHERE id = ?1", [folder])?;
        Ok(())
    }

    /// Records a batch of stored messages (their files already durable),
    /// the folder's UIDVALIDITY and its mbox's length, in one transaction.
    pub fn commit_batch(
        &mut self,
        folder: i64,
        uid_validity: u32,
        messages: &[NewMessage],
        mbox_length: u64,
    ) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR REPLACE INTO message
                 (folder, uidvalidity, uid, size, sha256, message_id, internaldate, flags, path, offset,
                  gm_msgid)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for m in messages {
                ins.execute(params![
                    folder,
                    uid_validity,
                    m.uid,
                    m.stored.size as i64,
                    &m.stored.sha256[..],
                    m.stored.message_id,
                    m.internal_date,
                    flags_text(&m.flags),
                    m.stored.path,
                    m.stored.offset.map(|o| o as i64),
                    m.gm_msgid.map(|g| g as i64),
                ])?;
            }
            tx.execute(
                "UPDATE folder SET uidvalidity = ?2, mbox_length = ?3 WHERE id = ?1",
                params![folder, uid_validity, mbox_length as i64],
            )?;
        }
        tx.commit()
    }

    /// A stored copy of each of these Gmail message ids the backup holds
    /// (in any folder).
    pub fn gmail_copies(&self, ids: &[u64]) -> rusqlite::Result<HashMap<u64, Stored>> {
        let mut st = self.db.prepare_cached(
            "SELECT path, offset, size, sha256, message_id FROM message WHERE gm_msgid = ?1 LIMIT 1",
        )?;
        let mut out = HashMap::new();
        for &id in ids {
            let copy = st
                .query_row([id as i64], |r| {
                    let sha: Vec<u8> = r.get(3)?;
                    Ok(Stored {
                        path: r.get(0)?,
                        offset: r.get::<_, Option<i64>>(1)?.map(|o| o as u64),
                        size: r.get::<_, i64>(2)? as u64,
                        sha256: sha.try_into().unwrap_or([0; 32]),
                        message_id: r.get(4)?,
                    })
                })
                .optional()?;
            if let Some(c) = copy {
                out.insert(id, c);
            }
        }
        Ok(out)
    }

    /// The folder is complete as of this state of the server's mailbox.
    pub fn finish_folder(
        &self,
        folder: i64,
        uid_validity: u32,
        highest_modseq: u64,
        uid_next: Option<u32>,
        messages: Option<u32>,
    ) -> rusqlite::Result<()> {
        self.db.execute(
            "UPDATE folder SET uidvalidity = ?2, highestmodseq = ?3, uidnext = ?4, messages = ?5,
             dirty = 0 WHERE id = ?1",
            params![
                folder,
                uid_validity,
                highest_modseq as i64,
                uid_next,
                messages
            ],
        )?;
        Ok(())
    }

    /// Every message of the folder still on the server, by UID: (row id,
    /// flags, path).
    pub fn by_uid(&self, folder: i64) -> rusqlite::Result<HashMap<u32, (i64, String, String)>> {
        let mut st = self.db.prepare(
            "SELECT uid, id, flags, path FROM message WHERE folder = ?1 AND uid IS NOT NULL",
        )?;
        let rows = st.query_map([folder], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?;
        rows.collect()
    }

    /// New flags (and paths) of messages, in one transaction.
    pub fn update_flags(&mut self, changes: &[(i64, String, String)]) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        {
            let mut up =
                tx.prepare_cached("UPDATE message SET flags = ?2, path = ?3 WHERE id = ?1")?;
            for (id, flags, path) in changes {
                up.execute(params![id, flags, path])?;
            }
        }
        tx.commit()
    }

    /// Messages gone from the server: their UIDs are forgotten, their
    /// local copies kept.
    pub fn vanish(&mut self, folder: i64, uids: &[u32]) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        {
            let mut up =
                tx.prepare_cached("UPDATE message SET uid = NULL WHERE folder = ?1 AND uid = ?2")?;
            for uid in uids {
                up.execute(params![folder, uid])?;
            }
        }
        tx.commit()
    }

    /// The folder's UIDVALIDITY changed: every UID recorded is void. The
    /// messages (all of them, also those gone from the server before) are
    /// returned to be matched against the server's, and their UIDs
    /// forgotten in the same transaction as `reassign`.
    pub fn old_messages(&self, folder: i64) -> rusqlite::Result<Vec<OldMessage>> {
        let mut st = self.db.prepare(
            "SELECT id, size, message_id, internaldate, path FROM message WHERE folder = ?1
             ORDER BY id",
        )?;
        let rows = st.query_map([folder], |r| {
            Ok(OldMessage {
                id: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                message_id: r.get(2)?,
                internal_date: r.get(3)?,
                path: r.get(4)?,
            })
        })?;
        rows.collect()
    }

    /// After a UIDVALIDITY change: forgets every UID of the folder, then
    /// gives the matched messages their new UIDVALIDITY, UID, flags and
    /// path; one transaction.
    pub fn reassign(
        &mut self,
        folder: i64,
        uid_validity: u32,
        matched: &[(i64, u32, String, String)],
    ) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        {
            tx.execute("UPDATE message SET uid = NULL WHERE folder = ?1", [folder])?;
            let mut up = tx.prepare_cached(
                "UPDATE message SET uidvalidity = ?2, uid = ?3, flags = ?4, path = ?5 WHERE id = ?1",
            )?;
            for (id, uid, flags, path) in matched {
                up.execute(params![id, uid_validity, uid, flags, path])?;
            }
            tx.execute(
                "UPDATE folder SET uidvalidity = ?2, highestmodseq = 0 WHERE id = ?1",
                params![folder, uid_validity],
            )?;
        }
        tx.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state written before Gmail message ids were recorded gains the
    /// column, keeps its rows, and records and finds ids after that.
    #[test]
    fn an_older_state_gains_the_gmail_id_column() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let db = Connection::open(tmp.path().join(FILE)).unwrap();
            db.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES ('format', 'maildir'), ('schema', '1');
                 CREATE TABLE folder (
                     id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
                     uidvalidity INTEGER, highestmodseq INTEGER NOT NULL DEFAULT 0,
                     uidnext INTEGER, messages INTEGER,
                     mbox_length INTEGER NOT NULL DEFAULT 0, dirty INTEGER NOT NULL DEFAULT 0);
                 CREATE TABLE message (
                     id INTEGER PRIMARY KEY, folder INTEGER NOT NULL REFERENCES folder(id),
                     uidvalidity INTEGER NOT NULL, uid INTEGER, size INTEGER NOT NULL,
                     sha256 BLOB NOT NULL, message_id TEXT, internaldate TEXT,
                     flags TEXT NOT NULL, path TEXT NOT NULL, offset INTEGER,
                     UNIQUE (folder, uid));
                 INSERT INTO folder (id, name, path) VALUES (1, 'INBOX', 'INBOX');
                 INSERT INTO message (folder, uidvalidity, uid, size, sha256, flags, path)
                     VALUES (1, 7, 1, 3, x'00', '', 'INBOX/cur/7_1');",
            )
            .unwrap();
        }
        let mut s = State::open(tmp.path(), Format::Maildir, false).unwrap();
        assert_eq!(s.uids(1).unwrap(), vec![1], "rows kept");
        let stored = Stored {
            path: "INBOX/cur/7_2".into(),
            offset: None,
            size: 5,
            sha256: [9; 32],
            message_id: None,
        };
        let m = NewMessage {
            uid: 2,
            flags: vec![],
            internal_date: None,
            stored,
            gm_msgid: Some(1234),
        };
        s.commit_batch(1, 7, &[m], 0).unwrap();
        let found = s.gmail_copies(&[1234, 99]).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[&1234].path, "INBOX/cur/7_2");
        assert_eq!(found[&1234].sha256, [9; 32]);
        // and opening it again finds the column there
        drop(s);
        State::open(tmp.path(), Format::Maildir, false).unwrap();
    }
}
