//! The socket side of [`super::Client`]: the STARTUP handshake, then a reader
//! task and a writer task sharing a table of requests in flight.
//!
//! ```text
//! send(request) ──▶ take a free stream id (waits while all are in use)
//!                   register a oneshot under that id in `pending`
//!                   encode the frame ──▶ writer queue ──▶ writer task ──▶ socket
//! socket ──▶ reader task: decode frame (v5: segments first)
//!                   stream ≥ 0: remove `pending[stream]`, free the id, answer
//!                   stream < 0: an EVENT (we never REGISTER): ignored
//! ```
//!
//! Stream ids are freed by the reader only, when the answer for that id
//! arrives; a request that timed out therefore keeps its id until its late
//! answer comes (or the connection dies), and no answer can reach the wrong
//! request. When the socket closes or a frame cannot be decoded, the reader
//! drops every pending sender, so every waiting request fails with
//! [`ClientError::Closed`], and closes the id semaphore so no new one starts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sibyl_cql::protocol::frame::V5;
use sibyl_cql::protocol::primitives::StringMap;
use sibyl_cql::protocol::{
    decode_frame, decode_response, encode_request, encode_segments, Frame, Request,
    RequestEnvelope, Response, ResponseEnvelope, SegmentDecoder, Startup,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{ClientConfig, ClientError};

/// Stream ids in use at once. The protocol allows 32768 per connection; the
/// Python driver uses up to 2048 (v3+). cqlsh needs one at a time, COPY FROM a few
/// dozen; 1024 leaves room for ids parked by timed-out requests.
pub const MAX_STREAMS: usize = 1024;

/// Encoded frames queued for the writer. Senders wait when it is full, so a fast
/// producer cannot queue unbounded bytes ahead of a slow socket.
const WRITER_QUEUE_FRAMES: usize = 256;

/// Frames the writer packs into one write (and, in v5, into shared segments):
/// enough to turn a burst of small EXECUTEs into a few syscalls.
const FRAMES_PER_WRITE: usize = 64;

/// Largest response body accepted. Cassandra's `native_transport_max_frame_size`
/// is 16 MiB, so a node never sends more; the bound only stops a corrupt length
/// from making us buffer gigabytes.
pub const MAX_RESPONSE_BODY_LEN: u32 = 256 * 1024 * 1024;

/// Bytes read from the socket per `read` call.
const READ_CHUNK: usize = 64 * 1024;

/// The CQL version sent in STARTUP (the Python driver's default; the node answers
/// with its own spec version, which cqlsh shows).
const STARTUP_CQL_VERSION: &str = "3.0.0";

type Answer = Result<ResponseEnvelope, ClientError>;

/// What the reader and the requesters share.
struct Shared {
    /// Free stream ids.
    free: Mutex<Vec<i16>>,
    /// One permit per free id; closed when the connection dies.
    permits: Semaphore,
    /// Requests waiting for an answer, by stream id.
    pending: Mutex<HashMap<i16, oneshot::Sender<Answer>>>,
    /// Why the connection died, once it has.
    closed: Mutex<Option<String>>,
}

impl Shared {
    fn lock_free(&self) -> MutexGuard<'_, Vec<i16>> {
        // A panic while holding these locks cannot leave them inconsistent (each
        // critical section is one push/pop/insert/remove), so poisoning is ignored.
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_pending(&self) -> MutexGuard<'_, HashMap<i16, oneshot::Sender<Answer>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn closed_reason(&self) -> String {
        self.closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| "connection closed".into())
    }

    /// Returns `id` to the pool.
    fn release(&self, id: i16) {
        self.lock_free().push(id);
        self.permits.add_permits(1);
    }

    /// Marks the connection dead and fails everything waiting.
    fn close(&self, reason: String) {
        {
            let mut c = self.closed.lock().unwrap_or_else(|p| p.into_inner());
            if c.is_none() {
                *c = Some(reason);
            }
        }
        self.permits.close();
        self.lock_pending().clear();
    }
}

/// One open connection.
pub struct Connection {
    version: u8,
    shared: Arc<Shared>,
    writer: mpsc::Sender<Vec<u8>>,
    request_timeout: Duration,
    reader_task: tokio::task::JoinHandle<()>,
    writer_task: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader_task.abort();
        self.writer_task.abort();
    }
}

impl Connection {
    /// Connects and performs STARTUP in `version` within the connect timeout.
    pub async fn open(
        addr: SocketAddr,
        version: u8,
        config: &ClientConfig,
    ) -> Result<Connection, ClientError> {
        let timeout = config.connect_timeout;
        let stream = tokio::time::timeout(timeout, async {
            let mut stream = TcpStream::connect(addr)
                .await
                .map_err(|e| ClientError::Io(e.to_string()))?;
            let _ = stream.set_nodelay(true);
            startup(&mut stream, version).await?;
            Ok::<_, ClientError>(stream)
        })
        .await
        .map_err(|_| ClientError::ConnectTimeout { addr, timeout })??;

        let shared = Arc::new(Shared {
            // Popped from the end: ids are handed out 0, 1, 2, ...
            free: Mutex::new((0..MAX_STREAMS as i16).rev().collect()),
            permits: Semaphore::new(MAX_STREAMS),
            pending: Mutex::new(HashMap::new()),
            closed: Mutex::new(None),
        });
        let (read_half, write_half) = stream.into_split();
        let (tx, rx) = mpsc::channel(WRITER_QUEUE_FRAMES);
        let reader_task = tokio::spawn(read_loop(read_half, version, shared.clone()));
        let writer_task = tokio::spawn(write_loop(write_half, version, rx, shared.clone()));
        Ok(Connection {
            version,
            shared,
            writer: tx,
            request_timeout: config.request_timeout,
            reader_task,
            writer_task,
        })
    }

    /// The protocol version in use.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Why the connection died, if it has.
    pub fn closed(&self) -> Option<String> {
        self.shared
            .closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sends `request` and waits for the answer on its stream.
    pub async fn send(&self, request: Request) -> Result<ResponseEnvelope, ClientError> {
        let permit = self
            .shared
            .permits
            .acquire()
            .await
            .map_err(|_| ClientError::Closed(self.shared.closed_reason()))?;
        // The id now belongs to this request until the reader sees its answer.
        permit.forget();
        let id =
            self.shared.lock_free().pop().ok_or_else(|| {
                ClientError::Unexpected("no free stream id under a permit".into())
            })?;
        let frame = match encode_request(&RequestEnvelope::new(self.version, id, request), None)
            .and_then(|f| f.to_bytes())
        {
            Ok(f) => f,
            Err(e) => {
                self.shared.release(id);
                return Err(e.into());
            }
        };
        let (tx, rx) = oneshot::channel();
        self.shared.lock_pending().insert(id, tx);
        // The reader may have died between our permit and the insert; then nobody
        // would ever answer or drop this sender.
        if let Some(reason) = self.closed() {
            self.shared.lock_pending().remove(&id);
            return Err(ClientError::Closed(reason));
        }
        if self.writer.send(frame).await.is_err() {
            self.shared.lock_pending().remove(&id);
            self.shared.release(id);
            return Err(ClientError::Closed(self.shared.closed_reason()));
        }
        match tokio::time::timeout(self.request_timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(ClientError::Closed(self.shared.closed_reason())),
            // The id stays pending: the reader frees it when the late answer comes.
            Err(_) => Err(ClientError::RequestTimeout(self.request_timeout)),
        }
    }
}

/// STARTUP then READY, in plain frames (v5 switches to segments only after READY).
async fn startup(stream: &mut TcpStream, version: u8) -> Result<(), ClientError> {
    let mut options = StringMap::new();
    options.insert("CQL_VERSION".into(), STARTUP_CQL_VERSION.into());
    options.insert("DRIVER_NAME".into(), "sibyl cqlsh".into());
    options.insert("DRIVER_VERSION".into(), env!("CARGO_PKG_VERSION").into());
    let frame = encode_request(
        &RequestEnvelope::new(version, 0, Request::Startup(Startup { options })),
        None,
    )?
    .to_bytes()?;
    stream
        .write_all(&frame)
        .await
        .map_err(|e| ClientError::Io(e.to_string()))?;
    let mut buf = Vec::new();
    let frame = loop {
        // A node that does not speak `version` may answer in an older one, which
        // decode_frame reads as long as it is one we know.
        if let Some((frame, _)) = decode_frame(&buf, MAX_RESPONSE_BODY_LEN)? {
            break frame;
        }
        let mut chunk = [0u8; 4096];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| ClientError::Io(e.to_string()))?;
        if n == 0 {
            return Err(ClientError::Closed(
                "the node closed the connection during STARTUP".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let env = decode_response(&frame, None, MAX_RESPONSE_BODY_LEN)?;
    match env.response {
        Response::Ready => Ok(()),
        Response::Error(e) => Err(ClientError::Server(e)),
        Response::Authenticate { authenticator } => Err(ClientError::Unexpected(format!(
            "the node requires authentication ({authenticator}), which this client does not support"
        ))),
        other => Err(ClientError::Unexpected(format!(
            "STARTUP answered with {:?}",
            other.opcode()
        ))),
    }
}

async fn read_loop(mut sock: OwnedReadHalf, version: u8, shared: Arc<Shared>) {
    let reason = read_frames(&mut sock, version, &shared).await;
    shared.close(reason);
}

/// Reads until the socket fails; returns why it stopped.
async fn read_frames(sock: &mut OwnedReadHalf, version: u8, shared: &Shared) -> String {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut segments = (version >= V5).then(|| SegmentDecoder::new(None, MAX_RESPONSE_BODY_LEN));
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = match sock.read(&mut chunk).await {
            Ok(0) => return "the node closed the connection".into(),
            Ok(n) => n,
            Err(e) => return format!("read failed: {e}"),
        };
        buf.extend_from_slice(&chunk[..n]);
        let frames = match decode_available(&mut buf, segments.as_mut()) {
            Ok(f) => f,
            Err(e) => return format!("undecodable bytes from the node: {e}"),
        };
        for frame in frames {
            deliver(shared, &frame);
        }
    }
}

/// Takes every complete frame off the front of `buf`.
fn decode_available(
    buf: &mut Vec<u8>,
    segments: Option<&mut SegmentDecoder>,
) -> Result<Vec<Frame>, ClientError> {
    if let Some(dec) = segments {
        let (frames, used) = dec.decode(buf)?;
        buf.drain(..used);
        return Ok(frames);
    }
    let mut frames = Vec::new();
    let mut used = 0;
    while let Some((frame, n)) =
        decode_frame(buf.get(used..).unwrap_or(&[]), MAX_RESPONSE_BODY_LEN)?
    {
        used += n;
        frames.push(frame);
    }
    buf.drain(..used);
    Ok(frames)
}

fn deliver(shared: &Shared, frame: &Frame) {
    let stream = frame.header.stream;
    if stream < 0 {
        return; // an EVENT; we never REGISTER, so there is nothing to do with it
    }
    let answer = decode_response(frame, None, MAX_RESPONSE_BODY_LEN).map_err(ClientError::from);
    let waiter = shared.lock_pending().remove(&stream);
    if let Some(tx) = waiter {
        // Free the id before answering: the requester may send again at once.
        shared.release(stream);
        let _ = tx.send(answer); // the requester may have given up; fine
    }
}

async fn write_loop(
    mut sock: OwnedWriteHalf,
    version: u8,
    mut rx: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < FRAMES_PER_WRITE {
            match rx.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        let bytes = if version >= V5 {
            let mut out = Vec::new();
            if let Err(e) = encode_segments(&batch, None, &mut out) {
                shared.close(format!("cannot frame a request: {e}"));
                return;
            }
            out
        } else {
            batch.concat()
        };
        if let Err(e) = sock.write_all(&bytes).await {
            shared.close(format!("write failed: {e}"));
            return;
        }
    }
}
