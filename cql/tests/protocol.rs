//! Native protocol codec tests: message round trips for v4 and v5, golden
//! frames, segment checksums and framing, compression, version negotiation,
//! bounds, and "never panics" property tests on arbitrary bytes.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sibyl_cql::protocol::frame::{FLAG_COMPRESSION, HEADER_LEN};
use sibyl_cql::protocol::primitives::BytesMap;
use sibyl_cql::protocol::segment::{
    crc24, segment_crc32, HEADER_LEN_LZ4, HEADER_LEN_UNCOMPRESSED, MAX_SEGMENT_PAYLOAD, TRAILER_LEN,
};
use sibyl_cql::protocol::*;
use sibyl_cql::types::CqlType;

const MAX: u32 = DEFAULT_MAX_BODY_LEN;

// ---------------------------------------------------------------- samples

fn startup() -> Request {
    let mut options = BTreeMap::new();
    options.insert("CQL_VERSION".to_string(), "3.0.0".to_string());
    options.insert("COMPRESSION".to_string(), "lz4".to_string());
    options.insert("DRIVER_NAME".to_string(), "sibyl-test".to_string());
    Request::Startup(Startup { options })
}

fn full_params(version: u8) -> QueryParameters {
    QueryParameters {
        consistency: Consistency::LocalQuorum,
        values: QueryValues::Positional(vec![
            Value::Bytes(vec![0, 0, 0, 42]),
            Value::Null,
            Value::Unset,
            Value::Bytes(vec![]),
        ]),
        skip_metadata: true,
        page_size: Some(5000),
        paging_state: Some(vec![1, 2, 3, 4, 5]),
        serial_consistency: Some(Consistency::LocalSerial),
        timestamp: Some(1_700_000_000_000_000),
        keyspace: (version >= 5).then(|| "ks".to_string()),
        now_in_seconds: (version >= 5).then_some(1_700_000_000),
    }
}

fn sample_requests(version: u8) -> Vec<Request> {
    let mut named = QueryParameters::new(Consistency::One);
    named.values = QueryValues::Named(vec![
        ("a".to_string(), Value::Bytes(b"x".to_vec())),
        ("b".to_string(), Value::Null),
    ]);
    let rmid = (version >= 5).then(|| vec![9u8; 16]);
    vec![
        startup(),
        Request::AuthResponse {
            token: Some(b"\0cassandra\0cassandra".to_vec()),
        },
        Request::AuthResponse { token: None },
        Request::Options,
        Request::Query {
            query: "SELECT * FROM system.local".to_string(),
            params: QueryParameters::new(Consistency::One),
        },
        Request::Query {
            query: "INSERT INTO t (k, v, w, x) VALUES (?, ?, ?, ?)".to_string(),
            params: full_params(version),
        },
        Request::Query {
            query: "SELECT * FROM t WHERE a = :a AND b = :b".to_string(),
            params: named.clone(),
        },
        Request::Prepare(Prepare {
            query: "SELECT * FROM t WHERE k = ?".to_string(),
            keyspace: None,
        }),
        Request::Prepare(Prepare {
            query: "SELECT * FROM t WHERE k = ?".to_string(),
            keyspace: (version >= 5).then(|| "ks".to_string()),
        }),
        Request::Execute(Execute {
            id: vec![0xAB; 16],
            result_metadata_id: rmid.clone(),
            params: full_params(version),
        }),
        Request::Execute(Execute {
            id: vec![1, 2],
            result_metadata_id: rmid,
            params: named,
        }),
        Request::Batch(Batch {
            batch_type: BatchType::Logged,
            statements: vec![
                BatchStatement {
                    query: BatchQuery::Text("INSERT INTO t (k) VALUES (1)".to_string()),
                    values: QueryValues::None,
                },
                BatchStatement {
                    query: BatchQuery::Prepared(vec![7; 16]),
                    values: QueryValues::Positional(vec![
                        Value::Bytes(vec![1]),
                        Value::Null,
                        Value::Unset,
                    ]),
                },
            ],
            consistency: Consistency::Quorum,
            serial_consistency: Some(Consistency::Serial),
            timestamp: Some(-5),
            keyspace: (version >= 5).then(|| "ks".to_string()),
            now_in_seconds: (version >= 5).then_some(99),
        }),
        Request::Batch(Batch {
            batch_type: BatchType::Unlogged,
            statements: vec![BatchStatement {
                query: BatchQuery::Text("UPDATE t SET v = :v WHERE k = :k".to_string()),
                values: QueryValues::Named(vec![
                    ("v".to_string(), Value::Bytes(vec![2])),
                    ("k".to_string(), Value::Bytes(vec![3])),
                ]),
            }],
            consistency: Consistency::One,
            serial_consistency: None,
            timestamp: None,
            keyspace: None,
            now_in_seconds: None,
        }),
        Request::Batch(Batch {
            batch_type: BatchType::Counter,
            statements: vec![],
            consistency: Consistency::Any,
            serial_consistency: None,
            timestamp: None,
            keyspace: None,
            now_in_seconds: None,
        }),
        Request::Register {
            events: vec![
                EventType::TopologyChange,
                EventType::StatusChange,
                EventType::SchemaChange,
            ],
        },
    ]
}

fn col(ks: &str, table: &str, name: &str, t: CqlType) -> ColumnSpec {
    ColumnSpec {
        keyspace: ks.to_string(),
        table: table.to_string(),
        name: name.to_string(),
        cql_type: t,
    }
}

fn columns() -> Vec<ColumnSpec> {
    vec![
        col("ks", "t", "k", CqlType::Int),
        col("ks", "t", "v", CqlType::Text),
        col(
            "ks",
            "t",
            "m",
            CqlType::Map(
                Box::new(CqlType::Text),
                Box::new(CqlType::List(Box::new(CqlType::Bigint))),
            ),
        ),
    ]
}

fn sample_errors(version: u8) -> Vec<ErrorBody> {
    let v5 = version >= 5;
    let failures = if v5 {
        Failures::Reasons(vec![
            ("127.0.0.2".parse().expect("ip"), 0x0001),
            ("::1".parse().expect("ip"), 0x0000),
        ])
    } else {
        Failures::Count(2)
    };
    let kinds = vec![
        ErrorKind::Server,
        ErrorKind::Protocol,
        ErrorKind::AuthenticationError,
        ErrorKind::Unavailable {
            consistency: Consistency::Quorum,
            required: 2,
            alive: 1,
        },
        ErrorKind::Overloaded,
        ErrorKind::IsBootstrapping,
        ErrorKind::TruncateError,
        ErrorKind::WriteTimeout {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            write_type: "SIMPLE".to_string(),
            contentions: None,
        },
        ErrorKind::WriteTimeout {
            consistency: Consistency::Serial,
            received: 1,
            block_for: 2,
            write_type: "CAS".to_string(),
            contentions: v5.then_some(3),
        },
        ErrorKind::ReadTimeout {
            consistency: Consistency::All,
            received: 2,
            block_for: 3,
            data_present: true,
        },
        ErrorKind::ReadFailure {
            consistency: Consistency::LocalQuorum,
            received: 1,
            block_for: 2,
            failures: failures.clone(),
            data_present: false,
        },
        ErrorKind::FunctionFailure {
            keyspace: "ks".to_string(),
            function: "f".to_string(),
            arg_types: vec!["int".to_string(), "text".to_string()],
        },
        ErrorKind::WriteFailure {
            consistency: Consistency::Two,
            received: 1,
            block_for: 2,
            failures,
            write_type: "BATCH".to_string(),
        },
        ErrorKind::CdcWriteFailure,
        ErrorKind::CasWriteUnknown {
            consistency: Consistency::Quorum,
            received: 1,
            block_for: 2,
        },
        ErrorKind::Syntax,
        ErrorKind::Unauthorized,
        ErrorKind::Invalid,
        ErrorKind::Config,
        ErrorKind::AlreadyExists {
            keyspace: "ks".to_string(),
            table: "t".to_string(),
        },
        ErrorKind::Unprepared { id: vec![0xCD; 16] },
    ];
    kinds
        .into_iter()
        .map(|k| ErrorBody::new(k, "something went wrong"))
        .collect()
}

fn sample_responses(version: u8) -> Vec<Response> {
    let v5 = version >= 5;
    let mut supported = BTreeMap::new();
    supported.insert("CQL_VERSION".to_string(), vec!["3.4.7".to_string()]);
    supported.insert("COMPRESSION".to_string(), vec!["lz4".to_string()]);
    supported.insert(
        "PROTOCOL_VERSIONS".to_string(),
        vec!["3/v3".to_string(), "4/v4".to_string(), "5/v5".to_string()],
    );
    let mut paged = ResultMetadata::with_columns(columns());
    paged.paging_state = Some(vec![0xEE; 12]);
    if v5 {
        paged.new_metadata_id = Some(vec![0x11; 16]);
    }
    let mixed = ResultMetadata::with_columns(vec![
        col("ks", "a", "x", CqlType::Uuid),
        col("other", "b", "y", CqlType::Set(Box::new(CqlType::Inet))),
    ]);
    let mut out: Vec<Response> = sample_errors(version)
        .into_iter()
        .map(Response::Error)
        .collect();
    out.extend([
        Response::Ready,
        Response::Authenticate {
            authenticator: "org.apache.cassandra.auth.PasswordAuthenticator".to_string(),
        },
        Response::Supported { options: supported },
        Response::Result(ResultBody::Void),
        Response::Result(ResultBody::Rows(Rows {
            metadata: paged,
            rows: vec![
                vec![Some(vec![0, 0, 0, 1]), Some(b"one".to_vec()), None],
                vec![Some(vec![0, 0, 0, 2]), Some(vec![]), Some(vec![0, 0, 0, 0])],
            ],
        })),
        Response::Result(ResultBody::Rows(Rows {
            metadata: mixed,
            rows: vec![vec![None, None]],
        })),
        Response::Result(ResultBody::Rows(Rows {
            metadata: ResultMetadata::no_metadata(2),
            rows: vec![vec![Some(vec![1]), Some(vec![2])]],
        })),
        Response::Result(ResultBody::Rows(Rows {
            metadata: ResultMetadata::with_columns(vec![]),
            rows: vec![],
        })),
        Response::Result(ResultBody::SetKeyspace("ks".to_string())),
        Response::Result(ResultBody::Prepared(Prepared {
            id: vec![0xAB; 16],
            result_metadata_id: v5.then(|| vec![0xCD; 16]),
            metadata: PreparedMetadata {
                columns: vec![
                    col("ks", "t", "k", CqlType::Int),
                    col("ks", "t", "c", CqlType::Text),
                ],
                pk_indices: vec![0],
            },
            result_metadata: ResultMetadata::with_columns(columns()),
        })),
        Response::Result(ResultBody::Prepared(Prepared {
            id: vec![1],
            result_metadata_id: v5.then(Vec::new),
            metadata: PreparedMetadata::default(),
            result_metadata: ResultMetadata::no_metadata(0),
        })),
    ]);
    for target in [
        SchemaChangeTarget::Keyspace("ks".to_string()),
        SchemaChangeTarget::Table {
            keyspace: "ks".to_string(),
            name: "t".to_string(),
        },
        SchemaChangeTarget::Type {
            keyspace: "ks".to_string(),
            name: "address".to_string(),
        },
        SchemaChangeTarget::Function {
            keyspace: "ks".to_string(),
            name: "f".to_string(),
            arg_types: vec!["int".to_string()],
        },
        SchemaChangeTarget::Aggregate {
            keyspace: "ks".to_string(),
            name: "agg".to_string(),
            arg_types: vec![],
        },
    ] {
        let sc = SchemaChange {
            change: SchemaChangeType::Created,
            target,
        };
        out.push(Response::Result(ResultBody::SchemaChange(sc.clone())));
        out.push(Response::Event(Event::SchemaChange(SchemaChange {
            change: SchemaChangeType::Dropped,
            ..sc
        })));
    }
    out.extend([
        Response::Event(Event::TopologyChange {
            change: TopologyChange::NewNode,
            node: "127.0.0.2:9042".parse().expect("addr"),
        }),
        Response::Event(Event::StatusChange {
            change: StatusChange::Down,
            node: "[::1]:9042".parse().expect("addr"),
        }),
        Response::AuthChallenge {
            token: Some(vec![1, 2, 3]),
        },
        Response::AuthSuccess { token: None },
    ]);
    out
}

fn request_round_trip(env: &RequestEnvelope, compression: Option<Compression>) -> RequestEnvelope {
    let bytes = encode_request(env, compression)
        .expect("encodes")
        .to_bytes()
        .expect("bytes");
    let (frame, used) = decode_frame(&bytes, MAX).expect("valid").expect("complete");
    assert_eq!(used, bytes.len());
    decode_request(&frame, compression, MAX).expect("decodes")
}

fn response_round_trip(
    env: &ResponseEnvelope,
    compression: Option<Compression>,
) -> ResponseEnvelope {
    let bytes = encode_response(env, compression)
        .expect("encodes")
        .to_bytes()
        .expect("bytes");
    let (frame, used) = decode_frame(&bytes, MAX).expect("valid").expect("complete");
    assert_eq!(used, bytes.len());
    decode_response(&frame, compression, MAX).expect("decodes")
}

// ---------------------------------------------------------------- round trips

#[test]
fn every_request_round_trips_v3_v4_v5() {
    // Checks request encode → frame bytes → decode gives the same request, per version.
    for version in [4u8, 5] {
        for (i, req) in sample_requests(version).into_iter().enumerate() {
            let mut env = RequestEnvelope::new(version, i as i16, req);
            env.tracing = i % 2 == 0;
            assert_eq!(request_round_trip(&env, None), env, "v{version} #{i}");
        }
    }
    // v3 has no unset values; keep the requests without them.
    let v3: Vec<Request> = vec![
        startup(),
        Request::Options,
        Request::Register { events: vec![] },
    ];
    for req in v3 {
        let env = RequestEnvelope::new(3, 1, req);
        assert_eq!(request_round_trip(&env, None), env);
    }
}

#[test]
fn every_response_round_trips_v4_v5() {
    // Checks response encode → frame bytes → decode gives the same response, per version.
    for version in [4u8, 5] {
        for (i, resp) in sample_responses(version).into_iter().enumerate() {
            let env = ResponseEnvelope::new(version, i as i16, resp);
            assert_eq!(response_round_trip(&env, None), env, "v{version} #{i}");
        }
    }
}

#[test]
fn v4_failures_reason_map_encodes_as_count() {
    // Checks that a v5-style reason map sent to a v4 client becomes its numfailures count.
    let e = ErrorBody::new(
        ErrorKind::ReadFailure {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            failures: Failures::Reasons(vec![("10.0.0.1".parse().expect("ip"), 1)]),
            data_present: false,
        },
        "fail",
    );
    let env = ResponseEnvelope::new(4, 0, Response::Error(e));
    let back = response_round_trip(&env, None);
    match back.response {
        Response::Error(ErrorBody {
            kind: ErrorKind::ReadFailure { failures, .. },
            ..
        }) => assert_eq!(failures, Failures::Count(1)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn tracing_warnings_and_payload_round_trip() {
    // Checks the tracing id, warnings and custom payload prefixes of responses and requests.
    let mut payload = BytesMap::new();
    payload.insert("k".to_string(), Some(vec![1, 2]));
    payload.insert("n".to_string(), None);
    for version in [4u8, 5] {
        let mut env = ResponseEnvelope::new(version, 3, Response::Result(ResultBody::Void));
        env.tracing_id = Some([7; 16]);
        env.warnings = vec!["Aggregation query used without partition key".to_string()];
        env.custom_payload = Some(payload.clone());
        let frame = encode_response(&env, None).expect("encodes");
        assert_eq!(frame.header.flags, 0x02 | 0x04 | 0x08);
        assert_eq!(&frame.body[..16], &[7; 16]);
        assert_eq!(response_round_trip(&env, None), env);

        let mut req = RequestEnvelope::new(
            version,
            4,
            Request::Query {
                query: "SELECT 1".to_string(),
                params: QueryParameters::new(Consistency::One),
            },
        );
        req.custom_payload = Some(payload.clone());
        req.tracing = true;
        req.beta = true;
        assert_eq!(request_round_trip(&req, None), req);
    }
}

#[test]
fn v4_lz4_body_compression_round_trips() {
    // Checks v4 LZ4 body compression of requests and responses, and that STARTUP stays plain.
    let c = Some(Compression::Lz4);
    for (i, req) in sample_requests(4).into_iter().enumerate() {
        let env = RequestEnvelope::new(4, i as i16, req);
        let frame = encode_request(&env, c).expect("encodes");
        let compressed = frame.header.flags & FLAG_COMPRESSION != 0;
        assert_eq!(
            compressed,
            !matches!(env.request, Request::Startup(_) | Request::Options)
        );
        assert_eq!(request_round_trip(&env, c), env);
    }
    for (i, resp) in sample_responses(4).into_iter().enumerate() {
        let env = ResponseEnvelope::new(4, i as i16, resp);
        assert_eq!(response_round_trip(&env, c), env);
    }
    // A compressed frame on a connection without compression is refused.
    let env = RequestEnvelope::new(4, 0, Request::Register { events: vec![] });
    let frame = encode_request(&env, c).expect("encodes");
    assert!(decode_request(&frame, None, MAX).is_err());
    // v5 frames are never body-compressed (segments are).
    let env5 = RequestEnvelope::new(5, 0, Request::Register { events: vec![] });
    assert_eq!(encode_request(&env5, c).expect("encodes").header.flags, 0);
}

// ---------------------------------------------------------------- golden bytes

#[test]
fn golden_options_frame() {
    // Checks the exact bytes of a v4 OPTIONS request on stream 0 (spec §2: 9-byte header, empty body).
    let env = RequestEnvelope::new(4, 0, Request::Options);
    let bytes = encode_request(&env, None)
        .expect("encodes")
        .to_bytes()
        .expect("bytes");
    assert_eq!(
        bytes,
        [0x04, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00]
    );
}

#[test]
fn golden_ready_frame() {
    // Checks the exact bytes of a v5 READY response on stream 1.
    let env = ResponseEnvelope::new(5, 1, Response::Ready);
    let bytes = encode_response(&env, None)
        .expect("encodes")
        .to_bytes()
        .expect("bytes");
    assert_eq!(
        bytes,
        [0x85, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00]
    );
}

#[test]
fn golden_error_frame() {
    // Checks the exact bytes of a v4 ERROR (Invalid 0x2200, message "bad") on stream 2.
    let env = ResponseEnvelope::new(
        4,
        2,
        Response::Error(ErrorBody::new(ErrorKind::Invalid, "bad")),
    );
    let bytes = encode_response(&env, None)
        .expect("encodes")
        .to_bytes()
        .expect("bytes");
    let expected = [
        0x84, 0x00, 0x00, 0x02, 0x00, // version, flags, stream, opcode ERROR
        0x00, 0x00, 0x00, 0x09, // length 9
        0x00, 0x00, 0x22, 0x00, // [int] code 0x2200
        0x00, 0x03, b'b', b'a', b'd', // [string] "bad"
    ];
    assert_eq!(bytes, expected);
}

#[test]
fn golden_startup_and_query_bodies() {
    // Checks hand-computed bodies of a STARTUP and a minimal v4 and v5 QUERY.
    let mut options = BTreeMap::new();
    options.insert("CQL_VERSION".to_string(), "3.0.0".to_string());
    let env = RequestEnvelope::new(4, 0, Request::Startup(Startup { options }));
    let frame = encode_request(&env, None).expect("encodes");
    let mut body = vec![0x00, 0x01, 0x00, 0x0B];
    body.extend_from_slice(b"CQL_VERSION");
    body.extend_from_slice(&[0x00, 0x05]);
    body.extend_from_slice(b"3.0.0");
    assert_eq!(frame.body, body);
    assert_eq!(frame.header.opcode, Opcode::Startup);

    let q = Request::Query {
        query: "USE ks".to_string(),
        params: QueryParameters::new(Consistency::One),
    };
    let v4 = encode_request(&RequestEnvelope::new(4, 0, q.clone()), None).expect("encodes");
    assert_eq!(
        v4.body,
        [0, 0, 0, 6, b'U', b'S', b'E', b' ', b'k', b's', 0x00, 0x01, 0x00]
    );
    let v5 = encode_request(&RequestEnvelope::new(5, 0, q), None).expect("encodes");
    assert_eq!(
        v5.body,
        [0, 0, 0, 6, b'U', b'S', b'E', b' ', b'k', b's', 0x00, 0x01, 0, 0, 0, 0]
    );
}

// ---------------------------------------------------------------- negotiation and bounds

#[test]
fn unsupported_version_message_and_answer() {
    // Checks the exact negotiation message and the version/stream of the answer frame.
    for (byte, answer) in [(0x41u8, 5u8), (0x42, 5), (6, 5), (0x7F, 5)] {
        let header = [byte, 0x00, 0x00, 0x07, 0x05, 0, 0, 0, 0];
        let err = decode_header(&header, MAX).expect_err("unsupported");
        assert_eq!(
            err,
            ProtocolError::UnsupportedVersion {
                version: byte,
                answer_version: answer,
                stream: 7
            }
        );
        let text = format!(
            "Invalid or unsupported protocol version ({byte}); supported versions are (3/v3, 4/v4, 5/v5)"
        );
        assert_eq!(err.to_string(), text);
        assert!(err.to_string().contains("unsupported protocol version"));

        let bytes = unsupported_version_response(byte, 7);
        let (frame, _) = decode_frame(&bytes, MAX).expect("valid").expect("complete");
        assert_eq!(frame.header.version, answer);
        assert_eq!(frame.header.stream, 7);
        let env = decode_response(&frame, None, MAX).expect("decodes");
        assert_eq!(
            env.response,
            Response::Error(ErrorBody::new(ErrorKind::Protocol, text))
        );
    }
}

#[test]
fn legacy_versions_answered_in_kind() {
    // Checks that v1/v2 requests get an answer in their own version with the 8-byte header.
    let header = [0x02, 0x00, 0x03, 0x05, 0, 0, 0, 0];
    assert_eq!(decode_header(&header[..7], MAX), Ok(None));
    let err = decode_header(&header, MAX).expect_err("unsupported");
    assert_eq!(
        err,
        ProtocolError::UnsupportedVersion {
            version: 2,
            answer_version: 2,
            stream: 3
        }
    );
    let bytes = unsupported_version_response(2, 3);
    assert_eq!(&bytes[..4], &[0x82, 0x00, 0x03, 0x00]);
    let len = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    assert_eq!(bytes.len(), 8 + len);
    assert_eq!(&bytes[8..12], &[0, 0, 0, 0x0A]);
    let msg = String::from_utf8(bytes[14..].to_vec()).expect("utf8");
    assert_eq!(
        msg,
        "Invalid or unsupported protocol version (2); supported versions are (3/v3, 4/v4, 5/v5)"
    );
}

#[test]
fn oversize_body_rejected() {
    // Checks that a body longer than the maximum (16 MiB) is refused from the header alone.
    let mut header = vec![0x04, 0x00, 0x00, 0x01, 0x07];
    header.extend_from_slice(&(MAX + 1).to_be_bytes());
    let err = decode_header(&header, MAX).expect_err("too big");
    assert!(matches!(err, ProtocolError::FrameTooLarge { .. }));
    assert_eq!(
        err.to_string(),
        "Request is too big: length 16777217 exceeds maximum allowed length 16777216."
    );
    let mut ok = vec![0x04, 0x00, 0x00, 0x01, 0x07];
    ok.extend_from_slice(&MAX.to_be_bytes());
    assert!(decode_header(&ok, MAX).expect("valid").is_some());
    // A small configured maximum applies too, also to decompressed v4 bodies.
    let env = RequestEnvelope::new(
        4,
        0,
        Request::Query {
            query: "x".repeat(1000),
            params: QueryParameters::new(Consistency::One),
        },
    );
    let frame = encode_request(&env, Some(Compression::Lz4)).expect("encodes");
    assert!(frame.body.len() < 200);
    assert!(matches!(
        decode_request(&frame, Some(Compression::Lz4), 500),
        Err(ProtocolError::FrameTooLarge { .. })
    ));
}

#[test]
fn unknown_opcode_and_missing_cql_version() {
    // Checks that an unknown opcode, a response opcode in a request, and STARTUP without CQL_VERSION fail.
    let header = [0x04, 0x00, 0x00, 0x01, 0x04, 0, 0, 0, 0];
    assert_eq!(
        decode_header(&header, MAX),
        Err(ProtocolError::UnknownOpcode(4))
    );
    assert!(Request::decode(4, Opcode::Ready, &[]).is_err());
    let err = Request::decode(4, Opcode::Startup, &[0, 0]).expect_err("no CQL_VERSION");
    assert_eq!(
        err.to_string(),
        "Missing value CQL_VERSION in STARTUP message"
    );
    let mut options = BTreeMap::new();
    options.insert("CQL_VERSION".to_string(), "3.0.0".to_string());
    options.insert("COMPRESSION".to_string(), "snappy".to_string());
    let mut body = Vec::new();
    Request::Startup(Startup { options })
        .encode(4, &mut body)
        .expect("encodes");
    assert_eq!(
        Request::decode(4, Opcode::Startup, &body)
            .expect_err("snappy")
            .to_string(),
        "Unknown compression algorithm: snappy"
    );
}

#[test]
fn truncated_bodies_are_incomplete() {
    // Checks that every strict prefix of every sample body decodes to Incomplete, never garbage.
    for version in [4u8, 5] {
        for req in sample_requests(version) {
            let mut body = Vec::new();
            req.encode(version, &mut body).expect("encodes");
            for n in 0..body.len() {
                let r = Request::decode(version, req.opcode(), &body[..n]);
                assert!(
                    matches!(&r, Err(e) if e.is_incomplete()),
                    "v{version} {:?} prefix {n}: {r:?}",
                    req.opcode()
                );
            }
        }
        for resp in sample_responses(version) {
            let mut body = Vec::new();
            resp.encode(version, &mut body).expect("encodes");
            for n in 0..body.len() {
                let r = Response::decode(version, resp.opcode(), &body[..n]);
                assert!(
                    matches!(&r, Err(e) if e.is_incomplete()),
                    "v{version} {:?} prefix {n}: {r:?}",
                    resp.opcode()
                );
            }
        }
    }
}

#[test]
fn truncated_frames_are_none() {
    // Checks that decode_frame reports Ok(None) for every strict prefix of a frame.
    let env = RequestEnvelope::new(4, 1, startup());
    let bytes = encode_request(&env, None)
        .expect("encodes")
        .to_bytes()
        .expect("bytes");
    for n in 0..bytes.len() {
        assert_eq!(decode_frame(&bytes[..n], MAX), Ok(None), "prefix {n}");
    }
}

// ---------------------------------------------------------------- v5 segments

/// Bitwise CRC24 as the spec describes it (init 0x875060, poly 0x1974F0B).
fn crc24_reference(bytes: &[u8]) -> u32 {
    let mut crc: u32 = 0x875060;
    for &b in bytes {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x100_0000 != 0 {
                crc ^= 0x197_4F0B;
            }
        }
    }
    crc
}

/// Bitwise IEEE CRC32 over the seed bytes FA 2D 55 CA followed by the data.
fn crc32_reference(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xFFFF_FFFF;
    for &b in [0xFAu8, 0x2D, 0x55, 0xCA].iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn segment_golden_bytes() {
    // Checks a self-contained "hello" segment against bytes computed independently (Python zlib + Cassandra's bitwise CRC24).
    let mut seg = Vec::new();
    encode_segment(b"hello", true, None, &mut seg).expect("encodes");
    let expected: [u8; 15] = [
        0x05, 0x00, 0x02, // length 5 | self-contained bit 17, little-endian
        0x19, 0x99, 0x9a, // CRC24 0x9a9919, little-endian
        b'h', b'e', b'l', b'l', b'o', // payload
        0x74, 0x80, 0x0e, 0xb6, // CRC32 0xb60e8074, little-endian
    ];
    assert_eq!(seg, expected);
    assert_eq!(crc24(&[0x05, 0x00, 0x02]), 0x9a9919);
    assert_eq!(segment_crc32(b"hello"), 0xb60e8074);
    // LZ4 header example: compressed 10, uncompressed 20, self-contained.
    assert_eq!(crc24(&[0x0a, 0x00, 0x28, 0x00, 0x04]), 0x14710b);
}

#[test]
fn segment_crcs_match_bitwise_reference() {
    // Checks the table-driven CRC24/CRC32 against bitwise implementations on varied inputs.
    let mut x: u32 = 12345;
    for len in 0..200usize {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        assert_eq!(segment_crc32(&data), crc32_reference(&data), "len {len}");
        if len <= 8 {
            assert_eq!(crc24(&data), crc24_reference(&data), "len {len}");
        }
    }
    // Every uncompressed header of a real segment.
    for len in [0usize, 1, 9, 1000, MAX_SEGMENT_PAYLOAD] {
        for sc in [false, true] {
            let payload = vec![0u8; len];
            let mut seg = Vec::new();
            encode_segment(&payload, sc, None, &mut seg).expect("encodes");
            let crc = u32::from_le_bytes([seg[3], seg[4], seg[5], 0]);
            assert_eq!(crc, crc24_reference(&seg[..3]));
            let h = u32::from_le_bytes([seg[0], seg[1], seg[2], 0]);
            assert_eq!(h as usize & 0x1FFFF, len);
            assert_eq!(h & (1 << 17) != 0, sc);
            assert_eq!(seg.len(), HEADER_LEN_UNCOMPRESSED + len + TRAILER_LEN);
        }
    }
    assert!(encode_segment(
        &vec![0; MAX_SEGMENT_PAYLOAD + 1],
        true,
        None,
        &mut Vec::new()
    )
    .is_err());
}

fn frame_bytes(version: u8, stream: i16, query_len: usize) -> Vec<u8> {
    let env = RequestEnvelope::new(
        version,
        stream,
        Request::Query {
            query: "q".repeat(query_len),
            params: QueryParameters::new(Consistency::One),
        },
    );
    encode_request(&env, None)
        .expect("encodes")
        .to_bytes()
        .expect("bytes")
}

/// Feeds `wire` to a decoder in chunks of `chunk` bytes, like a socket would.
fn decode_stream(wire: &[u8], chunk: usize, compression: Option<Compression>) -> Vec<Frame> {
    let mut dec = SegmentDecoder::new(compression, MAX);
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    for part in wire.chunks(chunk) {
        buf.extend_from_slice(part);
        let (mut got, used) = dec.decode(&buf).expect("decodes");
        buf.drain(..used);
        frames.append(&mut got);
    }
    assert!(buf.is_empty());
    assert!(!dec.has_partial_frame());
    frames
}

#[test]
fn multi_segment_split_and_reassembly() {
    // Checks that a 300 KB frame splits over 3 non-self-contained segments between self-contained ones and reassembles.
    for compression in [None, Some(Compression::Lz4)] {
        let small1 = frame_bytes(5, 1, 10);
        let big = frame_bytes(5, 2, 300_000);
        let small2 = frame_bytes(5, 3, 20);
        let small3 = frame_bytes(5, 4, 30);
        let mut wire = Vec::new();
        encode_segments(&[&small1, &big, &small2, &small3], compression, &mut wire)
            .expect("encodes");

        // Walk the segments: SC, 3 × non-SC, SC (two frames).
        let mut pos = 0;
        let mut kinds = Vec::new();
        while pos < wire.len() {
            let (seg, used) = decode_segment(&wire[pos..], compression)
                .expect("valid")
                .expect("complete");
            kinds.push((seg.self_contained, seg.payload.len()));
            pos += used;
        }
        let expected_kinds = vec![
            (true, small1.len()),
            (false, MAX_SEGMENT_PAYLOAD),
            (false, MAX_SEGMENT_PAYLOAD),
            (false, big.len() - 2 * MAX_SEGMENT_PAYLOAD),
            (true, small2.len() + small3.len()),
        ];
        assert_eq!(kinds, expected_kinds);

        for chunk in [1usize, 7, 4096, wire.len()] {
            if chunk == 1 && compression.is_some() {
                continue; // byte-at-a-time over 300 KB is slow and adds nothing here
            }
            let frames = decode_stream(&wire, chunk, compression);
            let back: Vec<Vec<u8>> = frames
                .iter()
                .map(|f| f.to_bytes().expect("bytes"))
                .collect();
            assert_eq!(
                back,
                vec![small1.clone(), big.clone(), small2.clone(), small3.clone()]
            );
        }
    }
}

#[test]
fn lz4_segments_compress_and_fall_back() {
    // Checks LZ4 segments shrink compressible payloads and send incompressible ones raw (uncompressed length 0).
    let payload = frame_bytes(5, 1, 5000);
    let mut seg = Vec::new();
    encode_segment(&payload, true, Some(Compression::Lz4), &mut seg).expect("encodes");
    assert!(seg.len() < payload.len() / 4);
    let (back, used) = decode_segment(&seg, Some(Compression::Lz4))
        .expect("valid")
        .expect("complete");
    assert_eq!(used, seg.len());
    assert_eq!(back.payload, payload);
    assert!(back.self_contained);

    let mut x: u32 = 99;
    let noise: Vec<u8> = (0..1000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let mut seg = Vec::new();
    encode_segment(&noise, false, Some(Compression::Lz4), &mut seg).expect("encodes");
    let h = u64::from_le_bytes([seg[0], seg[1], seg[2], seg[3], seg[4], 0, 0, 0]);
    assert_eq!(h & 0x1FFFF, 1000, "compressed length = raw length");
    assert_eq!(
        (h >> 17) & 0x1FFFF,
        0,
        "uncompressed length 0 = not compressed"
    );
    assert_eq!(h & (1 << 34), 0);
    assert_eq!(seg.len(), HEADER_LEN_LZ4 + 1000 + TRAILER_LEN);
    let (back, _) = decode_segment(&seg, Some(Compression::Lz4))
        .expect("valid")
        .expect("complete");
    assert_eq!(back.payload, noise);
}

#[test]
fn segment_crc_mismatch_is_an_error() {
    // Checks that corrupting any single byte of a segment is detected (header CRC24 or payload CRC32).
    for compression in [None, Some(Compression::Lz4)] {
        let mut seg = Vec::new();
        encode_segment(&frame_bytes(5, 1, 50), true, compression, &mut seg).expect("encodes");
        for i in 0..seg.len() {
            let mut bad = seg.clone();
            bad[i] ^= 0x10;
            let r = decode_segment(&bad, compression);
            assert!(
                matches!(
                    r,
                    Err(ProtocolError::SegmentHeaderCrc { .. }
                        | ProtocolError::SegmentPayloadCrc { .. })
                ) || matches!(r, Ok(None)),
                "byte {i}: {r:?}"
            );
        }
    }
}

#[test]
fn segment_decoder_rejects_inconsistent_framing() {
    // Checks errors for a partial frame in a self-contained segment and for extra bytes after a split frame.
    let f = frame_bytes(5, 1, 10);
    let mut seg = Vec::new();
    encode_segment(&f[..f.len() - 1], true, None, &mut seg).expect("encodes");
    assert!(SegmentDecoder::new(None, MAX).decode(&seg).is_err());

    let mut seg = Vec::new();
    let mut two = f.clone();
    two.extend_from_slice(&f);
    encode_segment(&two, false, None, &mut seg).expect("encodes");
    assert!(SegmentDecoder::new(None, MAX).decode(&seg).is_err());

    // Incomplete segments wait.
    let mut seg = Vec::new();
    encode_segment(&f, true, None, &mut seg).expect("encodes");
    for n in 0..seg.len() {
        assert_eq!(decode_segment(&seg[..n], None), Ok(None));
        let (frames, used) = SegmentDecoder::new(None, MAX)
            .decode(&seg[..n])
            .expect("ok");
        assert!(frames.is_empty());
        assert_eq!(used, 0);
    }
    // A split frame whose header announces too large a body is refused early.
    let mut big = f[..HEADER_LEN].to_vec();
    big[5..9].copy_from_slice(&(MAX + 1).to_be_bytes());
    let mut seg = Vec::new();
    encode_segment(&big, false, None, &mut seg).expect("encodes");
    assert!(matches!(
        SegmentDecoder::new(None, MAX).decode(&seg),
        Err(ProtocolError::FrameTooLarge { .. })
    ));
}

// ---------------------------------------------------------------- never panics

const REQUEST_OPCODES: [Opcode; 8] = [
    Opcode::Startup,
    Opcode::AuthResponse,
    Opcode::Options,
    Opcode::Query,
    Opcode::Prepare,
    Opcode::Execute,
    Opcode::Batch,
    Opcode::Register,
];

const RESPONSE_OPCODES: [Opcode; 8] = [
    Opcode::Error,
    Opcode::Ready,
    Opcode::Authenticate,
    Opcode::Supported,
    Opcode::Result,
    Opcode::Event,
    Opcode::AuthChallenge,
    Opcode::AuthSuccess,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn header_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32), max in any::<u32>()) {
        // Checks decode_header/decode_frame on arbitrary bytes and maxima: results only, no panic.
        let _ = decode_header(&bytes, max);
        let _ = decode_frame(&bytes, max);
    }

    #[test]
    fn segment_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Checks the segment decoders (plain and LZ4) on arbitrary bytes.
        let _ = decode_segment(&bytes, None);
        let _ = decode_segment(&bytes, Some(Compression::Lz4));
        let _ = SegmentDecoder::new(None, 1 << 16).decode(&bytes);
        let _ = SegmentDecoder::new(Some(Compression::Lz4), 1 << 16).decode(&bytes);
    }

    #[test]
    fn segment_decoder_never_panics_on_valid_headers(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        sc in any::<bool>(),
        lz4 in any::<bool>(),
    ) {
        // Checks the frame layer under valid segment CRCs with arbitrary payloads (CRCs alone don't stop fuzz input).
        let c = lz4.then_some(Compression::Lz4);
        let mut seg = Vec::new();
        encode_segment(&payload, sc, c, &mut seg).expect("fits");
        let mut dec = SegmentDecoder::new(c, 1 << 16);
        let _ = dec.decode(&seg);
        let _ = dec.decode(&seg);
    }

    #[test]
    fn request_decoders_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        op in 0usize..8,
        version in 3u8..=5,
    ) {
        // Checks every request body decoder on arbitrary bytes in every version.
        let _ = Request::decode(version, REQUEST_OPCODES[op], &body);
    }

    #[test]
    fn response_decoders_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        op in 0usize..8,
        version in 3u8..=5,
    ) {
        // Checks every response body decoder on arbitrary bytes in every version.
        let _ = Response::decode(version, RESPONSE_OPCODES[op], &body);
    }

    #[test]
    fn frame_decoders_never_panic(
        header in proptest::collection::vec(any::<u8>(), 5),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        // Checks decode_request/decode_response (incl. flags, prefixes, LZ4 bodies) on arbitrary frames.
        let mut bytes = header.clone();
        bytes[0] = (bytes[0] & 0x80) | (3 + bytes[0] % 3);
        bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&body);
        if let Ok(Some((frame, _))) = decode_frame(&bytes, MAX) {
            for c in [None, Some(Compression::Lz4)] {
                let _ = decode_request(&frame, c, 1 << 16);
                let _ = decode_response(&frame, c, 1 << 16);
            }
        }
    }

    #[test]
    fn mutated_valid_requests_never_panic(
        idx in 0usize..16,
        version in 4u8..=5,
        pos in any::<usize>(),
        byte in any::<u8>(),
    ) {
        // Checks request decoders on valid bodies with one byte replaced (reaches deep paths).
        let reqs = sample_requests(version);
        let req = &reqs[idx % reqs.len()];
        let mut body = Vec::new();
        req.encode(version, &mut body).expect("encodes");
        if !body.is_empty() {
            let i = pos % body.len();
            body[i] = byte;
        }
        let _ = Request::decode(version, req.opcode(), &body);
    }

    #[test]
    fn mutated_valid_responses_never_panic(
        idx in 0usize..64,
        version in 4u8..=5,
        pos in any::<usize>(),
        byte in any::<u8>(),
    ) {
        // Checks response decoders on valid bodies with one byte replaced (reaches deep paths).
        let resps = sample_responses(version);
        let resp = &resps[idx % resps.len()];
        let mut body = Vec::new();
        resp.encode(version, &mut body).expect("encodes");
        if !body.is_empty() {
            let i = pos % body.len();
            body[i] = byte;
        }
        let _ = Response::decode(version, resp.opcode(), &body);
    }

    #[test]
    fn primitives_round_trip(v in any::<u64>(), s in any::<i64>()) {
        // Checks [unsigned vint] and [vint] round trips for arbitrary values.
        let mut out = Vec::new();
        primitives::put_unsigned_vint(&mut out, v);
        primitives::put_vint(&mut out, s);
        let mut r = Reader::new(&out);
        prop_assert_eq!(r.read_unsigned_vint(), Ok(v));
        prop_assert_eq!(r.read_vint(), Ok(s));
        prop_assert!(r.is_empty());
    }
}
