//! Process 3: an application is checked against its regulation before
//! anything is signed or sent; each bad input has its own code naming the
//! field, and nothing is stored.

use crate::helpers::*;
use egov_proto::portal as pb;
use egov_proto::workstation as ws;

#[tokio::test]
async fn each_bad_draft_is_refused_with_its_own_code_and_nothing_is_stored() {
    let mesh = TestPortal::start(true).await;
    let citizen = mesh.signed_up(20).await;
    let allowance = mesh.service("002").await; // a form and five documents
    let complete = complete_draft(&allowance, &citizen.iin);
    mesh.prepare(&citizen, complete.clone())
        .await
        .expect("the complete draft is accepted");

    let mut cases: Vec<(&str, &str, pb::PrepareApplicationRequest)> = Vec::new();
    let mut draft = complete.clone();
    draft.regulation = "999".into();
    cases.push(("unknown_service", "regulation", draft));
    let mut draft = complete.clone();
    draft.regulation = "004-11".into(); // the provider's office only
    cases.push(("channel_not_offered", "regulation", draft));
    let mut draft = complete.clone();
    draft.form.retain(|f| f.name != "bank_name");
    cases.push(("missing_field", "form.bank_name", draft));
    let mut draft = complete.clone();
    draft.form.push(ws::FormField {
        name: "favourite_colour".into(),
        value: "blue".into(),
    });
    cases.push(("unknown_field", "form.favourite_colour", draft));
    let mut draft = complete.clone();
    for f in &mut draft.form {
        if f.name == "appointment_date" {
            f.value = "yesterday".into();
        }
    }
    cases.push(("invalid_value", "form.appointment_date", draft));
    let mut draft = complete.clone();
    draft
        .documents
        .retain(|d| d.code != "bank_account_contract");
    cases.push(("missing_document", "documents.bank_account_contract", draft));
    let mut draft = complete.clone();
    draft.documents.push(document("passport_of_the_moon"));
    cases.push(("unknown_document", "documents.passport_of_the_moon", draft));
    let mut draft = complete.clone();
    draft.documents.push(document("application"));
    cases.push(("duplicate_document", "documents.application", draft));
    let mut draft = complete.clone();
    draft.documents[0].content = vec![7u8; 65537].into();
    draft.documents[0].sha256 = Default::default();
    let first = draft.documents[0].code.clone();
    cases.push(("document_too_large", "", draft));
    let mut draft = complete.clone();
    draft.documents[0].media_type = "application/x-msdownload".into();
    cases.push(("document_type_not_accepted", "", draft));
    let mut draft = complete.clone();
    draft.documents[0].content = Default::default();
    cases.push(("empty_document", "", draft));
    let mut draft = complete.clone();
    draft.documents[0].sha256 = vec![0u8; 32].into();
    cases.push(("document_hash_mismatch", "", draft));
    let mut draft = complete.clone();
    draft.consent = false;
    cases.push(("consent_required", "consent", draft));

    let tried = cases.len();
    for (expected, field, draft) in cases {
        let error = mesh.prepare(&citizen, draft).await.unwrap_err();
        assert_eq!(code(&error), expected, "{error:?}");
        let metadata = {
            use tonic_types::StatusExt;
            error
                .get_error_details()
                .error_info()
                .unwrap()
                .metadata
                .clone()
        };
        let named = metadata.get("field").cloned().unwrap_or_default();
        if field.is_empty() {
            assert!(named.starts_with(&format!("documents.{first}")), "{named}");
        } else {
            assert_eq!(named, field);
        }
    }
    assert_eq!(tried, 13);
    assert_eq!(mesh.count("applications").await, 0);
    assert_eq!(mesh.count("bus_outbox").await, 0);

    // Signed bytes that were not prepared by the portal are refused too.
    let error = mesh
        .submit_signed(&citizen, sign_with(&citizen.sign, b"not an application"))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_prepared");
    assert_eq!(mesh.count("applications").await, 0);
}
