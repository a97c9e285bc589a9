//! Proposals for real systems samples.
