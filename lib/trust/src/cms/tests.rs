//! CMS signatures checked by our verify and by a real outside tool,
//! `openssl cms -verify`, so a wrong format cannot pass on our word alone.

use super::*;
use crate::ca::{CertificateAuthority, CitizenEds};
use crate::certificate::Subject;
use crate::iin::Iin;
use crate::tests::{ca, distribution_point, settings, year};
use chrono::Duration;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const IIN: &str = "900101300017";
const DOCUMENT: &[u8] = b"application #42: guardianship over a minor\n\x00\xff binary tail";

struct Mesh {
    ca: Arc<CertificateAuthority>,
    trust: TrustStore,
    citizen: CitizenEds,
}

async fn mesh() -> Mesh {
    let ca = ca();
    let url = distribution_point(ca.clone()).await;
    let trust = TrustStore::new(ca.certificate_der().to_vec(), settings(url, 0)).unwrap();
    let (from, to) = year();
    let citizen = ca
        .issue_citizen(Iin::parse(IIN).unwrap(), "Абаев", "Серік", from, to)
        .unwrap();
    Mesh { ca, trust, citizen }
}

fn sign_as(issued: &crate::ca::Issued, content: &[u8], encapsulation: Encapsulation) -> Vec<u8> {
    sign(
        content,
        &issued.signing_key(),
        &issued.certificate_der,
        encapsulation,
        Utc::now(),
    )
    .unwrap()
}

/// A fresh directory for one test's files.
fn work_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("egov-cms-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `openssl cms -verify -binary -CAfile <ca> -in <sig> -inform DER
/// [-content <data>] -purpose any`, with the files written to `dir`.
fn openssl_verify(
    dir: &Path,
    ca_pem: &str,
    signature: &[u8],
    detached_content: Option<&[u8]>,
) -> Output {
    let ca_file = dir.join("mesh-ca.pem");
    let sig_file = dir.join("sig.der");
    let data_file = dir.join("data.bin");
    std::fs::write(&ca_file, ca_pem).unwrap();
    std::fs::write(&sig_file, signature).unwrap();
    let mut command = Command::new("openssl");
    command
        .args(["cms", "-verify", "-binary", "-CAfile"])
        .arg(&ca_file)
        .arg("-in")
        .arg(&sig_file)
        .args(["-inform", "DER"]);
    if let Some(content) = detached_content {
        std::fs::write(&data_file, content).unwrap();
        command.arg("-content").arg(&data_file);
    }
    command.args(["-purpose", "any"]);
    command
        .output()
        .expect("openssl must be installed: it is the outside check of the CMS format")
}

fn assert_openssl_accepts(output: &Output, content: &[u8]) {
    assert!(
        output.status.success(),
        "openssl refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("Verification successful"));
    assert_eq!(output.stdout, content, "openssl prints the signed content");
}

fn assert_openssl_refuses(output: &Output) {
    assert!(
        !output.status.success(),
        "openssl accepted what it should not: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Decodes a signature, lets `change` alter its one signer, encodes it again.
fn rewrite_signer(cms_der: &[u8], change: impl FnOnce(&mut SignerInfo)) -> Vec<u8> {
    let content_info = ContentInfo::from_der(cms_der).unwrap();
    let mut signed_data: SignedData = content_info.content.decode_as().unwrap();
    let mut signer = signed_data.signer_infos.0.get(0).unwrap().clone();
    change(&mut signer);
    signed_data.signer_infos = SignerInfos(SetOfVec::try_from(vec![signer]).unwrap());
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[tokio::test]
async fn openssl_and_our_verify_accept_attached_and_detached_signatures() {
    let mesh = mesh().await;
    let dir = work_dir("accept");
    let ca_pem = mesh.ca.certificate_pem();

    let attached = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Attached);
    assert_openssl_accepts(&openssl_verify(&dir, &ca_pem, &attached, None), DOCUMENT);
    let verified = verify(
        &attached,
        None,
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(verified.encapsulated_content.as_deref(), Some(DOCUMENT));
    assert!(matches!(
        verified.certificate.subject,
        Subject::Citizen { iin, .. } if iin.to_string() == IIN
    ));
    assert_eq!(
        verified.certificate_der,
        mesh.citizen.signing.certificate_der
    );
    let signed_at = verified.signing_time.unwrap();
    assert!((Utc::now() - signed_at).num_seconds().abs() < 60);

    let detached = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Detached);
    assert!(detached.len() < attached.len());
    assert_openssl_accepts(
        &openssl_verify(&dir, &ca_pem, &detached, Some(DOCUMENT)),
        DOCUMENT,
    );
    let verified = verify(
        &detached,
        Some(DOCUMENT),
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(verified.encapsulated_content, None);

    // The attached form also checks against the same bytes given apart.
    verify(
        &attached,
        Some(DOCUMENT),
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_changed_byte_of_content_fails_openssl_and_our_verify() {
    let mesh = mesh().await;
    let dir = work_dir("changed");
    let ca_pem = mesh.ca.certificate_pem();
    let mut changed = DOCUMENT.to_vec();
    changed[13] ^= 0x01;

    let detached = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Detached);
    assert_openssl_refuses(&openssl_verify(&dir, &ca_pem, &detached, Some(&changed)));
    let result = verify(
        &detached,
        Some(&changed),
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    assert_eq!(result.unwrap_err(), CmsError::DigestMismatch);

    // The same change made inside an attached signature's content.
    let mut attached = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Attached);
    let at = attached
        .windows(DOCUMENT.len())
        .position(|w| w == DOCUMENT)
        .expect("the content is inside");
    attached[at + 13] ^= 0x01;
    assert_openssl_refuses(&openssl_verify(&dir, &ca_pem, &attached, None));
    let result = verify(
        &attached,
        None,
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    assert_eq!(result.unwrap_err(), CmsError::DigestMismatch);

    // Content given apart that differs from the content inside.
    let attached = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Attached);
    let result = verify(
        &attached,
        Some(&changed),
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    assert_eq!(result.unwrap_err(), CmsError::DigestMismatch);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_certificate_from_a_self_made_ca_with_the_same_subject_is_refused() {
    // As FCALayer forges signatures (anchors-part2.md §4.3): a CA of its own
    // with the mesh CA's name, issuing the same citizen's certificate.
    let mesh = mesh().await;
    let rogue = CertificateAuthority::create("test CA", Utc::now(), Duration::days(365)).unwrap();
    let (from, to) = year();
    let forged = rogue
        .issue_citizen(Iin::parse(IIN).unwrap(), "Абаев", "Серік", from, to)
        .unwrap();
    assert_eq!(
        forged.signing.info.subject,
        mesh.citizen.signing.info.subject
    );

    let signature = sign_as(&forged.signing, DOCUMENT, Encapsulation::Attached);
    let result = verify(
        &signature,
        None,
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(error, CmsError::Certificate(CertError::NotFromCa));
    assert_eq!(error.code(), "untrusted_certificate");

    let dir = work_dir("rogue");
    assert_openssl_refuses(&openssl_verify(
        &dir,
        &mesh.ca.certificate_pem(),
        &signature,
        None,
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_authentication_key_is_told_apart_from_the_signing_key() {
    let mesh = mesh().await;
    let by_auth_key = sign_as(
        &mesh.citizen.authentication,
        DOCUMENT,
        Encapsulation::Attached,
    );
    let result = verify(
        &by_auth_key,
        None,
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(
        error,
        CmsError::WrongKeyUsage {
            expected: KeyPurpose::Signing
        }
    );
    assert_eq!(error.code(), "wrong_key_usage");
    // Logging in with it is what it is for.
    let verified = verify(
        &by_auth_key,
        None,
        KeyPurpose::Authentication,
        &mesh.trust,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(verified.certificate.allows(KeyPurpose::Authentication));

    let by_sign_key = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Attached);
    let result = verify(
        &by_sign_key,
        None,
        KeyPurpose::Authentication,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    assert_eq!(
        result.unwrap_err(),
        CmsError::WrongKeyUsage {
            expected: KeyPurpose::Authentication
        }
    );
}

#[tokio::test]
async fn a_changed_signature_or_signed_attribute_is_a_bad_signature() {
    let mesh = mesh().await;
    let signature = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Attached);

    let other_signature = mesh.citizen.signing.signing_key().sign(b"something else");
    let swapped = rewrite_signer(&signature, |signer| {
        signer.signature = OctetString::new(other_signature).unwrap();
    });
    let result = verify(&swapped, None, KeyPurpose::Signing, &mesh.trust, Utc::now()).await;
    assert_eq!(result.unwrap_err(), CmsError::BadSignature);

    // Backdating the claimed signing time breaks the signature too.
    let backdated = rewrite_signer(&signature, |signer| {
        let attrs = signer.signed_attrs.as_ref().unwrap();
        let changed: Vec<Attribute> = attrs
            .iter()
            .map(|a| {
                if a.oid == ID_SIGNING_TIME {
                    attribute(
                        ID_SIGNING_TIME,
                        &asn1_time(Utc::now() - Duration::days(400)).unwrap(),
                    )
                    .unwrap()
                } else {
                    a.clone()
                }
            })
            .collect();
        signer.signed_attrs = Some(SetOfVec::try_from(changed).unwrap());
    });
    let result = verify(
        &backdated,
        None,
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    assert_eq!(result.unwrap_err(), CmsError::BadSignature);
    let dir = work_dir("bad-signature");
    assert_openssl_refuses(&openssl_verify(
        &dir,
        &mesh.ca.certificate_pem(),
        &backdated,
        None,
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn expired_not_yet_valid_and_revoked_signers_are_refused() {
    let mesh = mesh().await;
    let now = Utc::now();
    let iin = Iin::parse(IIN).unwrap();
    let old = mesh
        .ca
        .issue_citizen(
            iin,
            "Абаев",
            "Серік",
            now - Duration::days(400),
            now - Duration::days(35),
        )
        .unwrap();
    let signature = sign_as(&old.signing, DOCUMENT, Encapsulation::Detached);
    let result = verify(
        &signature,
        Some(DOCUMENT),
        KeyPurpose::Signing,
        &mesh.trust,
        now,
    )
    .await;
    assert!(
        matches!(result, Err(CmsError::Certificate(CertError::Expired(_)))),
        "{result:?}"
    );
    // Checked at a time within its validity, it holds.
    verify(
        &signature,
        Some(DOCUMENT),
        KeyPurpose::Signing,
        &mesh.trust,
        now - Duration::days(100),
    )
    .await
    .unwrap();

    let signature = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Detached);
    let result = verify(
        &signature,
        Some(DOCUMENT),
        KeyPurpose::Signing,
        &mesh.trust,
        now - Duration::days(2),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(CmsError::Certificate(CertError::NotYetValid(_)))
        ),
        "{result:?}"
    );

    mesh.ca
        .revoke(
            &mesh.citizen.signing.info.serial_hex(),
            "key_compromise",
            now,
        )
        .unwrap();
    let result = verify(
        &signature,
        Some(DOCUMENT),
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(CmsError::Certificate(CertError::Revoked { .. }))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_detached_signature_needs_its_content_and_a_key_needs_its_certificate() {
    let mesh = mesh().await;
    let detached = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Detached);
    let result = verify(
        &detached,
        None,
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    assert_eq!(result.unwrap_err(), CmsError::MissingContent);

    let result = sign(
        DOCUMENT,
        &mesh.citizen.authentication.signing_key(),
        &mesh.citizen.signing.certificate_der,
        Encapsulation::Attached,
        Utc::now(),
    );
    assert_eq!(result.unwrap_err(), CmsError::KeyMismatch);

    let result = verify(
        b"not DER at all",
        None,
        KeyPurpose::Signing,
        &mesh.trust,
        Utc::now(),
    )
    .await;
    assert!(matches!(result, Err(CmsError::Malformed(_))), "{result:?}");
}

#[tokio::test]
async fn a_signature_bound_to_another_certificate_is_refused() {
    // Signed properly, but signingCertificateV2 names the citizen's other
    // certificate: a substituted signer certificate (RFC 5035 §1).
    let mesh = mesh().await;
    let key = mesh.citizen.signing.signing_key();
    let signature = sign_as(&mesh.citizen.signing, DOCUMENT, Encapsulation::Attached);
    let rebound = rewrite_signer(&signature, |signer| {
        let attrs = signer.signed_attrs.as_ref().unwrap();
        let mut changed: Vec<Attribute> = attrs
            .iter()
            .filter(|a| a.oid != ID_SIGNING_CERTIFICATE_V2)
            .cloned()
            .collect();
        let other = Certificate::from_der(&mesh.citizen.authentication.certificate_der).unwrap();
        let wrong = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(
                    sha256(&mesh.citizen.authentication.certificate_der).to_vec(),
                )
                .unwrap(),
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(
                        other.tbs_certificate.issuer.clone(),
                    )],
                    serial_number: other.tbs_certificate.serial_number.clone(),
                }),
            }],
            policies: None,
        };
        changed.push(attribute(ID_SIGNING_CERTIFICATE_V2, &wrong).unwrap());
        let attrs = SetOfVec::try_from(changed).unwrap();
        signer.signature = OctetString::new(key.sign(&attrs.to_der().unwrap())).unwrap();
        signer.signed_attrs = Some(attrs);
    });
    let result = verify(&rebound, None, KeyPurpose::Signing, &mesh.trust, Utc::now()).await;
    assert_eq!(result.unwrap_err(), CmsError::SignerCertificateNotBound);
    // No openssl check here: OpenSSL 3.0's `cms -verify` accepts this
    // message (it does not match signingCertificateV2 against the signer).
}

#[tokio::test]
async fn our_verify_reads_cades_signatures_made_by_openssl() {
    // The other direction: another implementation signs (`openssl cms -sign
    // -cades` adds signingCertificateV2 and S/MIME capabilities), we verify.
    let mesh = mesh().await;
    let dir = work_dir("openssl-signs");
    let signer = &mesh.citizen.signing;
    std::fs::write(dir.join("signer.crt.pem"), signer.certificate_pem()).unwrap();
    std::fs::write(dir.join("signer.key.pem"), signer.private_key_pem()).unwrap();
    std::fs::write(dir.join("document.bin"), DOCUMENT).unwrap();
    for (form, extra) in [("attached", Some("-nodetach")), ("detached", None)] {
        let out = dir.join(format!("{form}.der"));
        let mut command = Command::new("openssl");
        command
            .args(["cms", "-sign", "-binary", "-cades", "-md", "sha256"])
            .args(extra)
            .arg("-signer")
            .arg(dir.join("signer.crt.pem"))
            .arg("-inkey")
            .arg(dir.join("signer.key.pem"))
            .arg("-in")
            .arg(dir.join("document.bin"))
            .args(["-outform", "DER", "-out"])
            .arg(&out);
        let output = command.output().expect("openssl must be installed");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let signature = std::fs::read(&out).unwrap();
        let detached_content = extra.is_none().then_some(DOCUMENT);
        let verified = verify(
            &signature,
            detached_content,
            KeyPurpose::Signing,
            &mesh.trust,
            Utc::now(),
        )
        .await
        .unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(verified.certificate_der, signer.certificate_der);
        let mut changed = DOCUMENT.to_vec();
        changed[0] ^= 0x01;
        let result = verify(
            &signature,
            Some(&changed),
            KeyPurpose::Signing,
            &mesh.trust,
            Utc::now(),
        )
        .await;
        assert_eq!(result.unwrap_err(), CmsError::DigestMismatch, "{form}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The gateway's archives and evidence files (`verify_offline`): only the
/// CA certificate in hand; a changed byte anywhere is found, whatever part
/// of the file it is in; the signer's validity is judged at the signing
/// time, so an old archive outlives its certificate.
#[test]
fn verify_offline_finds_a_changed_byte_anywhere_and_judges_validity_at_the_signing_time() {
    let ca = ca();
    let now = Utc::now();
    let gateway = ca
        .issue(
            &crate::ca::SubjectSpec::System(crate::system::SystemId::Gateway),
            now - Duration::days(400),
            now - Duration::days(35),
        )
        .unwrap();
    // Signed when the certificate was valid; it has expired since.
    let signed_at = now - Duration::days(100);
    let signature = sign(
        DOCUMENT,
        &gateway.signing_key(),
        &gateway.certificate_der,
        Encapsulation::Attached,
        signed_at,
    )
    .unwrap();
    let verified = verify_offline(&signature, ca.certificate_der()).unwrap();
    assert_eq!(verified.encapsulated_content.as_deref(), Some(DOCUMENT));
    assert_eq!(
        verified.certificate.system(),
        Some(crate::system::SystemId::Gateway)
    );
    assert_eq!(
        attached_content_unchecked(&signature).unwrap(),
        DOCUMENT.to_vec()
    );

    for at in 0..signature.len() {
        let mut changed = signature.clone();
        changed[at] ^= 0x01;
        assert!(
            verify_offline(&changed, ca.certificate_der()).is_err(),
            "byte {at} of {} changed and not found",
            signature.len()
        );
    }

    // Signed outside the certificate's validity.
    let late = sign(
        DOCUMENT,
        &gateway.signing_key(),
        &gateway.certificate_der,
        Encapsulation::Attached,
        now,
    )
    .unwrap();
    assert!(matches!(
        verify_offline(&late, ca.certificate_der()),
        Err(CmsError::Certificate(CertError::Expired(_)))
    ));
    // Another CA's certificate.
    let rogue = CertificateAuthority::create("test CA", now, Duration::days(365)).unwrap();
    assert_eq!(
        verify_offline(&signature, rogue.certificate_der()).unwrap_err(),
        CmsError::Certificate(CertError::NotFromCa)
    );
    // A detached signature is not an archive.
    let detached = sign(
        DOCUMENT,
        &gateway.signing_key(),
        &gateway.certificate_der,
        Encapsulation::Detached,
        signed_at,
    )
    .unwrap();
    assert!(matches!(
        verify_offline(&detached, ca.certificate_der()),
        Err(CmsError::Malformed(_))
    ));
}
