//! The canonical lab report and everything derived from it.
//!
//! `schema` is the contract between the runner (which writes `report.json`) and the
//! renderers / grading exports (which only read it). `chain` is what the runner uses to
//! make the report tamper-evident; `cli` holds the `tplab report` / `tplab grade` pieces.

pub mod bounded;
pub mod canonical;
pub mod chain;
pub mod class_html;
pub mod cli;
pub mod evidence;
pub mod fixture;
pub mod grade;
pub mod gradebook;
pub mod gradescope;
pub mod i18n;
pub mod integrity;
pub mod items;
pub mod junit;
pub mod labfile;
pub mod live;
pub mod load;
pub mod points;
pub mod render;
pub mod roster;
pub mod sanitize;
pub mod schema;
pub mod spreadsheet;
pub mod summary;
pub mod template_dir;
pub mod template_limits;
pub mod templates;
mod xml;

pub use chain::{ChainError, EventChain, verify, verify_report};
pub use class_html::render_class_html;
pub use cli::{ExportOptions, Format, GradeArgs, ReportArgs, run_grade, run_report};
pub use gradebook::{
    GradebookOptions, canvas_csv, canvas_csv_with, flags_csv, moodle_csv, moodle_csv_with,
};
pub use gradescope::{AnswerVisibility, GradescopeOptions, gradescope_json, gradescope_json_with};
pub use junit::{JunitOptions, junit_xml, junit_xml_with};
pub use render::{render_html, render_markdown};
pub use schema::*;
pub use templates::RenderError;
