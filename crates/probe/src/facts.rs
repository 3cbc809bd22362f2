//! What a probe returns: one list of typed records per fact kind.

pub use crate::kinds::{FactKind, Facts};
