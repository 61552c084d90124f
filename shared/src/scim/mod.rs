//! SCIM 2.0
