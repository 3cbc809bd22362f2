//! The canonical lab report and everything derived from it.
//!
//! `schema` is the contract between the runner (which writes `report.json`) and the
//! renderers / grading exports (which only read it).

pub mod schema;

pub use schema::*;
