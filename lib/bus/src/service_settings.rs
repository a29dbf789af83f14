//! The settings block every service of the mesh has, declared once:
//! `grpc` (listen address, shutdown grace), `bus`, `database`, `trust`,
//! `telemetry` and `metrics`, beside the service's own sections. A macro rather than a
//! struct to flatten in, because serde's `flatten` cannot be combined with
//! `deny_unknown_fields`, and a misspelt setting must stay an error.

/// Declares `pub struct $name` with the common block and the service's own
/// fields, and `validate_common`, which checks the block. `database` may
/// carry attributes (a registry defaults it).
///
/// ```ignore
/// egov_bus::service_settings! {
///     /// The portal's settings.
///     pub struct Settings {
///         database;
///         #[serde(default)]
///         pub portal: Tuning,
///     }
/// }
/// ```
#[macro_export]
macro_rules! service_settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(#[$database_meta:meta])* database;
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, ::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Where the gRPC API listens (port 0 picks a free port) and how
            /// long each step of a graceful shutdown may take.
            pub grpc: $crate::__runtime::service::GrpcSettings,
            /// The broker and the namespace of the mesh's queues.
            pub bus: $crate::BusSettings,
            /// The service's PostgreSQL database and schema.
            $(#[$database_meta])*
            pub database: $crate::__runtime::database::DatabaseSettings,
            /// The service's certificate and key, and the mesh CA.
            pub trust: $crate::__runtime::trust::TrustSettings,
            #[serde(default)]
            pub telemetry: $crate::__runtime::telemetry::TelemetrySettings,
            /// Where `GET /metrics` is served (port 0 picks a free port).
            #[serde(default)]
            pub metrics: $crate::__runtime::metrics::MetricsSettings,
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $name {
            /// Checks the block every service has.
            pub fn validate_common(
                &self,
                errors: &mut $crate::__runtime::settings::FieldErrors,
            ) {
                use $crate::__runtime::settings::Validate as _;
                self.grpc.validate(errors);
                self.bus.validate(errors);
                self.database.validate(errors);
                self.trust.validate(errors);
                self.telemetry.validate(errors);
            }
        }
    };
}
