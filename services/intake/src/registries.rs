//! Diagram 1, process 3 and condition 1: the recipient's data from ЖТ МДБ
//! and the representative's power of attorney from БНАЖ, asked through the
//! gateway with the recipient's consent. Process 4: what could not be
//! obtained is the operator's message (a refusal naming it). A registry
//! that is down or slow is not a refusal: "try again", the draft is kept.

use crate::error::{IntakeCode, IntakeError, IntakeResult};
use crate::intake::Intake;
use crate::operators::Operator;
use crate::settings::Role;
use egov_bus::{CallError, Outgoing, Reply};
use egov_proto::individuals::{PersonByIinRequest, PersonRecord};
use egov_proto::intake as pb;
use egov_proto::notary::power_of_attorney_answer::Status;
use egov_proto::notary::{PowerOfAttorney, PowerOfAttorneyAnswer, PowerOfAttorneyRequest};
use egov_proto::prost::Message;
use egov_trust::SystemId;

/// The power of attorney a look-up is about.
pub struct PoaQuery<'a> {
    pub number: &'a str,
    pub representative_iin: &'a str,
    pub regulation: &'a str,
    /// The recipient, who must be the principal.
    pub principal_iin: &'a str,
    /// The date the operator entered, if any: it must be the notary's.
    pub date: Option<&'a str>,
}

impl Intake {
    /// One synchronous look-up; every way of not getting an answer is
    /// `registry_unavailable` ("try again").
    async fn ask<T: Message + Default>(
        &self,
        registry: &str,
        request: Outgoing,
    ) -> IntakeResult<Result<T, egov_proto::envelope::Rejection>> {
        let try_again = |why: String| {
            IntakeError::new(
                IntakeCode::RegistryUnavailable,
                format!("{registry} could not be asked ({why}); the draft is kept, try again"),
            )
        };
        match self.bus().call(request, self.tuning.lookup_deadline).await {
            Ok(Reply::Response(opened)) => opened
                .decode::<T>()
                .map(Ok)
                .map_err(|e| try_again(format!("its answer does not decode: {e}"))),
            Ok(Reply::Rejected(rejection, _)) if rejection.code == "not_found" => {
                Ok(Err(rejection))
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

    /// ЖТ МДБ: the person with this IIN.
    pub(crate) async fn person(
        &self,
        iin: &str,
        consent: uuid::Uuid,
        operator: &Operator,
    ) -> IntakeResult<PersonRecord> {
        let request = Outgoing::request(
            SystemId::Individuals,
            egov_proto::services::PERSON_BY_IIN,
            PersonByIinRequest {
                iin: iin.to_owned(),
                legal_basis: String::new(),
            },
        )
        .consent(consent.to_string())
        .acting_user(operator.iin.clone());
        self.ask::<PersonRecord>("ЖТ МДБ", request).await?.map_err(|_| {
            IntakeError::at(
                IntakeCode::PersonNotFound,
                "recipient.iin",
                "Данные не могут быть получены: в ЖТ МДБ нет лица с этим ИИН. / The data cannot be obtained: ЖТ МДБ has no person with this IIN (seed 001 §9, process 4).",
            )
        })
    }

    /// БНАЖ: the power of attorney, in force today, for this service, given
    /// by the recipient to the one who presents it.
    pub(crate) async fn power_of_attorney(
        &self,
        q: &PoaQuery<'_>,
        consent: Option<uuid::Uuid>,
        operator: &Operator,
    ) -> IntakeResult<PowerOfAttorney> {
        let mut request = Outgoing::request(
            SystemId::Notary,
            egov_proto::services::POWER_OF_ATTORNEY,
            PowerOfAttorneyRequest {
                number: q.number.to_owned(),
                representative_iin: q.representative_iin.to_owned(),
                service_code: q.regulation.to_owned(),
            },
        )
        .acting_user(operator.iin.clone());
        if let Some(consent) = consent {
            request = request.consent(consent.to_string());
        }
        let answer = match self.ask::<PowerOfAttorneyAnswer>("БНАЖ", request).await? {
            Ok(answer) => answer,
            Err(_) => PowerOfAttorneyAnswer {
                status: Status::NotFound as i32,
                power_of_attorney: None,
            },
        };
        let field = "representative.power_of_attorney_number";
        let refuse = |code, words: &str| {
            Err(IntakeError::at(
                code,
                field,
                format!("{words} (seed 001 §9, process 4; seed 002 Rules p.11)"),
            ))
        };
        let power = answer.power_of_attorney.clone();
        match Status::try_from(answer.status).unwrap_or(Status::Unspecified) {
            Status::Valid => {}
            Status::Expired => {
                return refuse(
                    IntakeCode::PoaExpired,
                    "БНАЖ: the power of attorney has expired",
                );
            }
            Status::Revoked => {
                return refuse(
                    IntakeCode::PoaRevoked,
                    "БНАЖ: the power of attorney was revoked",
                );
            }
            Status::OutOfScope => {
                return refuse(
                    IntakeCode::PoaOutOfScope,
                    "БНАЖ: the power of attorney does not cover this service",
                );
            }
            _ => {
                return refuse(
                    IntakeCode::PoaNotFound,
                    "БНАЖ has no such notarised power of attorney for this representative",
                );
            }
        }
        let power =
            power.ok_or_else(|| IntakeError::internal("БНАЖ answered valid without the power"))?;
        if power.principal_iin != q.principal_iin {
            return refuse(
                IntakeCode::PoaOtherPrincipal,
                "БНАЖ: the power of attorney was given by someone other than the recipient",
            );
        }
        if q.date.is_some_and(|d| d != power.issued_on) {
            return refuse(
                IntakeCode::PoaNotFound,
                "БНАЖ: the power of attorney with this number has another date",
            );
        }
        Ok(power)
    }

    /// Process 3 and condition 1 for a draft: the person (and the power of
    /// attorney) found → the request is checked; otherwise process 4.
    pub async fn check_registries(
        &self,
        operator: &Operator,
        reference: &str,
    ) -> IntakeResult<pb::RequestView> {
        operator.must_be(&[Role::Operator], "taking a request")?;
        let stored = self.stored(reference).await?;
        if stored.stage == pb::Stage::Checked {
            return self.request(reference).await;
        }
        stored.must_be_at(&[pb::Stage::Draft])?;
        let consent = stored.consent_reference.ok_or_else(|| {
            IntakeError::at(
                IntakeCode::ConsentRequired,
                "reference",
                "the recipient's consent comes first (seed 002 Rules p.9): send the code and confirm it",
            )
        })?;
        let outcome = async {
            let person = self
                .person(&stored.recipient_iin, consent, operator)
                .await?;
            if let (Some(rep), Some(number)) = (&stored.representative_iin, &stored.poa_number) {
                self.power_of_attorney(
                    &PoaQuery {
                        number,
                        representative_iin: rep,
                        regulation: &stored.regulation,
                        principal_iin: &stored.recipient_iin,
                        date: stored.poa_date.as_deref(),
                    },
                    Some(consent),
                    operator,
                )
                .await?;
            }
            Ok::<_, IntakeError>(person)
        }
        .await;
        let person = match outcome {
            Ok(person) => person,
            Err(error) => {
                // Process 4's message stays with the draft.
                sqlx::query("UPDATE requests SET lookup_problem = $2, updated_at = now() WHERE reference = $1")
                    .bind(stored.reference)
                    .bind(error.to_string())
                    .execute(&self.pool)
                    .await?;
                return Err(error);
            }
        };
        sqlx::query(
            "UPDATE requests SET stage = $2, recipient_surname = $3, recipient_given_name = $4,
                 recipient_patronymic = $5, lookup_problem = '', checked_at = now(), updated_at = now()
             WHERE reference = $1 AND stage = $6",
        )
        .bind(stored.reference)
        .bind(pb::Stage::Checked as i16)
        .bind(&person.surname)
        .bind(&person.given_name)
        .bind(person.patronymic.unwrap_or_default())
        .bind(pb::Stage::Draft as i16)
        .execute(&self.pool)
        .await?;
        self.request(reference).await
    }
}
