//! Talking to the student: terminal rendering, prompts, guided mode.

mod affects;
pub mod guided;
pub mod i18n;
pub mod printer;
pub mod prose;
pub mod safe;
mod wake;
