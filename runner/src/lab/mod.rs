//! The lab format: Markdown + YAML front matter + fenced blocks with meaning.
//! See `docs/lab-format.md`.

pub mod body;
pub mod checks;
pub mod comments;
pub mod defines;
pub mod diag;
pub mod ebpf_keys;
pub mod groups;
pub mod http;
pub mod info;
pub mod kinds;
pub mod lifecycle;
pub mod matchers;
pub mod model;
pub mod parse;
pub mod question;
pub mod source;
pub mod transcript;
pub mod vars;
pub mod yaml;

pub use diag::{DiagCode, Diagnostic, Severity};
pub use model::*;
pub use parse::{Parsed, parse, parse_file};
