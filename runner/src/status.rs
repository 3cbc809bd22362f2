//! Exit status conventions. A command that ran to its end derives its status from its
//! verdicts ([`of_verdicts`]); one that could not, from its error
//! ([`crate::error::Error::code`]). Nothing else picks a status.

use tplab_report::Verdict;

/// Everything passed.
pub const OK: u8 = 0;
/// Checks failed, lint errors, a lab not proven solvable.
pub const FAILED: u8 = 1;
/// Bad usage or a lab that does not parse.
pub const USAGE: u8 = 2;
/// The environment could not be used (privileges, missing tools, checker errors).
pub const ENV: u8 = 3;

/// The status of a completed run: a failure is the student's (or the author's) to fix
/// and outranks a checker error, which outranks success; skipped checks count as none.
pub fn of_verdicts(verdicts: impl IntoIterator<Item = Verdict>) -> u8 {
    let mut status = OK;
    for v in verdicts {
        match v {
            Verdict::Fail => return FAILED,
            Verdict::Error => status = ENV,
            Verdict::Pass | Verdict::Skipped => {}
        }
    }
    status
}

/// A problem found (a lint error, a step not proven) as a verdict.
pub fn verdict_of(problem: bool) -> Verdict {
    if problem {
        Verdict::Fail
    } else {
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_outrank_errors_outrank_success() {
        use Verdict::{Error, Fail, Pass, Skipped};
        assert_eq!(of_verdicts([]), OK);
        assert_eq!(of_verdicts([Pass, Skipped]), OK);
        assert_eq!(of_verdicts([Pass, Error]), ENV);
        assert_eq!(of_verdicts([Error, Fail, Pass]), FAILED);
        assert_eq!(of_verdicts([true, false].map(verdict_of)), FAILED);
    }
}
