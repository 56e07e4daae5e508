//! EPCIS timestamps: parsing `xsd:dateTime` and the CBV 2.0 hash's canonical UTC form.
//!
//! The hash writes every event-level time in UTC with exactly three fractional digits, rounded
//! the way the GS1 reference implementation rounds: the fraction is read to microseconds
//! (digits past the sixth are dropped) and rounded half-to-even to milliseconds
//! (`reference/epcis.md` §4.3 item 2). A time without a zone is taken as UTC.

use chrono::{Datelike as _, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike as _};

/// A parsed `xsd:dateTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateTime {
    local: NaiveDateTime,
    /// Offset east of UTC in minutes; `None` when the value has no zone.
    offset_minutes: Option<i32>,
}

fn digits<const N: usize>(s: &[u8]) -> Option<u32> {
    let part = s.get(..N)?;
    part.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

impl DateTime {
    /// Parses `YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm]`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let year = digits::<4>(b)?;
        let month = digits::<2>(b.get(5..)?)?;
        let day = digits::<2>(b.get(8..)?)?;
        let hour = digits::<2>(b.get(11..)?)?;
        let minute = digits::<2>(b.get(14..)?)?;
        if b.get(4) != Some(&b'-')
            || b.get(7) != Some(&b'-')
            || !matches!(b.get(10), Some(b'T' | b't'))
            || b.get(13) != Some(&b':')
        {
            return None;
        }
        // Seconds are required by xsd:dateTime, but GS1's and OpenEPCIS's own examples write
        // `2006-11-07T13:00Z`; read them as :00.
        let (second, mut rest) = if b.get(16) == Some(&b':') {
            (digits::<2>(b.get(17..)?)?, b.get(19..)?)
        } else {
            (0, b.get(16..)?)
        };
        let mut micros = 0u32;
        if let Some((b'.', frac)) = rest.split_first() {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            for i in 0..6 {
                let d = frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| u32::from(c - b'0'));
                micros = micros * 10 + d;
            }
            rest = frac.get(n..)?;
        }
        let offset_minutes = match rest {
            [] => None,
            [b'Z' | b'z'] => Some(0),
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let h = digits::<2>(&[*h1, *h2])?;
                let m = digits::<2>(&[*m1, *m2])?;
                if h > 14 || m > 59 {
                    return None;
                }
                let total = i32::try_from(h * 60 + m).ok()?;
                Some(if *sign == b'-' { -total } else { total })
            }
            _ => return None,
        };
        let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
        // xsd:dateTime allows 24:00:00 for the end of a day.
        let (time, carry_day) = if hour == 24 && minute == 0 && second == 0 && micros == 0 {
            (NaiveTime::MIN, true)
        } else {
            (
                NaiveTime::from_hms_micro_opt(hour, minute, second, micros)?,
                false,
            )
        };
        let mut local = NaiveDateTime::new(date, time);
        if carry_day {
            local = local.checked_add_signed(Duration::days(1))?;
        }
        Some(Self {
            local,
            offset_minutes,
        })
    }

    /// True when the value carried a zone (`Z` or an offset).
    pub(crate) fn has_zone(&self) -> bool {
        self.offset_minutes.is_some()
    }

    /// The instant in UTC.
    pub(crate) fn utc(&self) -> Option<NaiveDateTime> {
        self.local.checked_sub_signed(Duration::minutes(i64::from(
            self.offset_minutes.unwrap_or(0),
        )))
    }

    /// The hash's canonical form: UTC, milliseconds rounded half-to-even, `Z`.
    pub(crate) fn hash_form(&self) -> Option<String> {
        let mut out = String::with_capacity(24);
        self.write_hash_form(&mut out).then_some(out)
    }

    /// Appends [`Self::hash_form`] to `out`; `false` (and nothing written) when the instant is
    /// out of range. Every event's time goes through here: the digits are written directly
    /// rather than through a format string, which was a tenth of the pre-hash's cost.
    pub(crate) fn write_hash_form(&self, out: &mut String) -> bool {
        let Some(rounded) = self.utc_rounded_to_millis() else {
            return false;
        };
        let nanos = rounded.nanosecond();
        match u32::try_from(rounded.year()) {
            // Four-digit years and no leap second: the fixed-width form.
            Ok(year) if year <= 9999 && nanos < 1_000_000_000 => {
                push_digits(out, year, 4);
                out.push('-');
                push_digits(out, rounded.month(), 2);
                out.push('-');
                push_digits(out, rounded.day(), 2);
                out.push('T');
                push_digits(out, rounded.hour(), 2);
                out.push(':');
                push_digits(out, rounded.minute(), 2);
                out.push(':');
                push_digits(out, rounded.second(), 2);
                out.push('.');
                push_digits(out, nanos / 1_000_000, 3);
                out.push('Z');
            }
            _ => {
                use std::fmt::Write as _;
                let _ = write!(out, "{}", rounded.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
            }
        }
        true
    }

    fn utc_rounded_to_millis(&self) -> Option<NaiveDateTime> {
        let utc = self.utc()?;
        let micros = utc.and_utc().timestamp_subsec_micros();
        let (ms, rem) = (micros / 1000, micros % 1000);
        let round_up = rem > 500 || (rem == 500 && ms % 2 == 1);
        let base = utc.checked_sub_signed(Duration::microseconds(i64::from(micros)))?;
        base.checked_add_signed(Duration::milliseconds(i64::from(ms + u32::from(round_up))))
    }
}

/// Appends `value` as exactly `width` decimal digits (zero-padded; `value` fits).
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut div = 10u32.pow(width.saturating_sub(1));
    while div > 0 {
        let digit = (value / div) % 10;
        out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        div /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> String {
        DateTime::parse(s)
            .and_then(|d| d.hash_form())
            .unwrap_or_default()
    }

    #[test]
    fn converts_to_utc_with_millisecond_precision() {
        assert_eq!(
            h("2023-03-27T06:45:16.12345-05:00"),
            "2023-03-27T11:45:16.123Z"
        );
        assert_eq!(
            h("2019-04-02T15:00:00.000+01:00"),
            "2019-04-02T14:00:00.000Z"
        );
        assert_eq!(h("2020-01-01T00:00:00Z"), "2020-01-01T00:00:00.000Z");
        assert_eq!(h("2020-01-01T00:00:00"), "2020-01-01T00:00:00.000Z");
    }

    #[test]
    fn rounds_half_to_even_on_microseconds_like_the_reference() {
        assert_eq!(h("2020-01-01T00:00:03.1415Z"), "2020-01-01T00:00:03.142Z");
        assert_eq!(h("2020-01-01T00:00:03.0015Z"), "2020-01-01T00:00:03.002Z");
        assert_eq!(h("2020-01-01T00:00:03.0025Z"), "2020-01-01T00:00:03.002Z");
        assert_eq!(
            h("2020-01-01T00:00:03.0025001Z"),
            "2020-01-01T00:00:03.002Z"
        );
        assert_eq!(h("2020-12-31T23:59:59.9996Z"), "2021-01-01T00:00:00.000Z");
    }

    #[test]
    fn rejects_what_is_not_a_datetime() {
        assert_eq!(h("2006-11-07T13:00Z"), "2006-11-07T13:00:00.000Z");
        for bad in [
            "",
            "2020-13-01T00:00:00Z",
            "2020-01-01",
            "2020-01-01T00:00:00+15:00",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00Zjunk",
            "２０２０",
        ] {
            assert!(DateTime::parse(bad).is_none(), "{bad}");
        }
    }

    proptest::proptest! {
        /// The hand-written digits agree with chrono's formatter on every instant.
        #[test]
        fn hash_form_digits_equal_chrono_format(
            secs in -62_135_596_800i64..253_402_300_799,
            micros in 0u32..1_000_000,
            offset in -840i32..=840,
        ) {
            let local = chrono::DateTime::from_timestamp(secs, micros * 1000)
                .map(|d| d.naive_utc());
            proptest::prop_assume!(local.is_some());
            let Some(local) = local else { return Ok(()) };
            let t = DateTime { local, offset_minutes: Some(offset) };
            let want = t
                .utc_rounded_to_millis()
                .map(|r| r.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            proptest::prop_assert_eq!(t.hash_form(), want);
        }
    }
}
