//! The result of evaluating one assertion once: the type every checker shares (fact
//! queries, packet paths, CT-map entries, commands), defined in `tplab_vocab`. The
//! report records its verdict as a `tplab_report::Verdict` (which adds `Skipped`).

pub use tplab_vocab::{Outcome, Verdict};
