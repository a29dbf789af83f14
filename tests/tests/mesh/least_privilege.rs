//! Least privilege on the broker (issue 14 point 3): every system connects
//! to RabbitMQ as its own user, made by `egovctl broker definitions` (see
//! `egov_bus::permissions`). The broker itself refuses what a compromised
//! system would try — a publish straight into another system's inbox,
//! consuming another's inbox, binding another's queue to its exchange, a
//! queue of its own invention — while the mesh works as before: a portal
//! application and a counter request reach their results.

use crate::mesh::{Mesh, Options};
use egov_bus::names::Address;
use egov_bus::publisher::{PublishError, Publisher};
use egov_proto::intake::Stage as CounterStage;
use egov_proto::portal::Stage;
use egov_trust::SystemId;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};

/// Whether `result` is the broker's refusal of access (AMQP 403).
fn access_refused<T: std::fmt::Debug>(result: Result<T, lapin::Error>) -> Result<(), String> {
    match result {
        Err(error) if format!("{error}").contains("ACCESS_REFUSED") => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test]
async fn the_broker_refuses_a_system_every_queue_but_its_own_and_the_mesh_still_works() {
    let mesh = Mesh::start(Options {
        broker_users: true,
        ..Options::default()
    })
    .await;
    let names = egov_bus::Names::new(mesh.namespace()).expect("a namespace");
    let workstation_inbox = names.inbox(SystemId::Workstation);

    // The portal's own broker user, as a compromised portal would hold it.
    let portal = Connection::connect(
        &mesh.broker_url(SystemId::Portal),
        ConnectionProperties::default(),
    )
    .await
    .expect("the portal's user connects");

    // Straight into the workstation's inbox (the default exchange).
    let channel = portal.create_channel().await.expect("a channel");
    channel
        .confirm_select(Default::default())
        .await
        .expect("confirms");
    let straight = async {
        channel
            .basic_publish(
                "".into(),
                workstation_inbox.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                b"a forged application",
                BasicProperties::default(),
            )
            .await?
            .await
    }
    .await;
    access_refused(straight).expect("a publish into another system's inbox is refused");

    // Through its own exchange under the inbox's name: nothing is bound
    // there, so the broker returns it.
    let publisher = Publisher::open(&portal).await.expect("a publisher");
    let sideways = publisher
        .publish(
            &Address {
                exchange: names.exchange(SystemId::Portal),
                routing_key: workstation_inbox.clone(),
            },
            b"a forged application",
            BasicProperties::default(),
        )
        .await;
    assert!(
        matches!(sideways, Err(PublishError::NoRoute(_))),
        "{sideways:?}"
    );

    // Reading the workstation's inbox.
    let channel = portal.create_channel().await.expect("a channel");
    let consume = channel
        .basic_consume(
            workstation_inbox.as_str().into(),
            "intruder".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await;
    access_refused(consume).expect("consuming another system's inbox is refused");

    // Binding the workstation's inbox to its own exchange.
    let channel = portal.create_channel().await.expect("a channel");
    let bind = channel
        .queue_bind(
            workstation_inbox.as_str().into(),
            names.exchange(SystemId::Portal).into(),
            "forged".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await;
    access_refused(bind).expect("binding another system's queue is refused");

    // A queue outside its own names.
    let channel = portal.create_channel().await.expect("a channel");
    let invented = channel
        .queue_declare(
            format!("{}.inbox.portal-shadow", mesh.namespace()).into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await;
    access_refused(invented).expect("a queue of its own invention is refused");
    let _ = portal.close(200, "done".into()).await;

    // The mesh on these users: diagram 2 through the portal...
    let citizen = mesh.citizen().await;
    let sent = mesh.apply(&citizen, "003").await;
    let issued = mesh
        .wait_cabinet(&citizen, &sent.reference, &[Stage::Issued, Stage::Refused])
        .await;
    assert_eq!(issued.stage(), Stage::Issued, "{issued:?}");

    // ...and diagram 1 at the counter (a look-up in ЖТ МДБ on the way).
    let operator = mesh.operator("operator").await;
    let recipient = mesh.person().await;
    let reference = mesh.checked_draft(&operator, "003", &recipient).await;
    mesh.accept(&operator, &reference).await.expect("accepted");
    let ready = mesh
        .wait_request(
            &operator,
            &reference,
            &[CounterStage::ResultReady, CounterStage::NotAccepted],
        )
        .await;
    assert_eq!(ready.stage(), CounterStage::ResultReady, "{ready:?}");

    let log = mesh.verify_log().await;
    assert!(log.intact, "{}", log.problem);
    assert!(
        mesh.dead_letters().await.values().all(|n| *n == 0),
        "{:?}",
        mesh.dead_letters().await
    );
}
