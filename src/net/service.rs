//! [`MessagingService`]: the accept loop, the per-peer writer tasks and their
//! queues, the connection readers, request callbacks and statistics. The
//! design is described in the module above ([`crate::net`]).
//!
//! Locks are std `Mutex`es held for a few instructions and never across an
//! `.await`; the queues they guard are bounded, so no lock is held for long.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand::Rng;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch, Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, info, warn};

use super::filters::{FilterAction, FilterCounts, MessageFilters};
use super::frame::{self, Frame};
use super::{Message, NetConfig, NetError, Verb, SHUTDOWN_FLUSH_TIMEOUT};

/// Most peers tracked for inbound-only counters (senders this node never
/// sends to): frames name their sender, and a corrupt or hostile stream must
/// not grow the peer table without bound. Peers we send to are always tracked.
pub const MAX_PEERS: usize = 4096;
/// Most messages a writer encodes into one batch: bounds the time the queue
/// lock is held and the messages lost if the connection breaks mid-write.
const WRITE_BATCH_MESSAGES_MAX: usize = 256;
/// A writer stops adding messages to a batch beyond this many bytes: bounds
/// the batch buffer (one frame may still be up to the maximum frame size).
const WRITE_BATCH_BYTES_MAX: usize = 1024 * 1024;
/// Read buffer of an inbound connection: many small frames per read syscall.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Resolves once shutdown has been signalled (or the signal's owner is gone).
async fn signalled(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// A message waiting in a peer's outbound queue.
struct Outgoing {
    verb: Verb,
    id: u64,
    is_response: bool,
    payload: Bytes,
    enqueued: Instant,
}

impl Outgoing {
    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.enqueued) > self.verb.timeout()
    }
}

/// One remote node: its outbound queue and its counters.
struct Peer {
    addr: SocketAddr,
    queue: Mutex<VecDeque<Outgoing>>,
    /// Wakes the writer when the queue goes from empty to not empty.
    wake: Notify,
    writer_started: AtomicBool,
    connected: AtomicBool,
    sent: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    dropped_by_verb: [AtomicU64; Verb::COUNT],
    filtered: AtomicU64,
}

impl Peer {
    fn new(addr: SocketAddr) -> Peer {
        Peer {
            addr,
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            writer_started: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            dropped_by_verb: [const { AtomicU64::new(0) }; Verb::COUNT],
            filtered: AtomicU64::new(0),
        }
    }

    fn count_drop(&self, verb: Verb) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.dropped_by_verb.get(verb.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues `msg`, keeping the queue at most `capacity` long: when full, the
    /// oldest droppable message goes (possibly `msg` itself, if it is the only
    /// droppable one); if nothing is droppable, the oldest message goes.
    fn push(&self, msg: Outgoing, capacity: usize) {
        let evicted = {
            let mut q = lock(&self.queue);
            if q.len() < capacity {
                q.push_back(msg);
                None
            } else if let Some(i) = q.iter().position(|m| m.verb.is_droppable()) {
                let victim = q.remove(i);
                q.push_back(msg);
                victim
            } else if msg.verb.is_droppable() {
                Some(msg)
            } else {
                let victim = q.pop_front();
                q.push_back(msg);
                victim
            }
        };
        if let Some(victim) = evicted {
            debug!(peer = %self.addr, verb = %victim.verb, "outbound queue full, message dropped");
            self.count_drop(victim.verb);
        }
        self.wake.notify_one();
    }

    /// Drops expired messages at the head of the queue (while disconnected).
    fn purge_expired(&self, now: Instant) {
        let mut q = lock(&self.queue);
        q.retain(|m| {
            let expired = m.expired(now);
            if expired {
                self.count_drop(m.verb);
            }
            !expired
        });
    }

    /// Moves queued messages, encoded, into `buf` (up to the batch bounds),
    /// recording their verbs in `in_flight`; expired ones are dropped.
    fn fill(&self, local: SocketAddr, in_flight: &mut Vec<Verb>, buf: &mut BytesMut) {
        let now = Instant::now();
        let mut q = lock(&self.queue);
        while in_flight.len() < WRITE_BATCH_MESSAGES_MAX && buf.len() < WRITE_BATCH_BYTES_MAX {
            let Some(m) = q.pop_front() else { break };
            if m.expired(now) {
                self.count_drop(m.verb);
                continue;
            }
            let frame = Frame {
                verb: m.verb,
                id: m.id,
                from: local,
                is_response: m.is_response,
                payload: m.payload,
            };
            frame.encode_into(buf);
            in_flight.push(m.verb);
        }
    }

    fn snapshot(&self) -> PeerStats {
        let dropped_by_verb = Verb::ALL
            .iter()
            .filter_map(|v| {
                let n = self.dropped_by_verb.get(v.index())?.load(Ordering::Relaxed);
                (n > 0).then(|| (v.name().to_string(), n))
            })
            .collect();
        PeerStats {
            peer: self.addr,
            connected: self.connected.load(Ordering::Relaxed),
            queue_len: lock(&self.queue).len(),
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            dropped_by_verb,
            filtered: self.filtered.load(Ordering::Relaxed),
        }
    }
}

/// Counters of one peer, for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerStats {
    /// The peer's listen address.
    pub peer: SocketAddr,
    /// Our outbound connection to it is established.
    pub connected: bool,
    /// Messages waiting in our outbound queue to it.
    pub queue_len: usize,
    /// Messages written to its connection.
    pub sent: u64,
    /// Frames received from it (before receiving-side filters).
    pub received: u64,
    /// Messages to or from it this node dropped: outbound queue full,
    /// expired in the queue, lost with a broken connection, oversized, or on
    /// arrival with a full inbound channel or no handler for the verb.
    pub dropped: u64,
    /// `dropped` by verb name; verbs with no drops are left out.
    pub dropped_by_verb: BTreeMap<String, u64>,
    /// Messages to or from it that a filter rule dropped or delayed.
    pub filtered: u64,
}

/// A snapshot of the service's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetStats {
    /// Every peer sent to or received from, by address.
    pub peers: Vec<PeerStats>,
    /// Accepted connections currently open.
    pub inbound_connections: usize,
    /// Requests awaiting a response.
    pub pending_callbacks: usize,
    /// What the filters did, over all peers.
    pub filters: FilterCounts,
}

impl NetStats {
    /// The counters of `peer`, if it has any.
    pub fn peer(&self, peer: SocketAddr) -> Option<&PeerStats> {
        self.peers.iter().find(|p| p.peer == peer)
    }
}

/// State shared by the service handle and its tasks.
struct Inner {
    config: NetConfig,
    local: SocketAddr,
    runtime: Handle,
    peers: Mutex<HashMap<SocketAddr, Arc<Peer>>>,
    handlers: Mutex<HashMap<Verb, mpsc::Sender<Message>>>,
    callbacks: Mutex<HashMap<u64, oneshot::Sender<Message>>>,
    next_id: AtomicU64,
    filters: MessageFilters,
    shutdown: watch::Sender<bool>,
    closed: AtomicBool,
    /// The accept loop and the writers, joined by `shutdown`.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    inbound_connections: AtomicUsize,
}

/// Internode messaging over TCP; see the module documentation ([`crate::net`]).
pub struct MessagingService {
    inner: Arc<Inner>,
}

impl MessagingService {
    /// Binds `config.listen` (port 0 allowed; [`Self::local_addr`] tells the
    /// bound one) and starts the accept loop. The listen IP must be a
    /// specific address, not 0.0.0.0 or ::, since peers reply to it (as
    /// Cassandra requires of `listen_address`). Must be called within a
    /// tokio runtime, whose handle the service keeps for its tasks.
    pub async fn bind(config: NetConfig) -> Result<Arc<MessagingService>, NetError> {
        let addr = config.listen;
        if addr.ip().is_unspecified() {
            return Err(NetError::Bind {
                addr,
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the listen address must be a specific address peers can reach",
                ),
            });
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| NetError::Bind { addr, source })?;
        let local = listener.local_addr()?;
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            config,
            local,
            runtime: Handle::current(),
            peers: Mutex::new(HashMap::new()),
            handlers: Mutex::new(HashMap::new()),
            callbacks: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            filters: MessageFilters::new(),
            shutdown,
            closed: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
            inbound_connections: AtomicUsize::new(0),
        });
        let accept = inner.runtime.spawn(accept_loop(inner.clone(), listener));
        lock(&inner.tasks).push(accept);
        info!(listen = %local, "internode messaging listening");
        Ok(Arc::new(MessagingService { inner }))
    }

    /// The bound listen address, as put in every frame this node sends.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Inbound requests and one-way messages of `verb` are delivered to the
    /// returned **bounded** channel (capacity
    /// [`NetConfig::inbound_verb_queue_capacity`]); responses go to
    /// callbacks instead. Registering a verb again replaces the previous
    /// channel. Unregistered verbs are dropped on arrival (and counted).
    pub fn register(&self, verb: Verb) -> mpsc::Receiver<Message> {
        let (tx, rx) = mpsc::channel(self.inner.config.inbound_verb_queue_capacity.max(1));
        lock(&self.inner.handlers).insert(verb, tx);
        rx
    }

    /// Queues a message to `to`; never blocks. Delivery is best effort: see
    /// the module documentation for when messages are dropped.
    pub fn send_one_way(&self, to: SocketAddr, verb: Verb, payload: Bytes) {
        let id = self.inner.next_id();
        self.inner.send(to, Outgoing::new(verb, id, false, payload));
    }

    /// Sends a request and waits for its response up to [`Verb::timeout`].
    pub async fn send_and_receive(
        &self,
        to: SocketAddr,
        verb: Verb,
        payload: Bytes,
    ) -> Result<Message, NetError> {
        self.send_and_receive_with_timeout(to, verb, payload, verb.timeout())
            .await
    }

    /// [`Self::send_and_receive`] with an explicit timeout.
    pub async fn send_and_receive_with_timeout(
        &self,
        to: SocketAddr,
        verb: Verb,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Message, NetError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(NetError::Shutdown);
        }
        let id = self.inner.next_id();
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.callbacks).insert(id, tx);
        // Removes the callback however this future ends: response, timeout,
        // or the caller dropping it.
        let _guard = CallbackGuard {
            inner: &self.inner,
            id,
        };
        self.inner.send(to, Outgoing::new(verb, id, false, payload));
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(NetError::Shutdown),
            Err(_) => Err(NetError::Timeout {
                verb,
                peer: to,
                after: timeout,
            }),
        }
    }

    /// Answers `request` (to its sender, with its id); never blocks.
    pub fn respond(&self, request: &Message, verb: Verb, payload: Bytes) {
        self.inner
            .send(request.from, Outgoing::new(verb, request.id, true, payload));
    }

    /// The filter rules of this node.
    pub fn filters(&self) -> &MessageFilters {
        &self.inner.filters
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> NetStats {
        let peers: Vec<Arc<Peer>> = lock(&self.inner.peers).values().cloned().collect();
        let mut peers: Vec<PeerStats> = peers.iter().map(|p| p.snapshot()).collect();
        peers.sort_by_key(|p| p.peer);
        NetStats {
            peers,
            inbound_connections: self.inner.inbound_connections.load(Ordering::Relaxed),
            pending_callbacks: lock(&self.inner.callbacks).len(),
            filters: self.inner.filters.counts(),
        }
    }

    /// Stops accepting, lets connected writers flush their queues for up to
    /// [`SHUTDOWN_FLUSH_TIMEOUT`], closes every connection and waits for every
    /// task. Pending requests fail with [`NetError::Shutdown`]; registered
    /// channels close; later sends are ignored. Idempotent.
    pub async fn shutdown(&self) {
        self.inner.begin_shutdown();
        loop {
            let tasks = std::mem::take(&mut *lock(&self.inner.tasks));
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                if let Err(e) = task.await {
                    warn!(error = %e, "internode task failed");
                }
            }
        }
        lock(&self.inner.callbacks).clear();
        lock(&self.inner.handlers).clear();
        info!(listen = %self.inner.local, "internode messaging shut down");
    }
}

impl Drop for MessagingService {
    /// Dropping without `shutdown()` still stops every task (without waiting).
    fn drop(&mut self) {
        self.inner.begin_shutdown();
    }
}

struct CallbackGuard<'a> {
    inner: &'a Inner,
    id: u64,
}

impl Drop for CallbackGuard<'_> {
    fn drop(&mut self) {
        lock(&self.inner.callbacks).remove(&self.id);
    }
}

impl Outgoing {
    fn new(verb: Verb, id: u64, is_response: bool, payload: Bytes) -> Outgoing {
        Outgoing {
            verb,
            id,
            is_response,
            payload,
            enqueued: Instant::now(),
        }
    }
}

impl Inner {
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn begin_shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        self.shutdown.send_replace(true);
    }

    /// The peer at `addr`, created if new.
    fn peer(&self, addr: SocketAddr) -> Arc<Peer> {
        lock(&self.peers)
            .entry(addr)
            .or_insert_with(|| Arc::new(Peer::new(addr)))
            .clone()
    }

    /// The peer at `addr` for inbound counters, created only below [`MAX_PEERS`].
    fn inbound_peer(&self, addr: SocketAddr) -> Option<Arc<Peer>> {
        let mut peers = lock(&self.peers);
        if let Some(p) = peers.get(&addr) {
            return Some(p.clone());
        }
        if peers.len() >= MAX_PEERS {
            return None;
        }
        let p = Arc::new(Peer::new(addr));
        peers.insert(addr, p.clone());
        Some(p)
    }

    /// The sending side: filters, then the peer's queue.
    fn send(self: &Arc<Self>, to: SocketAddr, msg: Outgoing) {
        if self.closed.load(Ordering::Acquire) {
            debug!(peer = %to, verb = %msg.verb, "messaging is shut down, message ignored");
            return;
        }
        let peer = self.peer(to);
        if msg.payload.len()
            > self
                .config
                .max_frame_bytes
                .saturating_sub(frame::FRAME_OVERHEAD_MAX_BYTES)
        {
            warn!(peer = %to, verb = %msg.verb, bytes = msg.payload.len(), "message above the maximum frame size dropped");
            peer.count_drop(msg.verb);
            return;
        }
        match self.filters.check(msg.verb, self.local.ip(), to.ip()) {
            None => self.enqueue(&peer, msg),
            Some(FilterAction::Drop) => {
                peer.filtered.fetch_add(1, Ordering::Relaxed);
            }
            Some(FilterAction::Delay(delay)) => {
                peer.filtered.fetch_add(1, Ordering::Relaxed);
                let inner = self.clone();
                let mut shutdown = self.shutdown.subscribe();
                self.runtime.spawn(async move {
                    tokio::select! {
                        _ = signalled(&mut shutdown) => {}
                        _ = tokio::time::sleep(delay) => inner.enqueue(&peer, msg),
                    }
                });
            }
        }
    }

    fn enqueue(self: &Arc<Self>, peer: &Arc<Peer>, msg: Outgoing) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        if !peer.writer_started.swap(true, Ordering::AcqRel) {
            let task = self.runtime.spawn(write_loop(self.clone(), peer.clone()));
            lock(&self.tasks).push(task);
        }
        peer.push(msg, self.config.outbound_queue_capacity.max(1));
    }

    /// The receiving side: counters, filters, then delivery.
    async fn on_frame(self: &Arc<Self>, frame: Frame) {
        let peer = self.inbound_peer(frame.from);
        if let Some(p) = &peer {
            p.received.fetch_add(1, Ordering::Relaxed);
        }
        let msg = Message {
            id: frame.id,
            verb: frame.verb,
            from: frame.from,
            payload: frame.payload,
            is_response: frame.is_response,
        };
        let action = self.filters.check(msg.verb, msg.from.ip(), self.local.ip());
        if action.is_some() {
            if let Some(p) = &peer {
                p.filtered.fetch_add(1, Ordering::Relaxed);
            }
        }
        match action {
            None => self.deliver(msg, peer.as_deref()).await,
            Some(FilterAction::Drop) => {}
            Some(FilterAction::Delay(delay)) => {
                let inner = self.clone();
                let mut shutdown = self.shutdown.subscribe();
                self.runtime.spawn(async move {
                    tokio::select! {
                        _ = signalled(&mut shutdown) => {}
                        _ = async {
                            tokio::time::sleep(delay).await;
                            inner.deliver(msg, peer.as_deref()).await;
                        } => {}
                    }
                });
            }
        }
    }

    /// Completes a response's callback or hands a request to its handler.
    async fn deliver(&self, msg: Message, peer: Option<&Peer>) {
        let drop_it = |verb: Verb| {
            if let Some(p) = peer {
                p.count_drop(verb);
            }
        };
        if msg.is_response {
            let callback = lock(&self.callbacks).remove(&msg.id);
            match callback {
                Some(tx) => {
                    // The requester may have just given up; nothing to do then.
                    let _ = tx.send(msg);
                }
                None => {
                    debug!(from = %msg.from, verb = %msg.verb, id = msg.id, "response after its request timed out")
                }
            }
            return;
        }
        let handler = lock(&self.handlers).get(&msg.verb).cloned();
        let Some(tx) = handler else {
            debug!(from = %msg.from, verb = %msg.verb, "no handler registered, message dropped");
            drop_it(msg.verb);
            return;
        };
        let verb = msg.verb;
        if verb.is_droppable() {
            match tx.try_send(msg) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => drop_it(verb),
            }
        } else if tx.send(msg).await.is_err() {
            drop_it(verb);
        }
    }
}

async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    let permits = Arc::new(Semaphore::new(inner.config.max_inbound_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            _ = signalled(&mut shutdown) => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = signalled(&mut shutdown) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => {
                let inner = inner.clone();
                connections.spawn(async move {
                    let _permit = permit;
                    inner.inbound_connections.fetch_add(1, Ordering::Relaxed);
                    read_connection(&inner, stream, remote).await;
                    inner.inbound_connections.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Err(e) => {
                warn!(error = %e, "internode accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Reads frames from one accepted connection until EOF, a bad frame or shutdown.
async fn read_connection(inner: &Arc<Inner>, stream: TcpStream, remote: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, stream);
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        let frame = tokio::select! {
            _ = signalled(&mut shutdown) => return,
            frame = read_frame(&mut reader, inner.config.max_frame_bytes) => frame,
        };
        match frame {
            Ok(Some(frame)) => {
                tokio::select! {
                    _ = signalled(&mut shutdown) => return,
                    _ = inner.on_frame(frame) => {}
                }
            }
            Ok(None) => return,
            Err(NetError::UnknownVerb(id)) => {
                debug!(%remote, verb_id = id, "frame with an unknown verb skipped");
            }
            Err(e) => {
                warn!(%remote, error = %e, "closing internode connection");
                return;
            }
        }
    }
}

/// One frame, or `None` at end of stream.
async fn read_frame(
    reader: &mut BufReader<TcpStream>,
    max_frame_bytes: usize,
) -> Result<Option<Frame>, NetError> {
    let len = match reader.read_u32().await {
        Ok(len) => len,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let body_len = frame::check_length(len, max_frame_bytes)?;
    let mut body = BytesMut::zeroed(body_len);
    reader.read_exact(&mut body).await?;
    frame::decode_body(len, body.freeze()).map(Some)
}

/// Owns the outbound connection to one peer: connects, writes the queue,
/// reconnects with backoff, until shutdown.
async fn write_loop(inner: Arc<Inner>, peer: Arc<Peer>) {
    let mut shutdown = inner.shutdown.subscribe();
    let min = inner.config.reconnect_backoff_min;
    let max = inner.config.reconnect_backoff_max.max(min);
    let mut backoff = min;
    loop {
        let connected = tokio::select! {
            _ = signalled(&mut shutdown) => return last_flush(&inner, &peer).await,
            connected = connect(&inner, peer.addr) => connected,
        };
        match connected {
            Ok(stream) => {
                debug!(peer = %peer.addr, "internode connection established");
                peer.connected.store(true, Ordering::Relaxed);
                backoff = min;
                let result = drive_connection(&inner, &peer, stream, &mut shutdown).await;
                peer.connected.store(false, Ordering::Relaxed);
                match result {
                    Ok(()) => return,
                    Err(e) => debug!(peer = %peer.addr, error = %e, "internode connection lost"),
                }
            }
            Err(e) => {
                debug!(peer = %peer.addr, error = %e, ?backoff, "internode connect failed");
                peer.purge_expired(Instant::now());
                backoff = (backoff * 2).min(max);
            }
        }
        tokio::select! {
            _ = signalled(&mut shutdown) => return last_flush(&inner, &peer).await,
            _ = tokio::time::sleep(jittered(backoff)) => {}
        }
    }
}

/// Shutdown caught the writer unconnected: if anything is queued (a
/// GOSSIP_SHUTDOWN, typically), one more connection attempt and flush, all
/// within [`SHUTDOWN_FLUSH_TIMEOUT`].
async fn last_flush(inner: &Inner, peer: &Peer) {
    if lock(&peer.queue).is_empty() {
        return;
    }
    let attempt = async {
        let stream = connect(inner, peer.addr).await?;
        let (_rd, wr) = stream.into_split();
        finish(inner, peer, wr, BytesMut::new(), Vec::new()).await
    };
    match tokio::time::timeout(SHUTDOWN_FLUSH_TIMEOUT, attempt).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!(peer = %peer.addr, error = %e, "queue not flushed at shutdown"),
        Err(_) => debug!(peer = %peer.addr, "queue not flushed before the shutdown deadline"),
    }
}

/// `backoff` plus up to half of it at random, so peers restarted together do
/// not reconnect in lockstep.
fn jittered(backoff: Duration) -> Duration {
    let half_ms = u64::try_from(backoff.as_millis() / 2).unwrap_or(u64::MAX);
    backoff + Duration::from_millis(rand::rng().random_range(0..=half_ms))
}

/// Connects from this node's listen IP (so the peer sees a meaningful source
/// address), with [`NetConfig::connect_timeout`].
async fn connect(inner: &Inner, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = if to.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if inner.local.is_ipv4() == to.is_ipv4() {
        socket.bind(SocketAddr::new(inner.local.ip(), 0))?;
    }
    let stream = tokio::time::timeout(inner.config.connect_timeout, socket.connect(to))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "internode connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Writes the peer's queue to `stream` until the connection breaks (an error)
/// or shutdown (`Ok`, after flushing what it can).
async fn drive_connection(
    inner: &Inner,
    peer: &Peer,
    stream: TcpStream,
    shutdown: &mut watch::Receiver<bool>,
) -> io::Result<()> {
    let (mut rd, mut wr) = stream.into_split();
    let mut in_flight: Vec<Verb> = Vec::with_capacity(WRITE_BATCH_MESSAGES_MAX);
    let mut buf = BytesMut::new();
    // The peer never writes on our outbound connection; reading only tells
    // us when it closes.
    let mut probe = [0u8; 64];
    loop {
        if buf.is_empty() {
            peer.fill(inner.local, &mut in_flight, &mut buf);
        }
        if buf.is_empty() {
            tokio::select! {
                biased;
                _ = signalled(shutdown) => return finish(inner, peer, wr, buf, in_flight).await,
                _ = peer.wake.notified() => continue,
                read = rd.read(&mut probe) => match read {
                    Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed the connection")),
                    Ok(_) => continue,
                    Err(e) => return Err(e),
                },
            }
        }
        let written = tokio::select! {
            biased;
            _ = signalled(shutdown) => return finish(inner, peer, wr, buf, in_flight).await,
            written = wr.write_all_buf(&mut buf) => written,
        };
        if let Err(e) = written {
            for verb in in_flight.drain(..) {
                peer.count_drop(verb);
            }
            return Err(e);
        }
        peer.sent
            .fetch_add(in_flight.len() as u64, Ordering::Relaxed);
        in_flight.clear();
    }
}

/// On shutdown: writes the rest of the current batch and the queue, for up to
/// [`SHUTDOWN_FLUSH_TIMEOUT`], then closes the write side.
async fn finish(
    inner: &Inner,
    peer: &Peer,
    mut wr: OwnedWriteHalf,
    mut buf: BytesMut,
    mut in_flight: Vec<Verb>,
) -> io::Result<()> {
    let flush = async {
        loop {
            if buf.is_empty() {
                peer.fill(inner.local, &mut in_flight, &mut buf);
            }
            if buf.is_empty() {
                break;
            }
            wr.write_all_buf(&mut buf).await?;
            peer.sent
                .fetch_add(in_flight.len() as u64, Ordering::Relaxed);
            in_flight.clear();
        }
        wr.shutdown().await
    };
    match tokio::time::timeout(SHUTDOWN_FLUSH_TIMEOUT, flush).await {
        Ok(result) => result,
        Err(_) => {
            debug!(peer = %peer.addr, "queue not flushed before the shutdown deadline");
            Ok(())
        }
    }
}
