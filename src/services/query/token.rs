//! `nextPageToken`: an opaque, signed, expiring keyset cursor.
//!
//! A token carries where the previous page ended (the sort key's value and the event id of the
//! last row, or the last value of a listing), how many events were returned so far (for
//! `eventCountLimit`), the fingerprint of the query it belongs to and its expiry. It is
//! HMAC-SHA256-signed with a key kept in the database (`query_page_token_key`), so a client can
//! neither forge a position nor carry a token over to another query; either is refused with
//! `QueryParameterException`. Keyset rather than offset: a page costs the same however deep it
//! is, and events captured meanwhile neither repeat nor shift the pages.
//!
//! Layout before hex encoding: version (1) · fingerprint (16) · order value (8) · last id (8) ·
//! returned (8) · expiry, Unix seconds (8) · last value length (2) · last value · MAC (16).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How long a token stays valid.
pub const LIFETIME_SECS: i64 = 15 * 60;

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;

/// Where a page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Sort key value of the last row.
    pub order_value: i64,
    /// `events.id` of the last row.
    pub last_id: i64,
    /// Events returned so far, this page included.
    pub returned: i64,
    /// Last value of a listing (empty for event queries).
    pub last_value: String,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this server issued, or altered.
    #[error("nextPageToken is not valid (altered, or not issued by this server)")]
    Invalid,
    /// Issued for a different query.
    #[error("nextPageToken belongs to a different query: repeat the same parameters with it")]
    OtherQuery,
    /// Past its expiry.
    #[error("nextPageToken has expired: run the query again from the first page")]
    Expired,
}

fn mac(key: &[u8], data: &[u8]) -> [u8; MAC_LEN] {
    // HMAC accepts keys of any length, so `new_from_slice` does not fail; were it to, the
    // all-zero MAC would make every token invalid, never valid.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; MAC_LEN];
    };
    m.update(data);
    let full = m.finalize().into_bytes();
    let mut out = [0; MAC_LEN];
    for (o, b) in out.iter_mut().zip(full.iter()) {
        *o = *b;
    }
    out
}

/// Signs a cursor for the query with this fingerprint, valid until `expires` (Unix seconds).
pub fn issue(key: &[u8], fingerprint: &[u8; 32], cursor: &Cursor, expires: i64) -> String {
    let mut data = Vec::with_capacity(67 + cursor.last_value.len());
    data.push(VERSION);
    data.extend_from_slice(&fingerprint[..16]);
    data.extend_from_slice(&cursor.order_value.to_be_bytes());
    data.extend_from_slice(&cursor.last_id.to_be_bytes());
    data.extend_from_slice(&cursor.returned.to_be_bytes());
    data.extend_from_slice(&expires.to_be_bytes());
    // Listing values are stored column values (URIs): far below 64 KiB; longer is cut, which
    // only makes the token invalid.
    let value = cursor.last_value.as_bytes();
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    data.extend_from_slice(&len.to_be_bytes());
    data.extend_from_slice(value.get(..usize::from(len)).unwrap_or(value));
    let tag = mac(key, &data);
    data.extend_from_slice(&tag);
    hex(&data)
}

/// Checks and reads a token.
pub fn open(
    key: &[u8],
    fingerprint: &[u8; 32],
    token: &str,
    now: i64,
) -> Result<Cursor, TokenError> {
    let data = unhex(token).ok_or(TokenError::Invalid)?;
    let split = data.len().checked_sub(MAC_LEN).ok_or(TokenError::Invalid)?;
    let (body, tag) = data.split_at(split);
    // Constant time, so the MAC cannot be guessed byte by byte from response timings.
    let mut verifier = Hmac::<Sha256>::new_from_slice(key).map_err(|_| TokenError::Invalid)?;
    verifier.update(body);
    verifier
        .verify_truncated_left(tag)
        .map_err(|_| TokenError::Invalid)?;
    let mut r = Reader(body);
    if r.take(1)? != [VERSION] {
        return Err(TokenError::Invalid);
    }
    if r.take(16)? != &fingerprint[..16] {
        return Err(TokenError::OtherQuery);
    }
    let order_value = r.i64()?;
    let last_id = r.i64()?;
    let returned = r.i64()?;
    let expires = r.i64()?;
    let len = u16::from_be_bytes(r.take(2)?.try_into().map_err(|_| TokenError::Invalid)?);
    let last_value =
        String::from_utf8(r.take(usize::from(len))?.to_vec()).map_err(|_| TokenError::Invalid)?;
    if !r.0.is_empty() {
        return Err(TokenError::Invalid);
    }
    if now > expires {
        return Err(TokenError::Expired);
    }
    Ok(Cursor {
        order_value,
        last_id,
        returned,
        last_value,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::Invalid);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn i64(&mut self) -> Result<i64, TokenError> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().map_err(|_| TokenError::Invalid)?,
        ))
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 15] {
            // A nibble is below 16, so the look-up always finds a digit.
            s.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 4096 {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn cursor() -> Cursor {
        Cursor {
            order_value: 1_700_000_000_000_000,
            last_id: 42,
            returned: 30,
            last_value: "urn:epcglobal:cbv:bizstep:shipping".into(),
        }
    }

    #[test]
    fn a_token_opens_to_its_cursor() {
        let fp = [7; 32];
        let t = issue(KEY, &fp, &cursor(), 1000);
        assert_eq!(open(KEY, &fp, &t, 999), Ok(cursor()));
        assert_eq!(open(KEY, &fp, &t, 1001), Err(TokenError::Expired));
        assert_eq!(open(KEY, &[8; 32], &t, 999), Err(TokenError::OtherQuery));
        assert_eq!(open(b"another key", &fp, &t, 999), Err(TokenError::Invalid));
    }

    #[test]
    fn any_altered_byte_is_refused() {
        let fp = [7; 32];
        let t = issue(KEY, &fp, &cursor(), 1000);
        for i in 0..t.len() {
            let mut bytes = t.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let altered = String::from_utf8(bytes).unwrap();
            assert_eq!(
                open(KEY, &fp, &altered, 999),
                Err(TokenError::Invalid),
                "byte {i}"
            );
        }
        for junk in ["", "zz", "00", &t[..t.len() - 2], &format!("{t}00")] {
            assert_eq!(
                open(KEY, &fp, junk, 999),
                Err(TokenError::Invalid),
                "{junk}"
            );
        }
    }
}
