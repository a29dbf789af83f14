//! CMS SignedData (RFC 5652) in the CAdES-BES profile (ETSI EN 319 122-1),
//! the format NCALayer's `createCAdESFromBase64` gives a web page
//! (anchors-part2.md §4.3) and the one the portal, the intake and the
//! workstation exchange signed documents in.
//!
//! One signer, ECDSA P-256 with SHA-256, the signer's certificate included,
//! over the exact bytes given; the content either inside (attached) or kept
//! apart (detached). Signed attributes: contentType, messageDigest,
//! signingTime (RFC 5652 §11) and signingCertificateV2 (RFC 5035), which
//! binds the signature to the signer's certificate as CAdES-BES requires.
//!
//! The ASN.1 structures come from the `cms` crate; `ring` signs and verifies.

use crate::certificate::{CertError, CertificateInfo, KeyPurpose};
use crate::signing::{SigningKey, sha256, verify as verify_ecdsa};
use crate::trust_store::TrustStore;
use chrono::{DateTime, Datelike, Utc};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Sequence};
use std::sync::Arc;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Whether the signed bytes travel inside the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encapsulation {
    /// The content is inside (`eContent`); the receiver needs nothing else.
    Attached,
    /// The content is left out; the receiver gets it apart and passes it to
    /// [`verify`].
    Detached,
}

/// Why a CMS signature is refused. Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    #[error("not a CMS SignedData message: {0}")]
    Malformed(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the signature is detached and no content was given to check it against")]
    MissingContent,
    #[error("the signer's certificate is not in the message")]
    SignerCertificateMissing,
    #[error("the signed attributes do not name the signer's certificate (signingCertificateV2)")]
    SignerCertificateNotBound,
    #[error("the signature does not verify with the signer's certificate")]
    BadSignature,
    #[error("the content is not what was signed (messageDigest differs)")]
    DigestMismatch,
    #[error(transparent)]
    Certificate(#[from] CertError),
    #[error("the signer's certificate is not for {expected}: its key usage does not allow it")]
    WrongKeyUsage { expected: KeyPurpose },
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
}

impl CmsError {
    /// May pass if tried again: the revocation list was out of reach.
    pub fn is_transient(&self) -> bool {
        matches!(self, CmsError::Certificate(CertError::RevocationUnknown(_)))
    }

    pub fn code(&self) -> &'static str {
        match self {
            CmsError::Malformed(_) | CmsError::Unsupported(_) | CmsError::MissingContent => {
                "malformed_signature"
            }
            CmsError::SignerCertificateMissing | CmsError::SignerCertificateNotBound => {
                "signer_certificate_missing"
            }
            CmsError::BadSignature => "bad_signature",
            CmsError::DigestMismatch => "digest_mismatch",
            CmsError::Certificate(e) => e.code(),
            CmsError::WrongKeyUsage { .. } => "wrong_key_usage",
            CmsError::KeyMismatch => "key_mismatch",
        }
    }
}

fn malformed(e: der::Error) -> CmsError {
    CmsError::Malformed(e.to_string())
}

/// A verified signature.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signer's certificate: who signed (IIN, BIN, system), and
    /// [`CertificateInfo::allows`] tells a signing key from an
    /// authentication one.
    pub certificate: Arc<CertificateInfo>,
    pub certificate_der: Vec<u8>,
    /// The time the signer claims to have signed at (signingTime); not
    /// attested by anyone else in CAdES-BES.
    pub signing_time: Option<DateTime<Utc>>,
    /// The content carried inside an attached signature.
    pub encapsulated_content: Option<Vec<u8>>,
}

/// Signs `content` (exactly these bytes) with `key`, whose certificate is
/// `certificate_der`, claiming `signing_time`. Returns the DER ContentInfo.
pub fn sign(
    content: &[u8],
    key: &SigningKey,
    certificate_der: &[u8],
    encapsulation: Encapsulation,
    signing_time: DateTime<Utc>,
) -> Result<Vec<u8>, CmsError> {
    let info = CertificateInfo::parse(certificate_der)?;
    if info.public_key() != key.public_key() {
        return Err(CmsError::KeyMismatch);
    }
    let certificate = Certificate::from_der(certificate_der).map_err(malformed)?;
    let tbs = &certificate.tbs_certificate;

    let signed_attrs = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, &ID_DATA)?,
        attribute(
            ID_MESSAGE_DIGEST,
            &OctetString::new(sha256(content).to_vec()).map_err(malformed)?,
        )?,
        attribute(ID_SIGNING_TIME, &asn1_time(signing_time)?)?,
        attribute(
            ID_SIGNING_CERTIFICATE_V2,
            &SigningCertificateV2 {
                certs: vec![EssCertIdV2 {
                    hash_algorithm: None,
                    cert_hash: OctetString::new(sha256(certificate_der).to_vec())
                        .map_err(malformed)?,
                    issuer_serial: Some(IssuerSerial {
                        issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                        serial_number: tbs.serial_number.clone(),
                    }),
                }],
                policies: None,
            },
        )?,
    ])
    .map_err(malformed)?;
    // The signature covers the DER of the attributes as a SET OF
    // (RFC 5652 §5.4), not their [0] IMPLICIT form in SignerInfo.
    let signature = key.sign(&signed_attrs.to_der().map_err(malformed)?);

    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: algorithm(ID_SHA256),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm(ID_ECDSA_WITH_SHA256),
        signature: OctetString::new(signature).map_err(malformed)?,
        unsigned_attrs: None,
    };
    let econtent = match encapsulation {
        Encapsulation::Attached => Some(
            Any::encode_from(&OctetString::new(content).map_err(malformed)?).map_err(malformed)?,
        ),
        Encapsulation::Detached => None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![algorithm(ID_SHA256)]).map_err(malformed)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent,
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(vec![cms::cert::CertificateChoices::Certificate(
                certificate.clone(),
            )])
            .map_err(malformed)?,
        )),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(malformed)?),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(malformed)?,
    }
    .to_der()
    .map_err(malformed)
}

/// Verifies a CMS signature, in this order and each with its own error:
/// the message's form (one signer, ECDSA P-256 / SHA-256, the signer's
/// certificate inside and named by signingCertificateV2); the signature
/// over the signed attributes; the messageDigest against the content (the
/// encapsulated one, or `detached_content`; when both are there they must
/// be equal); the certificate issued by the mesh CA, valid at `now` and not
/// revoked (the [`TrustStore`] checks, CRL included); its key usage allowing
/// `purpose`.
pub async fn verify(
    cms_der: &[u8],
    detached_content: Option<&[u8]>,
    purpose: KeyPurpose,
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Result<Verified, CmsError> {
    let signed = check_signature(cms_der, detached_content)?;
    let certificate = trust.parse(&signed.certificate_der)?;
    trust
        .check(&signed.certificate_der, &certificate, now)
        .await?;
    if !certificate.allows(purpose) {
        return Err(CmsError::WrongKeyUsage { expected: purpose });
    }
    Ok(Verified {
        certificate,
        certificate_der: signed.certificate_der,
        signing_time: signed.signing_time,
        encapsulated_content: signed.encapsulated_content,
    })
}

/// Verifies an attached signature that must carry exactly `content` (a
/// document sent beside its signature, as a provider's result is).
pub async fn verify_attached_to(
    cms_der: &[u8],
    content: &[u8],
    purpose: KeyPurpose,
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Result<Verified, CmsError> {
    let verified = verify(cms_der, None, purpose, trust, now).await?;
    if verified.encapsulated_content.as_deref() != Some(content) {
        return Err(CmsError::DigestMismatch);
    }
    Ok(verified)
}

/// The content carried inside an attached signature, with the signature's
/// own math checked but not its certificate (for a signature that was fully
/// verified when it was received, then stored).
pub fn encapsulated_content(cms_der: &[u8]) -> Result<Vec<u8>, CmsError> {
    Ok(check_signature(cms_der, None)?
        .encapsulated_content
        .unwrap_or_default())
}

/// The content inside an attached signature, read without checking
/// anything: for a verifier that first says which part of a changed file
/// was changed (a row of an archive), then whether the signature holds.
pub fn attached_content_unchecked(cms_der: &[u8]) -> Result<Vec<u8>, CmsError> {
    let content_info = ContentInfo::from_der(cms_der).map_err(malformed)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(CmsError::Malformed(format!(
            "content type {} is not signedData",
            content_info.content_type
        )));
    }
    let signed_data: SignedData = content_info.content.decode_as().map_err(malformed)?;
    match &signed_data.encap_content_info.econtent {
        Some(any) => Ok(any
            .decode_as::<OctetString>()
            .map_err(malformed)?
            .into_bytes()),
        None => Err(CmsError::MissingContent),
    }
}

/// Verifies an attached signature the mesh made itself and keeps (the
/// gateway's log archives and evidence files) with only the CA
/// certificate in hand: no revocation list, and the certificate's validity
/// checked at the signing time the signature states, so an archive signed
/// years ago still verifies after its certificate expired.
///
/// Stricter about form than [`verify`]: the file must be exactly what
/// [`sign`] writes (the one DER encoding, versions 1, SHA-256 declared
/// once, the content attached, one certificate, no CRLs, no unsigned
/// attributes). So a changed byte anywhere is found: in the content (the
/// messageDigest), the signed attributes or the signature value (the
/// signature), the certificate (signingCertificateV2), the signer's
/// identifier (no such certificate), or the parts no signature covers
/// (this form).
pub fn verify_offline(cms_der: &[u8], ca_der: &[u8]) -> Result<Verified, CmsError> {
    check_form(cms_der)?;
    let signed = check_signature(cms_der, None)?;
    let certificate = CertificateInfo::parse(&signed.certificate_der)?;
    crate::trust_store::issued_by(ca_der, &signed.certificate_der)?;
    let signed_at = signed
        .signing_time
        .ok_or_else(|| CmsError::Malformed("no signingTime attribute".into()))?;
    certificate.check_validity(signed_at)?;
    Ok(Verified {
        certificate: Arc::new(certificate),
        certificate_der: signed.certificate_der,
        signing_time: signed.signing_time,
        encapsulated_content: signed.encapsulated_content,
    })
}

/// Exactly the form [`sign`] writes with [`Encapsulation::Attached`].
fn check_form(cms_der: &[u8]) -> Result<(), CmsError> {
    let form = |what: &str| CmsError::Malformed(format!("not the form the mesh signs in: {what}"));
    let content_info = ContentInfo::from_der(cms_der).map_err(malformed)?;
    if content_info.to_der().map_err(malformed)? != cms_der {
        return Err(form("not the one DER encoding of the message"));
    }
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(form("not signedData"));
    }
    let signed_data: SignedData = content_info.content.decode_as().map_err(malformed)?;
    if Any::encode_from(&signed_data).map_err(malformed)? != content_info.content {
        return Err(form("not the one DER encoding of the SignedData"));
    }
    if signed_data.version != CmsVersion::V1 {
        return Err(form("SignedData version is not 1"));
    }
    let digests = signed_data.digest_algorithms.as_slice();
    if digests.len() != 1 || digests[0] != algorithm(ID_SHA256) {
        return Err(form("the digest algorithms are not SHA-256 alone"));
    }
    if signed_data.encap_content_info.econtent_type != ID_DATA
        || signed_data.encap_content_info.econtent.is_none()
    {
        return Err(form("the content is not attached data"));
    }
    if signed_data.crls.is_some()
        || signed_data
            .certificates
            .as_ref()
            .is_none_or(|set| set.0.len() != 1)
    {
        return Err(form("not exactly the signer's certificate, without CRLs"));
    }
    let signers = signed_data.signer_infos.0.as_slice();
    if signers.len() != 1
        || signers[0].version != CmsVersion::V1
        || signers[0].unsigned_attrs.is_some()
    {
        return Err(form("not one version 1 signer without unsigned attributes"));
    }
    Ok(())
}

/// What the message itself proves, before trusting the certificate.
struct SignatureChecked {
    certificate_der: Vec<u8>,
    signing_time: Option<DateTime<Utc>>,
    encapsulated_content: Option<Vec<u8>>,
}

fn check_signature(
    cms_der: &[u8],
    detached_content: Option<&[u8]>,
) -> Result<SignatureChecked, CmsError> {
    let content_info = ContentInfo::from_der(cms_der).map_err(malformed)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(CmsError::Malformed(format!(
            "content type {} is not signedData",
            content_info.content_type
        )));
    }
    let signed_data: SignedData = content_info.content.decode_as().map_err(malformed)?;
    // Exactly one signer, as careful NCALayer servers require (anchors-part2.md §4.3).
    let signers = signed_data.signer_infos.0.as_slice();
    let [signer] = signers else {
        return Err(CmsError::Malformed(format!(
            "one signer expected, found {}",
            signers.len()
        )));
    };

    let encapsulated_content = match &signed_data.encap_content_info.econtent {
        Some(any) => Some(
            any.decode_as::<OctetString>()
                .map_err(malformed)?
                .into_bytes(),
        ),
        None => None,
    };
    let content = match (&encapsulated_content, detached_content) {
        (Some(inside), Some(given)) if inside.as_slice() != given => {
            return Err(CmsError::DigestMismatch);
        }
        (Some(inside), _) => inside.as_slice(),
        (None, Some(given)) => given,
        (None, None) => return Err(CmsError::MissingContent),
    };

    if !is_sha256(&signer.digest_alg) {
        return Err(CmsError::Unsupported(format!(
            "digest algorithm {}",
            signer.digest_alg.oid
        )));
    }
    if signer.signature_algorithm.oid != ID_ECDSA_WITH_SHA256 {
        return Err(CmsError::Unsupported(format!(
            "signature algorithm {}",
            signer.signature_algorithm.oid
        )));
    }

    let certificate_der = signer_certificate(&signed_data, &signer.sid)?;
    let certificate = CertificateInfo::parse(&certificate_der)?;

    // CAdES-BES signs attributes, never the bare content.
    let Some(signed_attrs) = &signer.signed_attrs else {
        return Err(CmsError::Malformed("no signed attributes".into()));
    };
    let signed_bytes = signed_attrs.to_der().map_err(malformed)?;
    if !verify_ecdsa(
        certificate.public_key(),
        &signed_bytes,
        signer.signature.as_bytes(),
    ) {
        return Err(CmsError::BadSignature);
    }

    let content_type: ObjectIdentifier = single_value(signed_attrs, ID_CONTENT_TYPE)?
        .ok_or_else(|| CmsError::Malformed("no contentType attribute".into()))?;
    if content_type != signed_data.encap_content_info.econtent_type {
        return Err(CmsError::Malformed(
            "the contentType attribute differs from the content's type".into(),
        ));
    }
    let digest: OctetString = single_value(signed_attrs, ID_MESSAGE_DIGEST)?
        .ok_or_else(|| CmsError::Malformed("no messageDigest attribute".into()))?;
    if digest.as_bytes() != sha256(content) {
        return Err(CmsError::DigestMismatch);
    }
    let bound: Option<SigningCertificateV2> =
        single_value(signed_attrs, ID_SIGNING_CERTIFICATE_V2)?;
    if !bound.is_some_and(|b| names_certificate(&b, &certificate_der)) {
        return Err(CmsError::SignerCertificateNotBound);
    }
    let signing_time = single_value::<Time>(signed_attrs, ID_SIGNING_TIME)?.map(|t| {
        DateTime::from_timestamp(t.to_unix_duration().as_secs() as i64, 0)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    });

    Ok(SignatureChecked {
        certificate_der,
        signing_time,
        encapsulated_content,
    })
}

/// The DER of the certificate the signer identifier points at.
fn signer_certificate(
    signed_data: &SignedData,
    sid: &SignerIdentifier,
) -> Result<Vec<u8>, CmsError> {
    let SignerIdentifier::IssuerAndSerialNumber(wanted) = sid else {
        return Err(CmsError::Unsupported(
            "a signer named by subject key identifier".into(),
        ));
    };
    let certificates = signed_data
        .certificates
        .as_ref()
        .map(|set| set.0.as_slice());
    certificates
        .unwrap_or_default()
        .iter()
        .find_map(|choice| match choice {
            cms::cert::CertificateChoices::Certificate(c)
                if c.tbs_certificate.issuer == wanted.issuer
                    && c.tbs_certificate.serial_number == wanted.serial_number =>
            {
                Some(c)
            }
            _ => None,
        })
        .ok_or(CmsError::SignerCertificateMissing)?
        .to_der()
        .map_err(malformed)
}

/// Whether signingCertificateV2's first entry (the signer's, RFC 5035 §5.4)
/// is this certificate: its SHA-256 hash and, if given, issuer and serial.
fn names_certificate(bound: &SigningCertificateV2, certificate_der: &[u8]) -> bool {
    let Some(first) = bound.certs.first() else {
        return false;
    };
    if first.hash_algorithm.as_ref().is_some_and(|a| !is_sha256(a))
        || first.cert_hash.as_bytes() != sha256(certificate_der)
    {
        return false;
    }
    match (&first.issuer_serial, Certificate::from_der(certificate_der)) {
        (None, _) => true,
        (Some(named), Ok(certificate)) => {
            let tbs = &certificate.tbs_certificate;
            named.serial_number == tbs.serial_number
                && named
                    .issuer
                    .iter()
                    .any(|n| matches!(n, GeneralName::DirectoryName(dn) if *dn == tbs.issuer))
        }
        (Some(_), Err(_)) => false,
    }
}

/// The one value of a signed attribute, if the attribute is there. RFC 5652
/// §11 allows each of these attributes once, with one value.
fn single_value<T>(attrs: &SignedAttributes, oid: ObjectIdentifier) -> Result<Option<T>, CmsError>
where
    T: for<'a> Decode<'a>,
{
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(CmsError::Malformed(format!(
            "attribute {oid} must appear once with one value"
        )));
    }
    let value = attr.values.get(0).expect("one value");
    // Through DER bytes, so CHOICE types (signingTime's Time) decode too.
    T::from_der(&value.to_der().map_err(malformed)?)
        .map(Some)
        .map_err(malformed)
}

fn attribute(oid: ObjectIdentifier, value: &impl Encode) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![
            Any::from_der(&value.to_der().map_err(malformed)?).map_err(malformed)?,
        ])
        .map_err(malformed)?,
    })
}

/// An algorithm identifier with absent parameters, as RFC 5754 §2 and §3.3
/// say to generate SHA-256 and ECDSA-with-SHA-256.
fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

/// SHA-256 with absent or NULL parameters (RFC 5754 §2 accepts both).
fn is_sha256(algorithm: &AlgorithmIdentifierOwned) -> bool {
    algorithm.oid == ID_SHA256
        && algorithm
            .parameters
            .as_ref()
            .is_none_or(|p| der::Tagged::tag(p) == der::Tag::Null)
}

/// signingTime is UTCTime through 2049 and GeneralizedTime after (RFC 5652 §11.3).
fn asn1_time(at: DateTime<Utc>) -> Result<Time, CmsError> {
    let since_epoch = std::time::Duration::from_secs(at.timestamp().max(0) as u64);
    Ok(if at.year() < 2050 {
        Time::UtcTime(UtcTime::from_unix_duration(since_epoch).map_err(malformed)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(since_epoch).map_err(malformed)?)
    })
}

/// SigningCertificateV2 (RFC 5035 §3).
///
/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Vec<PolicyInformation>>,
}

/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///     hashAlgorithm  AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash       OCTET STRING,
///     issuerSerial   IssuerSerial OPTIONAL }
/// ```
/// DER leaves out a DEFAULT value, so SHA-256 is written as no hashAlgorithm.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

#[cfg(test)]
mod tests;
