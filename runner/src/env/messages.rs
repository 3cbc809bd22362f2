//! [`EnvError`] in the lab's language, for the errors a student can meet in an error
//! verdict (a role the environment lacks, a namespace not created, a command that cannot
//! start, something the environment cannot do). Other variants concern the machine or
//! the sandbox's internals and keep their English `Display`.

use std::io::ErrorKind;

use tplab_vocab::Lang;

use super::EnvError;

impl EnvError {
    /// The message in `lang` (English: the `Display` text).
    #[must_use]
    pub fn message_in(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.to_string();
        }
        let c = lang.colon();
        match self {
            EnvError::UnknownRole {
                env,
                role,
                available,
            } => format!(
                "l’environnement `{env}` n’a pas de rôle `{role}` (rôles disponibles{c} {available})"
            ),
            EnvError::Container { role, source } => {
                format!("rôle `{role}`{c} {}", source.message_in(lang))
            }
            EnvError::NoNetns { role, name } => {
                format!("rôle `{role}`{c} le namespace {name} n’existe pas (encore)")
            }
            EnvError::Spawn {
                role,
                command,
                source,
            } => format!(
                "impossible de lancer `{command}` sur le rôle `{role}`{c} {}",
                io_in_french(source)
            ),
            // `what` is a technical name (a map, an API, a front-matter key), quoted as is.
            EnvError::Unsupported { env, what } => format!(
                "l’environnement `{env}` ne fournit pas ce que cette vérification lit ({what})"
            ),
            other => other.to_string(),
        }
    }
}

/// The usual reasons a command cannot start, in French; the OS's text otherwise.
fn io_in_french(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => "programme ou fichier introuvable".to_string(),
        ErrorKind::PermissionDenied => "permission refusée".to_string(),
        ErrorKind::TimedOut => "délai dépassé".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_facing_errors_speak_french() {
        let spawn = EnvError::Spawn {
            role: "pod".into(),
            command: "curl".into(),
            source: std::io::Error::from(ErrorKind::NotFound),
        };
        assert_eq!(
            spawn.message_in(Lang::Fr),
            "impossible de lancer `curl` sur le rôle `pod`\u{202f}: programme ou fichier introuvable"
        );
        assert_eq!(
            spawn.message_in(Lang::En),
            spawn.to_string(),
            "English is the Display text"
        );
        let role = EnvError::UnknownRole {
            env: "local".into(),
            role: "red".into(),
            available: "local".into(),
        };
        assert_eq!(
            role.message_in(Lang::Fr),
            "l’environnement `local` n’a pas de rôle `red` (rôles disponibles\u{202f}: local)"
        );
        let netns = EnvError::NoNetns {
            role: "red".into(),
            name: "red-1".into(),
        };
        assert!(netns.message_in(Lang::Fr).contains("n’existe pas (encore)"));
        let unsupported = EnvError::Unsupported {
            env: "local".into(),
            what: "Kubernetes API for `k8s` checks".into(),
        };
        assert!(
            unsupported
                .message_in(Lang::Fr)
                .starts_with("l’environnement `local` ne fournit pas")
        );
    }
}
