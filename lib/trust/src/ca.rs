//! The mesh's certification authority, standing in for НУЦ РК (the national
//! certification centre): issues certificates to systems, citizens and
//! employees, revokes them, and signs the revocation list.

use crate::certificate::{CertError, CertificateInfo, OPERATOR_URI_PREFIX, SYSTEM_URI_PREFIX};
use crate::iin::{Bin, Iin};
use crate::signing::{SigningKey, pem_block, to_pem};
use crate::system::SystemId;
use chrono::{DateTime, Duration, Utc};
use der::oid::ObjectIdentifier;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use std::sync::Mutex;

/// OID of the X.520 serialNumber attribute (where NCA puts `IIN…`).
const OID_SERIAL_NUMBER: &[u64] = &[2, 5, 4, 5];
const OID_SURNAME: &[u64] = &[2, 5, 4, 4];
const OID_GIVEN_NAME: &[u64] = &[2, 5, 4, 42];

// NCA RK's object identifiers for a person's keys (anchors-part2.md §4.3,
// from the OID list of the Kazakh root CA, root.gov.kz/oid):
/// extendedKeyUsage role "individual" (физическое лицо).
pub const OID_ROLE_INDIVIDUAL: &[u64] = &[1, 2, 398, 3, 3, 4, 1, 1];
/// certificatePolicies: EDS (signing) certificates of individuals.
pub const OID_POLICY_INDIVIDUAL_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.398.3.3.2.3");
/// certificatePolicies: authentication certificates of individuals.
pub const OID_POLICY_INDIVIDUAL_AUTHENTICATION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.398.3.3.2.4");
const OID_CERTIFICATE_POLICIES: &[u64] = &[2, 5, 29, 32];

/// Who a new certificate is for.
#[derive(Debug, Clone)]
pub enum SubjectSpec {
    System(SystemId),
    Citizen {
        iin: Iin,
        surname: String,
        given_name: String,
    },
    Employee {
        iin: Iin,
        bin: Bin,
        surname: String,
        given_name: String,
        organisation: String,
    },
}

/// Whom a TLS certificate of the mesh is for (issue 14 point 1): a system,
/// which serves its gRPC port with it and may call others' with it, or an
/// operator (a person or a tool such as egovctl), who only calls.
///
/// TLS certificates are kept apart from the signing ones: their own key,
/// keyUsage digitalSignature without nonRepudiation, extendedKeyUsage
/// serverAuth/clientAuth; so a TLS key signs no message and a signing key
/// opens no connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSubject {
    System(SystemId),
    /// An operator by name: letters, digits, '_' or '-', at most 64.
    Operator(String),
}

impl TlsSubject {
    /// An operator's subject, its name checked.
    pub fn operator(name: &str) -> Result<TlsSubject, CaError> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if ok {
            Ok(TlsSubject::Operator(name.to_owned()))
        } else {
            Err(CaError::OperatorName(name.to_owned()))
        }
    }
}

impl std::fmt::Display for TlsSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsSubject::System(id) => write!(f, "system {id}"),
            TlsSubject::Operator(name) => write!(f, "operator {name}"),
        }
    }
}

/// The names a system's TLS certificate carries besides its URI: the
/// system's id (what a client verifies, whatever address it dialled: the
/// compose network's host name, or 127.0.0.1 through a published port),
/// and the loopback names, for grpcurl and friends.
pub fn tls_server_names(system: SystemId) -> Vec<String> {
    vec![
        system.as_str().to_owned(),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ]
}

/// A freshly issued certificate with its private key.
pub struct Issued {
    pub certificate_der: Vec<u8>,
    /// PKCS#8 DER of the private key.
    pub private_key_der: Vec<u8>,
    pub info: CertificateInfo,
}

impl Issued {
    pub fn certificate_pem(&self) -> String {
        to_pem("CERTIFICATE", &self.certificate_der)
    }
    pub fn private_key_pem(&self) -> String {
        to_pem("PRIVATE KEY", &self.private_key_der)
    }
    pub fn signing_key(&self) -> SigningKey {
        SigningKey::from_pkcs8_der(&self.private_key_der).expect("key made by the CA")
    }
}

/// A citizen's electronic digital signature (ЭЦП) as NCA RK issues it: two
/// key pairs, one to log in and one to sign documents (anchors-part2.md §4.3).
#[derive(Debug)]
pub struct CitizenEds {
    /// `AUTH_…`: keyUsage digitalSignature, extendedKeyUsage clientAuth.
    pub authentication: Issued,
    /// `RSA_…`/`GOST_…`: keyUsage digitalSignature and nonRepudiation.
    pub signing: Issued,
}

/// What a certificate's key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    /// Systems, employees and the older single citizen certificate: sign
    /// with non-repudiation, no extended usage.
    Signing,
    /// A citizen's authentication key.
    IndividualAuthentication,
    /// A citizen's document-signing key.
    IndividualSigning,
    /// A system's TLS key: serves its port, calls others'.
    TlsServerAndClient,
    /// An operator's TLS key: calls only.
    TlsClient,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("info", &self.info)
            .field("private_key_der", &"(redacted)")
            .finish_non_exhaustive()
    }
}

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Revocation {
    /// The certificate's serial number, hex.
    pub serial: String,
    pub revoked_at: DateTime<Utc>,
    /// RFC 5280 reason, as a word: key_compromise, superseded, cessation_of_operation, unspecified.
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{0}")]
    Pem(String),
    #[error("the CA certificate is unusable: {0}")]
    Certificate(#[from] CertError),
    #[error("unknown revocation reason {0:?}")]
    Reason(String),
    #[error("{0:?} is no operator name: letters, digits, '_' or '-', at most 64")]
    OperatorName(String),
}

pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    certificate_der: Vec<u8>,
    key_der: Vec<u8>,
    revoked: Mutex<Vec<Revocation>>,
}

impl CertificateAuthority {
    /// Creates a new self-signed root, valid from `now` for `validity`.
    pub fn create(name: &str, now: DateTime<Utc>, validity: Duration) -> Result<Self, CaError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "egov-mesh");
        params.distinguished_name.push(DnType::CountryName, "KZ");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = to_time(now - Duration::minutes(5));
        params.not_after = to_time(now + validity);
        params.serial_number = Some(random_serial());
        let certificate_der = params.self_signed(&key)?.der().to_vec();
        let key_der = key.serialize_der();
        Ok(CertificateAuthority {
            issuer: Issuer::new(params, key),
            certificate_der,
            key_der,
            revoked: Mutex::new(Vec::new()),
        })
    }

    /// Loads a CA from its certificate and PKCS#8 key (PEM), with its
    /// revocations.
    pub fn from_pem(
        certificate_pem: &str,
        key_pem: &str,
        revoked: Vec<Revocation>,
    ) -> Result<Self, CaError> {
        let certificate_der = pem_block(certificate_pem, "CERTIFICATE").map_err(CaError::Pem)?;
        let key_der = pem_block(key_pem, "PRIVATE KEY").map_err(CaError::Pem)?;
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_der(&certificate_der.clone().into(), key)?;
        Ok(CertificateAuthority {
            issuer,
            certificate_der,
            key_der,
            revoked: Mutex::new(revoked),
        })
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    pub fn certificate_pem(&self) -> String {
        to_pem("CERTIFICATE", &self.certificate_der)
    }

    pub fn private_key_pem(&self) -> String {
        to_pem("PRIVATE KEY", &self.key_der)
    }

    /// Issues a certificate valid over [not_before, not_after].
    pub fn issue(
        &self,
        subject: &SubjectSpec,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Issued, CaError> {
        self.issue_for(subject, Usage::Signing, not_before, not_after)
    }

    /// Issues a citizen's two key pairs and certificates, both valid over
    /// [not_before, not_after], naming the citizen as NCA RK does
    /// (`SERIALNUMBER=IIN…`, `CN=<surname> <given name>`, no `OU=BIN…`).
    pub fn issue_citizen(
        &self,
        iin: Iin,
        surname: &str,
        given_name: &str,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<CitizenEds, CaError> {
        let subject = SubjectSpec::Citizen {
            iin,
            surname: surname.to_owned(),
            given_name: given_name.to_owned(),
        };
        Ok(CitizenEds {
            authentication: self.issue_for(
                &subject,
                Usage::IndividualAuthentication,
                not_before,
                not_after,
            )?,
            signing: self.issue_for(&subject, Usage::IndividualSigning, not_before, not_after)?,
        })
    }

    /// Issues a TLS certificate (see [`TlsSubject`]), valid over
    /// [not_before, not_after].
    pub fn issue_tls(
        &self,
        subject: &TlsSubject,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Issued, CaError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = rcgen::DistinguishedName::new();
        let usage = match subject {
            TlsSubject::System(id) => {
                dn.push(DnType::CommonName, id.as_str());
                let uri = format!("{SYSTEM_URI_PREFIX}{id}");
                params.subject_alt_names = vec![SanType::URI(uri.try_into()?)];
                for name in tls_server_names(*id) {
                    params
                        .subject_alt_names
                        .push(match name.parse::<std::net::IpAddr>() {
                            Ok(ip) => SanType::IpAddress(ip),
                            Err(_) => SanType::DnsName(name.try_into()?),
                        });
                }
                Usage::TlsServerAndClient
            }
            TlsSubject::Operator(name) => {
                dn.push(DnType::CommonName, name.as_str());
                let uri = format!("{OPERATOR_URI_PREFIX}{name}");
                params.subject_alt_names = vec![SanType::URI(uri.try_into()?)];
                Usage::TlsClient
            }
        };
        dn.push(DnType::OrganizationName, "egov-mesh");
        dn.push(DnType::CountryName, "KZ");
        params.distinguished_name = dn;
        set_usage(&mut params, usage);
        params.not_before = to_time(not_before);
        params.not_after = to_time(not_after);
        params.serial_number = Some(random_serial());
        params.use_authority_key_identifier_extension = true;
        let certificate_der = params.signed_by(&key, &self.issuer)?.der().to_vec();
        let info = CertificateInfo::parse(&certificate_der)?;
        Ok(Issued {
            certificate_der,
            private_key_der: key.serialize_der(),
            info,
        })
    }

    fn issue_for(
        &self,
        subject: &SubjectSpec,
        usage: Usage,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Issued, CaError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = rcgen::DistinguishedName::new();
        match subject {
            SubjectSpec::System(id) => {
                dn.push(DnType::CommonName, id.as_str());
                dn.push(DnType::OrganizationName, "egov-mesh");
                let uri = format!("{SYSTEM_URI_PREFIX}{id}");
                params.subject_alt_names = vec![SanType::URI(uri.try_into()?)];
            }
            SubjectSpec::Citizen {
                iin,
                surname,
                given_name,
            } => {
                push_person(&mut dn, iin, surname, given_name);
            }
            SubjectSpec::Employee {
                iin,
                bin,
                surname,
                given_name,
                organisation,
            } => {
                push_person(&mut dn, iin, surname, given_name);
                dn.push(DnType::OrganizationName, organisation.as_str());
                dn.push(DnType::OrganizationalUnitName, format!("BIN{bin}"));
            }
        }
        dn.push(DnType::CountryName, "KZ");
        params.distinguished_name = dn;
        set_usage(&mut params, usage);
        params.not_before = to_time(not_before);
        params.not_after = to_time(not_after);
        params.serial_number = Some(random_serial());
        params.use_authority_key_identifier_extension = true;
        let certificate_der = params.signed_by(&key, &self.issuer)?.der().to_vec();
        let info = CertificateInfo::parse(&certificate_der)?;
        Ok(Issued {
            certificate_der,
            private_key_der: key.serialize_der(),
            info,
        })
    }

    /// Revokes a certificate by serial (hex). Revoking twice keeps the first.
    pub fn revoke(
        &self,
        serial_hex: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Revocation, CaError> {
        parse_reason(reason)?;
        let serial = serial_hex.to_ascii_lowercase();
        let mut revoked = self.revoked.lock().expect("revocations lock");
        if let Some(existing) = revoked.iter().find(|r| r.serial == serial) {
            return Ok(existing.clone());
        }
        let revocation = Revocation {
            serial,
            revoked_at: at,
            reason: reason.to_owned(),
        };
        revoked.push(revocation.clone());
        Ok(revocation)
    }

    pub fn revocations(&self) -> Vec<Revocation> {
        self.revoked.lock().expect("revocations lock").clone()
    }

    /// A CRL (DER) listing every revocation, valid from `now` for `validity`.
    pub fn crl(&self, now: DateTime<Utc>, validity: Duration) -> Result<Vec<u8>, CaError> {
        let revoked = self.revocations();
        let revoked_certs = revoked
            .iter()
            .map(|r| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(
                        &hex::decode(&r.serial).map_err(|e| CaError::Pem(e.to_string()))?,
                    ),
                    revocation_time: to_time(r.revoked_at),
                    reason_code: Some(parse_reason(&r.reason)?),
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, CaError>>()?;
        let params = CertificateRevocationListParams {
            this_update: to_time(now - Duration::seconds(1)),
            next_update: to_time(now + validity),
            // Monotonic per issuer: seconds since the epoch serve well enough.
            crl_number: SerialNumber::from_slice(&now.timestamp().max(1).to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.der().to_vec())
    }
}

fn set_usage(params: &mut CertificateParams, usage: Usage) {
    let role = ExtendedKeyUsagePurpose::Other(OID_ROLE_INDIVIDUAL.to_vec());
    match usage {
        Usage::Signing => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
        }
        Usage::IndividualAuthentication => {
            // NCA's RSA authentication keys also have keyEncipherment; an
            // ECDSA key cannot encipher, so it is left out here.
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth, role];
            params.custom_extensions =
                vec![certificate_policies(OID_POLICY_INDIVIDUAL_AUTHENTICATION)];
        }
        Usage::IndividualSigning => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
            // emailProtection plus the role, as NCALayer's signer selects a
            // person's signing certificate (anchors-part2.md §4.3).
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection, role];
            params.custom_extensions = vec![certificate_policies(OID_POLICY_INDIVIDUAL_SIGNING)];
        }
        Usage::TlsServerAndClient => {
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
        }
        Usage::TlsClient => {
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
    }
}

/// A certificatePolicies extension (RFC 5280 §4.2.1.4) naming one policy.
fn certificate_policies(policy: ObjectIdentifier) -> CustomExtension {
    use der::Encode as _;
    use x509_cert::ext::pkix::CertificatePolicies;
    use x509_cert::ext::pkix::certpolicy::PolicyInformation;
    let policies = CertificatePolicies(vec![PolicyInformation {
        policy_identifier: policy,
        policy_qualifiers: None,
    }]);
    CustomExtension::from_oid_content(
        OID_CERTIFICATE_POLICIES,
        policies.to_der().expect("a policy OID encodes"),
    )
}

fn push_person(dn: &mut rcgen::DistinguishedName, iin: &Iin, surname: &str, given_name: &str) {
    dn.push(DnType::CommonName, format!("{surname} {given_name}"));
    dn.push(DnType::CustomDnType(OID_SURNAME.to_vec()), surname);
    dn.push(DnType::CustomDnType(OID_GIVEN_NAME.to_vec()), given_name);
    dn.push(
        DnType::CustomDnType(OID_SERIAL_NUMBER.to_vec()),
        rcgen::DnValue::PrintableString(
            format!("IIN{iin}")
                .try_into()
                .expect("IIN and digits are printable"),
        ),
    );
}

fn parse_reason(reason: &str) -> Result<RevocationReason, CaError> {
    Ok(match reason {
        "unspecified" => RevocationReason::Unspecified,
        "key_compromise" => RevocationReason::KeyCompromise,
        "affiliation_changed" => RevocationReason::AffiliationChanged,
        "superseded" => RevocationReason::Superseded,
        "cessation_of_operation" => RevocationReason::CessationOfOperation,
        "certificate_hold" => RevocationReason::CertificateHold,
        other => return Err(CaError::Reason(other.to_owned())),
    })
}

/// A random positive 16-byte serial (RFC 5280 allows up to 20 octets).
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = random_bytes();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn random_bytes() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("system random number generator");
    bytes
}

fn to_time(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).expect("timestamp in range")
}
