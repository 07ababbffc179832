//! The state of a server-to-server copy: one SQLite database per
//! (source, destination) pair.
//!
//! - `meta`: the source and destination it belongs to, the schema version.
//! - `folder`: per source folder, its destination folder, the source's
//!   UIDVALIDITY, UIDNEXT, MESSAGES and HIGHESTMODSEQ as of the last
//!   complete pass (a folder whose LIST-STATUS still says the same is not
//!   opened), the destination's UIDVALIDITY, and `pending_from`: while a
//!   batch is being appended, the lowest destination UID it can get.
//! - `message`: per copied message, its source UID, its destination UID
//!   (APPENDUID; NULL without UIDPLUS) and its key (Message-ID, size,
//!   INTERNALDATE as a Unix time).
//! - `pending`: the batch being appended, recorded before the APPEND is
//!   sent. After an interruption the destination is searched from
//!   `pending_from` for these messages: the ones found are recorded as
//!   copied, the others are copied again. Nothing is appended twice.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

const SCHEMA_VERSION: &str = "1";

/// A folder as the state knows it.
#[derive(Debug, Clone, Default)]
pub struct FolderRow {
    /// Its row id.
    pub id: i64,
    /// Its destination folder.
    pub dst_name: String,
    /// The source's UIDVALIDITY the messages' source UIDs belong to.
    pub src_uid_validity: Option<u32>,
    /// The source's UIDNEXT after the last complete pass.
    pub src_uid_next: Option<u32>,
    /// The source's MESSAGES after the last complete pass.
    pub src_messages: Option<u32>,
    /// The source's HIGHESTMODSEQ after the last complete pass (CONDSTORE).
    pub src_highest_modseq: Option<u64>,
    /// The destination's UIDVALIDITY the destination UIDs belong to.
    pub dst_uid_validity: Option<u32>,
    /// A batch was being appended: the lowest destination UID it can have.
    pub pending_from: Option<u32>,
    /// The last pass was not complete (status not recorded).
    pub complete: bool,
}

/// A message's key: (Message-ID or empty, size, INTERNALDATE as a Unix time).
pub type Key = crate::matching::Key<i64>;

/// A copied (or pending) message.
#[derive(Debug, Clone)]
pub struct Copied {
    /// Its source UID.
    pub src_uid: u32,
    /// Its destination UID, where the server said (APPENDUID).
    pub dst_uid: Option<u32>,
    /// Its key.
    pub key: Key,
}

/// The open state database.
pub struct State {
    db: Connection,
}

impl State {
    /// Opens (creating) the state at `path` for `source` → `destination`
    /// (a state file belongs to one pair), in an existing directory.
    pub fn open(path: &Path, source: &str, destination: &str) -> Result<State, String> {
        let db = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let e = |e: rusqlite::Error| format!("{}: {e}", path.display());
        db.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        // the destination server holds the messages; the state need only
        // survive a crash of this process, which WAL with NORMAL does
        db.pragma_update(None, "synchronous", "NORMAL").map_err(e)?;
        db.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(e)?;
        db.execute_batch(
            "BEGIN;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS folder (
                 id INTEGER PRIMARY KEY,
                 src_name TEXT NOT NULL UNIQUE,
                 dst_name TEXT NOT NULL,
                 src_uidvalidity INTEGER,
                 src_uidnext INTEGER,
                 src_messages INTEGER,
                 src_highestmodseq INTEGER NOT NULL DEFAULT 0,
                 dst_uidvalidity INTEGER,
                 pending_from INTEGER,
                 complete INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS message (
                 folder INTEGER NOT NULL REFERENCES folder(id),
                 src_uid INTEGER NOT NULL,
                 dst_uid INTEGER,
                 message_id TEXT NOT NULL,
                 size INTEGER NOT NULL,
                 internaldate INTEGER NOT NULL,
                 PRIMARY KEY (folder, src_uid));
             CREATE TABLE IF NOT EXISTS pending (
                 folder INTEGER NOT NULL REFERENCES folder(id),
                 src_uid INTEGER NOT NULL,
                 message_id TEXT NOT NULL,
                 size INTEGER NOT NULL,
                 internaldate INTEGER NOT NULL,
                 PRIMARY KEY (folder, src_uid));
             COMMIT;",
        )
        .map_err(e)?;
        let pair: Option<(String, String)> = db
            .query_row(
                "SELECT (SELECT value FROM meta WHERE key = 'source'),
                        (SELECT value FROM meta WHERE key = 'destination')",
                [],
                |r| Ok(r.get::<_, Option<String>>(0)?.zip(r.get(1)?)),
            )
            .map_err(e)?;
        match pair {
            Some((s, d)) if s != source || d != destination => {
                return Err(format!(
                    "{} is the state of a copy from {s} to {d}, not from {source} to {destination}",
                    path.display()
                ))
            }
            Some(_) => {}
            None => {
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('source', ?1), ('destination', ?2), ('schema', ?3)",
                    params![source, destination, SCHEMA_VERSION],
                )
                .map_err(e)?;
            }
        }
        Ok(State { db })
    }

    /// Opens an existing state read-only (`--dry-run`); `None` if there is none.
    pub fn open_existing(path: &Path) -> Result<Option<State>, String> {
        if !path.exists() {
            return Ok(None);
        }
        let db = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some(State { db }))
    }

    /// The source folder `name`, if known.
    pub fn folder(&self, name: &str) -> rusqlite::Result<Option<FolderRow>> {
        self.db
            .query_row(
                "SELECT id, dst_name, src_uidvalidity, src_uidnext, src_messages,
                        dst_uidvalidity, pending_from, complete, src_highestmodseq
                 FROM folder WHERE src_name = ?1",
                [name],
                |r| {
                    Ok(FolderRow {
                        id: r.get(0)?,
                        dst_name: r.get(1)?,
                        src_uid_validity: r.get(2)?,
                        src_uid_next: r.get(3)?,
                        src_messages: r.get(4)?,
                        dst_uid_validity: r.get(5)?,
                        pending_from: r.get(6)?,
                        complete: r.get(7)?,
                        src_highest_modseq: r
                            .get::<_, i64>(8)
                            .ok()
                            .and_then(|m| u64::try_from(m).ok())
                            .filter(|m| *m > 0),
                    })
                },
            )
            .optional()
    }

    /// Records a new folder copied to `dst`.
    pub fn add_folder(&self, name: &str, dst: &str) -> rusqlite::Result<FolderRow> {
        self.db.execute(
            "INSERT INTO folder (src_name, dst_name) VALUES (?1, ?2)",
            params![name, dst],
        )?;
        Ok(self.folder(name)?.expect("just inserted"))
    }

    /// The folder's copied messages.
    pub fn copied(&self, folder: i64) -> rusqlite::Result<Vec<Copied>> {
        self.rows(
            "SELECT src_uid, dst_uid, message_id, size, internaldate FROM message
             WHERE folder = ?1 ORDER BY src_uid",
            folder,
        )
    }

    /// The folder's pending batch.
    pub fn pending(&self, folder: i64) -> rusqlite::Result<Vec<Copied>> {
        self.rows(
            "SELECT src_uid, NULL, message_id, size, internaldate FROM pending
             WHERE folder = ?1 ORDER BY src_uid",
            folder,
        )
    }

    fn rows(&self, sql: &str, folder: i64) -> rusqlite::Result<Vec<Copied>> {
        let mut st = self.db.prepare_cached(sql)?;
        let rows = st.query_map([folder], |r| {
            Ok(Copied {
                src_uid: r.get(0)?,
                dst_uid: r.get(1)?,
                key: (r.get(2)?, r.get::<_, i64>(3)? as u64, r.get(4)?),
            })
        })?;
        rows.collect()
    }

    /// Before appending a batch: records it as pending, with the lowest
    /// destination UID it can get.
    pub fn begin_batch(
        &mut self,
        folder: i64,
        dst_uid_validity: u32,
        from: u32,
        batch: &[Copied],
    ) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        tx.execute("DELETE FROM pending WHERE folder = ?1", [folder])?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO pending (folder, src_uid, message_id, size, internaldate)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for c in batch {
                ins.execute(params![folder, c.src_uid, c.key.0, c.key.1 as i64, c.key.2])?;
            }
        }
        tx.execute(
            "UPDATE folder SET pending_from = ?2, dst_uidvalidity = ?3, complete = 0 WHERE id = ?1",
            params![folder, from, dst_uid_validity],
        )?;
        tx.commit()
    }

    /// Records `copied` (the pending batch, or what was found of it) and
    /// clears the pending batch.
    pub fn commit_batch(&mut self, folder: i64, copied: &[Copied]) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR REPLACE INTO message (folder, src_uid, dst_uid, message_id, size, internaldate)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for c in copied {
                ins.execute(params![
                    folder,
                    c.src_uid,
                    c.dst_uid,
                    c.key.0,
                    c.key.1 as i64,
                    c.key.2
                ])?;
            }
        }
        tx.execute("DELETE FROM pending WHERE folder = ?1", [folder])?;
        tx.execute(
            "UPDATE folder SET pending_from = NULL WHERE id = ?1",
            [folder],
        )?;
        tx.commit()
    }

    /// Replaces the folder's records (after a UIDVALIDITY change on either
    /// side): `copied` as they now are, for these UIDVALIDITYs.
    pub fn replace(
        &mut self,
        folder: i64,
        src_uid_validity: u32,
        dst_uid_validity: Option<u32>,
        copied: &[Copied],
    ) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        tx.execute("DELETE FROM message WHERE folder = ?1", [folder])?;
        tx.execute("DELETE FROM pending WHERE folder = ?1", [folder])?;
        tx.execute(
            "UPDATE folder SET src_uidvalidity = ?2, dst_uidvalidity = ?3, pending_from = NULL,
                 complete = 0 WHERE id = ?1",
            params![folder, src_uid_validity, dst_uid_validity],
        )?;
        tx.commit()?;
        self.commit_batch(folder, copied)
    }

    /// Sets the source UIDVALIDITY of a folder's first pass.
    pub fn set_src_uid_validity(&self, folder: i64, uv: u32) -> rusqlite::Result<()> {
        self.db.execute(
            "UPDATE folder SET src_uidvalidity = ?2 WHERE id = ?1",
            params![folder, uv],
        )?;
        Ok(())
    }

    /// A complete pass over the folder: the source's status as it then was.
    pub fn finish_folder(
        &self,
        folder: i64,
        uid_next: Option<u32>,
        messages: u32,
        highest_modseq: u64,
    ) -> rusqlite::Result<()> {
        self.db.execute(
            "UPDATE folder SET src_uidnext = ?2, src_messages = ?3, src_highestmodseq = ?4,
                 complete = 1 WHERE id = ?1",
            params![folder, uid_next, messages, highest_modseq as i64],
        )?;
        Ok(())
    }
}
