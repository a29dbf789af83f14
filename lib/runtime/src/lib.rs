//! egov-runtime
