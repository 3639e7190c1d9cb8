//! The one zip writer of what leaves Sportello as a zip: the result archive (`documents`), a
//! practice's file (`fascicolo`) and a person's data (`subjects`). Classic deflated entries,
//! readable by every zip reader; names made unique within the archive.
//!
//! Bounded memory: entries are written one after the other, a stored file decrypted chunk by
//! chunk into its entry, and only the entry being written is held. (The zip crate goes back to
//! an entry's local header to write its CRC and sizes once the entry is done, so it needs a
//! seekable output; [`Window`] is one that is seekable only from the current entry's header on,
//! and passes everything before it on to the real output as soon as the next entry starts.)
//! A case file of many large files thus never sits whole in memory, whether it is streamed to
//! an HTTP client or written to a file by the CLI.

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use sportello_store::crypto::DataKey;
use sportello_store::BlobStore;
use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, Seek, SeekFrom, Write};
use std::rc::Rc;

use crate::error::{ApiError, ApiResult};

/// What an entry holds.
pub enum Content {
    /// Made in memory (a JSON, a PDF).
    Bytes(Bytes),
    /// A sealed file of the blob store, opened with its request's key as it is written.
    Stored { blob_key: String, key: DataKey },
}

/// A zip to be written: its entries in order, by unique name.
#[derive(Default)]
pub struct Archive {
    entries: Vec<(String, Content)>,
    taken: HashSet<String>,
}

impl Archive {
    pub fn new() -> Archive {
        Archive::default()
    }

    /// Adds an entry under `name`, numbered (`esito (2).pdf`) if the name is taken; the name
    /// given.
    pub fn add(&mut self, name: &str, content: Content) -> String {
        let name = unique_name(name, &mut self.taken);
        self.entries.push((name.clone(), content));
        name
    }

    /// Replaces the content of the entry `name` (added earlier, its place kept).
    pub fn replace(&mut self, name: &str, content: Content) {
        if let Some(entry) = self.entries.iter_mut().find(|(n, _)| n == name) {
            entry.1 = content;
        }
    }

    pub fn add_bytes(&mut self, name: &str, bytes: impl Into<Bytes>) -> String {
        self.add(name, Content::Bytes(bytes.into()))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `name`, or the first of `name (2)`, `name (3)`, … not taken yet (before the extension).
pub fn unique_name(name: &str, taken: &mut HashSet<String>) -> String {
    if taken.insert(name.to_string()) {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && !s.ends_with('/') => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    (2..)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .unwrap_or_default()
}

/// Writes `archive` to `out` and gives `out` back. Runs on the blocking pool (the zip crate
/// writes synchronously), reading the stored files through the runtime it was called from.
pub async fn write_to<W: Write + Send + 'static>(
    blobs: &BlobStore,
    archive: Archive,
    out: W,
) -> io::Result<W> {
    let blobs = blobs.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || write_blocking(&runtime, &blobs, archive, out))
        .await
        .map_err(io::Error::other)?
}

/// Writes `archive` into memory: for small archives (the result archive, built once at close).
pub async fn to_vec(blobs: &BlobStore, archive: Archive) -> ApiResult<Vec<u8>> {
    write_to(blobs, archive, Vec::new()).await.map_err(|e| {
        tracing::error!(error = %e, "building an archive failed");
        ApiError::internal()
    })
}

/// The archive as a stream of bytes, written as the receiver reads (a bounded channel: a slow
/// client slows the writer, it does not fill memory). A failure after the first byte (a damaged
/// stored file, the client gone) ends the stream with an error, so the answer is cut short
/// rather than ending as if it were whole.
pub fn stream(blobs: &BlobStore, archive: Archive) -> BoxStream<'static, io::Result<Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    let blobs = blobs.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let sink = ChannelSink { tx: tx.clone() };
        if let Err(e) = write_blocking(&runtime, &blobs, archive, sink) {
            tracing::warn!(error = %e, "an archive stream ended early");
            // The receiver may be gone already (that may be the error): nothing left to tell.
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

fn options() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

fn write_blocking<W: Write>(
    runtime: &tokio::runtime::Handle,
    blobs: &BlobStore,
    archive: Archive,
    out: W,
) -> io::Result<W> {
    let window = Rc::new(RefCell::new(Window::new(out)));
    let mut zip = zip::ZipWriter::new(Shared(window.clone()));
    for (name, content) in archive.entries {
        // Starting an entry finishes the one before (its header rewritten in place) and writes
        // this one's header where that one ended: everything before is final.
        let done = window.borrow().end();
        zip.start_file(name.as_str(), options())
            .map_err(io::Error::other)?;
        window.borrow_mut().release(done)?;
        match content {
            Content::Bytes(bytes) => zip.write_all(&bytes)?,
            Content::Stored { blob_key, key } => {
                let mut chunks = runtime
                    .block_on(blobs.stream_opened(&blob_key, &key))
                    .map_err(io::Error::other)?;
                while let Some(chunk) = runtime.block_on(chunks.next()) {
                    zip.write_all(&chunk.map_err(io::Error::other)?)?;
                }
            }
        }
    }
    // The writer's handle on the window goes with it, leaving the window to this function.
    drop(zip.finish().map_err(io::Error::other)?);
    let window = Rc::try_unwrap(window)
        .map_err(|_| io::Error::other("the archive's output is still shared"))?
        .into_inner();
    window.into_inner()
}

/// A seekable output over a forward-only one: holds the bytes from `base` on, any of which may
/// still be rewritten, until [`Window::release`] passes them on.
struct Window<W: Write> {
    out: W,
    base: u64,
    buf: Vec<u8>,
    pos: u64,
}

impl<W: Write> Window<W> {
    fn new(out: W) -> Self {
        Window {
            out,
            base: 0,
            buf: Vec::new(),
            pos: 0,
        }
    }

    fn end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Passes the bytes before `upto` on to the output; they can no longer be rewritten.
    fn release(&mut self, upto: u64) -> io::Result<()> {
        let n = usize::try_from(upto.saturating_sub(self.base))
            .map_err(io::Error::other)?
            .min(self.buf.len());
        if n > 0 {
            self.out.write_all(&self.buf[..n])?;
            self.buf.drain(..n);
            self.base += n as u64;
        }
        Ok(())
    }

    fn into_inner(mut self) -> io::Result<W> {
        let end = self.end();
        self.release(end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Window<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let at = usize::try_from(self.pos - self.base).map_err(io::Error::other)?;
        let overlap = self.buf.len().saturating_sub(at).min(data.len());
        self.buf[at..at + overlap].copy_from_slice(&data[..overlap]);
        self.buf.extend_from_slice(&data[overlap..]);
        self.pos += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Seek for Window<W> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.end().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(t) if t >= self.base && t <= self.end() => {
                self.pos = t;
                Ok(t)
            }
            _ => Err(io::Error::other(
                "the archive writer went back before its current entry",
            )),
        }
    }
}

/// The window, shared with [`write_blocking`], which releases it between entries.
struct Shared<W: Write>(Rc<RefCell<Window<W>>>);

impl<W: Write> Write for Shared<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

impl<W: Write> Seek for Shared<W> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.0.borrow_mut().seek(to)
    }
}

/// The HTTP answer's side: each write is a chunk of the body.
struct ChannelSink {
    tx: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
}

impl Write for ChannelSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(data)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the receiver went away"))?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn duplicate_names_are_numbered() {
        let mut taken = HashSet::new();
        assert_eq!(unique_name("esito.pdf", &mut taken), "esito.pdf");
        assert_eq!(unique_name("esito.pdf", &mut taken), "esito (2).pdf");
        assert_eq!(unique_name("esito.pdf", &mut taken), "esito (3).pdf");
        assert_eq!(unique_name("README", &mut taken), "README");
        assert_eq!(unique_name("README", &mut taken), "README (2)");
        assert_eq!(unique_name("input/.profile", &mut taken), "input/.profile");
        assert_eq!(
            unique_name("input/.profile", &mut taken),
            "input/.profile (2)"
        );
    }

    /// Forward-only: refuses to seek, as a socket would.
    struct Forward(Vec<u8>, usize);

    impl Write for Forward {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            // Remember the largest single write: the window never holds more than an entry.
            self.1 = self.1.max(data.len());
            self.0.write(data)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn entries_are_passed_on_one_by_one_and_read_back() {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let blobs = BlobStore::local(dir.path()).expect("a local blob store");
        let mut archive = Archive::new();
        // Incompressible-ish content, so an entry's size shows in the writes.
        let big: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for n in 0..5 {
            archive.add_bytes("dati.bin", big.clone());
            archive.add_bytes(&format!("nota {n}.txt"), format!("nota {n}"));
        }
        let out = write_to(&blobs, archive, Forward(Vec::new(), 0))
            .await
            .expect("written");
        assert!(out.1 < 2 * big.len(), "held more than an entry: {}", out.1);
        let mut zip = zip::ZipArchive::new(io::Cursor::new(out.0)).expect("a zip");
        assert_eq!(zip.len(), 10);
        let mut read = Vec::new();
        zip.by_name("dati (5).bin")
            .expect("numbered")
            .read_to_end(&mut read)
            .expect("readable");
        assert_eq!(read, big);
        let mut text = String::new();
        zip.by_name("nota 4.txt")
            .expect("entry")
            .read_to_string(&mut text)
            .expect("readable");
        assert_eq!(text, "nota 4");
    }
}
