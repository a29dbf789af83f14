//! Kazakh individual and business identification numbers (IIN / ЖСН / ИИН, BIN).
//!
//! IIN layout `YYMMDD C NNNN K` (gateway-anchors.md §3.6): birth date, the
//! century-and-sex digit (1/2 = 1800s, 3/4 = 1900s, 5/6 = 2000s; odd = male),
//! a serial number and a check digit computed mod 11 with weights 1..11, or,
//! when that gives 10, with weights 3..11,1,2; a prefix for which both give 10
//! has no valid IIN.

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// A valid IIN: twelve digits, a real birth date not in the future, a known
/// century digit and a matching check digit. Parsed, never validated later.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iin([u8; 12]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// Why a string is not a valid IIN. `code()` is stable; the text is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    #[error("an IIN has 12 digits, this has {0} characters")]
    Length(usize),
    #[error("an IIN has only digits, found {0:?}")]
    NotDigit(char),
    #[error("the 7th digit (century and sex) must be 1 to 6, found {0}")]
    Century(u8),
    #[error("the first six digits are not a real date (YYMMDD): {0}")]
    BirthDate(String),
    #[error("the birth date {0} is in the future")]
    FutureBirthDate(NaiveDate),
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { found: u8, expected: u8 },
    #[error("no valid IIN exists with these first 11 digits (the check digit would be 10)")]
    Unassignable,
}

impl IinError {
    /// A stable machine code, for error responses.
    pub fn code(&self) -> &'static str {
        match self {
            IinError::Length(_) => "iin_length",
            IinError::NotDigit(_) => "iin_not_digits",
            IinError::Century(_) => "iin_century_digit",
            IinError::BirthDate(_) => "iin_birth_date",
            IinError::FutureBirthDate(_) => "iin_birth_date_in_future",
            IinError::CheckDigit { .. } => "iin_check_digit",
            IinError::Unassignable => "iin_unassignable",
        }
    }
}

const WEIGHTS_1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const WEIGHTS_2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// The check digit for the first eleven digits, or None when none exists.
pub fn check_digit(first11: &[u8; 11]) -> Option<u8> {
    let weighted = |weights: &[u32; 11]| {
        first11
            .iter()
            .zip(weights)
            .map(|(d, w)| u32::from(*d) * w)
            .sum::<u32>()
            % 11
    };
    match weighted(&WEIGHTS_1) {
        10 => match weighted(&WEIGHTS_2) {
            10 => None,
            k => Some(k as u8),
        },
        k => Some(k as u8),
    }
}

impl Iin {
    /// Parses and fully validates an IIN, with `today` as the bound for the
    /// birth date.
    pub fn parse_at(s: &str, today: NaiveDate) -> Result<Iin, IinError> {
        let s = s.trim();
        if s.chars().count() != 12 {
            return Err(IinError::Length(s.chars().count()));
        }
        let mut digits = [0u8; 12];
        for (i, c) in s.chars().enumerate() {
            digits[i] = c.to_digit(10).ok_or(IinError::NotDigit(c))? as u8;
        }
        let iin = Iin(digits);
        let birth = iin.decode_birth_date()?;
        if birth > today {
            return Err(IinError::FutureBirthDate(birth));
        }
        let first11: [u8; 11] = digits[..11].try_into().expect("12 digits");
        match check_digit(&first11) {
            None => Err(IinError::Unassignable),
            Some(k) if k == digits[11] => Ok(iin),
            Some(k) => Err(IinError::CheckDigit {
                found: digits[11],
                expected: k,
            }),
        }
    }

    /// Parses with today's date (UTC) as the bound for the birth date.
    pub fn parse(s: &str) -> Result<Iin, IinError> {
        Iin::parse_at(s, chrono::Utc::now().date_naive())
    }

    /// Builds the IIN of a person born on `birth` with this sex and serial
    /// (0..=9999), or None when that prefix has no valid check digit (then
    /// take the next serial). Births before 1800 or after 2099 have no
    /// century digit.
    pub fn generate(birth: NaiveDate, sex: Sex, serial: u16) -> Option<Iin> {
        let century = match (birth.year() / 100, sex) {
            (18, Sex::Male) => 1,
            (18, Sex::Female) => 2,
            (19, Sex::Male) => 3,
            (19, Sex::Female) => 4,
            (20, Sex::Male) => 5,
            (20, Sex::Female) => 6,
            _ => return None,
        };
        if serial > 9999 {
            return None;
        }
        let yy = (birth.year() % 100) as u32;
        let mut first11 = [0u8; 11];
        let fields = [
            yy / 10,
            yy % 10,
            birth.month() / 10,
            birth.month() % 10,
            birth.day() / 10,
            birth.day() % 10,
            century,
            u32::from(serial) / 1000,
            u32::from(serial) / 100 % 10,
            u32::from(serial) / 10 % 10,
            u32::from(serial) % 10,
        ];
        for (slot, value) in first11.iter_mut().zip(fields) {
            *slot = value as u8;
        }
        let k = check_digit(&first11)?;
        let mut digits = [0u8; 12];
        digits[..11].copy_from_slice(&first11);
        digits[11] = k;
        Some(Iin(digits))
    }

    fn decode_birth_date(&self) -> Result<NaiveDate, IinError> {
        let d = &self.0;
        let century_base = match d[6] {
            1 | 2 => 1800,
            3 | 4 => 1900,
            5 | 6 => 2000,
            other => return Err(IinError::Century(other)),
        };
        let year = century_base + i32::from(d[0] * 10 + d[1]);
        let month = u32::from(d[2] * 10 + d[3]);
        let day = u32::from(d[4] * 10 + d[5]);
        NaiveDate::from_ymd_opt(year, month, day)
            .ok_or_else(|| IinError::BirthDate(format!("{year:04}-{month:02}-{day:02}")))
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.decode_birth_date().expect("validated at parse")
    }

    pub fn sex(&self) -> Sex {
        if self.0[6] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    pub fn as_string(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.0 {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iin({self})")
    }
}

impl std::str::FromStr for Iin {
    type Err = IinError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Iin::parse(s)
    }
}

/// A business identification number: twelve digits. Its inner layout is not
/// checked (gateway-anchors.md §3.6 did not research it).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bin(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a BIN has exactly 12 digits, got {0:?}")]
pub struct BinError(pub String);

impl Bin {
    pub fn parse(s: &str) -> Result<Bin, BinError> {
        let s = s.trim();
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Bin(s.to_owned()))
        } else {
            Err(BinError(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bin({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn worked_examples_from_the_anchor_note_are_valid() {
        // gateway-anchors.md §3.6: s1 = 51 -> 7; and s1 -> 10, s2 = 78 -> 1.
        assert!(Iin::parse_at("900101300017", today()).is_ok());
        assert!(Iin::parse_at("900101300811", today()).is_ok());
    }

    #[test]
    fn prefix_whose_both_sums_give_ten_has_no_valid_iin() {
        // gateway-anchors.md §3.6: 90010130080? -> 10 and 10.
        for k in 0..=9 {
            let s = format!("90010130080{k}");
            assert_eq!(Iin::parse_at(&s, today()), Err(IinError::Unassignable));
        }
    }

    #[test]
    fn each_kind_of_bad_input_gets_its_own_error() {
        let t = today();
        assert_eq!(Iin::parse_at("90010130001", t), Err(IinError::Length(11)));
        assert_eq!(
            Iin::parse_at("90010130001x", t),
            Err(IinError::NotDigit('x'))
        );
        assert_eq!(Iin::parse_at("900101700017", t), Err(IinError::Century(7)));
        assert!(matches!(
            Iin::parse_at("900231300017", t),
            Err(IinError::BirthDate(_))
        ));
        assert!(matches!(
            Iin::parse_at("270101500017", t),
            Err(IinError::FutureBirthDate(_))
        ));
        assert_eq!(
            Iin::parse_at("900101300018", t),
            Err(IinError::CheckDigit {
                found: 8,
                expected: 7
            })
        );
    }

    #[test]
    fn leap_days_are_real_only_in_leap_years() {
        let t = today();
        let leap = Iin::generate(
            NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(),
            Sex::Female,
            1,
        )
        .or_else(|| {
            Iin::generate(
                NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(),
                Sex::Female,
                2,
            )
        })
        .unwrap();
        assert!(Iin::parse_at(&leap.to_string(), t).is_ok());
        // 1900 was not a leap year: 000229 with century digit 3.
        assert!(matches!(
            Iin::parse_at("000229300010", t),
            Err(IinError::BirthDate(_))
        ));
    }

    #[test]
    fn generated_iins_round_trip_with_birth_date_and_sex() {
        let birth = NaiveDate::from_ymd_opt(1987, 6, 15).unwrap();
        let mut made = 0;
        for serial in 0..200 {
            for sex in [Sex::Male, Sex::Female] {
                if let Some(iin) = Iin::generate(birth, sex, serial) {
                    let parsed = Iin::parse_at(&iin.to_string(), today()).unwrap();
                    assert_eq!(parsed.birth_date(), birth);
                    assert_eq!(parsed.sex(), sex);
                    made += 1;
                }
            }
        }
        // About one prefix in 121 has no check digit; nearly all serials work.
        assert!(made > 390, "only {made} of 400 generated");
    }

    #[test]
    fn bin_is_twelve_digits() {
        assert!(Bin::parse("123456789012").is_ok());
        assert!(Bin::parse("12345678901").is_err());
        assert!(Bin::parse("12345678901a").is_err());
    }
}
