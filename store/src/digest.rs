//! The state digest: every person's key, active flag and record hash prefix,
//! packed in key order into a few hundred large values.
//!
//! An import needs exactly that much of the state for every person, and
//! reading a million `state` rows costs ~0.7 s where reading the digest's
//! ~29 MB costs a few hundredths. It is derived data, like `state` itself:
//! every append rewrites it in the same transaction, and it records the log
//! end it matches. A store whose digest does not match its log end (written
//! before digests existed, or by a build that did not keep it) is read from
//! `state`, and the next append rebuilds the digest from there.
//!
//! It also remembers, for each person, a hash of the file row that last
//! described them (see [`FileRows`]): the next import recognises an
//! unchanged row by its bytes alone, without decoding it. Those hashes
//! cannot be derived from the log; a rebuilt digest has none (zero), and any
//! change to a person not made by an import's row clears theirs.
//!
//! Entry: key length (u32 LE), key, active (0/1), 16-byte record hash
//! prefix, 16-byte row hash (zero: none).

use redb::{ReadTransaction, ReadableTable, TableError, WriteTransaction};

use crate::state::UserState;
use crate::tables::{META, STATE, STATE_DIGEST};
use crate::{RecordHash, StoreError};

/// Bytes of the record hash kept: enough to tell "unchanged" (2^-128).
pub const HASH_PREFIX: usize = 16;

/// Bytes of a row hash.
const ROW_BYTES: usize = std::mem::size_of::<RowHash>();

/// Target bytes per digest value (a little under redb's 256 KiB allocation).
const BLOCK: usize = 256 * 1024 - 4096;

/// The `meta` key recording the log end the digest matches (`v2`: entries
/// with row hashes; a digest tagged under the old key is rebuilt).
pub(crate) const DIGEST_LOG_END: &str = "state_digest_v2_log_end";

/// The tag of digests without row hashes (removed when one is rewritten).
const OLD_DIGEST_LOG_END: &str = "state_digest_log_end";

/// The `meta` key holding the key the digest's row hashes were made with.
pub(crate) const ROW_KEY: &str = "row_hash_key";

/// A hash of one file row's exact fields (see [`FileRows`]); zero: none.
pub type RowHash = [u8; 16];

/// What an import learned about its file's rows, for the next import.
///
/// A row hash is a keyed blake3 of a row's raw fields; the key covers
/// everything else that decides what a row means (header, mapping, CSV
/// settings, ampsync's version). So when tomorrow's row for a person hashes
/// to today's, under the same key, it means the same record, and the diff
/// would find nothing: that row needs no decoding.
#[derive(Debug, Clone)]
pub struct FileRows {
    /// The key the row hashes were made with.
    pub key: [u8; 32],
    /// For each person in the state the import was computed against, in
    /// key order (as [`crate::Store::for_each_state`] visits them): the
    /// hash of the row that describes them after the import, or zero.
    /// Empty when no hash changed (the digest's are kept).
    pub known: Vec<RowHash>,
}

/// One person in the projected state, as the import's scan sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateEntry<'a> {
    pub key: &'a str,
    pub active: bool,
    /// The first [`HASH_PREFIX`] bytes of the record's hash.
    pub hash: [u8; HASH_PREFIX],
    /// The hash of the file row that last described them (see [`FileRows`]).
    pub row: RowHash,
}

impl StateEntry<'_> {
    /// The entry of a person in `state` (no row hash: `state` has none).
    pub(crate) fn from_state<'k>(key: &'k str, active: bool, hash: &RecordHash) -> StateEntry<'k> {
        let mut prefix = [0; HASH_PREFIX];
        prefix.copy_from_slice(&hash[..HASH_PREFIX]);
        StateEntry {
            key,
            active,
            hash: prefix,
            row: RowHash::default(),
        }
    }
}

/// Appends `e` to `out` in the digest's entry format.
pub(crate) fn push_entry(out: &mut Vec<u8>, e: &StateEntry<'_>) {
    out.extend_from_slice(&(e.key.len() as u32).to_le_bytes());
    out.extend_from_slice(e.key.as_bytes());
    out.push(u8::from(e.active));
    out.extend_from_slice(&e.hash);
    out.extend_from_slice(&e.row);
}

/// The entries of one digest value, in order.
pub(crate) fn entries(mut bytes: &[u8]) -> impl Iterator<Item = Result<StateEntry<'_>, StoreError>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let damaged = || StoreError::Inconsistent("the state digest is damaged; run `ampsync verify`".into());
        let entry = (|| {
            let (len, rest) = bytes.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            let key = std::str::from_utf8(rest.get(..len)?).ok()?;
            let active = *rest.get(len)? != 0;
            let hash: [u8; HASH_PREFIX] = rest.get(len + 1..len + 1 + HASH_PREFIX)?.try_into().ok()?;
            let at = len + 1 + HASH_PREFIX;
            let row: RowHash = rest.get(at..at + ROW_BYTES)?.try_into().ok()?;
            bytes = &rest[at + ROW_BYTES..];
            Some(StateEntry { key, active, hash, row })
        })();
        match entry {
            Some(e) => Some(Ok(e)),
            None => {
                bytes = &[];
                Some(Err(damaged()))
            }
        }
    })
}

/// Marks the digest as matching no log end (and its row hashes as made with
/// no key), so the next import reads `state` and rebuilds it.
pub(crate) fn forget_tag(meta: &mut redb::Table<'_, &'static str, &'static [u8]>) -> Result<(), StoreError> {
    meta.remove(DIGEST_LOG_END)?;
    meta.remove(OLD_DIGEST_LOG_END)?;
    meta.remove(ROW_KEY)?;
    Ok(())
}

/// The log end the stored digest matches, if it has one.
pub(crate) fn log_end_of(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Option<u64>, StoreError> {
    Ok(meta
        .get(DIGEST_LOG_END)?
        .and_then(|v| <[u8; 8]>::try_from(v.value()).ok())
        .map(u64::from_le_bytes))
}

/// Visits every person in `state` as a digest entry, in key order.
pub(crate) fn each_in_state(
    state: &impl ReadableTable<&'static str, &'static [u8]>,
    mut f: impl FnMut(StateEntry<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for row in state.iter()? {
        let (key, value) = row?;
        let (active, hash) = UserState::decode_summary(value.value())?;
        f(StateEntry::from_state(key.value(), active, &hash))?;
    }
    Ok(())
}

/// Visits the digest's entries, in key order, when it matches the log end
/// `log_end`; returns whether it did (if not, nothing was visited).
pub(crate) fn each_if_current(
    txn: &ReadTransaction,
    log_end: u64,
    mut f: impl FnMut(StateEntry<'_>),
) -> Result<bool, StoreError> {
    let tag = match txn.open_table(META) {
        Ok(meta) => log_end_of(&meta)?,
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if tag != Some(log_end) {
        return Ok(false);
    }
    let table = match txn.open_table(STATE_DIGEST) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    for block in table.iter()? {
        let (_, value) = block?;
        for entry in entries(value.value()) {
            f(entry?);
        }
    }
    Ok(true)
}

/// People whose state an append changed: their new entries, packed.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    bytes: Vec<u8>,
    /// Start of each entry in `bytes`, in the order they were recorded.
    starts: Vec<usize>,
}

impl Changes {
    /// `row`: the hash of the file row the change came from, or zero.
    pub(crate) fn record(&mut self, key: &str, state_active: bool, hash: &RecordHash, row: RowHash) {
        self.starts.push(self.bytes.len());
        let entry = StateEntry {
            row,
            ..StateEntry::from_state(key, state_active, hash)
        };
        push_entry(&mut self.bytes, &entry);
    }

    fn entry(&self, start: usize) -> Option<StateEntry<'_>> {
        entries(&self.bytes[start..]).next().and_then(Result::ok)
    }

    /// Where each change starts, in key order, one per key (the last
    /// recorded wins). Imports record in key order: then it is one check.
    fn sorted_starts(&self) -> Vec<usize> {
        let key = |s: usize| self.entry(s).map(|e| e.key);
        let mut order = self.starts.clone();
        if !order.windows(2).all(|w| key(w[0]) <= key(w[1])) {
            // Stable: among equal keys the recording order stays.
            order.sort_by(|a, b| key(*a).cmp(&key(*b)));
        }
        // `later` comes after `kept`: the later change replaces it.
        order.dedup_by(|later, kept| {
            let same = key(*later) == key(*kept);
            if same {
                *kept = *later;
            }
            same
        });
        order
    }
}

/// Writes the digest after an append that changed `changes` and left the
/// log at `log_end`: merged into the old digest when that matched
/// `log_before`, else rebuilt from `state` (already updated, and without
/// row hashes). An import passes what it learned of its rows in `rows`.
///
/// New blocks are numbered after the old ones, which are read one at a time
/// and removed at the end, so only a block or two is in memory at once.
pub(crate) fn update(
    txn: &WriteTransaction,
    changes: &Changes,
    log_before: u64,
    log_end: u64,
    rows: Option<&FileRows>,
) -> Result<(), StoreError> {
    let known = rows.map_or(&[][..], |r| r.known.as_slice());
    if log_end == log_before && known.is_empty() {
        return Ok(()); // Nothing appended, nothing learned.
    }
    let mut meta = txn.open_table(META)?;
    let mut table = txn.open_table(STATE_DIGEST)?;
    let old: Vec<u64> = table
        .iter()?
        .map(|b| b.map(|(k, _)| k.value()))
        .collect::<Result<_, _>>()?;
    let mut writer = BlockWriter {
        next: old.last().map_or(0, |last| last + 1),
        current: Vec::with_capacity(BLOCK),
    };
    if log_before == 0 || log_end_of(&meta)? == Some(log_before) {
        let starts = changes.sorted_starts();
        let mut changes = starts.iter().filter_map(|s| changes.entry(*s)).peekable();
        let mut position = 0;
        for n in &old {
            let Some(block) = table.get(n)?.map(|v| v.value().to_vec()) else {
                continue;
            };
            for old in entries(&block) {
                let mut old = old?;
                if let Some(row) = known.get(position) {
                    old.row = *row;
                }
                position += 1;
                while let Some(c) = changes.next_if(|c| c.key < old.key) {
                    writer.push(&mut table, &c)?;
                }
                match changes.next_if(|c| c.key == old.key) {
                    Some(c) => writer.push(&mut table, &c)?,
                    None => writer.push(&mut table, &old)?,
                }
            }
        }
        for c in changes {
            writer.push(&mut table, &c)?;
        }
        if !known.is_empty() && position != known.len() {
            // Row hashes for other people than these: refuse rather than
            // let a row be taken for someone else's.
            return Err(StoreError::Inconsistent(format!(
                "the import's row hashes are for {} people, the state digest holds {position}",
                known.len()
            )));
        }
        if let Some(rows) = rows {
            meta.insert(ROW_KEY, rows.key.as_slice())?;
        }
    } else {
        each_in_state(&txn.open_table(STATE)?, |e| writer.push(&mut table, &e))?;
        meta.remove(ROW_KEY)?;
    }
    writer.finish(&mut table)?;
    if let (Some(first), Some(last)) = (old.first(), old.last()) {
        table.retain_in(*first..=*last, |_, _| false)?;
    }
    meta.insert(DIGEST_LOG_END, log_end.to_le_bytes().as_slice())?;
    meta.remove(OLD_DIGEST_LOG_END)?;
    Ok(())
}

/// The key the digest's row hashes were made with, if it has any.
pub(crate) fn row_key(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Option<[u8; 32]>, StoreError> {
    Ok(meta.get(ROW_KEY)?.and_then(|v| <[u8; 32]>::try_from(v.value()).ok()))
}

type DigestTable<'txn> = redb::Table<'txn, u64, &'static [u8]>;

/// Packs entries into blocks, writing each as it fills.
struct BlockWriter {
    next: u64,
    current: Vec<u8>,
}

impl BlockWriter {
    fn push(&mut self, table: &mut DigestTable<'_>, e: &StateEntry<'_>) -> Result<(), StoreError> {
        if self.current.len() + 5 + e.key.len() + HASH_PREFIX + ROW_BYTES > BLOCK && !self.current.is_empty() {
            self.flush(table)?;
        }
        push_entry(&mut self.current, e);
        Ok(())
    }

    fn flush(&mut self, table: &mut DigestTable<'_>) -> Result<(), StoreError> {
        table.insert(self.next, self.current.as_slice())?;
        self.next += 1;
        self.current.clear();
        Ok(())
    }

    fn finish(mut self, table: &mut DigestTable<'_>) -> Result<(), StoreError> {
        if !self.current.is_empty() {
            self.flush(table)?;
        }
        Ok(())
    }
}
