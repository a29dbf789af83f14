//! One application, one trace (issue 13 point 2): every system exports its
//! spans over OTLP to a receiver in the test, under a resource of its own
//! (`service.name` egov-portal, egov-gateway, egov-workstation…), and the
//! application's path — portal → gateway → workstation → gateway → portal,
//! over gRPC and AMQP, through the outboxes and the autopilot's later steps
//! — is one trace whose parent links hold, with spans for the domain acts.

use crate::mesh::{Mesh, Options, PATIENCE};
use crate::otlp::{Receiver, SpanSeen, hex};
use egov_harness::authorized;
use egov_proto::portal::{Stage, SubmitRequest};
use std::collections::{BTreeSet, HashMap};

/// The domain acts each system must show in the trace, by resource.
const DOMAIN_SPANS: &[(&str, &str)] = &[
    ("egov-portal", "submit application"),
    ("egov-workstation", "register application"),
    ("egov-workstation", "staff step"),
    ("egov-workstation", "sign result"),
    ("egov-workstation", "issue result"),
    ("egov-portal", "status to cabinet"),
    ("egov-portal", "result to cabinet"),
];

/// The hops between systems the application makes, as (parent's system,
/// child's system) of a span whose parent was exported by another system.
const HOPS: &[(&str, &str)] = &[
    ("egov-portal", "egov-gateway"),
    ("egov-gateway", "egov-workstation"),
    ("egov-workstation", "egov-gateway"),
    ("egov-gateway", "egov-portal"),
];

#[tokio::test]
async fn one_application_is_one_trace_across_every_system_it_passes() {
    let receiver = Receiver::start().await;
    let mesh = Mesh::start(Options {
        otlp_endpoint: Some(receiver.endpoint.clone()),
        ..Options::default()
    })
    .await;
    let citizen = mesh.citizen().await;
    let document = mesh.prepare(&citizen, "003").await;

    // The citizen's client starts the trace, as a partner's would: its
    // traceparent on the gRPC call.
    let trace_id = hex(uuid::Uuid::new_v4().as_bytes());
    let client_span = hex(&uuid::Uuid::new_v4().as_bytes()[..8]);
    let mut request = authorized(
        &citizen.token,
        SubmitRequest {
            signed_application: crate::citizen::sign_with(&citizen.eds.signing, &document).into(),
        },
    );
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{client_span}-01")
            .parse()
            .expect("a metadata value"),
    );
    let sent = mesh
        .portal()
        .submit(request)
        .await
        .expect("submitted")
        .into_inner();
    let issued = mesh
        .wait_cabinet(&citizen, &sent.reference, &[Stage::Issued, Stage::Refused])
        .await;
    assert_eq!(issued.stage(), Stage::Issued, "{issued:?}");

    // The exporters send in batches: wait until the whole path is in.
    let spans = egov_testkit::wait::until(PATIENCE, "the application's trace exported", || {
        let spans = receiver.spans();
        let trace_id = trace_id.clone();
        let client_span = client_span.clone();
        async move { whole_path(&spans, &trace_id, &client_span) }
    })
    .await;
    let mut names: Vec<String> = spans
        .iter()
        .map(|s| format!("{}: {}", s.service, s.name))
        .collect();
    names.sort();
    names.dedup();
    eprintln!("trace {trace_id}: {} spans: {names:?}", spans.len());
    // No system began a trace of its own for this application: every span
    // of the trace hangs from the client's span through exported parents.
    let ids: BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    for span in &spans {
        assert!(
            span.parent_span_id == client_span || ids.contains(span.parent_span_id.as_str()),
            "{} of {} has a parent outside the trace: {span:?}",
            span.name,
            span.service
        );
    }
}

/// The spans of `trace_id` once they show the whole path; what is missing
/// otherwise.
fn whole_path(
    all: &[SpanSeen],
    trace_id: &str,
    client_span: &str,
) -> Result<Vec<SpanSeen>, String> {
    let spans: Vec<SpanSeen> = all
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .cloned()
        .collect();
    let by_id: HashMap<&str, &SpanSeen> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let services: BTreeSet<&str> = spans.iter().map(|s| s.service.as_str()).collect();
    let mut missing = Vec::new();
    if !spans
        .iter()
        .any(|s| s.parent_span_id == client_span && s.service == "egov-portal")
    {
        missing.push("the portal's span under the client's".to_owned());
    }
    for (service, name) in DOMAIN_SPANS {
        if !spans
            .iter()
            .any(|s| s.service == *service && s.name == *name)
        {
            missing.push(format!("{service}: {name:?}"));
        }
    }
    let hops: BTreeSet<(&str, &str)> = spans
        .iter()
        .filter_map(|child| {
            let parent = by_id.get(child.parent_span_id.as_str())?;
            (parent.service != child.service)
                .then_some((parent.service.as_str(), child.service.as_str()))
        })
        .collect();
    for hop in HOPS {
        if !hops.contains(hop) {
            missing.push(format!("a hop {} → {}", hop.0, hop.1));
        }
    }
    if missing.is_empty() {
        Ok(spans)
    } else {
        Err(format!(
            "missing {missing:?}; {} spans of the trace so far, from {services:?}, hops {hops:?}",
            spans.len()
        ))
    }
}
