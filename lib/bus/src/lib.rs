//! egov-bus
