//! The broker drops every connection (as when it restarts): the gateway and
//! the systems reconnect through their first-connect path, and messages flow
//! again with nothing lost.

use crate::helpers::*;
use egov_proto::envelope::DeliveryStatus;
use egov_trust::SystemId;

#[tokio::test]
async fn the_gateway_and_the_systems_reconnect_when_the_broker_drops_them() {
    let gw = spawn_gateway().await;
    let (workstation, receiver) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    let before = portal.send(application("reconnect-1")).await.unwrap();
    wait_status(&mut statuses, &before, DeliveryStatus::Processed).await;

    let closed = gw.mesh.close_broker_connections().await;
    assert!(
        closed >= 3,
        "the gateway's, the workstation's and the portal's connections; closed {closed}"
    );

    // Sending waits for the new connection; the message goes all the way.
    let after = portal.send(application("reconnect-2")).await.unwrap();
    wait_status(&mut statuses, &after, DeliveryStatus::Processed).await;
    assert!(portal.is_connected() && workstation.is_connected());
    assert_eq!(receiver.effects().await, (2, 2));
    gw.stop().await;
}
