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
///
/// One statement, one round trip: the person with their adoption
/// candidacy, and their family links and care arrangements from either end
/// as parallel arrays (each table's arrays come from one aggregate, so their
/// elements line up). A look-up on the inbox transaction was four statements
/// before (the claim of the message id and three reads); it is now two.
pub async fn person_details_on(
    conn: &mut PgConnection,
    iin: &Iin,
) -> Result<Option<PersonDetails>, sqlx::Error> {
    let key = iin.to_string();
    let row = sqlx::query(PERSON_DETAILS)
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

    let mut links = family_links_from_arrays(&row)?;
    links.sort_by_key(|l| (l.parent, l.child));
    let (parents, children): (Vec<FamilyLink>, Vec<FamilyLink>) =
        links.into_iter().partition(|l| l.child == *iin);

    let mut care = care_from_arrays(&row)?;
    care.sort_by_key(|c| (c.carer, c.child, c.kind.as_str()));
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

/// The look-up's one statement. The lateral aggregates always give one row
/// (arrays NULL when there is nothing), so the statement gives a row exactly
/// when the person exists. Each branch of the UNION ALL uses its own index
/// (the primary keys lead with the parent and the carer; `…_by_child`).
const PERSON_DETAILS: &str = "\
    SELECT p.*, a.applied_on, a.status AS candidacy_status, a.concluded_on, l.*, c.* \
    FROM persons p \
    LEFT JOIN adoption_candidates a ON a.iin = p.iin \
    CROSS JOIN LATERAL ( \
        SELECT array_agg(f.parent_iin) AS link_parent, array_agg(f.child_iin) AS link_child, \
            array_agg(f.parent_role) AS link_role, array_agg(f.origin) AS link_origin, \
            array_agg(f.established_on) AS link_established_on, \
            array_agg(f.status) AS link_status, array_agg(f.status_since) AS link_status_since \
        FROM (SELECT * FROM family_links WHERE parent_iin = $1 \
              UNION ALL SELECT * FROM family_links WHERE child_iin = $1) f \
    ) l \
    CROSS JOIN LATERAL ( \
        SELECT array_agg(k.kind) AS care_kind, array_agg(k.carer_iin) AS care_carer, \
            array_agg(k.child_iin) AS care_child, \
            array_agg(k.established_on) AS care_established_on \
        FROM (SELECT * FROM care_arrangements WHERE carer_iin = $1 \
              UNION ALL SELECT * FROM care_arrangements WHERE child_iin = $1) k \
    ) c \
    WHERE p.iin = $1";

/// Refreshes the planner's statistics of the registry's tables, after a
/// bulk load (`egov_registry::storage::analyze`).
pub async fn analyze(pool: &PgPool) -> Result<(), sqlx::Error> {
    egov_registry::storage::analyze(pool, &TABLES).await
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

/// An array column of the look-up's row; NULL (nothing aggregated) is empty.
fn array_column<T>(row: &PgRow, column: &str) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    Vec<T>: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    Ok(row
        .try_get::<Option<Vec<T>>, _>(column)?
        .unwrap_or_default())
}

/// Checks that the parallel arrays of one table have `len` elements each.
fn same_length(column: &str, found: usize, len: usize) -> Result<(), sqlx::Error> {
    if found == len {
        Ok(())
    } else {
        Err(decode_error(
            column,
            format!("{found} elements where the other arrays have {len}"),
        ))
    }
}

fn iin_text(column: &str, text: &str) -> Result<Iin, sqlx::Error> {
    Iin::parse(text).map_err(|e| decode_error(column, e))
}

fn enum_text<T>(column: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    parse(text).ok_or_else(|| decode_error(column, format!("unknown value {text:?}")))
}

fn family_links_from_arrays(row: &PgRow) -> Result<Vec<FamilyLink>, sqlx::Error> {
    let parents: Vec<String> = array_column(row, "link_parent")?;
    let children: Vec<String> = array_column(row, "link_child")?;
    let roles: Vec<String> = array_column(row, "link_role")?;
    let origins: Vec<String> = array_column(row, "link_origin")?;
    let established: Vec<Option<NaiveDate>> = array_column(row, "link_established_on")?;
    let statuses: Vec<String> = array_column(row, "link_status")?;
    let since: Vec<Option<NaiveDate>> = array_column(row, "link_status_since")?;
    let n = parents.len();
    same_length("link_child", children.len(), n)?;
    same_length("link_role", roles.len(), n)?;
    same_length("link_origin", origins.len(), n)?;
    same_length("link_established_on", established.len(), n)?;
    same_length("link_status", statuses.len(), n)?;
    same_length("link_status_since", since.len(), n)?;
    (0..n)
        .map(|i| {
            Ok(FamilyLink {
                parent: iin_text("parent_iin", &parents[i])?,
                child: iin_text("child_iin", &children[i])?,
                parent_role: enum_text("parent_role", &roles[i], ParentRole::parse)?,
                origin: enum_text("origin", &origins[i], LinkOrigin::parse)?,
                established_on: established[i],
                status: enum_text("status", &statuses[i], LinkStatus::parse)?,
                status_since: since[i],
            })
        })
        .collect()
}

fn care_from_arrays(row: &PgRow) -> Result<Vec<CareArrangement>, sqlx::Error> {
    let kinds: Vec<String> = array_column(row, "care_kind")?;
    let carers: Vec<String> = array_column(row, "care_carer")?;
    let children: Vec<String> = array_column(row, "care_child")?;
    let established: Vec<NaiveDate> = array_column(row, "care_established_on")?;
    let n = kinds.len();
    same_length("care_carer", carers.len(), n)?;
    same_length("care_child", children.len(), n)?;
    same_length("care_established_on", established.len(), n)?;
    (0..n)
        .map(|i| {
            Ok(CareArrangement {
                kind: enum_text("kind", &kinds[i], CareKind::parse)?,
                carer: iin_text("carer_iin", &carers[i])?,
                child: iin_text("child_iin", &children[i])?,
                established_on: established[i],
            })
        })
        .collect()
}
