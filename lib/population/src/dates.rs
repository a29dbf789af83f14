//! Calendar arithmetic on dates: whole years (29 February becomes 28
//! February) and ages, as the generators and the registries' rules count
//! them.

use chrono::{Datelike, Days, Months, NaiveDate};

/// The same day `years` years earlier (29 February becomes 28 February).
pub fn years_before(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(years * 12))
        .expect("dates stay in range")
}

/// The same day `years` years later (29 February becomes 28 February).
pub fn years_after(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_add_months(Months::new(years * 12))
        .expect("dates stay in range")
}

/// `days` days later.
pub fn days_after(date: NaiveDate, days: u64) -> NaiveDate {
    date + Days::new(days)
}

/// `days` days earlier.
pub fn days_before(date: NaiveDate, days: u64) -> NaiveDate {
    date - Days::new(days)
}

/// Full years of a person born on `birth` on `date`.
pub fn age_on(birth: NaiveDate, date: NaiveDate) -> u32 {
    let mut age = date.year() - birth.year();
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0) as u32
}
