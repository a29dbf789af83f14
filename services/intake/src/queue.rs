//! The electronic queue (seed 002 Standard row 7: "reception by electronic
//! queue, at the minor's place of residence, without expedited service;
//! the queue can be booked through the portal"). A visitor takes a talon at
//! the branch's terminal, or books one for a time in the State
//! Corporation's working hours; an operator calls the next one.
//!
//! No expedited service: there is one order, by the time a talon may be
//! called (taken for a walk-in, the booked time for a booking), and a
//! booking is not called before its time. Two operators calling at once
//! get two talons (`FOR UPDATE SKIP LOCKED`).
//!
//! Kept small, as the issue asks: one branch (`intake.branch`), no
//! windows, no no-show handling; the portal does not forward bookings yet
//! (a booking is this API's `TakeTalon` with `booked_for`).

use crate::error::{IntakeCode, IntakeError, IntakeResult};
use crate::intake::Intake;
use crate::operators::Operator;
use crate::request::parse_iin;
use crate::settings::Role;
use chrono::{DateTime, Utc};
use egov_bus::envelope::timestamp;
use egov_calendar::Schedule;
use egov_proto::intake as pb;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// Numbers already taken, tried again with the next one.
const NUMBER_ATTEMPTS: usize = 5;

fn talon_view(row: &PgRow, ahead: u32) -> Result<pb::Talon, sqlx::Error> {
    let series: String = row.try_get("series")?;
    let kind = if series == "B" {
        pb::TalonKind::Booked
    } else {
        pb::TalonKind::WalkIn
    };
    Ok(pb::Talon {
        number: format!("{series}{:03}", row.try_get::<i32, _>("seq")?),
        kind: kind as i32,
        branch: row.try_get("branch")?,
        regulation: row.try_get("regulation")?,
        iin: row.try_get("iin")?,
        taken_at: Some(timestamp(row.try_get("taken_at")?)),
        booked_for: row
            .try_get::<Option<DateTime<Utc>>, _>("booked_for")?
            .map(timestamp),
        called_at: row
            .try_get::<Option<DateTime<Utc>>, _>("called_at")?
            .map(timestamp),
        called_by: row
            .try_get::<Option<String>, _>("called_by")?
            .unwrap_or_default(),
        ahead,
    })
}

impl Intake {
    /// A walk-in talon, or a booking for `booked_for`.
    pub async fn take_talon(&self, r: pb::TakeTalonRequest) -> IntakeResult<pb::Talon> {
        let iin = parse_iin(&r.iin, "iin")?.to_string();
        let regulation = self.counter_regulation(&r.regulation)?.code.clone();
        let now = self.queue_clock.now();
        let booked_for = match r.booked_for {
            None => None,
            Some(at) => {
                let at = DateTime::from_timestamp(at.seconds, 0).ok_or_else(|| {
                    IntakeError::at(IntakeCode::InvalidValue, "booked_for", "not a time")
                })?;
                self.bookable(at, now)?;
                Some(at)
            }
        };
        let due_at = booked_for.unwrap_or(now);
        let series = if booked_for.is_some() { "B" } else { "A" };
        let day = egov_calendar::to_local(due_at).date_naive();
        for _ in 0..NUMBER_ATTEMPTS {
            let inserted = sqlx::query(
                "INSERT INTO talons (branch, day, series, seq, iin, regulation, taken_at, booked_for, due_at)
                 SELECT $1, $2, $3, coalesce(max(seq), 0) + 1, $4, $5, $6, $7, $8
                 FROM talons WHERE branch = $1 AND day = $2 AND series = $3
                 RETURNING *",
            )
            .bind(&self.tuning.branch)
            .bind(day)
            .bind(series)
            .bind(&iin)
            .bind(&regulation)
            .bind(now)
            .bind(booked_for)
            .bind(due_at)
            .fetch_one(&self.pool)
            .await;
            match inserted {
                Ok(row) => {
                    let ahead: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM talons WHERE branch = $1 AND called_at IS NULL
                           AND (due_at, id) < ($2, $3)",
                    )
                    .bind(&self.tuning.branch)
                    .bind(due_at)
                    .bind(row.try_get::<i64, _>("id")?)
                    .fetch_one(&self.pool)
                    .await?;
                    return Ok(talon_view(&row, ahead as u32)?);
                }
                // Another terminal took this number at the same moment.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(IntakeError::internal(
            "no talon number could be taken; try again",
        ))
    }

    /// A booking is for a future moment of the State Corporation's working
    /// time (Mon-Sat 9:00-20:00 on working days, seed 002 Standard row 7).
    fn bookable(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> IntakeResult<()> {
        let outside =
            |why: String| IntakeError::at(IntakeCode::OutsideWorkingHours, "booked_for", why);
        if at < now {
            return Err(outside("a booking is for a time to come".into()));
        }
        let opens = self
            .calendar
            .next_working_moment(at, Schedule::StateCorporation)
            .map_err(|e| outside(format!("the calendar: {e}")))?;
        if opens != at {
            return Err(outside(format!(
                "the State Corporation works Mon-Sat 9:00-20:00 on working days; the next working time is {}",
                egov_calendar::to_local(opens).format("%Y-%m-%d %H:%M")
            )));
        }
        Ok(())
    }

    /// The next talon whose time has come, in one order (no expedited
    /// service); `queue_empty` when none is waiting.
    pub async fn call_next_talon(&self, operator: &Operator) -> IntakeResult<pb::Talon> {
        operator.must_be(
            &[Role::Operator, Role::IssuingOperator],
            "calling the next talon",
        )?;
        let now = self.queue_clock.now();
        let row = sqlx::query(
            "UPDATE talons SET called_at = $2, called_by = $3
             WHERE id = (SELECT id FROM talons
                         WHERE branch = $1 AND called_at IS NULL AND due_at <= $2
                         ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .bind(&self.tuning.branch)
        .bind(now)
        .bind(&operator.login)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| {
            IntakeError::new(
                IntakeCode::QueueEmpty,
                "no talon is waiting whose time has come",
            )
        })?;
        Ok(talon_view(&row, 0)?)
    }

    /// The waiting talons in the order they will be called.
    pub async fn waiting_talons(&self, operator: &Operator) -> IntakeResult<Vec<pb::Talon>> {
        operator.must_be(&[Role::Operator, Role::IssuingOperator], "seeing the queue")?;
        let rows = sqlx::query(
            "SELECT * FROM talons WHERE branch = $1 AND called_at IS NULL
             ORDER BY due_at, id LIMIT 500",
        )
        .bind(&self.tuning.branch)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .enumerate()
            .map(|(i, row)| Ok(talon_view(row, i as u32)?))
            .collect()
    }
}
