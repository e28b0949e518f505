//! PostgreSQL's binary `COPY` format, written directly: a signature and header, then per row a
//! field count and length-prefixed fields in network byte order, then a `-1` trailer.

use chrono::{DateTime, Utc};
use fintra_core::{Error, Result};
use uuid::Uuid;

/// The first bytes of every binary COPY stream.
pub(crate) const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01T00:00:00Z).
pub(crate) const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A binary COPY stream with no rows.
pub(crate) fn empty_copy() -> bytes::Bytes {
    let mut data = CopyEncoder::header();
    data.extend_from_slice(&CopyEncoder::trailer());
    bytes::Bytes::from(data)
}

/// Builds a binary COPY stream in memory, chunk by chunk.
#[derive(Debug, Default)]
pub(crate) struct CopyEncoder {
    buf: Vec<u8>,
}

impl CopyEncoder {
    /// The stream header (signature, flags, header extension length).
    pub(crate) fn header() -> Vec<u8> {
        let mut header = SIGNATURE.to_vec();
        header.extend_from_slice(&0i32.to_be_bytes());
        header.extend_from_slice(&0i32.to_be_bytes());
        header
    }

    /// The stream trailer.
    pub(crate) fn trailer() -> [u8; 2] {
        (-1i16).to_be_bytes()
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Takes the bytes written so far.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub(crate) fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) -> Result<()> {
        let len = i32::try_from(bytes.len())
            .map_err(|_| Error::invalid("copy field", "longer than i32::MAX bytes"))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    pub(crate) fn int8(&mut self, value: i64) -> Result<()> {
        self.field(&value.to_be_bytes())
    }

    pub(crate) fn int4(&mut self, value: i32) -> Result<()> {
        self.field(&value.to_be_bytes())
    }

    pub(crate) fn uuid(&mut self, value: Uuid) -> Result<()> {
        self.field(value.as_bytes())
    }

    pub(crate) fn opt_uuid(&mut self, value: Option<Uuid>) -> Result<()> {
        match value {
            Some(uuid) => self.uuid(uuid),
            None => {
                self.null();
                Ok(())
            }
        }
    }

    pub(crate) fn text(&mut self, value: &str) -> Result<()> {
        self.field(value.as_bytes())
    }

    pub(crate) fn bytea(&mut self, value: &[u8]) -> Result<()> {
        self.field(value)
    }

    /// `jsonb`: a version byte (1) then the JSON text.
    pub(crate) fn jsonb(&mut self, json: &str) -> Result<()> {
        let len = i32::try_from(json.len() + 1)
            .map_err(|_| Error::invalid("copy field", "longer than i32::MAX bytes"))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.push(1);
        self.buf.extend_from_slice(json.as_bytes());
        Ok(())
    }

    /// `timestamptz`: microseconds since 2000-01-01 UTC.
    pub(crate) fn timestamptz(&mut self, at: DateTime<Utc>) -> Result<()> {
        let micros = at
            .timestamp_micros()
            .checked_sub(PG_EPOCH_UNIX_MICROS)
            .ok_or_else(|| Error::invalid("timestamp", "outside PostgreSQL's range"))?;
        self.int8(micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn encodes_fields_in_network_order() {
        let mut enc = CopyEncoder::default();
        enc.row(2);
        enc.int4(258).unwrap();
        enc.null();
        assert_eq!(enc.take(), vec![0, 2, 0, 0, 0, 4, 0, 0, 1, 2, 255, 255, 255, 255]);
        let pg_epoch = DateTime::from_timestamp_micros(PG_EPOCH_UNIX_MICROS).unwrap();
        assert_eq!(pg_epoch, Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap());
        enc.timestamptz(pg_epoch + chrono::Duration::microseconds(5)).unwrap();
        assert_eq!(enc.take(), vec![0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 5]);
        enc.jsonb("{}").unwrap();
        assert_eq!(enc.take(), vec![0, 0, 0, 3, 1, b'{', b'}']);
        assert_eq!(&CopyEncoder::header()[..11], SIGNATURE);
    }
}
