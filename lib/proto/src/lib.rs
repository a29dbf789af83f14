//! The mesh's contracts, generated from `proto/` at build time.
//!
//! # Layout
//! - [`envelope`]: the signed envelope every inter-system message travels in,
//!   delivery statuses, receipts and rejections;
//! - [`gateway`]: the gateway's gRPC API;
//! - [`services`]: the service names of envelope headers (`person-by-iin`, …);
//! - [`DESCRIPTOR_SET`]: the encoded descriptors, served by gRPC reflection.

/// The generated modules, nested as the proto packages are (`egov.envelope.v1`
/// refers to its siblings through `super::`).
pub mod egov {
    pub mod envelope {
        pub mod v1 {
            tonic::include_proto!("egov.envelope.v1");
        }
    }
    pub mod gateway {
        pub mod v1 {
            tonic::include_proto!("egov.gateway.v1");
        }
    }
    pub mod individuals {
        pub mod v1 {
            tonic::include_proto!("egov.individuals.v1");
        }
    }
    pub mod intake {
        pub mod v1 {
            tonic::include_proto!("egov.intake.v1");
        }
    }
    pub mod notary {
        pub mod v1 {
            tonic::include_proto!("egov.notary.v1");
        }
    }
    pub mod portal {
        pub mod v1 {
            tonic::include_proto!("egov.portal.v1");
        }
    }
    pub mod registry {
        pub mod v1 {
            tonic::include_proto!("egov.registry.v1");
        }
    }
    pub mod workstation {
        pub mod v1 {
            tonic::include_proto!("egov.workstation.v1");
        }
    }
}

pub mod services;

pub use egov::envelope::v1 as envelope;
pub use egov::gateway::v1 as gateway;
pub use egov::individuals::v1 as individuals;
pub use egov::intake::v1 as intake;
pub use egov::notary::v1 as notary;
pub use egov::portal::v1 as portal;
pub use egov::registry::v1 as registry;
pub use egov::workstation::v1 as workstation;

/// Encoded `FileDescriptorSet` of every file in `proto/`, for gRPC reflection.
pub const DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("egov_descriptor");

pub use prost;
pub use prost::bytes;
pub use prost_types;
