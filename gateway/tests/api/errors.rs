//! Every gRPC error of the gateway carries its stable code, in the message
//! and in `google.rpc.ErrorInfo`; the README's code tables are the code's.

use crate::helpers::*;
use egov_gateway::api::ApiCode;
use egov_gateway::verify::RejectCode;
use egov_proto::gateway::{GetStatusRequest, SendRequest, TraceRequest, VerifyLogRequest};
use egov_runtime::refusal::{CommonCode, code_table, documented_codes};
use tonic_types::StatusExt;

/// The error's ErrorInfo reason, checked against its message's prefix.
fn reason(error: &tonic::Status) -> String {
    let info = error
        .get_error_details()
        .error_info()
        .cloned()
        .unwrap_or_else(|| panic!("no ErrorInfo on {error:?}"));
    assert_eq!(info.domain, "gateway.egov-mesh");
    assert!(
        error.message().starts_with(&format!("{}: ", info.reason)),
        "{}",
        error.message()
    );
    info.reason
}

#[tokio::test]
async fn every_error_of_the_gateways_api_carries_its_code() {
    let gw = spawn_gateway().await;
    let mut client = gw.client.clone();

    let error = client
        .send(SendRequest { envelope: None })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "malformed_envelope");

    let error = client
        .get_status(GetStatusRequest {
            message_id: "not-a-uuid".into(),
            credential: Some(gw.mesh.operator_read()),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::InvalidArgument);
    assert_eq!(reason(&error), "invalid_message_id");

    let error = client
        .get_status(GetStatusRequest {
            message_id: uuid::Uuid::now_v7().to_string(),
            credential: Some(gw.mesh.operator_read()),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
    assert_eq!(reason(&error), "unknown_message");

    let error = client
        .trace(TraceRequest {
            conversation_id: String::new(),
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "missing_conversation");

    let error = client
        .verify_log(VerifyLogRequest {
            from_sequence: 10,
            to_sequence: 2,
            credential: Some(gw.mesh.operator_read()),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "invalid_range");
    gw.stop().await;
}

#[test]
fn the_readmes_gateway_tables_list_exactly_the_codes() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("### What the gateway refuses")
        .expect("the gateway's section");
    let section = &readme[start..];
    let end = section[4..].find("\n## ").map_or(section.len(), |i| i + 4);
    let mut documented = documented_codes(&section[..end]);
    documented.sort();
    let mut actual = code_table::<RejectCode>();
    actual.extend(code_table::<ApiCode>());
    actual.extend(code_table::<CommonCode>());
    actual.sort();
    assert_eq!(documented, actual);
}
