//! Compiles ../../proto with protox (pure Rust) and generates prost/tonic code,
//! plus the encoded descriptor set that gRPC reflection serves.

use prost::Message;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "egov/envelope/v1/envelope.proto",
        "egov/gateway/v1/archive.proto",
        "egov/gateway/v1/gateway.proto",
        "egov/individuals/v1/individuals.proto",
        "egov/intake/v1/intake.proto",
        "egov/notary/v1/notary.proto",
        "egov/portal/v1/portal.proto",
        "egov/registry/v1/admin.proto",
        "egov/workstation/v1/workstation.proto",
    ];
    let descriptors = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("egov_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure()
        .bytes(".")
        .compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
