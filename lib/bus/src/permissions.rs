//! Least privilege on the broker: one RabbitMQ user per system of a
//! namespace, allowed what the topology ([`crate::topology`]) says it does
//! and nothing more (issue 14, point 3).
//!
//! - A system configures, binds and reads only its own exchange and queues
//!   (inbox, retry and dead-letter queues, its reply queues), and publishes
//!   only to its own exchange, whose one way out of the system's own queues
//!   is the gateway's ingress (and expired queue), bound by the gateway.
//!   It has no right on the default exchange, so a publish straight into
//!   another system's inbox is refused by the broker (`ACCESS_REFUSED`), and
//!   it cannot bind another system's queue to its exchange.
//! - The gateway may do anything in its namespace and publish through the
//!   default exchange: it alone delivers into inboxes and reply queues.
//!
//! RabbitMQ checks permissions as regular expressions over resource names
//! (`configure`, `write`, `read`), per virtual host; the namespace keeps the
//! users of meshes sharing a broker apart.

use crate::names::Names;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use egov_trust::SystemId;
use secrecy::{ExposeSecret, SecretString};

/// One user's permissions, as RabbitMQ's `set_permissions` takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub configure: String,
    pub write: String,
    pub read: String,
}

/// The broker user of `system` in this namespace (`<namespace>-<system>`).
pub fn user_name(names: &Names, system: SystemId) -> String {
    format!("{}-{system}", names.namespace())
}

/// What `system`'s user may do. Namespaces and system ids hold no
/// metacharacter but `.`, escaped here.
pub fn permissions(names: &Names, system: SystemId) -> Permissions {
    let ns = names.namespace();
    if system == SystemId::Gateway {
        return Permissions {
            configure: format!(r"^{ns}\..+$"),
            write: format!(r"^({ns}\..+|amq\.default)$"),
            read: format!(r"^{ns}\..+$"),
        };
    }
    let own = format!(r"system\.{system}|inbox\.{system}|dead\.{system}|retry\.{system}\.[0-9]+ms");
    let reply = format!(r"reply\.{system}\.[a-z0-9-]+");
    Permissions {
        configure: format!(r"^{ns}\.({own}|{reply})$"),
        // Write on its own queues is what binding them to its exchange
        // needs; publishing needs write on an exchange, and its own is the
        // only one it has.
        write: format!(r"^{ns}\.({own})$"),
        read: format!(r"^{ns}\.({own}|{reply})$"),
    }
}

/// A password hash as RabbitMQ's `rabbit_password_hashing_sha256` stores it:
/// base64 of a 4-byte salt followed by SHA-256 of salt and password.
pub fn password_hash(password: &SecretString) -> String {
    // A salt need only differ between users, not be secret.
    let salt = fastrand::u32(..).to_be_bytes();
    let digest = egov_trust::sha256_parts(&[&salt, password.expose_secret().as_bytes()]);
    let mut salted = salt.to_vec();
    salted.extend_from_slice(&digest);
    BASE64.encode(salted)
}

/// RabbitMQ definitions (the JSON `rabbitmqctl import_definitions` and the
/// broker's `load_definitions` take) creating every system's user of the
/// namespace with its permissions on virtual host `/`.
pub fn definitions(names: &Names, passwords: &[(SystemId, SecretString)]) -> serde_json::Value {
    let users: Vec<_> = passwords
        .iter()
        .map(|(system, password)| {
            serde_json::json!({
                "name": user_name(names, *system),
                "password_hash": password_hash(password),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            })
        })
        .collect();
    let permissions: Vec<_> = passwords
        .iter()
        .map(|(system, _)| {
            let p = permissions(names, *system);
            serde_json::json!({
                "user": user_name(names, *system),
                "vhost": "/",
                "configure": p.configure,
                "write": p.write,
                "read": p.read,
            })
        })
        .collect();
    serde_json::json!({
        "vhosts": [{ "name": "/" }],
        "users": users,
        "permissions": permissions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, resource: &str) -> bool {
        regex::Regex::new(pattern)
            .expect("a valid pattern")
            .is_match(resource)
    }

    #[test]
    fn a_system_may_publish_only_to_its_own_exchange_and_read_only_its_own_queues() {
        let names = Names::new("egov").unwrap();
        let portal = permissions(&names, SystemId::Portal);
        assert!(matches(&portal.write, "egov.system.portal"));
        for refused in [
            "amq.default",
            "egov.system.workstation",
            "egov.gateway.ingress",
            "egov.inbox.workstation",
            "egov.system.portal-x",
            "other.system.portal",
        ] {
            assert!(!matches(&portal.write, refused), "write {refused}");
        }
        for own in [
            "egov.inbox.portal",
            "egov.dead.portal",
            "egov.retry.portal.100ms",
            "egov.reply.portal.abc123",
        ] {
            assert!(matches(&portal.read, own), "read {own}");
            assert!(matches(&portal.configure, own), "configure {own}");
        }
        for other in [
            "egov.inbox.workstation",
            "egov.reply.workstation.abc",
            "egov.gateway.ingress",
            "egov.gateway.expired",
        ] {
            assert!(!matches(&portal.read, other), "read {other}");
            assert!(!matches(&portal.configure, other), "configure {other}");
        }
        let gateway = permissions(&names, SystemId::Gateway);
        assert!(matches(&gateway.write, "amq.default"));
        assert!(matches(&gateway.write, "egov.inbox.portal"));
        assert!(!matches(&gateway.read, "other.inbox.portal"));
    }

    #[test]
    fn the_password_hash_is_rabbitmqs_salted_sha256() {
        let hash = password_hash(&SecretString::from("secret"));
        let bytes = BASE64.decode(hash).unwrap();
        assert_eq!(bytes.len(), 4 + 32);
        let expected = egov_trust::sha256_parts(&[&bytes[..4], b"secret"]);
        assert_eq!(&bytes[4..], expected.as_slice());
    }
}
