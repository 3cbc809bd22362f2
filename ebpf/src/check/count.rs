//! Count expectations (`">= 1"`, `"== 200"`, `"200"`, `"< 5"`) and durations: the
//! shared vocabulary of every check kind (`tplab_vocab`), under the names this crate's
//! API has always used.

pub use tplab_vocab::{Cmp as CountExpr, CmpOp as CountOp, parse_duration};
