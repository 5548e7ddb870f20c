//! A small native-protocol client: one TCP connection to one node, the requests
//! `sibyl cqlsh` needs (QUERY with consistency, page size and paging state;
//! PREPARE; EXECUTE), many requests in flight at once, matched by stream id.
//!
//! The codec is [`sibyl_cql::protocol`], which encodes requests and decodes
//! responses as readily as the server does the opposite; this module only owns
//! the socket. [`connection`] holds the handshake and the two tasks (a reader that
//! routes each response to the request waiting on its stream, a writer that
//! coalesces queued frames, into v5 segments after READY).
//!
//! **Version negotiation.** Like the Python driver, [`Client::connect`] starts at
//! the highest version it speaks (v5) and steps down one version at a time only
//! when the node answers with a protocol error whose message contains
//! "unsupported protocol version" (Cassandra's and Sibyl's wording:
//! `Invalid or unsupported protocol version (5); supported versions are (3/v3,
//! 4/v4)`). An explicit `protocol_version` is honoured as is, never stepped down.
//!
//! **Timeouts.** A connect timeout bounds the TCP connect and the STARTUP
//! handshake; a request timeout bounds each request. A request that times out
//! keeps its stream id reserved until its late answer arrives, so that answer can
//! never be mistaken for another request's (the Python driver does the same with
//! its "orphaned" stream ids).
//!
//! **What not.** No pool of connections, no load balancing, retries, speculative
//! execution, token awareness, authentication (Sibyl is `AllowAllAuthenticator`),
//! compression, events or tracing: cqlsh talks to the one node it was pointed at,
//! and so do the tools built on this. Use a real driver for applications.

pub mod connection;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sibyl_cql::protocol::{
    ColumnSpec, Consistency, ErrorBody, ErrorKind, Execute, Prepare, Prepared, ProtocolError,
    QueryParameters, QueryValues, Request, Response, ResultBody, Value,
};

use connection::Connection;

/// The highest protocol version the client speaks and the one it tries first.
pub const NEWEST_PROTOCOL_VERSION: u8 = sibyl_cql::protocol::MAX_VERSION;

/// The lowest version negotiation steps down to (the codec speaks v3 at least).
pub const OLDEST_PROTOCOL_VERSION: u8 = sibyl_cql::protocol::MIN_VERSION;

/// cqlsh's `DEFAULT_CONNECT_TIMEOUT_SECONDS`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// cqlsh's `DEFAULT_REQUEST_TIMEOUT_SECONDS`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How to connect.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// A fixed protocol version, or `None` to negotiate from v5 down.
    pub protocol_version: Option<u8>,
    /// Bound on TCP connect plus handshake.
    pub connect_timeout: Duration,
    /// Bound on each request.
    pub request_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            protocol_version: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// What a request can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The node answered with an ERROR.
    #[error("Error from server: code={:04x} message=\"{}\"", .0.kind.code(), .0.message)]
    Server(ErrorBody),
    /// TCP connect or I/O failed.
    #[error("{0}")]
    Io(String),
    /// The node did not complete the connection in time.
    #[error("Timed out connecting to {addr} after {timeout:?}")]
    ConnectTimeout {
        /// Where we connected.
        addr: SocketAddr,
        /// The bound that passed.
        timeout: Duration,
    },
    /// A request got no answer in time.
    #[error("Client request timeout after {0:?}")]
    RequestTimeout(Duration),
    /// The connection is gone (closed by the node, or broken earlier).
    #[error("Connection closed: {0}")]
    Closed(String),
    /// Bytes we could not decode, or could not encode a request.
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    /// The node answered with a message that does not fit the request.
    #[error("Unexpected response: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// Whether this is the node telling us it does not speak our version.
    pub fn is_unsupported_version(&self) -> bool {
        match self {
            ClientError::Server(e) => {
                e.kind == ErrorKind::Protocol
                    && e.message
                        .to_ascii_lowercase()
                        .contains("unsupported protocol version")
            }
            _ => false,
        }
    }
}

/// A result with the warnings the node attached to it.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The RESULT body.
    pub result: ResultBody,
    /// Warnings (e.g. "Aggregation query used without partition key").
    pub warnings: Vec<String>,
}

/// A prepared statement as the client keeps it.
#[derive(Clone, Debug)]
pub struct PreparedStatement {
    /// The text that was prepared.
    pub query: String,
    /// The node's answer: id, bind markers and result columns.
    pub prepared: Prepared,
}

impl PreparedStatement {
    /// The bind markers' specs (names and types), in order.
    pub fn bind_columns(&self) -> &[ColumnSpec] {
        &self.prepared.metadata.columns
    }
}

/// One connection to one node. Cheap to clone; clones share the connection, so
/// many requests may run concurrently (each on its own stream id).
#[derive(Clone)]
pub struct Client {
    conn: Arc<Connection>,
    addr: SocketAddr,
}

impl Client {
    /// Connects to `addr`, negotiating the protocol version (module docs).
    pub async fn connect(addr: SocketAddr, config: &ClientConfig) -> Result<Client, ClientError> {
        let mut version = config.protocol_version.unwrap_or(NEWEST_PROTOCOL_VERSION);
        loop {
            match Connection::open(addr, version, config).await {
                Ok(conn) => {
                    return Ok(Client {
                        conn: Arc::new(conn),
                        addr,
                    })
                }
                Err(e)
                    if e.is_unsupported_version()
                        && config.protocol_version.is_none()
                        && version > OLDEST_PROTOCOL_VERSION =>
                {
                    version -= 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Why the connection died, if it has (a new [`Client`] is then needed).
    pub fn closed(&self) -> Option<String> {
        self.conn.closed()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> u8 {
        self.conn.version()
    }

    /// Sends one request and waits for its answer (an ERROR becomes
    /// [`ClientError::Server`]).
    pub async fn request(&self, request: Request) -> Result<Reply, ClientError> {
        let env = self.conn.send(request).await?;
        match env.response {
            Response::Result(result) => Ok(Reply {
                result,
                warnings: env.warnings,
            }),
            Response::Error(e) => Err(ClientError::Server(e)),
            other => Err(ClientError::Unexpected(format!("{:?}", other.opcode()))),
        }
    }

    /// QUERY `text` with `params`.
    pub async fn query(&self, text: &str, params: QueryParameters) -> Result<Reply, ClientError> {
        self.request(Request::Query {
            query: text.to_string(),
            params,
        })
        .await
    }

    /// QUERY `text` at ONE, unpaged, without values.
    pub async fn query_simple(&self, text: &str) -> Result<Reply, ClientError> {
        self.query(text, QueryParameters::new(Consistency::One))
            .await
    }

    /// PREPARE `text`.
    pub async fn prepare(&self, text: &str) -> Result<PreparedStatement, ClientError> {
        let reply = self
            .request(Request::Prepare(Prepare {
                query: text.to_string(),
                keyspace: None,
            }))
            .await?;
        match reply.result {
            ResultBody::Prepared(prepared) => Ok(PreparedStatement {
                query: text.to_string(),
                prepared,
            }),
            other => Err(ClientError::Unexpected(format!(
                "PREPARE answered with {other:?}"
            ))),
        }
    }

    /// EXECUTE a prepared statement with positional `values` (encoded cells,
    /// `None` for null) at `consistency`.
    pub async fn execute(
        &self,
        statement: &PreparedStatement,
        values: Vec<Option<Vec<u8>>>,
        consistency: Consistency,
    ) -> Result<Reply, ClientError> {
        let mut params = QueryParameters::new(consistency);
        if !values.is_empty() {
            params.values = QueryValues::Positional(values.into_iter().map(Value::from).collect());
        }
        self.request(Request::Execute(Execute {
            id: statement.prepared.id.clone(),
            result_metadata_id: statement.prepared.result_metadata_id.clone(),
            params,
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    //! The client against a scripted fake node on 127.0.0.1:0 speaking plain v3/v4
    //! frames through the codec: version step-down, request timeouts whose late
    //! answers must not reach a later request, and a connection that dies.

    use super::*;
    use sibyl_cql::protocol::{
        decode_frame, decode_request, encode_response, ErrorBody, Frame, RequestEnvelope,
        ResponseEnvelope, DEFAULT_MAX_BODY_LEN,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// Bound on every wait in these tests.
    const WAIT: Duration = Duration::from_secs(10);

    async fn read_request(
        sock: &mut TcpStream,
        buf: &mut Vec<u8>,
    ) -> Option<(Frame, RequestEnvelope)> {
        loop {
            if let Ok(Some((frame, n))) = decode_frame(buf, DEFAULT_MAX_BODY_LEN) {
                buf.drain(..n);
                let env = decode_request(&frame, None, DEFAULT_MAX_BODY_LEN).ok()?;
                return Some((frame, env));
            }
            let mut chunk = [0u8; 4096];
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn answer(sock: &mut TcpStream, version: u8, stream: i16, response: Response) {
        let frame = encode_response(&ResponseEnvelope::new(version, stream, response), None)
            .and_then(|f| f.to_bytes())
            .expect("encode");
        sock.write_all(&frame).await.expect("write");
    }

    /// Negotiating (`None`) for the step-down tests; the others pin v4 because the
    /// fake node reads plain frames, not v5 segments.
    fn config(timeout: Duration) -> ClientConfig {
        ClientConfig {
            protocol_version: Some(4),
            connect_timeout: WAIT,
            request_timeout: timeout,
        }
    }

    #[tokio::test]
    async fn steps_down_from_v5_to_what_the_node_speaks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let node = tokio::spawn(async move {
            // First connection: a v4-only node refuses v5 the way Cassandra 3 does.
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let (frame, _) = read_request(&mut s, &mut buf).await.expect("startup");
            assert_eq!(frame.header.version, 5);
            let msg =
                "Invalid or unsupported protocol version (5); supported versions are (3/v3, 4/v4)";
            answer(
                &mut s,
                4,
                frame.header.stream,
                Response::Error(ErrorBody::new(ErrorKind::Protocol, msg)),
            )
            .await;
            drop(s);
            // Second connection: v4 STARTUP, then one QUERY.
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let (frame, env) = read_request(&mut s, &mut buf).await.expect("startup");
            assert_eq!(frame.header.version, 4);
            assert!(matches!(env.request, Request::Startup(_)));
            answer(&mut s, 4, frame.header.stream, Response::Ready).await;
            let (frame, env) = read_request(&mut s, &mut buf).await.expect("query");
            assert!(matches!(env.request, Request::Query { .. }));
            answer(
                &mut s,
                4,
                frame.header.stream,
                Response::Result(ResultBody::Void),
            )
            .await;
            // Keep the socket open until the client is done.
            let _ = read_request(&mut s, &mut buf).await;
        });
        let mut c = config(WAIT);
        c.protocol_version = None;
        let client = tokio::time::timeout(WAIT, Client::connect(addr, &c))
            .await
            .expect("in time")
            .expect("connects");
        assert_eq!(client.protocol_version(), 4);
        let reply = client.query_simple("SELECT 1").await.expect("query");
        assert!(matches!(reply.result, ResultBody::Void));
        drop(client);
        tokio::time::timeout(WAIT, node)
            .await
            .expect("node ends")
            .expect("node ok");
    }

    #[tokio::test]
    async fn an_explicit_version_is_not_stepped_down() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let (frame, _) = read_request(&mut s, &mut buf).await.expect("startup");
            let msg =
                "Invalid or unsupported protocol version (5); supported versions are (3/v3, 4/v4)";
            answer(
                &mut s,
                4,
                frame.header.stream,
                Response::Error(ErrorBody::new(ErrorKind::Protocol, msg)),
            )
            .await;
        });
        let mut c = config(WAIT);
        c.protocol_version = Some(5);
        let err = Client::connect(addr, &c).await.err().expect("refused");
        assert!(err.is_unsupported_version(), "{err}");
    }

    #[tokio::test]
    async fn a_late_answer_never_reaches_the_next_request() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let node = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let (frame, _) = read_request(&mut s, &mut buf).await.expect("startup");
            answer(
                &mut s,
                frame.header.version,
                frame.header.stream,
                Response::Ready,
            )
            .await;
            let v = frame.header.version;
            // The first query is held until the second arrives; then both are answered,
            // the first (late) one first.
            let (first, _) = read_request(&mut s, &mut buf).await.expect("first");
            let (second, _) = read_request(&mut s, &mut buf).await.expect("second");
            assert_ne!(
                first.header.stream, second.header.stream,
                "the timed-out id stays reserved"
            );
            answer(
                &mut s,
                v,
                first.header.stream,
                Response::Result(ResultBody::SetKeyspace("late".into())),
            )
            .await;
            answer(
                &mut s,
                v,
                second.header.stream,
                Response::Result(ResultBody::Void),
            )
            .await;
            // Then the connection dies.
            let _ = read_request(&mut s, &mut buf).await;
        });
        let client = Client::connect(addr, &config(Duration::from_millis(200)))
            .await
            .expect("connects");
        let err = client
            .query_simple("SELECT 1")
            .await
            .expect_err("times out");
        assert!(matches!(err, ClientError::RequestTimeout(_)), "{err}");
        let c2 = client.clone();
        let reply = tokio::time::timeout(WAIT, c2.query_simple("SELECT 2"))
            .await
            .expect("in time")
            .expect("answered");
        assert!(
            matches!(reply.result, ResultBody::Void),
            "{:?}",
            reply.result
        );
        drop((client, c2));
        tokio::time::timeout(WAIT, node)
            .await
            .expect("node ends")
            .expect("node ok");
    }

    #[tokio::test]
    async fn requests_fail_when_the_connection_dies() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let (frame, _) = read_request(&mut s, &mut buf).await.expect("startup");
            answer(
                &mut s,
                frame.header.version,
                frame.header.stream,
                Response::Ready,
            )
            .await;
            let _ = read_request(&mut s, &mut buf).await.expect("query");
            // Close without answering.
        });
        let client = Client::connect(addr, &config(WAIT))
            .await
            .expect("connects");
        let err = tokio::time::timeout(WAIT, client.query_simple("SELECT 1"))
            .await
            .expect("in time")
            .expect_err("fails");
        assert!(matches!(err, ClientError::Closed(_)), "{err}");
        assert!(client.closed().is_some());
        let err = client
            .query_simple("SELECT 2")
            .await
            .expect_err("fails at once");
        assert!(matches!(err, ClientError::Closed(_)), "{err}");
    }
}
