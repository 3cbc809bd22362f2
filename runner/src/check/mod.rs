//! Assertions over facts: evaluation, polling and three-way verdicts
//! (pass / fail / error — errors are never charged to the student).

pub mod answer;
pub mod command;
pub mod count;
pub mod eval;
pub mod facts;
pub mod http;
pub mod k8s;
pub mod outcome;
pub mod prefetch;
pub mod text;

pub use eval::{Evaluated, evaluate};
pub use outcome::{Outcome, Verdict};
