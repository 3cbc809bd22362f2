//! The words labs use in every check kind, defined once: numeric comparisons
//! (`">= 3"`, `"== 0"`, `2`) and durations (`500ms`, `5s`, `2m`, `1h`, or seconds).
//! Command-output matchers, fact matchers and packet counts all parse them here, and
//! the lab's front matter has its one schema here, every diagnostic code ([`DiagCode`])
//! with how deserializers raise it ([`diag`]), and every checker's [`Outcome`].

mod cmp;
pub mod diag;
mod duration;
pub mod front_matter;
pub mod lab_sandbox;
mod lang;
pub mod lifecycle;
mod outcome;
pub mod roles;

pub use cmp::{Cmp, CmpOp};
pub use diag::DiagCode;
pub use duration::{deserialize_duration, format_duration, parse_duration, serde_text};
pub use lang::{Lang, NNBSP};
pub use outcome::{Outcome, Verdict};
