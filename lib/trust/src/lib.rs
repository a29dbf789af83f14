//! egov-trust
