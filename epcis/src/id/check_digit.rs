//! The GS1 mod-10 check digit (GS1 General Specifications §7.9.1) shared by GTIN, GLN, SSCC,
//! GSRN, GSIN, GDTI, GRAI and SGCN.
//!
//! The arithmetic is our own rather than `gs1::checksum::gs1_checksum`: that function allocates,
//! panics on a non-digit and overflows a `u16` on long input, and the normaliser calls this once per
//! identifier of every hashed event. The tests use the `gs1` crate as an oracle.

use super::error::IdError;

/// Longest digit string a check digit is computed over: the SSCC's 17 digits.
const MAX_DIGITS: usize = 17;

/// The check digit for `digits_without_check` (1 to 17 ASCII digits).
///
/// # Errors
/// [`IdError::Empty`], [`IdError::Charset`] for a non-digit, [`IdError::Length`] for more than
/// 17 digits.
pub fn check_digit(digits_without_check: &str) -> Result<u8, IdError> {
    require_digits("GS1 key", digits_without_check)?;
    if digits_without_check.len() > MAX_DIGITS {
        return Err(IdError::length(
            "GS1 key",
            digits_without_check,
            "GS1 keys have at most 17 digits before the check digit",
        ));
    }
    Ok(compute(digits_without_check.as_bytes()))
}

/// Checks that the last digit of `full` is the check digit of the digits before it.
///
/// # Errors
/// As [`check_digit`] (with 2 to 18 digits), and [`IdError::CheckDigit`] on a mismatch.
pub fn verify_check_digit(full: &str) -> Result<(), IdError> {
    verify("GS1 key", full)
}

/// [`verify_check_digit`] with the key's name in the error (`GTIN`, `SSCC`, …).
pub(crate) fn verify(field: &'static str, full: &str) -> Result<(), IdError> {
    require_digits(field, full)?;
    let Some((body, last)) = full
        .len()
        .checked_sub(1)
        .and_then(|n| full.split_at_checked(n))
    else {
        return Err(IdError::Empty { field });
    };
    if body.is_empty() || body.len() > MAX_DIGITS {
        return Err(IdError::length(
            field,
            full,
            "a GS1 key has 2 to 18 digits including the check digit",
        ));
    }
    let expected = compute(body.as_bytes());
    let found = last.chars().next().unwrap_or('?');
    if last.as_bytes() != [b'0' + expected] {
        return Err(IdError::CheckDigit {
            field,
            value: full.to_owned(),
            expected,
            found,
        });
    }
    Ok(())
}

/// Non-empty and ASCII digits only.
pub(crate) fn require_digits(field: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { field });
    }
    match value.chars().find(|c| !c.is_ascii_digit()) {
        Some(c) => Err(IdError::charset(field, value, c, "the digits 0-9")),
        None => Ok(()),
    }
}

/// The check digit over ASCII digits. Non-digit bytes give a meaningless result but never panic;
/// callers validate first.
pub(crate) fn compute(digits: &[u8]) -> u8 {
    // Weights 3, 1, 3, … from the rightmost digit; sum kept mod 10 so nothing can overflow.
    let sum = digits.iter().rev().enumerate().fold(0u8, |acc, (i, &d)| {
        let v = d.wrapping_sub(b'0') % 10;
        let weighted = if i % 2 == 0 { v * 3 % 10 } else { v };
        (acc + weighted) % 10
    });
    (10 - sum) % 10
}

/// `digits` followed by their check digit.
pub(crate) fn with_check_digit(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + 1);
    out.push_str(digits);
    out.push(char::from(b'0' + compute(digits.as_bytes())));
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_keys() {
        assert_eq!(check_digit("0061414112345"), Ok(2)); // GTIN 00614141123452
        assert_eq!(check_digit("8061414112345"), Ok(8));
        assert_eq!(check_digit("0360843951968"), Ok(0));
        assert_eq!(check_digit("34012345111111111"), Ok(1)); // SSCC
        assert_eq!(check_digit("401234500005"), Ok(4)); // GLN
        assert_eq!(with_check_digit("0401234511111"), "04012345111118");
    }

    #[test]
    fn verify_accepts_good_and_names_the_mismatch() {
        assert_eq!(verify_check_digit("00614141123452"), Ok(()));
        let e = verify("GTIN", "00614141123453").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"GTIN "00614141123453" ends in check digit 3, but the digits before it give 2"#
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(check_digit(""), Err(IdError::Empty { .. })));
        assert!(matches!(
            check_digit("12a4"),
            Err(IdError::Charset { found: 'a', .. })
        ));
        assert!(matches!(check_digit("١٢٣"), Err(IdError::Charset { .. })));
        assert!(matches!(
            check_digit(&"1".repeat(18)),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            verify_check_digit("7"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(verify_check_digit(""), Err(IdError::Empty { .. })));
        assert!(matches!(
            verify_check_digit("12 4"),
            Err(IdError::Charset { .. })
        ));
        assert!(verify_check_digit(&"9".repeat(10_000)).is_err());
        // compute() never panics, whatever the bytes.
        let _ = compute(&[0, 255, b'x']);
    }

    proptest! {
        #[test]
        fn agrees_with_the_gs1_crate(digits in "[0-9]{1,17}") {
            prop_assert_eq!(check_digit(&digits).unwrap(), gs1::checksum::gs1_checksum(&digits));
            let full = with_check_digit(&digits);
            if digits.len() >= 1 {
                prop_assert!(verify_check_digit(&full).is_ok());
            }
        }
    }
}
