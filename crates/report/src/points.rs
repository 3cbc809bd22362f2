//! Points policy (docs/report-format.md, "Points"): error verdicts leave the denominator,
//! so a student is graded on what could be checked, scaled back to the lab's full points.

use crate::schema::{Report, Verdict};

/// Every point the lab puts at stake in this report, errors included.
pub fn possible(report: &Report) -> f64 {
    report.max_score + report.error_points
}

/// The grade on the lab's full scale: `score / max_score * possible`.
/// A report whose every check errored gets 0 (and is flagged by `error_points`).
pub fn scaled(report: &Report) -> f64 {
    if report.max_score <= 0.0 {
        return 0.0;
    }
    round2(report.score / report.max_score * possible(report))
}

/// Two decimals, enough for gradebooks and stable in CSV output. Never `-0`: a sum of
/// zeros (`-0.0 + 0.0`) or a rounded tiny negative is written `0` everywhere.
pub fn round2(x: f64) -> f64 {
    let r = (x * 100.0).round() / 100.0;
    if r == 0.0 { 0.0 } else { r }
}

/// Human form of a points value: `2`, `1.5`, `0.33`.
pub fn fmt_points(x: f64) -> String {
    let r = round2(x);
    if (r - r.trunc()).abs() < f64::EPSILON {
        format!("{r:.0}")
    } else {
        let s = format!("{r:.2}");
        s.trim_end_matches('0').to_owned()
    }
}

/// Short word for a verdict, as shown in every export.
pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Error => "error",
        Verdict::Skipped => "skipped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_format() {
        assert_eq!(fmt_points(2.0), "2");
        assert_eq!(fmt_points(1.5), "1.5");
        assert_eq!(fmt_points(1.0 / 3.0), "0.33");
        assert_eq!(fmt_points(0.0), "0");
        assert_eq!(fmt_points(-0.0), "0");
        assert_eq!(fmt_points(-0.001), "0");
        assert!(round2(-0.0).is_sign_positive());
    }
}
