//! The page's strings in the lab's language: the terminal UI's own (so verdicts read the
//! same), plus the few only a web page needs.

use serde_json::{Value, json};

use crate::ui::i18n::{Lang, Text};

macro_rules! words {
    ($($key:ident => $en:expr, $fr:expr;)*) => {
        /// Strings only the page uses.
        #[derive(Debug, Clone, Copy)]
        pub struct Words {
            $(pub $key: &'static str,)*
        }

        pub fn words(lang: Lang) -> Words {
            match lang {
                Lang::En => Words { $($key: $en,)* },
                Lang::Fr => Words { $($key: $fr,)* },
            }
        }

        impl Words {
            /// These and the terminal UI's strings, for the page's script.
            pub fn json(&self, t: &Text) -> Value {
                let mut v = json!({
                    "step": t.step, "score": t.score, "expected": t.expected, "found": t.found,
                    "hint": t.hint, "checker_error": t.checker_error, "run_for_me": t.run_for_me,
                    "check_now": t.check_now, "show_hint": t.show_hint,
                    "show_solution": t.show_solution, "skip_step": t.skip_step,
                    "next_step": t.next_step, "your_answer": t.your_answer,
                    "the_answer_was": t.the_answer_was, "all_good": t.all_good,
                    "checker_errors": t.checker_errors, "done": t.done, "question": t.question,
                    "on_role": t.on_role, "report_written": t.report_written,
                });
                $(v[stringify!($key)] = json!(self.$key);)*
                v
            }
        }
    };
}

words! {
    copy => "Copy", "Copier";
    copied => "Copied", "Copié";
    run_it => "Run it for me", "Lancer pour moi";
    submit => "Answer", "Répondre";
    outline => "Steps", "Étapes";
    terminals => "Terminals", "Terminaux";
    disconnected => "Connection lost — reconnecting…", "Connexion perdue — reconnexion…";
    shell_ended => "The shell ended. Press a key to start a new one.", "Le shell s’est terminé. Appuyez sur une touche pour en ouvrir un nouveau.";
    no_terminals => "This environment has no terminals in the page.", "Cet environnement n’a pas de terminal dans la page.";
    tplab_ran => "tplab ran", "tplab a lancé";
    live => "checked live", "vérifié en direct";
    pending => "not checked yet", "pas encore vérifié";
    intro => "Introduction", "Introduction";
    open_report => "Open the report", "Ouvrir le rapport";
    d_title => "Topology and last packets", "Topologie et derniers paquets";
    d_pod => "pod", "pod";
    d_node => "node", "nœud";
    d_world => "world (internet)", "monde (internet)";
    d_services => "Services", "Services";
    d_no_packets => "No packet seen yet: send some (ping, curl) and watch their path light up.", "Aucun paquet vu pour l’instant\u{202f}: envoyez-en (ping, curl) et regardez leur chemin s’allumer.";
    d_not_observed => "Packets are not observed:", "Les paquets ne sont pas observés\u{202f}:";
    d_unreadable => "Could not read:", "Lecture impossible\u{202f}:";
}

pub fn code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::Fr => "fr",
    }
}
