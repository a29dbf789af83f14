//! What one signature costs on this machine: the gateway path makes four
//! ECDSA operations per message (the sender signs, the gateway verifies and
//! countersigns, the receiver verifies the stamp), the bare forwarder none.

use std::time::Instant;

/// (signatures per second, verifications per second) on one core.
pub fn ecdsa_per_core() -> (f64, f64) {
    let ca = egov_trust::CertificateAuthority::create(
        "bench",
        chrono::Utc::now(),
        chrono::Duration::days(1),
    )
    .expect("CA");
    let issued = ca
        .issue(
            &egov_trust::SubjectSpec::System(egov_trust::SystemId::Portal),
            chrono::Utc::now(),
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .expect("certificate");
    let key = issued.signing_key();
    let message = vec![7u8; 1200];
    let n = 2000;
    let started = Instant::now();
    let mut signature = Vec::new();
    for _ in 0..n {
        signature = key.sign(&message);
    }
    let signs = n as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..n {
        assert!(issued.info.verifies(&message, &signature));
    }
    let verifies = n as f64 / started.elapsed().as_secs_f64();
    (signs, verifies)
}
