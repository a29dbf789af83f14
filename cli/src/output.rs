//! What egovctl prints: for people, aligned lines and short sentences; with
//! `--json` (a flag every command takes), one JSON document on stdout — a
//! proto message in its canonical proto3 JSON mapping (field names in
//! lowerCamelCase, enums by name, 64-bit integers as strings, bytes in
//! base64), read from the descriptor set the services serve by reflection.
//!
//! Exit codes: 0 done; 1 the mesh refused or failed (its stable code first
//! on stderr, or `{"error": {"code", "message"}}` on stdout with `--json`);
//! 2 the command line is wrong (clap's usage error).

use egov_proto::prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Whether `--json` was given.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(egov_proto::DESCRIPTOR_SET).expect("the built-in descriptor set")
    })
}

/// `message` (of the proto type `full_name`) as proto3 JSON.
pub fn proto_json<M: Message>(message: &M, full_name: &str) -> serde_json::Value {
    let descriptor = pool()
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("no message {full_name} in the descriptor set"));
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .expect("a message decodes as its own type");
    serde_json::to_value(&dynamic).expect("proto JSON")
}

/// Prints one JSON document.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON prints")
    );
}

/// With `--json`, the message as proto3 JSON; otherwise what `human` prints.
pub fn emit<M: Message>(message: &M, full_name: &str, human: impl FnOnce()) {
    if json() {
        print_json(&proto_json(message, full_name));
    } else {
        human();
    }
}

/// With `--json`, `value`; otherwise the sentence.
pub fn say(value: serde_json::Value, sentence: impl FnOnce()) {
    if json() {
        print_json(&value);
    } else {
        sentence();
    }
}
