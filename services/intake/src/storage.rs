//! Storage of unclaimed results (seed 002 Rules p.11; seed 003 §10 2)): the
//! State Corporation keeps a result the recipient has not collected for one
//! month — a calendar month, the same date of the next month — then hands it
//! to the provider (`return-unclaimed-result`). A recipient who comes later
//! gets it back: the intake asks (`request-unclaimed-result`) and the
//! provider sends the result again within one working day.
//!
//! A background task sweeps every `intake.storage_sweep_every`. The storage
//! clock is the real one unless `intake.storage_time` fixes it (tests move
//! it with [`StorageClock::set`]); it is used only for this deadline.

use crate::error::IntakeResult;
use crate::intake::Intake;
use crate::operators::Operator;
use crate::settings::Role;
use chrono::{DateTime, Utc};
use egov_bus::Outgoing;
use egov_proto::intake as pb;
use egov_proto::workstation as ws;
use egov_regulations::{Channel, Period};
use egov_trust::SystemId;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const RETURN_UNCLAIMED: &str = "return-unclaimed-result";
pub const REQUEST_UNCLAIMED: &str = "request-unclaimed-result";

/// Where a regulation records no storage term (seed 001, seed 004), the
/// State Corporation's one month of seeds 002 and 003 applies.
const DEFAULT_STORAGE: Period = Period::CalendarMonths(1);

/// "Now" for the storage deadline.
#[derive(Debug, Default)]
pub struct StorageClock {
    fixed: Mutex<Option<DateTime<Utc>>>,
}

impl StorageClock {
    pub fn new(fixed: Option<DateTime<Utc>>) -> StorageClock {
        StorageClock {
            fixed: Mutex::new(fixed),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.fixed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .unwrap_or_else(Utc::now)
    }

    /// Fixes the clock at `at` (tests move it forward).
    pub fn set(&self, at: DateTime<Utc>) {
        *self
            .fixed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(at);
    }
}

impl Intake {
    /// Until when a result of `regulation` that arrived at `arrived` is
    /// kept: the regulation's `unclaimed_storage` limit of the State
    /// Corporation channel, counted in Almaty's calendar.
    pub fn keep_until(&self, regulation: &str, arrived: DateTime<Utc>) -> DateTime<Utc> {
        let period = self
            .regulations
            .get(regulation)
            .and_then(|r| r.limit(Channel::StateCorporation, "unclaimed_storage"))
            .and_then(|limit| egov_regulations::parse_period(&limit.duration).ok())
            .unwrap_or(DEFAULT_STORAGE);
        let kept = match period {
            Period::CalendarMonths(_) => period
                .months_after(egov_calendar::to_local(arrived).naive_local())
                .and_then(|local| egov_calendar::local_to_utc(local).ok()),
            Period::Span(span) => self
                .calendar
                .due(
                    arrived,
                    span,
                    egov_calendar::Schedule::StateCorporation,
                    true,
                )
                .ok(),
        };
        // Out of the calendar's range: keep it rather than return it early.
        kept.unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// One sweep: every result kept past its term goes back to the provider,
    /// each in its own transaction with its message (outbox). Returns how
    /// many went.
    pub async fn return_unclaimed(&self) -> IntakeResult<usize> {
        let now = self.storage_clock.now();
        let due: Vec<(uuid::Uuid, String)> = sqlx::query_as(
            "SELECT reference, journal_number FROM requests
             WHERE stage = $1 AND issued_at IS NULL AND keep_until <= $2
             ORDER BY keep_until LIMIT 100",
        )
        .bind(pb::Stage::ResultReady as i16)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut returned = 0;
        for (reference, journal_number) in due {
            let mut tx = self.pool.begin().await?;
            // The result leaves the State Corporation: it is the provider's
            // to keep until asked for again.
            let updated = sqlx::query(
                "UPDATE requests SET stage = $2, returned_at = $3, result_cms = NULL,
                     updated_at = now()
                 WHERE reference = $1 AND stage = $4 AND issued_at IS NULL AND keep_until <= $3",
            )
            .bind(reference)
            .bind(pb::Stage::ReturnedToProvider as i16)
            .bind(now)
            .bind(pb::Stage::ResultReady as i16)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 {
                self.enqueue(&mut tx, RETURN_UNCLAIMED, reference, journal_number)
                    .await?;
                returned += 1;
                tracing::info!(%reference, "An unclaimed result went back to the provider.");
            }
            tx.commit().await?;
        }
        if returned > 0 {
            self.bus().wake_relay();
        }
        Ok(returned)
    }

    /// The recipient came after the result went back: ask the provider for
    /// it; it arrives as a result again and is kept anew.
    pub async fn ask_for_returned_result(
        &self,
        operator: &Operator,
        reference: &str,
    ) -> IntakeResult<pb::RequestView> {
        operator.must_be(
            &[Role::IssuingOperator, Role::Operator],
            "asking for a returned result",
        )?;
        let stored = self.stored(reference).await?;
        stored.must_be_at(&[pb::Stage::ReturnedToProvider])?;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE requests SET stage = $2, updated_at = now() WHERE reference = $1 AND stage = $3",
        )
        .bind(stored.reference)
        .bind(pb::Stage::AskedBack as i16)
        .bind(pb::Stage::ReturnedToProvider as i16)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            self.enqueue(
                &mut tx,
                REQUEST_UNCLAIMED,
                stored.reference,
                stored.journal_number.clone(),
            )
            .await?;
        }
        tx.commit().await?;
        self.bus().wake_relay();
        if updated == 1 {
            tracing::info!(reference = %stored.reference, "A returned result was asked for again.");
        }
        self.request(reference).await
    }

    async fn enqueue(
        &self,
        tx: &mut sqlx::PgConnection,
        service: &str,
        reference: uuid::Uuid,
        journal_number: String,
    ) -> IntakeResult<()> {
        let message = Outgoing::request(
            SystemId::Workstation,
            service,
            ws::UnclaimedResult {
                journal_number,
                reference: reference.to_string(),
            },
        )
        .conversation(reference.to_string());
        self.bus()
            .enqueue(tx, &message)
            .await
            .map_err(|e| crate::error::IntakeError::internal(format!("the outbox: {e}")))?;
        Ok(())
    }
}

/// The background task: a sweep every `every` until `stop`.
pub async fn sweep(intake: Arc<Intake>, every: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = intake.return_unclaimed().await {
            tracing::warn!(%error, "The sweep of unclaimed results failed; retrying at the next one.");
        }
    }
}
