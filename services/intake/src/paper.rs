//! The paper path (seed 003 §9 2)-5); seed 004 services 1-4 and 6, process
//! 6 "or sends the package on paper to the provider by courier"). The
//! request goes to the provider electronically at acceptance (seed 003
//! App. 2 "via ХҚО"; the regulations state no criterion for choosing); the
//! paper documents follow: 2) they go to the accumulation sector, 3) which
//! registers them in МК ЫАЖ by scanning the receipt's barcode, 4) hands
//! them to the courier, 5) who delivers them to the provider.
//!
//! Each step is one column set once, guarded by the step before it in the
//! same `UPDATE`: a second scan (or a second operator scanning at the same
//! moment) changes nothing and returns the package as it is.

use crate::error::{IntakeCode, IntakeError, IntakeResult};
use crate::intake::Intake;
use crate::operators::Operator;
use crate::settings::Role;
use chrono::{DateTime, Utc};
use egov_bus::envelope::timestamp;
use egov_proto::intake as pb;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

/// The package of a request just accepted (called in the acceptance's
/// transaction, so a sent request always has its package).
pub(crate) async fn open_package(
    db: &mut PgConnection,
    reference: uuid::Uuid,
    regulation: &egov_regulations::Regulation,
    documents: &[String],
    accepted_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO packages (reference, barcode, regulation, direction, documents, accepted_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (reference) DO NOTHING",
    )
    .bind(reference)
    .bind(barcode(reference))
    .bind(&regulation.code)
    .bind(
        regulation
            .provider
            .ru
            .as_deref()
            .unwrap_or(&regulation.provider.kk),
    )
    .bind(documents)
    .bind(accepted_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The receipt's barcode: the request number, upper case (Code 39 has no
/// lower-case letters).
pub fn barcode(reference: uuid::Uuid) -> String {
    reference.to_string().to_uppercase()
}

fn state(row: &PgRow) -> Result<pb::PackageState, sqlx::Error> {
    let at = |column: &str| row.try_get::<Option<DateTime<Utc>>, _>(column);
    Ok(if at("delivered_at")?.is_some() {
        pb::PackageState::Delivered
    } else if at("handed_at")?.is_some() {
        pb::PackageState::WithCourier
    } else if at("scanned_at")?.is_some() {
        pb::PackageState::InAccumulation
    } else {
        pb::PackageState::AtCounter
    })
}

pub(crate) fn package_view(row: &PgRow) -> Result<pb::PaperPackage, sqlx::Error> {
    let at = |column: &str| {
        row.try_get::<Option<DateTime<Utc>>, _>(column)
            .map(|t| t.map(timestamp))
    };
    let text = |column: &str| {
        row.try_get::<Option<String>, _>(column)
            .map(Option::unwrap_or_default)
    };
    Ok(pb::PaperPackage {
        barcode: row.try_get("barcode")?,
        reference: row.try_get::<uuid::Uuid, _>("reference")?.to_string(),
        regulation: row.try_get("regulation")?,
        direction: row.try_get("direction")?,
        state: state(row)? as i32,
        documents: row.try_get("documents")?,
        accepted_at: at("accepted_at")?,
        scanned_at: at("scanned_at")?,
        scanned_by: text("scanned_by")?,
        handed_at: at("handed_at")?,
        handed_by: text("handed_by")?,
        courier: text("courier")?,
        delivered_at: at("delivered_at")?,
        received_by: text("received_by")?,
    })
}

fn normalized(barcode: &str) -> String {
    barcode.trim().to_uppercase()
}

fn out_of_order(package: &pb::PaperPackage, wanted: &str) -> IntakeError {
    IntakeError::at(
        IntakeCode::PackageOutOfOrder,
        "barcode",
        format!(
            "package {} is {:?}; {wanted}",
            package.barcode,
            package.state()
        ),
    )
}

impl Intake {
    pub(crate) async fn package(&self, barcode: &str) -> IntakeResult<pb::PaperPackage> {
        let row = sqlx::query("SELECT * FROM packages WHERE barcode = $1")
            .bind(normalized(barcode))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| {
                IntakeError::at(
                    IntakeCode::UnknownPackage,
                    "barcode",
                    format!("no accepted package has barcode {barcode:?}"),
                )
            })?;
        Ok(package_view(&row)?)
    }

    /// The package of a request, if it was accepted.
    pub(crate) async fn package_of(
        &self,
        reference: uuid::Uuid,
    ) -> IntakeResult<Option<pb::PaperPackage>> {
        let row = sqlx::query("SELECT * FROM packages WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(package_view).transpose()?)
    }

    /// §9 3): registered in МК ЫАЖ by scanning the receipt's barcode.
    pub async fn scan_package(
        &self,
        operator: &Operator,
        barcode: &str,
    ) -> IntakeResult<pb::PaperPackage> {
        operator.must_be(&[Role::AccumulationSector], "registering a package")?;
        let package = self.package(barcode).await?;
        let scanned = sqlx::query(
            "UPDATE packages SET scanned_at = now(), scanned_by = $2
             WHERE barcode = $1 AND scanned_at IS NULL",
        )
        .bind(&package.barcode)
        .bind(&operator.login)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if scanned == 1 {
            tracing::info!(barcode = %package.barcode, "A package was registered in the accumulation sector.");
        }
        self.package(barcode).await
    }

    /// §9 4): the accumulation sector hands packages to a courier, all or
    /// none. A package already with this courier stays as it was.
    pub async fn hand_to_courier(
        &self,
        operator: &Operator,
        barcodes: &[String],
        courier: &str,
    ) -> IntakeResult<Vec<pb::PaperPackage>> {
        operator.must_be(&[Role::AccumulationSector], "handing packages to a courier")?;
        if barcodes.is_empty() {
            return Err(IntakeError::at(
                IntakeCode::MissingField,
                "barcodes",
                "at least one package's barcode",
            ));
        }
        let is_courier: Option<String> =
            sqlx::query_scalar("SELECT role FROM operators WHERE login = $1")
                .bind(courier.trim())
                .fetch_optional(&self.pool)
                .await?;
        if is_courier.as_deref() != Some(Role::Courier.code()) {
            return Err(IntakeError::at(
                IntakeCode::UnknownCourier,
                "courier",
                format!("{courier:?} is not one of the branch's couriers"),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let mut handed = Vec::with_capacity(barcodes.len());
        for barcode in barcodes {
            let row = sqlx::query("SELECT * FROM packages WHERE barcode = $1 FOR UPDATE")
                .bind(normalized(barcode))
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    IntakeError::at(
                        IntakeCode::UnknownPackage,
                        "barcodes",
                        format!("no accepted package has barcode {barcode:?}"),
                    )
                })?;
            let package = package_view(&row)?;
            match package.state() {
                pb::PackageState::InAccumulation => {
                    sqlx::query(
                        "UPDATE packages SET handed_at = now(), handed_by = $2, courier = $3
                         WHERE barcode = $1 AND handed_at IS NULL",
                    )
                    .bind(&package.barcode)
                    .bind(&operator.login)
                    .bind(courier.trim())
                    .execute(&mut *tx)
                    .await?;
                }
                pb::PackageState::WithCourier if package.courier == courier.trim() => {}
                _ => {
                    return Err(out_of_order(
                        &package,
                        "only a package registered in the accumulation sector goes to a courier",
                    ));
                }
            }
            handed.push(package.barcode);
        }
        tx.commit().await?;
        tracing::info!(count = handed.len(), %courier, "Packages were handed to a courier.");
        let mut packages = Vec::with_capacity(handed.len());
        for barcode in &handed {
            packages.push(self.package(barcode).await?);
        }
        Ok(packages)
    }

    /// §9 5): the courier who holds the package delivers it to the provider.
    pub async fn record_delivery(
        &self,
        operator: &Operator,
        barcode: &str,
        received_by: &str,
    ) -> IntakeResult<pb::PaperPackage> {
        operator.must_be(&[Role::Courier], "recording a delivery")?;
        let package = self.package(barcode).await?;
        let held = package.courier == operator.login;
        match package.state() {
            pb::PackageState::WithCourier if held => {
                sqlx::query(
                    "UPDATE packages SET delivered_at = now(), received_by = $2
                     WHERE barcode = $1 AND delivered_at IS NULL AND courier = $3",
                )
                .bind(&package.barcode)
                .bind(received_by.trim())
                .bind(&operator.login)
                .execute(&self.pool)
                .await?;
                tracing::info!(barcode = %package.barcode, "A package was delivered to the provider.");
                self.package(barcode).await
            }
            pb::PackageState::Delivered if held => Ok(package),
            _ => Err(out_of_order(
                &package,
                "a courier records the delivery of a package handed to them",
            )),
        }
    }

    /// Packages not yet delivered first, oldest first; a courier sees only
    /// the packages handed to them.
    pub async fn packages(
        &self,
        operator: &Operator,
        state: pb::PackageState,
    ) -> IntakeResult<Vec<pb::PaperPackage>> {
        let courier = (operator.role == Role::Courier).then(|| operator.login.clone());
        // The state as `state()` derives it, so the filter comes before the
        // limit.
        let rows = sqlx::query(
            "SELECT * FROM packages WHERE ($1::text IS NULL OR courier = $1)
               AND ($2 = 0 OR $2 = CASE WHEN delivered_at IS NOT NULL THEN 4
                                        WHEN handed_at IS NOT NULL THEN 3
                                        WHEN scanned_at IS NOT NULL THEN 2 ELSE 1 END)
             ORDER BY delivered_at IS NOT NULL, accepted_at LIMIT 500",
        )
        .bind(courier)
        .bind(state as i32)
        .fetch_all(&self.pool)
        .await?;
        let packages = rows
            .iter()
            .map(package_view)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(packages)
    }
}
