//! Sibyl's storage engine (being written).
#![deny(clippy::unwrap_used)]

pub mod commitlog;
pub mod error;
pub mod model;

pub use error::{Error, Result};
