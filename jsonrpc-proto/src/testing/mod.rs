//! Test support shared by every transport (feature `testing`): the [`conformance`] suite.

pub mod conformance;
