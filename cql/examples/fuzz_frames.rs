//! A stable-toolchain fuzzer for the native protocol decoders.
//!
//! `cargo run --release -p sibyl-cql --example fuzz_frames -- [SECONDS] [SEED]`
//!
//! Mutates valid request frames (v3/v4/v5, plain and lz4) and random byte strings and
//! feeds them to every decoder a server runs on untrusted bytes: the frame header and
//! frame decoders, the request decoder (each version, with and without compression)
//! and the v5 segment decoder. Any panic is a bug: the offending input is printed as
//! hex before the panic propagates. Prints iterations and outcome counts at the end.
//! Deterministic for a given seed (a small xorshift generator, no dependencies).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use sibyl_cql::protocol::{
    decode_frame, decode_header, decode_request, encode_request, Compression, Consistency,
    QueryParameters, Request, RequestEnvelope, SegmentDecoder,
};

/// Largest body the fuzzer lets decoders accept (as a server's frame limit would).
const MAX_BODY: u32 = 1 << 20;
/// Largest input generated, so one iteration stays cheap.
const MAX_INPUT: usize = 4096;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for version in [3u8, 4, 5] {
        for compression in [None, Some(Compression::Lz4)] {
            let requests = vec![
                Request::Options,
                Request::Query {
                    query: "SELECT * FROM system.local WHERE key = 'local'".into(),
                    params: QueryParameters::new(Consistency::One),
                },
            ];
            for (i, request) in requests.into_iter().enumerate() {
                let env = RequestEnvelope::new(version, i as i16, request);
                if let Ok(frame) = encode_request(&env, compression) {
                    if let Ok(bytes) = frame.to_bytes() {
                        out.push(bytes);
                    }
                }
            }
        }
    }
    out.push(vec![0x04, 0, 0, 1, 0x05, 0, 0, 0, 0]);
    out
}

const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x04, 0x05];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let len = b.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let j = (i + rng.below(16)).min(len);
                b.drain(i..j);
            }
            4 => b.truncate(rng.below(len + 1)),
            5 if len >= 4 => {
                // Overwrite four bytes with a big-endian length, often huge or negative.
                let i = rng.below(len - 3);
                let v: u32 = match rng.below(4) {
                    0 => u32::MAX,
                    1 => 0x8000_0000,
                    2 => rng.below(64) as u32,
                    _ => rng.next() as u32,
                };
                b[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            _ => {
                let n = rng.below(64);
                b = (0..n).map(|_| rng.next() as u8).collect();
            }
        }
    }
    b.truncate(MAX_INPUT);
    b
}

#[derive(Default)]
struct Counts {
    frames: u64,
    requests_ok: u64,
    errors: u64,
    incomplete: u64,
}

fn run_one(input: &[u8], c: &mut Counts) {
    match decode_header(input, MAX_BODY) {
        Ok(None) => c.incomplete += 1,
        Ok(Some(_)) => {}
        Err(_) => c.errors += 1,
    }
    if let Ok(Some((frame, _))) = decode_frame(input, MAX_BODY) {
        c.frames += 1;
        for compression in [None, Some(Compression::Lz4)] {
            match decode_request(&frame, compression, MAX_BODY) {
                Ok(_) => c.requests_ok += 1,
                Err(_) => c.errors += 1,
            }
        }
    }
    for compression in [None, Some(Compression::Lz4)] {
        let mut d = SegmentDecoder::new(compression, MAX_BODY);
        let _ = d.decode(input);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_ef01);
    let mut rng = Rng(seed | 1);
    let corpus = corpus();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut counts = Counts::default();
    let mut iterations: u64 = 0;
    while Instant::now() < deadline {
        for _ in 0..1000 {
            let base = &corpus[rng.below(corpus.len())];
            let input = mutate(&mut rng, base);
            let outcome = catch_unwind(AssertUnwindSafe(|| run_one(&input, &mut counts)));
            if let Err(panic) = outcome {
                let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
                eprintln!("PANIC after {iterations} iterations (seed {seed}) on input {hex}");
                std::panic::resume_unwind(panic);
            }
            iterations += 1;
        }
    }
    println!(
        "fuzz_frames: {iterations} inputs in {seconds} s (seed {seed}): {} frames decoded, {} requests decoded, {} errors, {} incomplete headers, 0 panics",
        counts.frames, counts.requests_ok, counts.errors, counts.incomplete
    );
}
