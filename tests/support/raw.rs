//! A minimal native-protocol client on the codec, for tests that need raw frames
//! (malformed input, v5 segments, server-pushed events). One request at a time.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use sibyl_cql::protocol::{
    decode_frame, decode_response, encode_request, encode_segments, Request, RequestEnvelope,
    Response, ResponseEnvelope, SegmentDecoder, Startup,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest `recv` waits by default for something the server should do promptly.
const WAIT: Duration = Duration::from_secs(10);

/// A minimal client on the codec: one request at a time.
pub struct Raw {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
    /// Set once v5 framing is on.
    pub segments: Option<SegmentDecoder>,
    /// Segment compression (v5).
    pub compression: Option<sibyl_cql::protocol::Compression>,
    pub frames: std::collections::VecDeque<sibyl_cql::protocol::Frame>,
    /// Longest `recv` waits for bytes before failing the test.
    pub wait: Duration,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
            segments: None,
            compression: None,
            frames: Default::default(),
            wait: WAIT,
        }
    }

    pub async fn send(&mut self, version: u8, stream: i16, request: Request) {
        let frame = encode_request(&RequestEnvelope::new(version, stream, request), None)
            .expect("encode")
            .to_bytes()
            .expect("bytes");
        let bytes = if self.segments.is_some() {
            let mut out = Vec::new();
            encode_segments(&[frame], self.compression, &mut out).expect("segments");
            out
        } else {
            frame
        };
        self.stream.write_all(&bytes).await.expect("write");
    }

    pub async fn recv(&mut self) -> Option<ResponseEnvelope> {
        loop {
            if let Some(f) = self.frames.pop_front() {
                return Some(decode_response(&f, None, u32::MAX).expect("decodes"));
            }
            if let Some(dec) = self.segments.as_mut() {
                let (frames, used) = dec.decode(&self.buf).expect("segments decode");
                self.buf.drain(..used);
                self.frames.extend(frames);
            } else if let Some((f, used)) = decode_frame(&self.buf, u32::MAX).expect("frame") {
                self.buf.drain(..used);
                self.frames.push_back(f);
            }
            if !self.frames.is_empty() {
                continue;
            }
            let mut chunk = [0u8; 65536];
            let n = tokio::time::timeout(self.wait, self.stream.read(&mut chunk))
                .await
                .expect("server answers in time")
                .expect("read");
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn startup(&mut self, version: u8) {
        let mut options = BTreeMap::new();
        options.insert("CQL_VERSION".to_string(), "3.0.0".to_string());
        self.send(version, 0, Request::Startup(Startup { options }))
            .await;
        let r = self.recv().await.expect("ready");
        assert_eq!(r.response, Response::Ready);
    }
}
