//! One client connection: a reader (this task) and a writer task.
//!
//! The reader decodes frames from its receive buffer: plain frames until READY,
//! and for protocol v5, segments after READY ([`SegmentDecoder`]). OPTIONS,
//! STARTUP and REGISTER are answered in place, so the READY that switches v5
//! framing is queued before anything framed differently. So are quick requests
//! ([`handler::is_quick`]: a prepared point read or plain write, a few
//! microseconds), because spawning a task and handing it to the blocking pool cost
//! several times the request itself. Other requests take a permit of the
//! connection's in-flight [`Semaphore`] (waiting for one stops the reading:
//! backpressure) and run in their own task on the blocking pool; responses carry
//! the request's stream id and are written in completion order.
//!
//! The writer owns the write half. It takes whole encoded frames from a bounded
//! channel, coalescing what is queued into one write (one segment when possible in
//! v5), and switches to segment framing when the reader says so.
//!
//! Errors in the byte stream: a version we do not speak gets Cassandra's
//! "Invalid or unsupported protocol version" ERROR in a version the client reads,
//! then the connection closes (the spec's rule; drivers reconnect with a lower
//! version). A frame too large, or with an unknown opcode, gets a protocol ERROR on
//! its stream and its body is skipped: the stream stays in sync, so the connection
//! is kept. A body that does not decode gets an ERROR too. Segment CRC errors lose
//! the stream position: ERROR, then close.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::{Buf, BytesMut};
use sibyl_cql::protocol::frame::{EVENT_STREAM, HEADER_LEN, VERSION_MASK};
use sibyl_cql::protocol::{
    decode_frame, decode_request, encode_response, encode_segments, unsupported_version_response,
    Compression, ErrorBody, ErrorKind, Event, EventType, Frame, ProtocolError, Request, Response,
    ResponseEnvelope, SegmentDecoder, MAX_VERSION,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

use crate::node::CQL_VERSION;
use crate::query::Session;
use crate::transport::{handler, Shared, MAX_IN_FLIGHT_PER_CONNECTION, MAX_QUEUED_RESPONSES};

/// Bytes asked of the socket per read: large enough for typical frames in one read.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Frames the writer coalesces into one write at most (bounds a write's size to
/// about this many responses).
const MAX_COALESCED_FRAMES: usize = 64;

/// Protocol v5: segment framing after READY.
const V5: u8 = 5;

/// What the reader and request tasks hand the writer.
enum Out {
    /// A complete encoded frame.
    Frame(Vec<u8>),
    /// From now on, wrap frames in v5 segments (with this compression).
    Segments(Option<Compression>),
}

/// Result of looking at the receive buffer.
enum Decoded {
    NeedMore,
    Frame(Frame),
    /// Send these bytes; then close if `close`.
    Reply {
        bytes: Vec<u8>,
        close: bool,
    },
}

/// Connection state owned by the reader.
struct State {
    version: Option<u8>,
    compression: Option<Compression>,
    ready: bool,
    segments: Option<SegmentDecoder>,
    /// Frames decoded from segments, not yet dispatched.
    pending: VecDeque<Frame>,
    /// Bytes of a refused frame's body still to drop.
    skip: u64,
    session: Arc<Mutex<Session>>,
    registered: Arc<Mutex<BTreeSet<EventType>>>,
    forwarder: Option<JoinHandle<()>>,
    in_flight: Arc<Semaphore>,
}

/// A client connection of the native transport.
pub struct Connection {
    shared: Arc<Shared>,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, shutdown: watch::Receiver<bool>) -> Self {
        Connection {
            shared,
            peer,
            shutdown,
        }
    }

    /// Serves the connection until the client closes it, a fatal protocol error, or
    /// shutdown; returns once every request read has been answered.
    pub async fn run(mut self, socket: TcpStream) {
        tracing::debug!(peer = %self.peer, "connection opened");
        let (mut rd, wr) = socket.into_split();
        let (tx, rx) = mpsc::channel(MAX_QUEUED_RESPONSES);
        let writer = tokio::spawn(write_loop(wr, rx));
        let mut st = State {
            version: None,
            compression: None,
            ready: false,
            segments: None,
            pending: VecDeque::new(),
            skip: 0,
            session: Arc::new(Mutex::new(Session::default())),
            registered: Arc::new(Mutex::new(BTreeSet::new())),
            forwarder: None,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT_PER_CONNECTION)),
        };
        self.read_loop(&mut rd, &tx, &mut st).await;
        if let Some(f) = st.forwarder.take() {
            f.abort();
        }
        // Request tasks still running hold senders: the writer ends after their answers.
        drop(tx);
        if let Err(e) = writer.await {
            tracing::warn!(peer = %self.peer, "connection writer failed: {e}");
        }
        // The read half lives until here so the client's last bytes do not turn the
        // close into a reset that could drop our final answer.
        drop(rd);
        tracing::debug!(peer = %self.peer, "connection closed");
    }

    async fn read_loop(&mut self, rd: &mut OwnedReadHalf, tx: &mpsc::Sender<Out>, st: &mut State) {
        let mut buf = BytesMut::with_capacity(READ_CHUNK_BYTES);
        loop {
            loop {
                match self.next_frame(&mut buf, st) {
                    Decoded::NeedMore => break,
                    Decoded::Reply { bytes, close } => {
                        if tx.send(Out::Frame(bytes)).await.is_err() || close {
                            return;
                        }
                    }
                    Decoded::Frame(f) => {
                        if !self.dispatch(f, st, tx).await {
                            return;
                        }
                    }
                }
            }
            buf.reserve(READ_CHUNK_BYTES);
            tokio::select! {
                r = rd.read_buf(&mut buf) => match r {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(peer = %self.peer, "read failed: {e}");
                        return;
                    }
                },
                _ = self.shutdown.changed() => return,
            }
        }
    }

    fn next_frame(&self, buf: &mut BytesMut, st: &mut State) -> Decoded {
        if st.skip > 0 {
            let n = st.skip.min(buf.len() as u64);
            buf.advance(n as usize);
            st.skip -= n;
            if st.skip > 0 {
                return Decoded::NeedMore;
            }
        }
        if let Some(f) = st.pending.pop_front() {
            return Decoded::Frame(f);
        }
        let max = self.shared.max_frame_size_bytes;
        if let Some(dec) = st.segments.as_mut() {
            return match dec.decode(buf) {
                Ok((frames, used)) => {
                    buf.advance(used);
                    st.pending.extend(frames);
                    st.pending
                        .pop_front()
                        .map_or(Decoded::NeedMore, Decoded::Frame)
                }
                Err(e) => Decoded::Reply {
                    bytes: error_frame(st.version.unwrap_or(V5), 0, &e, None),
                    close: true,
                },
            };
        }
        match decode_frame(buf, max) {
            Ok(Some((f, used))) => {
                buf.advance(used);
                Decoded::Frame(f)
            }
            Ok(None) => Decoded::NeedMore,
            Err(ProtocolError::UnsupportedVersion {
                version, stream, ..
            }) => {
                tracing::debug!(peer = %self.peer, version, "unsupported protocol version");
                Decoded::Reply {
                    bytes: unsupported_version_response(version, stream),
                    close: true,
                }
            }
            Err(e @ (ProtocolError::FrameTooLarge { .. } | ProtocolError::UnknownOpcode(_))) => {
                // decode_header reports these only once the whole header is there.
                let Some(h) = buf.get(..HEADER_LEN) else {
                    return Decoded::NeedMore;
                };
                let version = h[0] & VERSION_MASK;
                let stream = i16::from_be_bytes([h[2], h[3]]);
                let length = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
                buf.advance(HEADER_LEN);
                st.skip = u64::from(length);
                tracing::debug!(peer = %self.peer, "refused frame: {e}");
                Decoded::Reply {
                    bytes: error_frame(st.version.unwrap_or(version), stream, &e, st.compression),
                    close: false,
                }
            }
            Err(e) => Decoded::Reply {
                bytes: error_frame(st.version.unwrap_or(MAX_VERSION), 0, &e, st.compression),
                close: true,
            },
        }
    }

    /// Handles one frame; false when the connection must close.
    async fn dispatch(&self, frame: Frame, st: &mut State, tx: &mpsc::Sender<Out>) -> bool {
        let version = frame.header.version;
        let stream = frame.header.stream;
        let reply =
            |r: Response, c: Option<Compression>| Out::Frame(encode_frame(version, stream, r, c));
        match st.version {
            None => st.version = Some(version),
            Some(v) if v != version => {
                let msg = format!(
                    "Invalid message version. Got {version} but previous messages on this connection had version {v}"
                );
                let e = ProtocolError::malformed(msg);
                return tx
                    .send(Out::Frame(error_frame(v, stream, &e, st.compression)))
                    .await
                    .is_ok();
            }
            Some(_) => {}
        }
        let max = self.shared.max_frame_size_bytes;
        let env = match decode_request(&frame, st.compression, max) {
            Ok(env) => env,
            Err(e) => {
                let r = Response::Error(ErrorBody::from_protocol_error(&e));
                return tx.send(reply(r, st.compression)).await.is_ok();
            }
        };
        match env.request {
            Request::Options => {
                let r = supported();
                tx.send(reply(r, st.compression)).await.is_ok()
            }
            Request::Startup(s) => {
                if st.ready {
                    let r = protocol_error(
                        "Unexpected message STARTUP, the connection is already initialized",
                    );
                    return tx.send(reply(r, st.compression)).await.is_ok();
                }
                match s.compression() {
                    Ok(c) => st.compression = c,
                    Err(e) => {
                        let r = Response::Error(ErrorBody::from_protocol_error(&e));
                        return tx.send(reply(r, None)).await.is_ok();
                    }
                }
                st.ready = true;
                if tx
                    .send(reply(Response::Ready, st.compression))
                    .await
                    .is_err()
                {
                    return false;
                }
                if version >= V5 {
                    st.segments = Some(SegmentDecoder::new(st.compression, max));
                    return tx.send(Out::Segments(st.compression)).await.is_ok();
                }
                true
            }
            Request::Register { events } => {
                if !st.ready {
                    let r =
                        protocol_error("Unexpected message REGISTER, expecting STARTUP or OPTIONS");
                    return tx.send(reply(r, st.compression)).await.is_ok();
                }
                st.registered
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(events);
                if st.forwarder.is_none() {
                    st.forwarder = Some(tokio::spawn(forward_events(
                        self.shared.events.subscribe(),
                        st.registered.clone(),
                        tx.clone(),
                        version,
                        st.compression,
                    )));
                }
                tx.send(reply(Response::Ready, st.compression))
                    .await
                    .is_ok()
            }
            Request::AuthResponse { .. } => {
                let r = protocol_error(
                    "Unexpected message AUTH_RESPONSE: this node requires no authentication",
                );
                tx.send(reply(r, st.compression)).await.is_ok()
            }
            request => {
                if !st.ready {
                    let r = protocol_error(&format!(
                        "Unexpected message {:?}, expecting STARTUP or OPTIONS",
                        request.opcode()
                    ));
                    return tx.send(reply(r, st.compression)).await.is_ok();
                }
                if handler::is_quick(&self.shared, &request) {
                    // Run in place: a task of its own would cost more than the request.
                    let (response, warnings) =
                        execute_quick(&self.shared, request, version, &st.session);
                    let bytes =
                        encode_frame_warned(version, stream, response, warnings, st.compression);
                    return tx.send(Out::Frame(bytes)).await.is_ok();
                }
                // Waiting here stops this connection's reading: backpressure.
                let Ok(permit) = st.in_flight.clone().acquire_owned().await else {
                    return false;
                };
                let shared = self.shared.clone();
                let session = st.session.clone();
                let tx = tx.clone();
                let compression = st.compression;
                tokio::spawn(async move {
                    let _permit = permit;
                    let (response, warnings) = execute(shared, request, version, session).await;
                    let bytes =
                        encode_frame_warned(version, stream, response, warnings, compression);
                    // A send error means the client is gone: nobody to answer.
                    let _ = tx.send(Out::Frame(bytes)).await;
                });
                true
            }
        }
    }
}

/// Runs a request on the blocking pool, within the node-wide execution limit.
async fn execute(
    shared: Arc<Shared>,
    request: Request,
    version: u8,
    session: Arc<Mutex<Session>>,
) -> (Response, Vec<String>) {
    let Ok(_running) = shared.executing.acquire().await else {
        return (server_error("the node is shutting down"), Vec::new());
    };
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || handler::handle(&s, request, version, &session)).await
    {
        Ok(r) => r,
        Err(e) => {
            // A panic in the executor is a bug; the client gets a Server error and the
            // node keeps serving.
            tracing::error!("request execution failed: {e}");
            (
                server_error(&format!("internal error while executing the request: {e}")),
                Vec::new(),
            )
        }
    }
}

/// Runs a quick request ([`handler::is_quick`]) on the reader's own task. It takes
/// no execution permit: those bound blocking threads, and at most one quick request
/// per connection runs at a time, each on an async worker.
fn execute_quick(
    shared: &Shared,
    request: Request,
    version: u8,
    session: &Mutex<Session>,
) -> (Response, Vec<String>) {
    let run = std::panic::AssertUnwindSafe(|| handler::handle(shared, request, version, session));
    // As on the blocking pool: a panic is a bug, answered with a Server error.
    std::panic::catch_unwind(run).unwrap_or_else(|_| {
        tracing::error!("request execution panicked");
        (
            server_error("internal error while executing the request"),
            Vec::new(),
        )
    })
}

fn server_error(msg: &str) -> Response {
    Response::Error(ErrorBody::new(ErrorKind::Server, msg))
}

fn protocol_error(msg: &str) -> Response {
    Response::Error(ErrorBody::new(ErrorKind::Protocol, msg))
}

/// SUPPORTED: no `SCYLLA_*` keys (the scylla driver would then expect shard info).
fn supported() -> Response {
    let mut options = std::collections::BTreeMap::new();
    options.insert("CQL_VERSION".to_string(), vec![CQL_VERSION.to_string()]);
    options.insert("COMPRESSION".to_string(), vec!["lz4".to_string()]);
    options.insert(
        "PROTOCOL_VERSIONS".to_string(),
        vec!["3/v3".to_string(), "4/v4".to_string(), "5/v5".to_string()],
    );
    Response::Supported { options }
}

/// The bytes of a response frame; an unencodable response becomes a Server error.
fn encode_frame(
    version: u8,
    stream: i16,
    response: Response,
    compression: Option<Compression>,
) -> Vec<u8> {
    encode_frame_warned(version, stream, response, Vec::new(), compression)
}

/// [`encode_frame`] with client warnings (sent from protocol v4 on, which introduced
/// the warning flag; v3 clients never see them).
fn encode_frame_warned(
    version: u8,
    stream: i16,
    response: Response,
    warnings: Vec<String>,
    compression: Option<Compression>,
) -> Vec<u8> {
    let mut env = ResponseEnvelope::new(version, stream, response);
    if version >= 4 {
        env.warnings = warnings;
    }
    match encode_response(&env, compression).and_then(|f| f.to_bytes()) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!("cannot encode a response: {e}");
            let r = server_error(&format!("cannot encode the response: {e}"));
            let env = ResponseEnvelope::new(version, stream, r);
            encode_response(&env, compression)
                .and_then(|f| f.to_bytes())
                .unwrap_or_default()
        }
    }
}

fn error_frame(
    version: u8,
    stream: i16,
    e: &ProtocolError,
    compression: Option<Compression>,
) -> Vec<u8> {
    let r = Response::Error(ErrorBody::from_protocol_error(e));
    encode_frame(version, stream, r, compression)
}

/// Sends the events this connection registered for (stream -1) until aborted.
async fn forward_events(
    mut events: broadcast::Receiver<Event>,
    wanted: Arc<Mutex<BTreeSet<EventType>>>,
    tx: mpsc::Sender<Out>,
    version: u8,
    compression: Option<Compression>,
) {
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("a connection missed {n} events");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let kind = match &event {
            Event::SchemaChange(_) => EventType::SchemaChange,
            Event::TopologyChange { .. } => EventType::TopologyChange,
            Event::StatusChange { .. } => EventType::StatusChange,
        };
        let want = wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&kind);
        if !want {
            continue;
        }
        let bytes = encode_frame(version, EVENT_STREAM, Response::Event(event), compression);
        if tx.send(Out::Frame(bytes)).await.is_err() {
            return;
        }
    }
}

async fn write_loop(mut wr: OwnedWriteHalf, mut rx: mpsc::Receiver<Out>) {
    let mut segments: Option<Option<Compression>> = None;
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(msg) = next {
            match msg {
                Out::Frame(b) => frames.push(b),
                Out::Segments(c) => {
                    pack(&frames, segments, &mut out);
                    frames.clear();
                    segments = Some(c);
                }
            }
            taken += 1;
            next = if taken < MAX_COALESCED_FRAMES {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        pack(&frames, segments, &mut out);
        frames.clear();
        if let Err(e) = wr.write_all(&out).await {
            tracing::debug!("write failed: {e}");
            return;
        }
        out.clear();
        out.shrink_to(READ_CHUNK_BYTES);
    }
    let _ = wr.shutdown().await;
}

/// Appends `frames` to `out`, wrapped in segments once v5 framing is on.
fn pack(frames: &[Vec<u8>], segments: Option<Option<Compression>>, out: &mut Vec<u8>) {
    match segments {
        None => {
            for f in frames {
                out.extend_from_slice(f);
            }
        }
        Some(c) => {
            if let Err(e) = encode_segments(frames, c, out) {
                tracing::error!("cannot frame responses into segments: {e}");
            }
        }
    }
}
