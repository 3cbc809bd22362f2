//! tplab: turn a networking practical written in Markdown into a guided,
//! self-verifying lab.
//!
//! Pipeline: [`lab`] parses a lab file, [`lint`] validates it, [`session`] runs its
//! steps against an [`env::Environment`], [`check`] evaluates assertions into verdicts,
//! [`report`] records everything as `tplab.report/1`, and [`ui`] talks to the student.

pub mod check;
pub mod cli;
pub mod cmd;
pub mod env;
pub mod error;
pub mod import;
pub mod interrupt;
pub mod k8s;
pub mod lab;
pub mod lint;
pub mod serve;
pub mod session;
pub mod state_dir;
pub mod status;
pub mod template;
pub mod ui;

#[cfg(test)]
mod layering;
