//! The exact bytes of past imports, kept zstd-compressed in the store for
//! `store.keep_raw_days`: written back out byte for byte, and checked
//! against the hash each snapshot recorded.

use std::io::{self, Read};
use std::sync::mpsc;
use std::thread::Scope;

use ampsync_store::{Store, StoreError};

/// Why a raw file cannot be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RawError {
    #[error("no snapshot {0}: see `ampsync snapshots`")]
    NoSuchSnapshot(u64),
    #[error(
        "the file of snapshot {0} is no longer kept (store.keep_raw_days), or was imported before raw files were kept"
    )]
    NotKept(u64),
    #[error("the kept file of snapshot {id} does not match its recorded blake3: it is damaged")]
    Damaged { id: u64 },
    #[error("the kept file of snapshot {id} cannot be decompressed")]
    Decompress {
        id: u64,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// zstd level of kept files: level 1 is ~1.4× faster than 3 on staff CSVs
/// for ~10% more bytes, and the compression runs beside every import.
const LEVEL: i32 = 1;

/// Bytes handed over at a time by the compressing thread.
const CHUNK: usize = 256 * 1024;

/// A file's bytes being zstd-compressed on a thread of its own (started with
/// [`compress_in_background`]), read back as one compressed stream.
///
/// The thread compresses the import's stream as the parser reads it (see
/// `import::input::Tee`), so the compression overlaps the parsing and the
/// writing of the import; what it has produced waits in memory (about a
/// quarter of the file's size). Dropping this stops it.
pub(crate) struct Compressing {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

/// Starts compressing `source` on a thread of `scope`.
pub(crate) fn compress_in_background<'scope>(
    scope: &'scope Scope<'scope, '_>,
    source: Box<dyn Read + Send + 'scope>,
) -> Compressing {
    let (tx, chunks) = mpsc::channel();
    scope.spawn(move || {
        let mut encoder = match zstd::stream::read::Encoder::new(source, LEVEL) {
            Ok(encoder) => encoder,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        loop {
            let mut chunk = vec![0; CHUNK];
            let filled = match fill(&mut encoder, &mut chunk) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            chunk.truncate(filled);
            // A send fails when the import stopped: nothing more to do.
            if filled == 0 || tx.send(Ok(chunk)).is_err() || filled < CHUNK {
                return;
            }
        }
    });
    Compressing {
        chunks,
        chunk: Vec::new(),
        at: 0,
    }
}

/// Reads until `buf` is full or the end; returns how much was read.
fn fill(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Read for Compressing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    self.chunk = chunk?;
                    self.at = 0;
                }
                Err(mpsc::RecvError) => return Ok(0), // The end.
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The exact bytes of snapshot `id`, checked against its hash.
pub fn snapshot_bytes(store: &Store, id: u64) -> Result<Vec<u8>, RawError> {
    let (compressed, file_hash) = kept(store, id)?;
    let bytes =
        zstd::stream::decode_all(compressed.as_slice()).map_err(|source| RawError::Decompress { id, source })?;
    if *blake3::hash(&bytes).as_bytes() != file_hash {
        return Err(RawError::Damaged { id });
    }
    Ok(bytes)
}

/// Checks snapshot `id`'s kept file against its hash, decompressing as it
/// hashes (the file is never whole in memory).
fn check_kept(store: &Store, id: u64) -> Result<(), RawError> {
    let (compressed, file_hash) = kept(store, id)?;
    let mut hasher = blake3::Hasher::new();
    zstd::stream::read::Decoder::new(compressed.as_slice())
        .and_then(|decoder| hasher.update_reader(decoder).map(|_| ()))
        .map_err(|source| RawError::Decompress { id, source })?;
    if *hasher.finalize().as_bytes() != file_hash {
        return Err(RawError::Damaged { id });
    }
    Ok(())
}

/// Snapshot `id`'s kept file, compressed, and the hash it must have.
fn kept(store: &Store, id: u64) -> Result<(Vec<u8>, [u8; 32]), RawError> {
    let meta = store.snapshot(id)?.ok_or(RawError::NoSuchSnapshot(id))?;
    let compressed = store.raw(&meta.file_hash)?.ok_or(RawError::NotKept(id))?;
    Ok((compressed, meta.file_hash))
}

/// Every kept raw file checked against its snapshot's hash: the ids of the
/// damaged ones, and how many were checked.
pub fn verify_raw(store: &Store) -> Result<(u64, Vec<u64>), RawError> {
    let mut checked = 0;
    let mut damaged = Vec::new();
    for meta in store.snapshots()? {
        match check_kept(store, meta.id) {
            Ok(()) => checked += 1,
            Err(RawError::NotKept(_)) => {}
            Err(RawError::Damaged { id } | RawError::Decompress { id, .. }) => {
                checked += 1;
                damaged.push(id);
            }
            // A sealed chunk that does not open with the store's key.
            Err(RawError::Store(StoreError::Unsealable { .. })) => {
                checked += 1;
                damaged.push(meta.id);
            }
            Err(e) => return Err(e),
        }
    }
    Ok((checked, damaged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::import::{ImportOutcome, Input, import};

    #[test]
    fn verify_finds_kept_files_that_no_longer_match() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("s.redb")).expect("store");
        let config = Config::parse("", std::path::Path::new("ampsync.toml")).expect("config");
        let mut hashes = Vec::new();
        for (n, text) in [
            "Email,First name,Last name\na@x.io,A,B\n",
            "Email,First name,Last name\na@x.io,A,B\nb@x.io,C,D\n",
        ]
        .into_iter()
        .enumerate()
        {
            let input = Input::Bytes {
                name: format!("day{n}.csv"),
                bytes: text.as_bytes().to_vec(),
            };
            match import(&store, &config, &input, None).expect("import") {
                ImportOutcome::Imported(report) => hashes.push(report.snapshot.file_hash),
                other => panic!("not imported: {other:?}"),
            }
        }
        assert_eq!(verify_raw(&store).expect("verify"), (2, vec![]));
        assert_eq!(
            snapshot_bytes(&store, 2).expect("bytes"),
            b"Email,First name,Last name\na@x.io,A,B\nb@x.io,C,D\n"
        );

        // Snapshot 1's file replaced by another valid zstd stream, snapshot
        // 2's by bytes that are not zstd at all.
        let other = zstd::stream::encode_all(&b"something else"[..], 1).expect("compress");
        store.overwrite_raw(&hashes[0], &other).expect("tamper");
        store.overwrite_raw(&hashes[1], b"not zstd").expect("tamper");
        assert_eq!(verify_raw(&store).expect("verify"), (2, vec![1, 2]));
        assert!(matches!(snapshot_bytes(&store, 1), Err(RawError::Damaged { id: 1 })));
        assert!(matches!(
            snapshot_bytes(&store, 2),
            Err(RawError::Decompress { id: 2, .. })
        ));
    }
}
