//! The paper path of seed 003 §9 2)-5) (seed 004 services 1-4 and 6,
//! process 6 "or on paper by courier"): the accepted documents go to the
//! accumulation sector, which registers them by the receipt's barcode and
//! hands them to the courier, who delivers them to the provider. Each step
//! is recorded once, with its time and who did it.

use crate::counter::*;
use crate::helpers::*;
use egov_proto::intake::{self as pb, PackageState};

impl TestIntake {
    async fn scan(&self, token: &str, barcode: &str) -> Result<pb::PaperPackage, tonic::Status> {
        self.client
            .clone()
            .scan_package(authorized(
                token,
                pb::ScanPackageRequest {
                    barcode: barcode.into(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    async fn hand(
        &self,
        token: &str,
        courier: &str,
        barcodes: &[&str],
    ) -> Result<Vec<pb::PaperPackage>, tonic::Status> {
        self.client
            .clone()
            .hand_to_courier(authorized(
                token,
                pb::HandToCourierRequest {
                    barcodes: barcodes.iter().map(|b| b.to_string()).collect(),
                    courier: courier.into(),
                },
            ))
            .await
            .map(|r| r.into_inner().packages)
    }

    async fn deliver(&self, token: &str, barcode: &str) -> Result<pb::PaperPackage, tonic::Status> {
        self.client
            .clone()
            .record_delivery(authorized(
                token,
                pb::RecordDeliveryRequest {
                    barcode: barcode.into(),
                    received_by: "Сейтова Г. (канцелярия)".into(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    async fn packages(&self, token: &str) -> Vec<pb::PaperPackage> {
        self.client
            .clone()
            .list_packages(authorized(token, pb::ListPackagesRequest::default()))
            .await
            .expect("packages")
            .into_inner()
            .packages
    }
}

#[tokio::test]
async fn paper_path_barcode_scan_courier_and_delivery_each_recorded_once() {
    let mesh = TestIntake::start(true).await;
    let operator = mesh.token("operator").await;
    let sector = mesh.token("accumulation").await;
    let courier = mesh.token("courier").await;
    let other_courier = mesh.token("courier-2").await;
    let receipt = mesh
        .take(&operator, "003", &mesh.person(1).await, None)
        .await;
    let barcode = receipt.barcode.clone();

    // §9 2): accepted at the counter, the package is on its way to the
    // sector, with the documents marked present.
    let view = mesh.view(&operator, &receipt.reference).await;
    let package = view.package.expect("an accepted request has its package");
    assert_eq!(package.state(), PackageState::AtCounter);
    assert_eq!(package.barcode, barcode);
    assert_eq!(package.documents, view.documents_present);
    assert!(!package.direction.is_empty(), "sorted by direction");

    // Out of order, by the wrong role, or an unknown barcode: refused.
    let error = mesh
        .hand(&sector, "courier", &[&barcode])
        .await
        .unwrap_err();
    assert_eq!(code(&error), "package_out_of_order");
    assert_eq!(
        code(&mesh.scan(&operator, &barcode).await.unwrap_err()),
        "wrong_role"
    );
    let error = mesh
        .scan(&sector, "00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unknown_package");

    // §9 3): scanned (the scanner reads any case) — twice at once and once
    // more later: one registration, its time unchanged.
    let lower = barcode.to_lowercase();
    let (first, second) = tokio::join!(mesh.scan(&sector, &lower), mesh.scan(&sector, &barcode));
    let (first, second) = (first.expect("scanned"), second.expect("scanned"));
    assert_eq!(first.state(), PackageState::InAccumulation);
    assert_eq!(first.scanned_by, "accumulation");
    assert_eq!(first.scanned_at, second.scanned_at);
    let again = mesh.scan(&sector, &barcode).await.expect("scanned again");
    assert_eq!(again.scanned_at, first.scanned_at, "recorded once");

    // §9 4): to a courier — not to someone who is not one.
    let error = mesh
        .hand(&sector, "operator", &[&barcode])
        .await
        .unwrap_err();
    assert_eq!(code(&error), "unknown_courier");
    let handed = mesh
        .hand(&sector, "courier", &[&barcode])
        .await
        .expect("handed");
    assert_eq!(handed[0].state(), PackageState::WithCourier);
    assert_eq!(
        (handed[0].courier.as_str(), handed[0].handed_by.as_str()),
        ("courier", "accumulation")
    );
    let again = mesh
        .hand(&sector, "courier", &[&barcode])
        .await
        .expect("handed again");
    assert_eq!(again[0].handed_at, handed[0].handed_at, "recorded once");
    let error = mesh
        .hand(&sector, "courier-2", &[&barcode])
        .await
        .unwrap_err();
    assert_eq!(code(&error), "package_out_of_order");

    // A courier sees only what they carry.
    assert_eq!(mesh.packages(&courier).await.len(), 1);
    assert!(mesh.packages(&other_courier).await.is_empty());

    // §9 5): delivered by the courier who holds it, once.
    let error = mesh.deliver(&other_courier, &barcode).await.unwrap_err();
    assert_eq!(code(&error), "package_out_of_order");
    let delivered = mesh.deliver(&courier, &barcode).await.expect("delivered");
    assert_eq!(delivered.state(), PackageState::Delivered);
    assert!(delivered.received_by.starts_with("Сейтова"));
    let again = mesh
        .deliver(&courier, &barcode)
        .await
        .expect("delivered again");
    assert_eq!(again.delivered_at, delivered.delivered_at, "recorded once");
    let times = [
        &delivered.accepted_at,
        &delivered.scanned_at,
        &delivered.handed_at,
        &delivered.delivered_at,
    ]
    .map(|t| (*t).expect("each step has its time"));
    assert!(
        times
            .windows(2)
            .all(|w| (w[0].seconds, w[0].nanos) <= (w[1].seconds, w[1].nanos)),
        "in order: {times:?}"
    );
    assert_eq!(mesh.count("packages").await, 1);
}

#[tokio::test]
async fn an_incomplete_package_refused_at_the_counter_has_no_paper_path() {
    let mesh = TestIntake::start(true).await;
    let operator = mesh.token("operator").await;
    let sector = mesh.token("accumulation").await;
    let draft = mesh
        .create(
            &operator,
            "002",
            &mesh.person(2).await,
            None,
            &["bank_account_contract"],
        )
        .await
        .expect("drafted");
    mesh.consent(&operator, &draft.reference).await;
    mesh.check(&operator, &draft.reference)
        .await
        .expect("checked");
    let receipt = mesh
        .accept(&operator, &draft.reference)
        .await
        .expect("a receipt");
    assert_eq!(receipt.kind(), pb::ReceiptKind::Refusal);
    let error = mesh.scan(&sector, &receipt.barcode).await.unwrap_err();
    assert_eq!(
        code(&error),
        "unknown_package",
        "the documents went back to the recipient"
    );
    assert_eq!(mesh.count("packages").await, 0);
}
