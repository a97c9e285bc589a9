//! The bytes of an import, read once.
//!
//! A file is opened once, and everything an import does with it goes
//! through that one handle: the blake3 of the whole file (for the
//! already-imported check), then one stream that is parsed, compressed
//! into the store and hashed again as it goes. If the stream's hash is not
//! the first one, the file changed while it was read and nothing is
//! imported; a file replaced by a rename meanwhile is never seen at all
//! (the handle keeps the file it opened). So the hash recorded is always
//! the hash of the bytes parsed and kept.
//!
//! Pipes, standard input (`-`) and other files that cannot be read twice
//! are first copied to a private temporary file (0600, unnamed).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

/// The bytes to import.
#[derive(Debug)]
pub enum Input {
    /// A file by its path, opened once; `-` is standard input.
    File(PathBuf),
    /// A file already open (an sFTP download, a file whose first bytes were
    /// looked at), recorded under `name`.
    Opened { file: File, name: String },
    /// Bytes already in memory (a decrypted file), named for messages.
    Bytes { name: String, bytes: Vec<u8> },
}

impl Input {
    /// The name used in messages and recorded as the snapshot's source.
    pub fn name(&self) -> String {
        match self {
            Input::File(path) if is_stdin(path) => "stdin".to_owned(),
            Input::File(path) => path.display().to_string(),
            Input::Opened { name, .. } | Input::Bytes { name, .. } => name.clone(),
        }
    }

    /// Opens the input, once: a regular file as it is, anything else (a
    /// pipe, standard input) copied to a private temporary file first.
    pub(crate) fn open(&self) -> io::Result<Opened<'_>> {
        match self {
            Input::File(path) if is_stdin(path) => spool(io::stdin().lock()),
            Input::File(path) => Opened::file(Handle::Owned(File::open(path)?)),
            Input::Opened { file, .. } => Opened::file(Handle::Borrowed(file)),
            Input::Bytes { bytes, .. } => Ok(Opened::Bytes(bytes)),
        }
    }
}

fn is_stdin(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// A file handle the import owns, or one it was given.
#[derive(Debug)]
pub(crate) enum Handle<'a> {
    Owned(File),
    Borrowed(&'a File),
}

impl Handle<'_> {
    fn file(&self) -> &File {
        match self {
            Handle::Owned(file) => file,
            Handle::Borrowed(file) => file,
        }
    }
}

/// An input opened for one import.
#[derive(Debug)]
pub(crate) enum Opened<'a> {
    /// A regular file (or the private copy of a pipe) and its length when opened.
    File {
        handle: Handle<'a>,
        len: u64,
    },
    Bytes(&'a [u8]),
}

/// Files at least this long are hashed on several threads; below it a
/// thread pool costs more than it saves.
const PARALLEL_MIN: u64 = 1 << 20;

/// Bytes of a file mapped at a time while hashing: bounds what the mapping
/// adds to the resident set, however large the file.
const WINDOW: u64 = 64 << 20;

/// Bytes read from the file at a time by the stream, and handed to the
/// compressor as one chunk. Below glibc's first mmap threshold (128 KiB):
/// freeing mmapped blocks over and over raises that threshold, and then
/// the rest of the import's allocations, kept in the heap, peaked ~60 MiB
/// higher.
const CHUNK: usize = 64 * 1024;

/// Chunks the stream may be ahead of the compressor (8 MiB).
const CHUNKS_AHEAD: usize = 128;

impl<'a> Opened<'a> {
    fn file(handle: Handle<'a>) -> io::Result<Opened<'a>> {
        let meta = handle.file().metadata()?;
        if meta.is_file() {
            return Ok(Opened::File {
                handle,
                len: meta.len(),
            });
        }
        // A pipe, a FIFO or a device: its bytes can be read only once.
        spool(handle.file())
    }

    /// blake3 of the bytes, and their length.
    pub(crate) fn hash(&self) -> io::Result<([u8; 32], u64)> {
        let mut hasher = blake3::Hasher::new();
        match self {
            Opened::Bytes(bytes) if bytes.len() as u64 >= PARALLEL_MIN => {
                hasher.update_rayon(bytes);
            }
            Opened::Bytes(bytes) => {
                hasher.update(bytes);
            }
            Opened::File { handle, len } if *len >= PARALLEL_MIN => hash_mapped(handle.file(), *len, &mut hasher)?,
            Opened::File { handle, .. } => {
                hasher.update_reader(FileReader::new(handle.file()))?;
            }
        }
        Ok((*hasher.finalize().as_bytes(), hasher.count()))
    }

    /// The bytes from the start, as one stream.
    pub(crate) fn reader(&self) -> Box<dyn Read + Send + '_> {
        match self {
            Opened::File { handle, .. } => Box::new(FileReader::new(handle.file())),
            Opened::Bytes(bytes) => Box::new(*bytes),
        }
    }
}

/// Hashes `len` bytes of `file` on several threads (as `b3sum` does), a
/// mapped window at a time.
fn hash_mapped(file: &File, len: u64, hasher: &mut blake3::Hasher) -> io::Result<()> {
    let mut at = 0;
    while at < len {
        let size = WINDOW.min(len - at);
        // Touching a mapped page past the end of a file truncated meanwhile
        // would stop the process (SIGBUS): look again just before.
        if file.metadata()?.len() < at + size {
            return Err(changed());
        }
        let window = map(file, at, size as usize)?;
        hasher.update_rayon(&window);
        at += size;
    }
    Ok(())
}

/// Maps `len` bytes of `file` from `offset`, read-only.
#[allow(unsafe_code)]
fn map(file: &File, offset: u64, len: usize) -> io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is private to this module and only ever read as
    // bytes to hash. If another process writes to the file meanwhile, the
    // hash is of some mix of old and new bytes; the stream's own hash then
    // differs from it and the import stops (see `Tee`).
    // Not populated up front: faulted in by the hashing threads, the pages
    // are mapped on both cores (populating measured ~20% slower here).
    unsafe { memmap2::MmapOptions::new().offset(offset).len(len).map(file) }
}

/// The error for a file truncated while it was being hashed.
fn changed() -> io::Error {
    io::Error::other("the file was truncated while it was being read (is it still being written?)")
}

/// Copies `source` to a private temporary file, unnamed and readable only
/// by this user, and opens that instead.
fn spool<'a>(mut source: impl Read) -> io::Result<Opened<'a>> {
    let mut copy = tempfile::tempfile()?;
    let len = io::copy(&mut source, &mut copy)?;
    Ok(Opened::File {
        handle: Handle::Owned(copy),
        len,
    })
}

/// Reads a file from its start with positioned reads: the handle's own
/// offset is neither used nor moved, so a handle given by the caller reads
/// the same however it was used before.
struct FileReader<'a> {
    file: &'a File,
    at: u64,
}

impl<'a> FileReader<'a> {
    fn new(file: &'a File) -> FileReader<'a> {
        FileReader { file, at: 0 }
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// A chunk of the stream, shared by the parser and the compressor.
pub(crate) type Chunk = Arc<Vec<u8>>;

/// The import's one stream: hands its bytes to the parser, a chunk at a
/// time to the compressor, and hashes them on the way.
pub(crate) struct Tee<'a> {
    inner: Box<dyn Read + Send + 'a>,
    hasher: blake3::Hasher,
    to_raw: Option<mpsc::SyncSender<Chunk>>,
    chunk: Chunk,
    at: usize,
}

impl<'a> Tee<'a> {
    /// The stream of `inner`, also sent to the compressor when `to_raw` is given.
    pub(crate) fn new(inner: Box<dyn Read + Send + 'a>, to_raw: Option<mpsc::SyncSender<Chunk>>) -> Tee<'a> {
        Tee {
            inner,
            hasher: blake3::Hasher::new(),
            to_raw,
            chunk: Arc::default(),
            at: 0,
        }
    }

    /// Reads what the parser left (nothing, normally), closes the
    /// compressor's stream, and says whether the bytes streamed are the
    /// bytes hashed at the start.
    pub(crate) fn finish(mut self, hash: &[u8; 32], len: u64) -> io::Result<bool> {
        io::copy(&mut self, &mut io::sink())?;
        self.to_raw = None;
        Ok(self.hasher.count() == len && self.hasher.finalize().as_bytes() == hash)
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        // The last chunk again, when the compressor is done with it (or
        // there is none).
        let mut chunk = match Arc::get_mut(&mut self.chunk) {
            Some(last) => std::mem::take(last),
            None => Vec::new(),
        };
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        while filled < CHUNK {
            match self.inner.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        chunk.truncate(filled);
        self.hasher.update(&chunk);
        self.chunk = Arc::new(chunk);
        self.at = 0;
        if filled > 0
            && let Some(to_raw) = &self.to_raw
            && to_raw.send(self.chunk.clone()).is_err()
        {
            // The compressor stopped; its error surfaces when the
            // compressed stream is read.
            self.to_raw = None;
        }
        Ok(())
    }
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            self.next_chunk()?;
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The compressor's end of a [`Tee`]: the chunks as one stream.
pub(crate) struct Chunks {
    from: mpsc::Receiver<Chunk>,
    chunk: Chunk,
    at: usize,
}

/// A channel from a [`Tee`] to the compressor.
pub(crate) fn chunk_channel() -> (mpsc::SyncSender<Chunk>, Chunks) {
    let (tx, from) = mpsc::sync_channel(CHUNKS_AHEAD);
    (
        tx,
        Chunks {
            from,
            chunk: Arc::default(),
            at: 0,
        },
    )
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.from.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Err(mpsc::RecvError) => return Ok(0), // The stream ended.
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn stream(opened: &Opened<'_>, to_raw: bool) -> (Vec<u8>, Vec<u8>, bool) {
        let (hash, len) = opened.hash().expect("hash");
        let (tx, mut chunks) = chunk_channel();
        std::thread::scope(|scope| {
            let compressor = scope.spawn(move || {
                let mut out = Vec::new();
                chunks.read_to_end(&mut out).map(|_| out)
            });
            let mut tee = Tee::new(opened.reader(), to_raw.then_some(tx));
            let mut parsed = Vec::new();
            tee.read_to_end(&mut parsed).expect("read");
            let same = tee.finish(&hash, len).expect("finish");
            (parsed, compressor.join().expect("join").expect("chunks"), same)
        })
    }

    #[test]
    fn a_large_file_is_hashed_in_windows_as_one_stream() {
        let mut file = tempfile::tempfile().expect("temp");
        let bytes: Vec<u8> = (0..3 * PARALLEL_MIN as usize + 17)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        file.write_all(&bytes).expect("write");
        let opened = Opened::file(Handle::Borrowed(&file)).expect("open");
        let (hash, len) = opened.hash().expect("hash");
        assert_eq!((hash, len), (*blake3::hash(&bytes).as_bytes(), bytes.len() as u64));
        let (parsed, raw, same) = stream(&opened, true);
        assert!(same, "the stream is what was hashed");
        assert!(parsed == bytes && raw == bytes, "parser and compressor get every byte");
    }

    #[test]
    fn bytes_that_changed_since_the_hash_are_refused() {
        let mut file = tempfile::tempfile().expect("temp");
        file.write_all(b"Email\na@x.io\n").expect("write");
        let opened = Opened::file(Handle::Borrowed(&file)).expect("open");
        let (hash, len) = opened.hash().expect("hash");
        file.write_all_at(b"b", 6).expect("rewrite in place");
        let mut tee = Tee::new(opened.reader(), None);
        io::copy(&mut tee, &mut io::sink()).expect("read");
        assert!(!tee.finish(&hash, len).expect("finish"), "a byte changed in place");
    }
}
