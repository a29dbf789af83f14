//! The forms of the seeds' appendices (the application, receipts, results)
//! and their fields' types.

use serde::{Deserialize, Serialize};

/// A form from the seed's appendices, with its fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    pub code: String,
    #[serde(default)]
    pub ru: Option<String>,
    pub kk: String,
    pub en: String,
    #[serde(default)]
    pub fields: Vec<FormField>,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Date,
    Year,
    Period,
    Iin,
    PersonName,
    Address,
    Phone,
    MoneyKzt,
    List,
    Declaration,
    Signature,
    Seal,
}

impl FieldType {
    pub fn code(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Date => "date",
            FieldType::Year => "year",
            FieldType::Period => "period",
            FieldType::Iin => "iin",
            FieldType::PersonName => "person_name",
            FieldType::Address => "address",
            FieldType::Phone => "phone",
            FieldType::MoneyKzt => "money_kzt",
            FieldType::List => "list",
            FieldType::Declaration => "declaration",
            FieldType::Signature => "signature",
            FieldType::Seal => "seal",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// snake_case, unique in the form.
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub ru: Option<String>,
    #[serde(default)]
    pub kk: Option<String>,
    pub en: String,
    pub source: String,
}
