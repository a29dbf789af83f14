//! egov-gateway
