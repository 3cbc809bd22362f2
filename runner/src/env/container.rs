//! Roles bound to a container on `local` (`netns: { web: "docker:web" }`): tplab enters
//! the container's network namespace through its main process, whose PID the container
//! tool reports (`docker inspect`, `podman inspect`), as `nsenter -n -t PID` does.

use std::path::PathBuf;
use std::process::Command;

use strum::{EnumIter, EnumString, IntoEnumIterator as _, IntoStaticStr};

/// The container tools a binding may name, by the prefix labs write (`docker:NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Tool {
    Docker,
    Podman,
}

impl Tool {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What a value of `netns:` binds a role to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding<'a> {
    /// A named namespace (`ip netns` name).
    Netns(&'a str),
    /// The namespace of container `name`, as `tool` knows it.
    Container { tool: Tool, name: &'a str },
}

impl<'a> Binding<'a> {
    pub fn of(value: &'a str) -> Self {
        if let Some((prefix, name)) = value.split_once(':')
            && let Ok(tool) = prefix.parse::<Tool>()
        {
            return Binding::Container { tool, name };
        }
        Binding::Netns(value)
    }
}

/// The `docker:` / `podman:` prefixes, for messages.
pub fn prefixes() -> String {
    Tool::iter()
        .map(|t| format!("`{}:NAME`", t.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a container's namespace cannot be entered.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error(
        "`{tool}` is not installed (or not on PATH): install it, or bind the role to a named namespace (`netns: {{ ROLE: NAME }}`)",
        tool = .tool.name()
    )]
    NoTool { tool: Tool },
    #[error("`{} inspect {name}` could not start: {source}", .tool.name())]
    Spawn {
        tool: Tool,
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{} inspect {name}` failed: {message}", .tool.name())]
    Inspect {
        tool: Tool,
        name: String,
        message: String,
    },
    #[error("container `{name}` is not running (start it: `{} start {name}`)", .tool.name())]
    NotRunning { tool: Tool, name: String },
    #[error("there is no container `{name}` (yet)")]
    NoContainer { name: String },
}

impl ContainerError {
    /// The container does not exist or is stopped: the student has not started it yet,
    /// so a check there fails (rather than errs), as for a namespace not created yet.
    pub fn not_there_yet(&self) -> bool {
        matches!(
            self,
            ContainerError::NotRunning { .. } | ContainerError::NoContainer { .. }
        )
    }

    /// The message in `lang`.
    pub fn message_in(&self, lang: tplab_vocab::Lang) -> String {
        use tplab_vocab::Lang;
        let c = lang.colon();
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Fr, ContainerError::NoTool { tool }) => format!(
                "`{}` n’est pas installé (ou pas dans le PATH){c} installez-le, ou liez le rôle à un namespace nommé (`netns: {{ ROLE: NOM }}`)",
                tool.name()
            ),
            (Lang::Fr, ContainerError::NotRunning { tool, name }) => format!(
                "le conteneur `{name}` n’est pas démarré (démarrez-le{c} `{} start {name}`)",
                tool.name()
            ),
            (Lang::Fr, ContainerError::NoContainer { name }) => {
                format!("il n’y a pas (encore) de conteneur `{name}`")
            }
            (Lang::Fr, ContainerError::Spawn { tool, name, source }) => format!(
                "impossible de lancer `{} inspect {name}`{c} {source}",
                tool.name()
            ),
            (
                Lang::Fr,
                ContainerError::Inspect {
                    tool,
                    name,
                    message,
                },
            ) => format!("`{} inspect {name}` a échoué{c} {message}", tool.name()),
        }
    }
}

/// True when `tool` is a program on PATH.
pub fn installed(tool: Tool) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| is_executable(&dir.join(tool.name())))
    })
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The network namespace of container `name`: `/proc/PID/ns/net` of its main process.
pub fn netns_path(tool: Tool, name: &str) -> Result<PathBuf, ContainerError> {
    if !installed(tool) {
        return Err(ContainerError::NoTool { tool });
    }
    let out = Command::new(tool.name())
        .args(["inspect", "--format", "{{.State.Pid}}", name])
        .env("LC_ALL", "C")
        .output()
        .map_err(|source| ContainerError::Spawn {
            tool,
            name: name.to_string(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Docker: "Error: No such object: NAME"; Podman: "no such container".
        if stderr.to_lowercase().contains("no such") {
            return Err(ContainerError::NoContainer {
                name: name.to_string(),
            });
        }
        return Err(ContainerError::Inspect {
            tool,
            name: name.to_string(),
            message: stderr
                .trim()
                .lines()
                .last()
                .unwrap_or("no output")
                .to_string(),
        });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.trim().parse::<u32>() {
        // A stopped container reports PID 0.
        Ok(0) => Err(ContainerError::NotRunning {
            tool,
            name: name.to_string(),
        }),
        Ok(pid) => Ok(PathBuf::from(format!("/proc/{pid}/ns/net"))),
        Err(_) => Err(ContainerError::Inspect {
            tool,
            name: name.to_string(),
            message: format!("expected a PID, got `{}`", stdout.trim()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_by_prefix() {
        assert_eq!(
            Binding::of("docker:web"),
            Binding::Container {
                tool: Tool::Docker,
                name: "web"
            }
        );
        assert_eq!(
            Binding::of("podman:db"),
            Binding::Container {
                tool: Tool::Podman,
                name: "db"
            }
        );
        assert_eq!(Binding::of("red-1"), Binding::Netns("red-1"));
        assert_eq!(Binding::of("lxc:x"), Binding::Netns("lxc:x"));
        assert!(prefixes().contains("`podman:NAME`"));
    }
}
