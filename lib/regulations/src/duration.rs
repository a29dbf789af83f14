//! TEMPORARY local stand-in until egov-calendar has its Span (being written).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Minutes,
    Hours,
    WorkingDays,
    CalendarDays,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub amount: u32,
    pub unit: Unit,
}

pub fn parse(text: &str) -> Result<Span, String> {
    let (amount, unit) = text.trim().split_once(' ').ok_or("expected `<amount> <unit>`")?;
    let amount: u32 = amount.parse().map_err(|_| format!("`{amount}` is not a number"))?;
    let unit = match unit {
        "min" | "minutes" | "minute" => Unit::Minutes,
        "hour" | "hours" => Unit::Hours,
        "working day" | "working days" => Unit::WorkingDays,
        "calendar day" | "calendar days" => Unit::CalendarDays,
        other => return Err(format!("unknown unit `{other}`")),
    };
    Ok(Span { amount, unit })
}
