//! The redb tables. The on-disk schema is these definitions plus the value
//! encodings next to each type; `SCHEMA_VERSION` names the combination.

use redb::{MultimapTableDefinition, TableDefinition};

/// `"schema"` → schema version (u32 LE), `"created"` → creation time.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Snapshot id → `SnapshotMeta`.
pub(crate) const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");
/// File blake3 → snapshot id: the idempotency check.
pub(crate) const SNAPSHOT_BY_HASH: TableDefinition<&[u8; 32], u64> = TableDefinition::new("snapshot_by_hash");
/// Sequence number → event (see `Event::encode_new`).
pub(crate) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// User key → that person's event sequence numbers.
pub(crate) const USER_EVENTS: MultimapTableDefinition<&str, u64> = MultimapTableDefinition::new("user_events");
/// User key → `UserState` (see `UserState::encode`).
pub(crate) const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");
/// Sequence number → `Delivery`.
pub(crate) const DELIVERY: TableDefinition<u64, &[u8]> = TableDefinition::new("delivery");
/// User key → Learn Amp user id.
pub(crate) const REMOTE_IDS: TableDefinition<&str, u64> = TableDefinition::new("remote_ids");
/// Remote file (`sftp://host/dir/name`) → size, mtime and snapshot id of
/// its import, so a file already imported is not downloaded again.
pub(crate) const SOURCE_FILES: TableDefinition<&str, (u64, u64, u64)> = TableDefinition::new("source_files");
/// (held snapshot id, n) → the n-th event it would append: key and kind.
pub(crate) const HELD_EVENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("held_events");
/// User key → consecutive imports the person has been missing from, while
/// `policy.deactivate_after_missing` has not yet deactivated them.
pub(crate) const ABSENCE: TableDefinition<&str, u32> = TableDefinition::new("absence");
/// (file blake3, chunk number) → up to 1 MiB of the zstd-compressed exact
/// bytes of an import, kept for `store.keep_raw_days`.
pub(crate) const RAW: TableDefinition<(&[u8; 32], u64), &[u8]> = TableDefinition::new("raw");
/// Block number → packed (key, active, record hash prefix) of every person
/// in `state`, in key order: what an import reads (see `digest.rs`).
pub(crate) const STATE_DIGEST: TableDefinition<u64, &[u8]> = TableDefinition::new("state_digest");
/// Snapshot id → how it read its file: config fingerprint, re-import of
/// which snapshot (see `origin.rs`). Snapshots from before it have none.
pub(crate) const SNAPSHOT_ORIGIN: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshot_origin");
/// Erasure id → `Erasure`: who was forgotten, when, why, by whom, and which
/// events lost their values (schema 2).
pub(crate) const ERASURES: TableDefinition<u64, &[u8]> = TableDefinition::new("erasures");
