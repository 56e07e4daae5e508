//! [`Expiry`]: a GS1 expiration date (AI 17, Digital Link `17=` / `exp=`), `YYMMDD` where day
//! `00` means "no particular day of that month".
//!
//! Century: GS1 General Specifications §7.12 puts a two-digit year within −49/+50 years of the
//! current year. This crate is pure (no clock), so [`Expiry::parse_yymmdd`] reads `YY` as
//! `20YY` — the §7.12 answer for every current year from 2049 to 2050, and for any product
//! expiring this century — and [`Expiry::parse_yymmdd_near`] applies the §7.12 window around a
//! reference year the caller passes (e.g. the scan's year).

use std::fmt;
use std::str::FromStr;

use super::error::{IdError, shown};

const FIELD: &str = "expiry";

/// A GS1 expiration date; `day` `None` is the `00` day (any day of the month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expiry {
    year: u16,
    month: u8,
    day: Option<u8>,
}

impl Expiry {
    /// A date; `day` `None` for "the whole month".
    ///
    /// # Errors
    /// [`IdError::Date`] for a month outside 1-12 or a day not in that month.
    pub fn new(year: u16, month: u8, day: Option<u8>) -> Result<Self, IdError> {
        Self::checked(year, month, day).map_err(|rule| {
            date_error(
                &format!("{year:04}-{month:02}-{:02}", day.unwrap_or(0)),
                rule,
            )
        })
    }

    fn checked(year: u16, month: u8, day: Option<u8>) -> Result<Self, String> {
        if !(1..=12).contains(&month) {
            return Err(format!("month {month:02} is outside 01-12"));
        }
        if let Some(d) = day {
            let last = days_in_month(year, month);
            if !(1..=last).contains(&d) {
                return Err(format!(
                    "day {d:02} is outside 01-{last:02} (00 means any day)"
                ));
            }
        }
        Ok(Self { year, month, day })
    }

    /// Parses `YYMMDD` (six ASCII digits, `DD` may be `00`) as a date in 2000-2099.
    ///
    /// # Errors
    /// [`IdError::Empty`], [`IdError::Length`], [`IdError::Charset`], [`IdError::Date`].
    pub fn parse_yymmdd(s: &str) -> Result<Self, IdError> {
        let [yy, mm, dd] = split_yymmdd(s)?;
        Self::checked(2000 + u16::from(yy), mm, (dd != 0).then_some(dd))
            .map_err(|r| date_error(s, r))
    }

    /// Parses `YYMMDD` with the GS1 §7.12 century rule: the year falls within −49/+50 years of
    /// `reference_year`.
    ///
    /// # Errors
    /// As [`Expiry::parse_yymmdd`].
    pub fn parse_yymmdd_near(s: &str, reference_year: u16) -> Result<Self, IdError> {
        let [yy, mm, dd] = split_yymmdd(s)?;
        let reference = i32::from(reference_year);
        let mut year = reference - reference.rem_euclid(100) + i32::from(yy);
        if year - reference >= 51 {
            year -= 100;
        } else if year - reference <= -50 {
            year += 100;
        }
        let year = u16::try_from(year)
            .map_err(|_| date_error(s, format!("year {year} is out of range")))?;
        Self::checked(year, mm, (dd != 0).then_some(dd)).map_err(|r| date_error(s, r))
    }

    /// The year (four digits).
    #[must_use]
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1-12.
    #[must_use]
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day, or `None` for a `00` (whole month) date.
    #[must_use]
    pub fn day(&self) -> Option<u8> {
        self.day
    }

    /// The last day the product is usable: the day, or the month's last day for day `00`.
    #[must_use]
    pub fn last_day(&self) -> u8 {
        self.day
            .unwrap_or_else(|| days_in_month(self.year, self.month))
    }

    /// Whether two expiry dates designate the same date, where a day-`00` date matches every day
    /// of its month (on either side).
    #[must_use]
    pub fn matches(&self, other: &Self) -> bool {
        self.year == other.year
            && self.month == other.month
            && match (self.day, other.day) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// `YYMMDD`, day `00` when the day is unspecified.
impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}{:02}{:02}",
            self.year % 100,
            self.month,
            self.day.unwrap_or(0)
        )
    }
}

/// [`Expiry::parse_yymmdd`].
impl FromStr for Expiry {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse_yymmdd(s)
    }
}

/// [`Expiry::parse_yymmdd`].
impl TryFrom<&str> for Expiry {
    type Error = IdError;
    fn try_from(s: &str) -> Result<Self, IdError> {
        Self::parse_yymmdd(s)
    }
}

fn split_yymmdd(s: &str) -> Result<[u8; 3], IdError> {
    super::check_digit::require_digits(FIELD, s)?;
    let b = s.as_bytes();
    let [y1, y2, m1, m2, d1, d2] = b else {
        return Err(IdError::length(FIELD, s, "a GS1 date has 6 digits, YYMMDD"));
    };
    let two = |a: u8, b: u8| (a - b'0') * 10 + (b - b'0');
    Ok([two(*y1, *y2), two(*m1, *m2), two(*d1, *d2)])
}

fn date_error(value: &str, rule: String) -> IdError {
    IdError::Date {
        field: FIELD,
        value: shown(value),
        rule,
    }
}

const fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        let e = Expiry::parse_yymmdd("241000").unwrap();
        assert_eq!((e.year(), e.month(), e.day()), (2024, 10, None));
        assert_eq!(e.to_string(), "241000");
        assert_eq!(e.last_day(), 31);
        let e: Expiry = "280229".parse().unwrap();
        assert_eq!((e.year(), e.month(), e.day()), (2028, 2, Some(29)));
        assert_eq!(e.to_string(), "280229");
        assert_eq!(Expiry::parse_yymmdd("270200").unwrap().last_day(), 28);
    }

    #[test]
    fn day_00_matches_the_whole_month() {
        let month = Expiry::parse_yymmdd("241000").unwrap();
        let day = Expiry::parse_yymmdd("241031").unwrap();
        let other = Expiry::parse_yymmdd("241101").unwrap();
        assert!(month.matches(&day) && day.matches(&month));
        assert!(!day.matches(&Expiry::parse_yymmdd("241030").unwrap()));
        assert!(!month.matches(&other));
        assert!(month.matches(&month));
    }

    #[test]
    fn century_window() {
        assert_eq!(
            Expiry::parse_yymmdd_near("991231", 2026).unwrap().year(),
            1999
        );
        assert_eq!(
            Expiry::parse_yymmdd_near("761231", 2026).unwrap().year(),
            2076
        );
        assert_eq!(
            Expiry::parse_yymmdd_near("771231", 2026).unwrap().year(),
            1977
        );
        assert_eq!(
            Expiry::parse_yymmdd_near("050101", 2096).unwrap().year(),
            2105
        );
        assert_eq!(
            Expiry::parse_yymmdd_near("460101", 2096).unwrap().year(),
            2146
        );
        assert_eq!(
            Expiry::parse_yymmdd_near("470101", 2096).unwrap().year(),
            2047
        );
        assert_eq!(Expiry::parse_yymmdd_near("260101", 0).unwrap().year(), 26);
        assert!(Expiry::parse_yymmdd_near("990101", 0).is_err());
        assert!(Expiry::parse_yymmdd_near("850101", u16::MAX).is_err());
    }

    #[test]
    fn invalid_dates_are_errors() {
        for bad in [
            "",
            "24100",
            "2410000",
            "241300",
            "240000",
            "240230",
            "230229",
            "24103A",
            "２４１０００",
            "241032",
        ] {
            assert!(Expiry::parse_yymmdd(bad).is_err(), "{bad:?}");
        }
        let e = Expiry::parse_yymmdd("241300").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"expiry "241300" is not a valid date: month 13 is outside 01-12"#
        );
        assert!(Expiry::new(2024, 2, Some(30)).is_err());
        assert!(Expiry::new(2000, 2, Some(29)).is_ok());
        assert!(Expiry::new(1900, 2, Some(29)).is_err());
    }
}
