//! Every word `tplab report` and `tplab grade` write, in English and French: one table
//! (`messages!`) for fixed strings and one (`plurals!`) for counted ones. The language is
//! the lab's (`lab.lang` in a report, front matter `lang` of the graded lab file).
//!
//! French follows French typography: a narrow no-break space (U+202F) before `:` `;` `!`
//! `?` and inside « », written here as `\u{202f}`. Plural rules differ: French uses the
//! singular for 0 and 1 ("0 essai", "1 essai", "2 essais"), English only for 1.

use serde::Serialize;

/// The one language enum, shared with the terminal UI and the checkers.
pub use tplab_vocab::Lang;

macro_rules! messages {
    ($($key:ident => $en:expr, $fr:expr;)*) => {
        /// Fixed strings of the report and class-summary templates.
        #[derive(Debug, Clone, Copy, Serialize)]
        pub struct Messages {
            $(pub $key: &'static str,)*
        }

        pub fn messages(lang: Lang) -> Messages {
            match lang {
                Lang::En => Messages { $($key: $en,)* },
                Lang::Fr => Messages { $($key: $fr,)* },
            }
        }

        /// Every (English, French) pair of the table (the language tests read it).
        pub fn message_pairs() -> Vec<(&'static str, &'static str, &'static str)> {
            vec![$((stringify!($key), $en, $fr),)*]
        }
    };
}

messages! {
    lang => "en", "fr";
    colon => ":", "\u{202f}:";
    report_title => "tplab report", "rapport tplab";
    lab_report => "lab report", "compte rendu de TP";
    lab => "Lab", "TP";
    path_recorded => "path as recorded in the report", "chemin indiqué par le rapport";
    lab_sha256 => "Lab sha256", "sha256 du TP";
    student => "Student", "Étudiant";
    anonymous => "(anonymous)", "(anonyme)";
    nonce => "nonce", "nonce";
    environment => "Environment", "Environnement";
    session_values => "Values of this session", "Valeurs de cette session";
    all_facts => "Every environment fact", "Tous les faits de l’environnement";
    mode => "Mode", "Mode";
    mode_run => "guided", "guidé";
    mode_auto => "automatic (--auto: tplab ran every command)", "automatique (--auto\u{202f}: tplab a lancé toutes les commandes)";
    mode_check => "check", "vérification";
    mode_test => "test of the lab", "test du TP";
    session => "Session", "Session";
    started => "Started", "Début";
    finished => "Finished", "Fin";
    tool => "Tool", "Outil";
    integrity => "Integrity", "Intégrité";
    hash_chain => "hash chain", "chaîne de hachage";
    chain_verified => "verified", "vérifiée";
    chain_not_verified => "NOT verified", "NON vérifiée";
    integrity_not_verified => "integrity NOT verified", "intégrité NON vérifiée";
    warning => "warning", "attention";
    integrity_warning => "Integrity NOT verified: what follows is what the report says, not checked.", "Intégrité NON vérifiée\u{202f}: ce qui suit est ce que dit le rapport, sans vérification.";
    no_lab_given => "no lab file given (--lab): the lab version it was made from is not checked", "aucun fichier de TP donné (--lab)\u{202f}: la version du TP dont il vient n’est pas vérifiée";
    score => "Score", "Score";
    on_lab_scale => "on the lab’s scale", "sur le barème du TP";
    pts => "pts", "pts";
    commands => "Commands", "Commandes";
    on_role => "on", "sur";
    run_by => "run by", "lancée par";
    by_tplab => "tplab", "tplab";
    by_student => "the student", "l’étudiant";
    exit => "exit", "code de sortie";
    checks => "Checks", "Vérifications";
    check => "Check", "Vérification";
    verdict => "Verdict", "Verdict";
    points => "Points", "Points";
    expected => "expected", "attendu";
    found => "found", "trouvé";
    expected_col => "Expected", "Attendu";
    found_col => "Found", "Trouvé";
    attempts_col => "Attempts", "Essais";
    not_checked => "not checked", "non vérifié";
    not_charged => "Not charged: the checker could not look", "Non compté\u{202f}: le vérificateur n’a pas pu regarder";
    questions => "Questions", "Questions";
    question => "Question", "Question";
    answers => "answers", "réponses";
    answers_col => "Answers", "Réponses";
    no_answer => "(none)", "(aucune)";
    captured => "Captured values", "Valeurs capturées";
    name => "name", "nom";
    value => "value", "valeur";
    field => "field", "champ";
    evidence => "Evidence", "Éléments de preuve";
    help_taken => "Help taken", "Aide utilisée";
    hint => "hint", "indice";
    hint_of_check => "hint of the check", "indice de la vérification";
    hint_of_question => "hint of the question", "indice de la question";
    solution_shown => "solution shown", "solution affichée";
    ran_for_me => "commands run by tplab (“Run the commands for me”)", "commandes lancées par tplab («\u{202f}Lancer les commandes pour moi\u{202f}»)";
    step_skipped => "The student skipped this step.", "L’étudiant a passé cette étape.";
    trace => "packet trace", "trace des paquets";
    trace_time => "time", "instant";
    trace_at => "where", "où";
    trace_dir => "direction", "sens";
    trace_packet => "packet", "paquet";
    dir_leaves => "leaves", "sort";
    dir_enters => "enters", "entre";
    generated_by => "Generated by", "Produit par";
    from_report => "from a report", "à partir d’un rapport";
    live_values_note => "Live values (MACs, interface names, nonce) are specific to this student’s environment.", "Les valeurs relevées en direct (adresses MAC, noms d’interfaces, nonce) sont propres à l’environnement de cet étudiant.";
    v_pass => "pass", "réussi";
    v_fail => "fail", "échoué";
    v_error => "error", "erreur";
    v_skipped => "not evaluated", "non évalué";
    s_passed => "passed", "réussie";
    s_failed => "failed", "échouée";
    s_error => "error", "erreur";
    s_pending => "pending", "en attente";
    s_skipped => "skipped", "passée";
    s_not_in_env => "not in this environment", "pas dans cet environnement";
    class_summary => "class summary", "bilan de la classe";
    mean => "mean grade", "moyenne";
    pass_rate_per_step => "Pass rate per step", "Taux de réussite par étape";
    step => "Step", "Étape";
    pass_rate => "Pass rate", "Taux de réussite";
    col_passed => "passed", "réussies";
    col_failed => "failed", "échouées";
    col_error => "error", "erreur";
    col_pending => "pending", "en attente";
    col_skipped => "skipped", "passées";
    common_failures => "Most common failures", "Échecs les plus fréquents";
    count => "count", "nombre";
    typically_found => "typically found", "trouvé le plus souvent";
    typically => "typically", "le plus souvent";
    none => "None.", "Aucun.";
    unreadable_files => "Unreadable files", "Fichiers illisibles";
    integrity_flags => "Integrity flags", "Signalements d’intégrité";
    file => "file", "fichier";
    flags => "flags", "signalements";
    flags_prove_nothing => "Flags point at reports worth a look; they prove nothing on their own (see docs/grading.md).", "Un signalement désigne un rapport à examiner\u{202f}; il ne prouve rien à lui seul (voir docs/grading.md).";
    no_flag => "No flag.", "Aucun signalement.";
    grades => "Grades", "Notes";
    grade => "grade", "note";
    checked_score => "checked score", "score vérifié";
    other_labs => "Reports of another lab or version (not in the gradebooks nor the statistics)", "Rapports d’un autre TP ou d’une autre version (ni dans les carnets de notes ni dans les statistiques)";
    their_lab => "their lab", "leur TP";
    feedback_checked => "checked points", "points vérifiés";
}

macro_rules! plurals {
    ($($key:ident => [$en1:expr, $en2:expr], [$fr1:expr, $fr2:expr];)*) => {
        /// `{n}` forms of a counted word: (singular, plural) per language.
        fn forms(key: &str, lang: Lang) -> Option<(&'static str, &'static str)> {
            match (key, lang) {
                $((stringify!($key), Lang::En) => Some(($en1, $en2)),
                  (stringify!($key), Lang::Fr) => Some(($fr1, $fr2)),)*
                _ => None,
            }
        }

        /// Every counted form (the language tests read them).
        pub fn plural_forms() -> Vec<(&'static str, [&'static str; 4])> {
            vec![$((stringify!($key), [$en1, $en2, $fr1, $fr2]),)*]
        }
    };
}

plurals! {
    attempt => ["{n} attempt", "{n} attempts"], ["{n} essai", "{n} essais"];
    point => ["{n} point", "{n} points"], ["{n} point", "{n} points"];
    passed => ["{n} passed", "{n} passed"], ["{n} réussi", "{n} réussis"];
    failed => ["{n} failed", "{n} failed"], ["{n} échoué", "{n} échoués"];
    errored => ["{n} error", "{n} errors"], ["{n} erreur", "{n} erreurs"];
    not_evaluated => ["{n} not evaluated", "{n} not evaluated"], ["{n} non évalué", "{n} non évalués"];
    student => ["{n} student", "{n} students"], ["{n} étudiant", "{n} étudiants"];
    flagged_report => ["{n} flagged report", "{n} flagged reports"], ["{n} rapport signalé", "{n} rapports signalés"];
    unreadable_file => ["{n} unreadable file", "{n} unreadable files"], ["{n} fichier illisible", "{n} fichiers illisibles"];
    report => ["{n} report", "{n} reports"], ["{n} rapport", "{n} rapports"];
    more_lines => ["… ({n} more line in report.json)", "… ({n} more lines in report.json)"], ["… ({n} ligne de plus dans report.json)", "… ({n} lignes de plus dans report.json)"];
    error_points => ["{n} point could not be checked (error verdict): left out of the total, flagged for the instructor", "{n} points could not be checked (error verdicts): left out of the total, flagged for the instructor"], ["{n} point n’a pas pu être vérifié (verdict d’erreur)\u{202f}: il est hors du total et signalé à l’enseignant", "{n} points n’ont pas pu être vérifiés (verdicts d’erreur)\u{202f}: ils sont hors du total et signalés à l’enseignant"];
    left_out => ["{n} point left out of the total and flagged for the instructor.", "{n} points left out of the total and flagged for the instructor."], ["{n} point hors du total, signalé à l’enseignant.", "{n} points hors du total, signalés à l’enseignant."];
}

/// `n` with its counted word (`attempt`: "1 attempt", "2 attempts", "1 essai", "0 essai").
/// An unknown key gives the number alone.
pub fn count(n: f64, key: &str, lang: Lang) -> String {
    let number = crate::points::fmt_points(n);
    let Some((one, other)) = forms(key, lang) else {
        return number;
    };
    let singular = match lang {
        Lang::En => (n - 1.0).abs() < f64::EPSILON,
        Lang::Fr => n.abs() < 2.0,
    };
    let number = match lang {
        // French writes decimals with a comma.
        Lang::Fr => number.replace('.', ","),
        Lang::En => number,
    };
    if singular { one } else { other }.replace("{n}", &number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_each_language() {
        assert_eq!(count(1.0, "attempt", Lang::En), "1 attempt");
        assert_eq!(count(2.0, "attempt", Lang::En), "2 attempts");
        assert_eq!(count(0.0, "attempt", Lang::En), "0 attempts");
        assert_eq!(count(1.0, "attempt", Lang::Fr), "1 essai");
        assert_eq!(count(0.0, "attempt", Lang::Fr), "0 essai");
        assert_eq!(count(3.0, "attempt", Lang::Fr), "3 essais");
        assert_eq!(count(1.5, "point", Lang::Fr), "1,5 point");
    }

    #[test]
    fn french_punctuation_has_its_narrow_space() {
        for (key, en, fr) in message_pairs() {
            for (i, c) in fr.char_indices() {
                if matches!(c, ':' | ';' | '!' | '?' | '»') && i > 0 && !fr.contains("://") {
                    let before = fr[..i].chars().last();
                    assert!(
                        matches!(before, Some('\u{202f}' | '\u{a0}')),
                        "{key}: {fr:?} lacks a no-break space before {c:?} (en {en:?})"
                    );
                }
            }
        }
    }
}
