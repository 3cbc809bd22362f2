//! tplab's own interface strings in English and French (from the lab's `lang`,
//! overridable with `--lang`). Lab text itself is the author's.

/// The one language enum (crates/vocab), shared with the checkers and the reports.
pub use tplab_vocab::Lang;

macro_rules! strings {
    ($($key:ident => $en:expr, $fr:expr;)*) => {
        /// Interface strings.
        #[derive(Debug, Clone, Copy)]
        pub struct Text {
            /// The language these strings are in (for plurals and punctuation).
            pub lang: Lang,
            $(pub $key: &'static str,)*
        }

        pub fn text(lang: Lang) -> Text {
            match lang {
                Lang::En => Text { lang, $($key: $en,)* },
                Lang::Fr => Text { lang, $($key: $fr,)* },
            }
        }
    };
}

strings! {
    step => "Step", "Étape";
    points => "points", "points";
    expected => "expected", "attendu";
    found => "found", "trouvé";
    checker_error => "could not check (not counted against you)", "vérification impossible (non comptée contre vous)";
    hint => "Hint", "Indice";
    run_for_me => "Run the commands for me", "Lancer les commandes pour moi";
    i_run_them => "I'll type them in my own shell (watch mode)", "Je les tape dans mon propre terminal (mode surveillance)";
    check_now => "Check now", "Vérifier maintenant";
    show_hint => "Show a hint", "Afficher un indice";
    show_solution => "Show the solution", "Afficher la solution";
    skip_step => "Skip this step", "Passer cette étape";
    quit => "Quit (progress is saved)", "Quitter (la progression est sauvegardée)";
    next_step => "Next step", "Étape suivante";
    what_next => "What do you want to do?", "Que voulez-vous faire ?";
    your_answer => "Your answer", "Votre réponse";
    correct => "Correct!", "Correct !";
    wrong => "Not quite.", "Pas tout à fait.";
    attempts_left => "attempts left", "essais restants";
    attempt_left => "attempt left", "essai restant";
    the_answer_was => "The answer was", "La réponse était";
    open_shell => "Open a shell in another terminal with", "Ouvrez un terminal à part avec";
    other_sandboxes => "Other sandboxes are up on this machine; traffic from a shell in one of them never reaches this one's checks. This lab's sandbox is", "D'autres sandboxes tournent sur cette machine ; le trafic d'un shell ouvert dans l'une d'elles n'arrive jamais aux vérifications de celle-ci. La sandbox de ce TP est";
    other_sandboxes_prompt => "(its shells' prompt reads", "(l'invite de ses shells indique";
    watching => "Watching your environment (re-checked as it changes). Press Enter to stop watching.", "Je surveille votre environnement (vérifié à chaque changement). Appuyez sur Entrée pour arrêter.";
    checker_errors => "Nothing failed, but some checks could not run (see ⚠ above): they are not counted against you.", "Rien n'a échoué, mais certaines vérifications n'ont pas pu s'exécuter (voir ⚠) : elles ne vous sont pas comptées.";
    all_good => "All checks pass for this step.", "Toutes les vérifications de cette étape passent.";
    summary => "Summary", "Bilan";
    score => "Score", "Score";
    report_written => "Report written to", "Rapport écrit dans";
    resuming => "Resuming at step", "Reprise à l'étape";
    to_resume => "To resume at this step, run the same command again:", "Pour reprendre à cette étape, relancez la même commande :";
    commands_to_run => "Commands for this step", "Commandes de cette étape";
    on_role => "on", "sur";
    done => "Lab complete.", "TP terminé.";
    question => "Question", "Question";
    lab_changed => "the lab changed since your last session: starting again from the first step", "le TP a changé depuis votre dernière session : reprise depuis la première étape";
    progress_ignored => "saved progress ignored, starting from the first step", "progression enregistrée ignorée, reprise depuis la première étape";
    sandbox_up => "is up for this session (removed at the end)", "est prêt pour cette session (supprimé à la fin)";
    warning => "warning", "attention";
    error => "error", "erreur";
    problem => "problem", "problème";
    fail_mark => "FAIL", "ÉCHEC";
    not_counted => "points not counted", "points non comptés";
    checker_errors_short => "checker errors", "erreurs du vérificateur";
    saved_env_gone => "your saved progress used it, starting the lab again", "votre progression enregistrée l’utilisait, le TP reprend depuis le début";
    kept_env => "What this session set up (sandbox, pods) stays until you come back (`tplab run` resumes here); to remove it:", "Ce que cette session a mis en place (sandbox, pods) reste jusqu'à votre retour (`tplab run` reprend ici) ; pour le supprimer :";
}

/// `tplab test`'s line for a proven step, with each language's plurals.
pub fn proven(lang: Lang, id: &str, failed_before: usize, passed_after: usize) -> String {
    let (before, after) = (failed_before as u64, passed_after as u64);
    match lang {
        Lang::En => format!(
            "step `{id}`: {} failed before and {after} passed after the solution",
            lang.count(before, "check", "checks")
        ),
        Lang::Fr => format!(
            "étape `{id}`\u{202f}: {} avant la solution, {} après",
            lang.count(before, "vérification en échec", "vérifications en échec"),
            lang.count(after, "réussie", "réussies")
        ),
    }
}

/// `line 12   3 checks, 0 problems` / `ligne 12   3 vérifications, 0 problème`.
pub fn proof_row(lang: Lang, line: usize, checks: usize, problems: usize) -> String {
    let (checks, problems) = (checks as u64, problems as u64);
    let (l, c1, c2, p1, p2) = lang.pick(
        ("line", "check", "checks", "problem", "problems"),
        (
            "ligne",
            "vérification",
            "vérifications",
            "problème",
            "problèmes",
        ),
    );
    format!(
        "{l} {line:<4} {}, {}",
        lang.count(checks, c1, c2),
        lang.count(problems, p1, p2)
    )
}

/// `tplab test`'s verdict on the whole lab.
pub fn lab_proven(lang: Lang, lab: &str, env: &str, steps: usize, failing: usize) -> String {
    let steps = steps as u64;
    match (lang, failing) {
        (Lang::En, 0) => format!(
            "lab `{lab}` is solvable on `{env}`: {} proven",
            lang.count(steps, "step", "steps")
        ),
        (Lang::En, n) => format!(
            "lab `{lab}`: {n} of {} not proven on `{env}`",
            lang.count(steps, "step", "steps")
        ),
        (Lang::Fr, 0) => format!(
            "le TP `{lab}` est faisable sur `{env}`\u{202f}: {} prouvée{}",
            lang.count(steps, "étape", "étapes"),
            if steps > 1 { "s" } else { "" }
        ),
        (Lang::Fr, n) => format!(
            "TP `{lab}`\u{202f}: {n} {} sur {steps} non prouvée{} sur `{env}`",
            if n > 1 { "étapes" } else { "étape" },
            if n > 1 { "s" } else { "" }
        ),
    }
}

impl Text {
    /// `2 attempts left` / `1 attempt left`, `1 essai restant` / `2 essais restants`.
    pub fn left(&self, n: u64) -> String {
        self.lang.count(n, self.attempt_left, self.attempts_left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_left_agree_in_both_languages() {
        assert_eq!(text(Lang::En).left(1), "1 attempt left");
        assert_eq!(text(Lang::En).left(2), "2 attempts left");
        assert_eq!(text(Lang::Fr).left(1), "1 essai restant");
        assert_eq!(text(Lang::Fr).left(0), "0 essai restant");
        assert_eq!(text(Lang::Fr).left(2), "2 essais restants");
    }
}
