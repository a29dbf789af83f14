//! The catalogue and the application, diagram 2 processes 3-5: the services
//! with a portal channel as the regulations list them; a draft validated
//! against its regulation before anything is signed; the signed application
//! checked (condition 2, refused by process 4), then stored and sent to the
//! workstation through the gateway in one transaction (process 5).

use crate::accounts::eds_refusal;
use crate::error::{PortalCode, PortalError, PortalResult};
use crate::portal::Citizen;
use crate::portal::Portal;
use chrono::Utc;
use egov_bus::Outgoing;
use egov_proto::envelope::Kind;
use egov_proto::portal as pb;
use egov_proto::prost::Message;
use egov_proto::workstation as ws;
use egov_regulations::{
    Attachment, AttachmentLimits, AttachmentProblem, Channel, Document, Regulation,
    check_attachment, check_value,
};
use egov_runtime::refusal::Code;
use egov_trust::cms;
use egov_trust::{KeyPurpose, Subject};
use std::collections::HashSet;

impl Portal {
    /// The services offered on the portal: every regulation with a portal
    /// channel.
    pub fn catalogue(&self) -> Vec<pb::CatalogueService> {
        self.regulations
            .iter()
            .filter_map(|regulation| {
                let channel = regulation.channel(Channel::Portal)?;
                let listed = |d: &Document| {
                    let item = d.items.get(Channel::Portal.code())?;
                    Some(pb::CatalogueDocument {
                        code: d.code.clone(),
                        kk: d.kk.clone(),
                        ru: d.ru.clone().unwrap_or_default(),
                        en: d.en.clone(),
                        item: item.clone(),
                        condition: d.condition.clone().unwrap_or_default(),
                    })
                };
                Some(pb::CatalogueService {
                    code: regulation.code.clone(),
                    kk: regulation.names.kk.clone(),
                    ru: regulation.names.ru.clone(),
                    en: regulation.names.en.clone(),
                    provider: regulation.provider.en.clone(),
                    deadline: channel.deadline.clone(),
                    documents: portal_documents(regulation).filter_map(listed).collect(),
                    obtained_by_provider: regulation
                        .documents
                        .iter()
                        .filter(|d| d.via_gateway)
                        .map(|d| pb::CatalogueDocument {
                            code: d.code.clone(),
                            kk: d.kk.clone(),
                            ru: d.ru.clone().unwrap_or_default(),
                            en: d.en.clone(),
                            item: String::new(),
                            condition: d.condition.clone().unwrap_or_default(),
                        })
                        .collect(),
                    form: regulation
                        .application_form()
                        .map(|form| {
                            form.fields
                                .iter()
                                .map(|f| pb::CatalogueField {
                                    name: f.name.clone(),
                                    r#type: f.field_type.code().to_owned(),
                                    kk: f.kk.clone().unwrap_or_default(),
                                    ru: f.ru.clone().unwrap_or_default(),
                                    en: f.en.clone(),
                                    required: is_required(f),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    source: channel.source.clone(),
                })
            })
            .collect()
    }

    /// Process 3: the draft checked against its regulation and turned into
    /// the document the citizen signs. Nothing is stored.
    pub fn prepare(
        &self,
        citizen: &Citizen,
        request: pb::PrepareApplicationRequest,
    ) -> PortalResult<pb::PreparedApplication> {
        let reference = uuid::Uuid::now_v7().to_string();
        let application = ws::Application {
            regulation: request.regulation.trim().to_owned(),
            channel: ws::Channel::Portal as i32,
            applicant: Some(ws::Person {
                iin: citizen.iin.clone(),
                surname: citizen.surname.clone(),
                given_name: citizen.given_name.clone(),
                patronymic: citizen.patronymic.clone(),
            }),
            representative: None,
            documents: request.documents,
            form: request.form,
            submitted_at: Some(egov_bus::envelope::timestamp(Utc::now())),
            reference: reference.clone(),
            signed_request: Default::default(),
        };
        self.validate(&application, request.consent)?;
        Ok(pb::PreparedApplication {
            reference,
            document: application.encode_to_vec().into(),
        })
    }

    /// Every rule of the regulation an application must meet, each failure
    /// with its own code naming the field.
    fn validate(&self, app: &ws::Application, consent: bool) -> PortalResult<&Regulation> {
        let regulation = self.regulations.get(&app.regulation).ok_or_else(|| {
            PortalError::at(
                PortalCode::UnknownService,
                "regulation",
                format!("no service {:?} in the catalogue", app.regulation),
            )
        })?;
        if regulation.channel(Channel::Portal).is_none() {
            return Err(PortalError::at(
                PortalCode::ChannelNotOffered,
                "regulation",
                format!(
                    "service {} is not offered through the portal (its channels: {})",
                    regulation.code,
                    regulation
                        .channels
                        .iter()
                        .map(|c| c.channel.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        self.check_form(regulation, &app.form)?;
        self.check_documents(regulation, &app.documents)?;
        if !consent {
            return Err(PortalError::at(
                PortalCode::ConsentRequired,
                "consent",
                "the provider processes protected personal data only with your consent (seed 002 Rules p.9)",
            ));
        }
        Ok(regulation)
    }

    fn check_form(&self, regulation: &Regulation, form: &[ws::FormField]) -> PortalResult<()> {
        let Some(expected) = regulation.application_form() else {
            if let Some(field) = form.first() {
                return Err(PortalError::at(
                    PortalCode::UnknownField,
                    "form",
                    format!(
                        "service {} has no application form; {:?} is not asked",
                        regulation.code, field.name
                    ),
                ));
            }
            return Ok(());
        };
        let mut seen = HashSet::new();
        for field in form {
            let at = format!("form.{}", field.name);
            let Some(definition) = expected.fields.iter().find(|f| f.name == field.name) else {
                return Err(PortalError::at(
                    PortalCode::UnknownField,
                    at,
                    format!(
                        "the form of service {} has no field {:?}",
                        regulation.code, field.name
                    ),
                ));
            };
            if !seen.insert(field.name.as_str()) {
                return Err(PortalError::at(PortalCode::InvalidValue, at, "given twice"));
            }
            if let Err(problem) = check_value(definition.field_type, field.value.trim()) {
                return Err(PortalError::at(PortalCode::InvalidValue, at, problem));
            }
        }
        for definition in expected.fields.iter().filter(|f| is_required(f)) {
            let filled = form
                .iter()
                .any(|f| f.name == definition.name && !f.value.trim().is_empty());
            if !filled {
                return Err(PortalError::at(
                    PortalCode::MissingField,
                    format!("form.{}", definition.name),
                    format!("{} is required ({})", definition.en, definition.source),
                ));
            }
        }
        Ok(())
    }

    fn check_documents(
        &self,
        regulation: &Regulation,
        documents: &[ws::Document],
    ) -> PortalResult<()> {
        let limits = AttachmentLimits {
            max_bytes: self.tuning.max_document_bytes,
            media_types: &self.tuning.accepted_media_types,
        };
        let mut attached = HashSet::new();
        for doc in documents {
            let attachment = Attachment {
                code: &doc.code,
                media_type: &doc.media_type,
                content: &doc.content,
                sha256: &doc.sha256,
            };
            let listed = portal_documents(regulation).any(|d| d.code == doc.code);
            if let Err(problem) = check_attachment(&attachment, listed, &mut attached, &limits) {
                let code = match problem {
                    AttachmentProblem::Unlisted => PortalCode::UnknownDocument,
                    AttachmentProblem::Twice => PortalCode::DuplicateDocument,
                    AttachmentProblem::Empty => PortalCode::EmptyDocument,
                    AttachmentProblem::TooLarge { .. } => PortalCode::DocumentTooLarge,
                    AttachmentProblem::TypeNotAccepted => PortalCode::DocumentTypeNotAccepted,
                    AttachmentProblem::HashMismatch => PortalCode::DocumentHashMismatch,
                };
                let at = format!("documents.{}", doc.code);
                return Err(PortalError::at(
                    code,
                    problem.field(&at),
                    problem.words(&attachment, &limits),
                ));
            }
        }
        for required in required_documents(regulation) {
            if !attached.contains(&required.code) {
                return Err(PortalError::at(
                    PortalCode::MissingDocument,
                    format!("documents.{}", required.code),
                    format!(
                        "{} is required ({})",
                        required.en,
                        required.items.get(Channel::Portal.code()).map_or("", |s| s)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Condition 2 and process 5: the signature checked (the mesh CA, the
    /// validity period, the revocation list, a signing key, the applicant's
    /// own IIN), then the application stored and put in the outbox in one
    /// transaction. Submitting the same signed application again returns
    /// it as it stands: it is sent once.
    #[tracing::instrument(name = "submit application", skip_all)]
    pub async fn submit(
        &self,
        citizen: &Citizen,
        signed_application: &[u8],
    ) -> PortalResult<pb::ApplicationView> {
        let verified = cms::verify(
            signed_application,
            None,
            KeyPurpose::Signing,
            &self.trust,
            Utc::now(),
        )
        .await
        .map_err(|e| eds_refusal(&e, "signed_application"))?;
        let content = verified.encapsulated_content.ok_or_else(|| {
            PortalError::at(
                PortalCode::EdsMalformed,
                "signed_application",
                "the signature must carry the application (attached CMS)",
            )
        })?;
        let mut application = ws::Application::decode(content.as_slice()).map_err(|e| {
            PortalError::at(
                PortalCode::NotPrepared,
                "signed_application",
                format!("the signed content is not a prepared application: {e}"),
            )
        })?;
        let reference: uuid::Uuid = application.reference.parse().map_err(|_| {
            PortalError::at(
                PortalCode::NotPrepared,
                "signed_application",
                "the signed application has no portal reference: prepare it first",
            )
        })?;
        let applicant_iin = application
            .applicant
            .as_ref()
            .map(|p| p.iin.clone())
            .unwrap_or_default();
        if applicant_iin != citizen.iin {
            return Err(PortalError::at(
                PortalCode::NotPrepared,
                "signed_application",
                "the application was prepared for another citizen",
            ));
        }
        let signer_iin = match &verified.certificate.subject {
            Subject::Citizen { iin, .. } | Subject::Employee { iin, .. } => iin.to_string(),
            Subject::System(system) => format!("system {system}"),
            Subject::Operator { name } => format!("operator {name}"),
        };
        if signer_iin != applicant_iin {
            return Err(PortalError::at(
                PortalCode::EdsIinMismatch,
                "signed_application",
                format!(
                    "the EDS belongs to IIN {signer_iin}, the application is {applicant_iin}'s"
                ),
            ));
        }
        // The same rules as at preparation: the regulation may have been
        // reloaded, and the bytes come from the client.
        self.validate(&application, true)?;
        match self.application(citizen, &reference.to_string()).await {
            // Submitted before: it stands as it stands, sent once.
            Ok(existing) => return Ok(existing),
            Err(e) if e.code() == PortalCode::UnknownApplication.as_str() => {}
            Err(e) => return Err(e),
        }

        application.signed_request = signed_application.to_vec().into();
        let consent = uuid::Uuid::now_v7();
        let message = Outgoing::raw(
            egov_trust::SystemId::Workstation,
            egov_proto::services::SUBMIT_APPLICATION,
            Kind::Request,
            application.encode_to_vec(),
        )
        .message_id(reference.to_string())
        .conversation(reference.to_string())
        .acting_user(citizen.iin.clone())
        .consent(consent.to_string());

        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO consents (reference, iin, purpose) VALUES ($1, $2, $3)")
            .bind(consent)
            .bind(&citizen.iin)
            .bind(format!(
                "application {reference} (service {})",
                application.regulation
            ))
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO applications (reference, iin, regulation, consent_reference,
                 signed_application, stage, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (reference) DO NOTHING",
        )
        .bind(reference)
        .bind(&citizen.iin)
        .bind(&application.regulation)
        .bind(consent)
        .bind(signed_application)
        .bind(pb::Stage::Sent as i16)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            self.bus()
                .enqueue(&mut tx, &message)
                .await
                .map_err(|e| PortalError::internal(format!("the outbox: {e}")))?;
            crate::cabinet::notify(
                &mut tx,
                citizen,
                Some(reference),
                &format!(
                    "Ваш запрос {reference} отправлен. / Your request {reference} has been sent."
                ),
            )
            .await?;
        }
        tx.commit().await?;
        self.bus().wake_relay();
        if inserted == 1 {
            tracing::info!(%reference, regulation = %application.regulation, "An application was submitted.");
        }
        self.application(citizen, &reference.to_string()).await
    }
}

/// The documents of the portal's list (seed row 8 / Standard item 9).
fn portal_documents(regulation: &Regulation) -> impl Iterator<Item = &Document> {
    regulation
        .documents
        .iter()
        .filter(|d| d.items.contains_key(Channel::Portal.code()))
}

/// Those the applicant must attach: unconditional, and not obtained by the
/// provider through the gateway.
fn required_documents(regulation: &Regulation) -> impl Iterator<Item = &Document> {
    portal_documents(regulation).filter(|d| d.condition.is_none() && !d.via_gateway)
}

/// A field the applicant must fill in: typed, and not one the seed marks
/// "if any" (a patronymic).
fn is_required(field: &egov_regulations::FormField) -> bool {
    field.field_type.is_typed() && !field.name.ends_with("patronymic")
}
