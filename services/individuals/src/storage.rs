//! The registry's tables in its own schema: migrations, batched idempotent
//! writes, and the person look-up with everything linked to the person.
//!
//! Writes are multi-row `INSERT … SELECT FROM UNNEST(arrays)` with `ON
//! CONFLICT DO NOTHING` on the natural keys (IIN, parent and child, carer and
//! child and kind, case kind and IIN), so writing the same rows twice changes
//! nothing, and a batch of thousands of rows is one round trip per table.

use crate::model::{
    AdoptionCandidate, CandidacyStatus, CareArrangement, CareKind, CaseEntry, DocumentKind,
    FamilyLink, LinkOrigin, LinkStatus, ParentRole, Person, PersonDetails, RegistryRows,
};
use chrono::NaiveDate;
use egov_registry::storage::{count_cases, count_rows, decode_error, iin_column};
use egov_trust::iin::{Iin, Sex};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgConnection, Row};

/// The registry's migrations (`migrations/`), run into the pool's schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Rows newly written per table (rows already present are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub persons: u64,
    pub family_links: u64,
    pub care_arrangements: u64,
    pub adoption_candidates: u64,
    pub cases: u64,
}

impl std::ops::AddAssign for Written {
    fn add_assign(&mut self, other: Written) {
        self.persons += other.persons;
        self.family_links += other.family_links;
        self.care_arrangements += other.care_arrangements;
        self.adoption_candidates += other.adoption_candidates;
        self.cases += other.cases;
    }
}

/// Writes a self-contained set of rows (every IIN they link to is among
/// them or already stored) in one transaction, persons first.
pub async fn write_rows(pool: &PgPool, rows: &RegistryRows) -> Result<Written, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let written = Written {
        persons: insert_persons(&mut tx, &rows.persons).await?,
        family_links: insert_family_links(&mut tx, &rows.family_links).await?,
        care_arrangements: insert_care_arrangements(&mut tx, &rows.care_arrangements).await?,
        adoption_candidates: insert_adoption_candidates(&mut tx, &rows.adoption_candidates).await?,
        cases: insert_cases(&mut tx, &rows.cases).await?,
    };
    tx.commit().await?;
    Ok(written)
}

pub fn sex_text(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

pub async fn insert_persons(
    conn: &mut PgConnection,
    persons: &[Person],
) -> Result<u64, sqlx::Error> {
    if persons.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&Person) -> String| persons.iter().map(f).collect::<Vec<String>>();
    let dates = |f: fn(&Person) -> NaiveDate| persons.iter().map(f).collect::<Vec<NaiveDate>>();
    let optional_dates =
        |f: fn(&Person) -> Option<NaiveDate>| persons.iter().map(f).collect::<Vec<_>>();
    let result = sqlx::query(
        "INSERT INTO persons (iin, surname, given_name, patronymic, birth_date, sex, \
             citizenship, region, district_or_city, street, document_kind, document_number, \
             document_issuer, document_issued_on, document_expires_on, deceased_on, \
             declared_missing_on) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], \
             $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
             $12::text[], $13::text[], $14::date[], $15::date[], $16::date[], $17::date[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(column(|p| p.iin.to_string()))
    .bind(column(|p| p.surname.clone()))
    .bind(column(|p| p.given_name.clone()))
    .bind(
        persons
            .iter()
            .map(|p| p.patronymic.clone())
            .collect::<Vec<_>>(),
    )
    .bind(dates(|p| p.birth_date))
    .bind(column(|p| sex_text(p.sex).to_owned()))
    .bind(column(|p| p.citizenship.clone()))
    .bind(column(|p| p.address.region.clone()))
    .bind(column(|p| p.address.district_or_city.clone()))
    .bind(column(|p| p.address.street.clone()))
    .bind(column(|p| p.document.kind.as_str().to_owned()))
    .bind(column(|p| p.document.number.clone()))
    .bind(column(|p| p.document.issuer.clone()))
    .bind(dates(|p| p.document.issued_on))
    .bind(optional_dates(|p| p.document.expires_on))
    .bind(optional_dates(|p| p.deceased_on))
    .bind(optional_dates(|p| p.declared_missing_on))
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

pub async fn insert_family_links(
    conn: &mut PgConnection,
    links: &[FamilyLink],
) -> Result<u64, sqlx::Error> {
    if links.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(
        "INSERT INTO family_links (parent_iin, child_iin, parent_role, origin, established_on, \
             status, status_since) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], \
             $6::text[], $7::date[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(
        links
            .iter()
            .map(|l| l.parent.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        links
            .iter()
            .map(|l| l.child.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        links
            .iter()
            .map(|l| l.parent_role.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(links.iter().map(|l| l.origin.as_str()).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.established_on).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.status.as_str()).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.status_since).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

pub async fn insert_care_arrangements(
    conn: &mut PgConnection,
    arrangements: &[CareArrangement],
) -> Result<u64, sqlx::Error> {
    if arrangements.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(
        "INSERT INTO care_arrangements (kind, carer_iin, child_iin, established_on) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(
        arrangements
            .iter()
            .map(|a| a.kind.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        arrangements
            .iter()
            .map(|a| a.carer.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        arrangements
            .iter()
            .map(|a| a.child.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        arrangements
            .iter()
            .map(|a| a.established_on)
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

pub async fn insert_adoption_candidates(
    conn: &mut PgConnection,
    candidates: &[AdoptionCandidate],
) -> Result<u64, sqlx::Error> {
    if candidates.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(
        "INSERT INTO adoption_candidates (iin, applied_on, status, concluded_on) \
         SELECT * FROM UNNEST($1::text[], $2::date[], $3::text[], $4::date[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(
        candidates
            .iter()
            .map(|c| c.iin.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(candidates.iter().map(|c| c.applied_on).collect::<Vec<_>>())
    .bind(
        candidates
            .iter()
            .map(|c| c.status.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        candidates
            .iter()
            .map(|c| c.concluded_on)
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

pub async fn insert_cases(
    conn: &mut PgConnection,
    cases: &[CaseEntry],
) -> Result<u64, sqlx::Error> {
    if cases.is_empty() {
        return Ok(0);
    }
    let result = sqlx::query(
        "INSERT INTO cases (kind, iin, related_iin, since) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(cases.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>())
    .bind(cases.iter().map(|c| c.iin.to_string()).collect::<Vec<_>>())
    .bind(
        cases
            .iter()
            .map(|c| c.related.map(|i| i.to_string()))
            .collect::<Vec<_>>(),
    )
    .bind(cases.iter().map(|c| c.since).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

/// The person with this IIN and everything linked to them, or None.
pub async fn person_details(
    pool: &PgPool,
    iin: &Iin,
) -> Result<Option<PersonDetails>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    person_details_on(&mut conn, iin).await
}

/// [`person_details`] on a connection already held (the inbox handler's
/// transaction).
pub async fn person_details_on(
    conn: &mut PgConnection,
    iin: &Iin,
) -> Result<Option<PersonDetails>, sqlx::Error> {
    let key = iin.to_string();
    let row = sqlx::query(
        "SELECT p.*, a.applied_on, a.status AS candidacy_status, a.concluded_on \
         FROM persons p LEFT JOIN adoption_candidates a ON a.iin = p.iin \
         WHERE p.iin = $1",
    )
    .bind(&key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let person = person_from_row(&row)?;
    let adoption_candidacy = match row.try_get::<Option<NaiveDate>, _>("applied_on")? {
        None => None,
        Some(applied_on) => Some(AdoptionCandidate {
            iin: *iin,
            applied_on,
            status: text_column(&row, "candidacy_status", CandidacyStatus::parse)?,
            concluded_on: row.try_get("concluded_on")?,
        }),
    };

    let links = sqlx::query(
        "SELECT * FROM family_links WHERE parent_iin = $1 \
         UNION ALL SELECT * FROM family_links WHERE child_iin = $1 \
         ORDER BY parent_iin, child_iin",
    )
    .bind(&key)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(family_link_from_row)
    .collect::<Result<Vec<_>, _>>()?;
    let (parents, children): (Vec<FamilyLink>, Vec<FamilyLink>) =
        links.into_iter().partition(|l| l.child == *iin);

    let care = sqlx::query(
        "SELECT * FROM care_arrangements WHERE carer_iin = $1 \
         UNION ALL SELECT * FROM care_arrangements WHERE child_iin = $1 \
         ORDER BY carer_iin, child_iin, kind",
    )
    .bind(&key)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(care_from_row)
    .collect::<Result<Vec<_>, _>>()?;
    let (carers, wards): (Vec<CareArrangement>, Vec<CareArrangement>) =
        care.into_iter().partition(|c| c.child == *iin);

    Ok(Some(PersonDetails {
        person,
        parents,
        children,
        carers,
        wards,
        adoption_candidacy,
    }))
}

/// Rows per table, for reports and tests.
pub async fn table_counts(pool: &PgPool) -> Result<Vec<(&'static str, i64)>, sqlx::Error> {
    count_rows(pool, &TABLES).await
}

/// Entries per case kind in the catalogue.
pub async fn case_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    count_cases(pool).await
}

/// The registry's tables, in the order they are written.
pub const TABLES: [&str; 5] = [
    "persons",
    "family_links",
    "care_arrangements",
    "adoption_candidates",
    "cases",
];

fn text_column<T>(
    row: &PgRow,
    column: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| decode_error(column, format!("unknown value {text:?}")))
}

fn person_from_row(row: &PgRow) -> Result<Person, sqlx::Error> {
    Ok(Person {
        iin: iin_column(row, "iin")?,
        surname: row.try_get("surname")?,
        given_name: row.try_get("given_name")?,
        patronymic: row.try_get("patronymic")?,
        birth_date: row.try_get("birth_date")?,
        sex: text_column(row, "sex", |s| match s {
            "male" => Some(Sex::Male),
            "female" => Some(Sex::Female),
            _ => None,
        })?,
        citizenship: row.try_get("citizenship")?,
        address: crate::model::Address {
            region: row.try_get("region")?,
            district_or_city: row.try_get("district_or_city")?,
            street: row.try_get("street")?,
        },
        document: crate::model::IdentityDocument {
            kind: text_column(row, "document_kind", DocumentKind::parse)?,
            number: row.try_get("document_number")?,
            issuer: row.try_get("document_issuer")?,
            issued_on: row.try_get("document_issued_on")?,
            expires_on: row.try_get("document_expires_on")?,
        },
        deceased_on: row.try_get("deceased_on")?,
        declared_missing_on: row.try_get("declared_missing_on")?,
    })
}

fn family_link_from_row(row: &PgRow) -> Result<FamilyLink, sqlx::Error> {
    Ok(FamilyLink {
        parent: iin_column(row, "parent_iin")?,
        child: iin_column(row, "child_iin")?,
        parent_role: text_column(row, "parent_role", ParentRole::parse)?,
        origin: text_column(row, "origin", LinkOrigin::parse)?,
        established_on: row.try_get("established_on")?,
        status: text_column(row, "status", LinkStatus::parse)?,
        status_since: row.try_get("status_since")?,
    })
}

fn care_from_row(row: &PgRow) -> Result<CareArrangement, sqlx::Error> {
    Ok(CareArrangement {
        kind: text_column(row, "kind", CareKind::parse)?,
        carer: iin_column(row, "carer_iin")?,
        child: iin_column(row, "child_iin")?,
        established_on: row.try_get("established_on")?,
    })
}
