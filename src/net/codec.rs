//! Checked big-endian reads and the address encoding shared by the frame
//! header ([`crate::net::frame`]) and the gossip serialisers.
//!
//! Every read checks the remaining length first and returns
//! [`NetError::Malformed`] naming the field, so no input can make decoding
//! panic or read out of bounds.
//!
//! Address layout (Cassandra's `InetAddressAndPort` serializer, with a family
//! byte instead of an address length):
//!
//! ```text
//! size  field
//! 1     family: 4 (IPv4) or 6 (IPv6)
//! 4|16  address octets, network order
//! 2     port, u16 big-endian
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, BytesMut};

use super::error::NetError;

/// Family byte of an IPv4 address.
pub const FAMILY_IPV4: u8 = 4;
/// Family byte of an IPv6 address.
pub const FAMILY_IPV6: u8 = 6;
/// Encoded size of the smallest address (IPv4): family, 4 octets, port.
pub const ADDR_MIN_BYTES: usize = 1 + 4 + 2;

/// Appends `addr` in the layout above.
pub fn put_addr(buf: &mut BytesMut, addr: SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => {
            buf.put_u8(FAMILY_IPV4);
            buf.put_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            buf.put_u8(FAMILY_IPV6);
            buf.put_slice(&ip.octets());
        }
    }
    buf.put_u16(addr.port());
}

/// A cursor over a byte slice whose reads fail instead of panicking.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes; `what` names the field for the error.
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], NetError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| {
                NetError::Malformed(format!(
                    "truncated {what}: need {n} bytes at offset {}, have {}",
                    self.pos,
                    self.remaining()
                ))
            })?;
        let out = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], NetError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, NetError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, NetError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, NetError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub fn i32(&mut self, what: &str) -> Result<i32, NetError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, NetError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// An address in the layout above.
    pub fn addr(&mut self, what: &str) -> Result<SocketAddr, NetError> {
        let ip = match self.u8(what)? {
            FAMILY_IPV4 => IpAddr::V4(Ipv4Addr::from(self.array::<4>(what)?)),
            FAMILY_IPV6 => IpAddr::V6(Ipv6Addr::from(self.array::<16>(what)?)),
            other => {
                return Err(NetError::Malformed(format!(
                    "{what}: address family {other} is neither 4 nor 6"
                )))
            }
        };
        Ok(SocketAddr::new(ip, self.u16(what)?))
    }

    /// Fails if any byte is left: a message is exactly its encoding.
    pub fn finish(&self, what: &str) -> Result<(), NetError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(NetError::Malformed(format!(
                "{n} trailing bytes after {what}"
            ))),
        }
    }
}
