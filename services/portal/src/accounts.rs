//! Citizens' accounts: registration by IIN checked in ЖТ МДБ (diagram 2
//! pre-step), login by IIN and password (process 1; condition 1 refused by
//! process 2 with one code that does not tell whether the IIN exists),
//! lockout after repeated failures, login by EDS (a one-time challenge signed
//! with the authentication key), and sessions.

use crate::error::{PortalCode, PortalError, PortalResult};
use crate::portal::{Citizen, Portal, full_name};
use chrono::{DateTime, Utc};
use egov_bus::{CallError, Outgoing, Reply};
use egov_proto::individuals::{PersonByIinRequest, PersonRecord};
use egov_trust::cms::{self, CmsError};
use egov_trust::{Iin, KeyPurpose, Subject, SystemId};
use sqlx::Row;

pub struct NewSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub citizen: Citizen,
}

impl Portal {
    /// Pre-step: registration by IIN and password; the person must exist in
    /// ЖТ МДБ (asked through the gateway with the citizen's consent). A
    /// registry that is down or slow is "try again", never half an account.
    pub async fn register(
        &self,
        iin: &str,
        password: &str,
        phone: &str,
        consent: bool,
    ) -> PortalResult<Citizen> {
        let iin = Iin::parse(iin.trim())
            .map_err(|e| PortalError::at(PortalCode::InvalidIin, "iin", e.to_string()))?
            .to_string();
        if password.chars().count() < 8 {
            return Err(PortalError::at(
                PortalCode::WeakPassword,
                "password",
                "at least 8 characters",
            ));
        }
        let phone = phone.trim();
        let digits = phone.strip_prefix('+').unwrap_or("");
        if !(11..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(PortalError::at(
                PortalCode::InvalidPhone,
                "phone",
                "an international number such as +77011234567",
            ));
        }
        if !consent {
            return Err(PortalError::at(
                PortalCode::ConsentRequired,
                "consent",
                "registration asks ЖТ МДБ for your data, which needs your consent",
            ));
        }
        let known: Option<String> = sqlx::query_scalar("SELECT iin FROM citizens WHERE iin = $1")
            .bind(&iin)
            .fetch_optional(&self.pool)
            .await?;
        if known.is_some() {
            return Err(PortalError::at(
                PortalCode::AlreadyRegistered,
                "iin",
                "this IIN is already registered; log in",
            ));
        }
        let consent_reference = uuid::Uuid::now_v7();
        let person = self.person_by_iin(&iin, consent_reference).await?;
        let hash = self
            .passwords
            .hash(password)
            .await
            .map_err(|e| PortalError::internal(e.to_string()))?;

        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO consents (reference, iin, purpose) VALUES ($1, $2, $3)")
            .bind(consent_reference)
            .bind(&iin)
            .bind("registration: ЖТ МДБ look-up by IIN")
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO citizens (iin, surname, given_name, patronymic, phone, password_hash)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (iin) DO NOTHING",
        )
        .bind(&iin)
        .bind(&person.surname)
        .bind(&person.given_name)
        .bind(person.patronymic.clone().unwrap_or_default())
        .bind(phone)
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(PortalError::at(
                PortalCode::AlreadyRegistered,
                "iin",
                "this IIN is already registered; log in",
            ));
        }
        let citizen = Citizen {
            iin: iin.clone(),
            surname: person.surname.clone(),
            given_name: person.given_name.clone(),
            patronymic: person.patronymic.clone().unwrap_or_default(),
            full_name: full_name(
                &person.surname,
                &person.given_name,
                person.patronymic.as_deref(),
            ),
            phone: phone.to_owned(),
        };
        crate::cabinet::notify(
            &mut tx,
            &citizen,
            None,
            "Вы зарегистрированы на портале электронного правительства. / You are registered on the e-government portal.",
        )
        .await?;
        tx.commit().await?;
        tracing::info!("A citizen registered.");
        Ok(citizen)
    }

    async fn person_by_iin(
        &self,
        iin: &str,
        consent_reference: uuid::Uuid,
    ) -> PortalResult<PersonRecord> {
        let request = Outgoing::request(
            SystemId::Individuals,
            egov_proto::services::PERSON_BY_IIN,
            PersonByIinRequest {
                iin: iin.to_owned(),
                legal_basis: String::new(),
            },
        )
        .consent(consent_reference.to_string())
        .acting_user(iin.to_owned());
        let try_again = |why: String| {
            PortalError::new(
                PortalCode::RegistryUnavailable,
                format!("ЖТ МДБ could not be asked ({why}); nothing was created, try again"),
            )
        };
        match self.bus().call(request, self.tuning.lookup_deadline).await {
            Ok(Reply::Response(opened)) => opened
                .decode::<PersonRecord>()
                .map_err(|e| try_again(format!("its answer does not decode: {e}"))),
            Ok(Reply::Rejected(rejection, _)) if rejection.code == "not_found" => {
                Err(PortalError::at(
                    PortalCode::PersonNotFound,
                    "iin",
                    "ЖТ МДБ has no person with this IIN",
                ))
            }
            Ok(Reply::Rejected(rejection, _)) => Err(try_again(format!(
                "{}: {}",
                rejection.code, rejection.message
            ))),
            Err(CallError::Timeout(deadline)) => {
                Err(try_again(format!("no answer within {deadline:?}")))
            }
            Err(error) => Err(try_again(error.to_string())),
        }
    }

    /// Process 1 and condition 1: IIN and password. Every failure — unknown
    /// IIN, wrong password, locked account — is the same `login_refused`
    /// (process 2), so the answer does not tell whether the IIN exists.
    pub async fn login(&self, iin: &str, password: &str) -> PortalResult<NewSession> {
        let refused = || {
            PortalError::new(
                PortalCode::LoginRefused,
                "the IIN or the password is wrong, or there were too many attempts: try again later",
            )
        };
        let row = sqlx::query(
            "SELECT iin, surname, given_name, patronymic, phone, password_hash, locked_until
             FROM citizens WHERE iin = $1",
        )
        .bind(iin.trim())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // The same work as a real check, so timing does not tell either.
            let _ = self.passwords.verify(None, password).await;
            return Err(refused());
        };
        let locked_until: Option<DateTime<Utc>> = row.try_get("locked_until")?;
        if locked_until.is_some_and(|until| until > Utc::now()) {
            return Err(refused());
        }
        let hash: String = row.try_get("password_hash")?;
        if !self.passwords.verify(Some(hash), password).await {
            sqlx::query(
                "UPDATE citizens SET failed_logins = failed_logins + 1,
                     locked_until = CASE WHEN failed_logins + 1 >= $2
                                         THEN now() + $3::interval END
                 WHERE iin = $1",
            )
            .bind(iin.trim())
            .bind(self.tuning.lockout_after as i32)
            .bind(interval(self.tuning.lockout_for))
            .execute(&self.pool)
            .await?;
            return Err(refused());
        }
        sqlx::query("UPDATE citizens SET failed_logins = 0, locked_until = NULL WHERE iin = $1")
            .bind(iin.trim())
            .execute(&self.pool)
            .await?;
        self.open_session(citizen_of(&row)?).await
    }

    /// The EDS door, step 1: a one-time challenge to sign.
    pub async fn start_eds_login(&self) -> PortalResult<(uuid::Uuid, Vec<u8>, DateTime<Utc>)> {
        let challenge = egov_accounts::random::<32>()
            .map_err(|e| PortalError::internal(e.to_string()))?
            .to_vec();
        let id = uuid::Uuid::now_v7();
        let expires_at = Utc::now() + self.tuning.challenge_ttl;
        sqlx::query("INSERT INTO eds_challenges (id, challenge, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(&challenge)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok((id, challenge, expires_at))
    }

    /// The EDS door, step 2: the challenge signed (CMS, attached) with the
    /// authentication key of a citizen's certificate from the mesh CA; the
    /// IIN in the certificate names the account. Each challenge works once.
    pub async fn finish_eds_login(
        &self,
        challenge_id: &str,
        signature: &[u8],
    ) -> PortalResult<NewSession> {
        let id: uuid::Uuid = challenge_id.parse().map_err(|_| {
            PortalError::at(
                PortalCode::ChallengeExpired,
                "challenge_id",
                "no such challenge",
            )
        })?;
        let challenge: Option<Vec<u8>> = sqlx::query_scalar(
            "UPDATE eds_challenges SET used_at = now()
             WHERE id = $1 AND used_at IS NULL AND expires_at > now() RETURNING challenge",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let challenge = challenge.ok_or_else(|| {
            PortalError::at(
                PortalCode::ChallengeExpired,
                "challenge_id",
                "the challenge is unknown, used or expired; start again",
            )
        })?;
        let verified = cms::verify(
            signature,
            None,
            KeyPurpose::Authentication,
            &self.trust,
            Utc::now(),
        )
        .await
        .map_err(|e| eds_refusal(&e, "signature"))?;
        if verified.encapsulated_content.as_deref() != Some(challenge.as_slice()) {
            return Err(PortalError::at(
                PortalCode::EdsBadSignature,
                "signature",
                "the signature is not over this challenge",
            ));
        }
        let Subject::Citizen { iin, .. } = &verified.certificate.subject else {
            return Err(PortalError::at(
                PortalCode::LoginRefused,
                "signature",
                "the certificate is not an individual's",
            ));
        };
        let row = sqlx::query(
            "SELECT iin, surname, given_name, patronymic, phone FROM citizens WHERE iin = $1",
        )
        .bind(iin.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| {
            PortalError::new(
                PortalCode::LoginRefused,
                "no account for this certificate's IIN: register first",
            )
        })?;
        self.open_session(citizen_of(&row)?).await
    }

    async fn open_session(&self, citizen: Citizen) -> PortalResult<NewSession> {
        let token = egov_accounts::new_token().map_err(|e| PortalError::internal(e.to_string()))?;
        let expires_at = Utc::now() + self.tuning.session_ttl;
        sqlx::query("INSERT INTO sessions (token_hash, iin, expires_at) VALUES ($1, $2, $3)")
            .bind(&token.hash)
            .bind(&citizen.iin)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(NewSession {
            token: token.token,
            expires_at,
            citizen,
        })
    }

    /// The citizen a bearer token belongs to, while the session lasts.
    pub async fn authenticate(&self, token: Option<&str>) -> PortalResult<Citizen> {
        let unauthenticated = || {
            PortalError::new(
                PortalCode::Unauthenticated,
                "log in first (authorization: Bearer <token>)",
            )
        };
        let token = token.ok_or_else(unauthenticated)?;
        let row = sqlx::query(
            "SELECT c.iin, c.surname, c.given_name, c.patronymic, c.phone
             FROM sessions s JOIN citizens c ON c.iin = s.iin
             WHERE s.token_hash = $1 AND s.expires_at > now() AND s.revoked_at IS NULL",
        )
        .bind(egov_accounts::token_hash(token))
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(unauthenticated)?;
        citizen_of(&row)
    }

    pub async fn logout(&self, token: &str) -> PortalResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE token_hash = $1")
            .bind(egov_accounts::token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn citizen_of(row: &sqlx::postgres::PgRow) -> PortalResult<Citizen> {
    let surname: String = row.try_get("surname")?;
    let given_name: String = row.try_get("given_name")?;
    let patronymic: String = row.try_get("patronymic")?;
    Ok(Citizen {
        iin: row.try_get("iin")?,
        full_name: full_name(&surname, &given_name, Some(patronymic.as_str())),
        surname,
        given_name,
        patronymic,
        phone: row.try_get("phone")?,
    })
}

fn interval(d: std::time::Duration) -> sqlx::postgres::types::PgInterval {
    sqlx::postgres::types::PgInterval::try_from(d).unwrap_or_default()
}

/// Condition 2's failures (process 4), each with its own code.
pub fn eds_refusal(error: &CmsError, field: &str) -> PortalError {
    use egov_trust::CertError;
    let code = match error {
        CmsError::Malformed(_)
        | CmsError::Unsupported(_)
        | CmsError::MissingContent
        | CmsError::SignerCertificateMissing => PortalCode::EdsMalformed,
        CmsError::BadSignature
        | CmsError::DigestMismatch
        | CmsError::SignerCertificateNotBound
        | CmsError::KeyMismatch => PortalCode::EdsBadSignature,
        CmsError::Certificate(cert) => match cert {
            CertError::NotFromCa
            | CertError::Malformed(_)
            | CertError::UnsupportedKey
            | CertError::UnknownSubject(_) => PortalCode::EdsUntrusted,
            CertError::Expired(_) | CertError::NotYetValid(_) => PortalCode::EdsExpired,
            CertError::Revoked { .. } => PortalCode::EdsRevoked,
            CertError::RevocationUnknown(_) => PortalCode::EdsUnverifiable,
            // Not made by CMS checks (they report WrongKeyUsage).
            CertError::NotForSigning => PortalCode::EdsWrongKey,
        },
        CmsError::WrongKeyUsage { .. } => PortalCode::EdsWrongKey,
    };
    PortalError::at(code, field, error.to_string())
}
