//! Whether a filled-in value fits its form field's type: one rule for every
//! system that takes a form (the portal, the State Corporation, the
//! workstation).

use crate::forms::{FieldType, Form};
use crate::model::Regulation;
use chrono::NaiveDate;
use egov_trust::Iin;

impl Regulation {
    /// The application form (seed 002 App. 1), where the regulation has one.
    pub fn application_form(&self) -> Option<&Form> {
        self.forms.iter().find(|f| f.code == "application")
    }
}

impl FieldType {
    /// Whether the applicant types a value in: a signature, a seal or a
    /// declaration is made by signing and consenting, not typed.
    pub fn is_typed(self) -> bool {
        !matches!(
            self,
            FieldType::Signature | FieldType::Seal | FieldType::Declaration
        )
    }
}

/// Checks a value against its field type; the problem in words.
pub fn check_value(field_type: FieldType, value: &str) -> Result<(), String> {
    let date = |v: &str| {
        NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
            .map_err(|_| format!("{v:?} is not a date YYYY-MM-DD"))
    };
    match field_type {
        FieldType::Date => date(value).map(|_| ()),
        FieldType::Year => match value.parse::<u16>() {
            Ok(year) if (1900..=2200).contains(&year) && value.len() == 4 => Ok(()),
            _ => Err(format!("{value:?} is not a year YYYY")),
        },
        FieldType::Period => {
            let (from, to) = value
                .split_once("..")
                .or_else(|| value.split_once('/'))
                .ok_or_else(|| format!("{value:?} is not a period YYYY-MM-DD..YYYY-MM-DD"))?;
            let (from, to) = (date(from)?, date(to)?);
            if from <= to {
                Ok(())
            } else {
                Err(format!("the period {value:?} ends before it starts"))
            }
        }
        FieldType::Iin => Iin::parse(value)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", e.code())),
        FieldType::MoneyKzt | FieldType::Number => {
            let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if !whole.is_empty() && digits(whole) && digits(fraction) && fraction.len() <= 2 {
                Ok(())
            } else {
                Err(format!(
                    "{value:?} is not an amount (digits, at most 2 decimals)"
                ))
            }
        }
        FieldType::Phone => {
            if value.chars().filter(char::is_ascii_digit).count() >= 5
                && value
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-()".contains(c))
            {
                Ok(())
            } else {
                Err(format!("{value:?} is not a telephone number"))
            }
        }
        FieldType::Text
        | FieldType::PersonName
        | FieldType::Address
        | FieldType::List
        | FieldType::Declaration
        | FieldType::Signature
        | FieldType::Seal => Ok(()),
    }
}
