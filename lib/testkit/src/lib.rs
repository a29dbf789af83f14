//! egov-testkit
