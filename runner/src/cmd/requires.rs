//! A lab's `requires` (root, kernel modules and features, tools), checked before `run`, `test` and
//! `check` start: what is missing is said with what to do, and the command exits 3 (the
//! machine cannot carry the lab) instead of charging the student with failures.

use std::path::Path;

use tplab_vocab::Lang;
use tplab_vocab::lifecycle::KernelFeature;

use super::kernel_features::Presence;

use crate::env::EnvError;
use crate::lab::Lab;

/// Whether kernel module `name` is loaded, built in or loadable; `None` when this
/// machine cannot tell (no `/lib/modules/<release>`, a monolithic or container kernel).
fn module_available(name: &str, sys_module: &Path, lib_modules: Option<&Path>) -> Option<bool> {
    // The kernel spells module names with `_`; files and users often with `-`.
    let canonical = name.replace('-', "_");
    if sys_module.join(&canonical).exists() {
        return Some(true);
    }
    let dir = lib_modules.filter(|d| d.is_dir())?;
    let listed = |file: &str| {
        std::fs::read_to_string(dir.join(file)).is_ok_and(|text| {
            text.lines().any(|line| {
                let path = line.split(':').next().unwrap_or_default();
                let base = path.rsplit('/').next().unwrap_or_default();
                let module = base.split(".ko").next().unwrap_or_default();
                module.replace('-', "_") == canonical
            })
        })
    };
    Some(listed("modules.builtin") || listed("modules.dep"))
}

fn lib_modules() -> Option<std::path::PathBuf> {
    let release = nix::sys::utsname::uname().ok()?;
    Some(Path::new("/lib/modules").join(release.release()))
}

/// What is missing for `lab`, one line each with what to do (empty: all there).
pub fn missing(lab: &Lab, how: &str, lang: Lang) -> (Vec<String>, Vec<String>) {
    let req = &lab.meta.requires;
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    if req.root && !nix::unistd::geteuid().is_root() {
        missing.push(lang.pick(
            format!("it must run as root: `sudo {how}`"),
            format!("il faut le lancer en root : `sudo {how}`"),
        ));
    }
    let tools = tplab_sandbox::missing_tools(&req.tools);
    if let Some(install) = tplab_sandbox::install_command(&tools) {
        let names: Vec<String> = tools
            .iter()
            .map(|(t, p)| lang.pick(format!("{t} (package {p})"), format!("{t} (paquet {p})")))
            .collect();
        let names = names.join(", ");
        missing.push(lang.pick(
            format!("programs not found: {names}: `sudo {install}`"),
            format!("programmes introuvables : {names} : `sudo {install}`"),
        ));
    }
    let modules = lib_modules();
    for module in &req.kernel {
        match module_available(module, Path::new("/sys/module"), modules.as_deref()) {
            Some(true) => {}
            Some(false) => missing.push(lang.pick(
                format!(
                    "kernel module {module} is neither loaded nor installed: `sudo modprobe {module}`, or a kernel built with it"
                ),
                format!(
                    "le module noyau {module} n’est ni chargé ni installé : `sudo modprobe {module}`, ou un noyau qui l’inclut"
                ),
            )),
            None => unknown.push(module.clone()),
        }
    }
    let available = |m: &str| module_available(m, Path::new("/sys/module"), modules.as_deref());
    // Unknown names are lint's to report (at their line and column); skipped here.
    for feature in req
        .features
        .iter()
        .filter_map(|f| f.parse::<KernelFeature>().ok())
    {
        match super::kernel_features::presence(feature, lang, &available) {
            Presence::Available => {}
            Presence::Missing(what) => missing.push(what),
            Presence::Unknown(why) => {
                let text = lang.pick(
                    format!("cannot tell whether kernel feature {feature} is available here: {why}; going on"),
                    format!("impossible de savoir si la fonction noyau {feature} est disponible ici : {why} ; on continue"),
                );
                eprintln!("{} {}", console::style("note").dim(), lang.typo(&text));
            }
        }
    }
    (missing, unknown)
}

/// Refuses to start when the machine lacks what `lab` requires.
pub fn check(lab: &Lab) -> Result<(), EnvError> {
    if lab.meta.requires.is_empty() {
        return Ok(());
    }
    let how = std::env::args()
        .enumerate()
        .map(|(i, a)| if i == 0 { "tplab".to_string() } else { a })
        .collect::<Vec<_>>()
        .join(" ");
    let lang = Lang::from_code(Some(&lab.meta.lang));
    let (missing, unknown) = missing(lab, &how, lang);
    if !unknown.is_empty() {
        let n = unknown.len() as u64;
        let list = unknown.join(", ");
        let text = match lang {
            Lang::En => format!(
                "cannot tell whether {} {list} {} available here (no /lib/modules for this kernel); going on",
                if n == 1 {
                    "kernel module"
                } else {
                    "kernel modules"
                },
                if n == 1 { "is" } else { "are" }
            ),
            Lang::Fr => format!(
                "impossible de savoir si {} {list} {} ici (pas de /lib/modules pour ce noyau) ; on continue",
                if n == 1 {
                    "le module noyau"
                } else {
                    "les modules noyau"
                },
                if n == 1 {
                    "est disponible"
                } else {
                    "sont disponibles"
                }
            ),
        };
        eprintln!("{} {}", console::style("note").dim(), lang.typo(&text));
    }
    if missing.is_empty() {
        return Ok(());
    }
    let head = lang.pick(
        format!("lab `{}` cannot start on this machine:", lab.meta.id),
        format!(
            "le TP `{}` ne peut pas démarrer sur cette machine :",
            lab.meta.id
        ),
    );
    Err(EnvError::Requirements(
        lang.typo(&format!("{head}\n  - {}", missing.join("\n  - "))),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_found_loaded_built_in_or_loadable() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        let lib = dir.path().join("lib");
        std::fs::create_dir_all(sys.join("br_netfilter")).unwrap();
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("modules.builtin"), "kernel/drivers/net/veth.ko\n").unwrap();
        std::fs::write(
            lib.join("modules.dep"),
            "kernel/net/8021q/8021q.ko.xz: kernel/net/802/garp.ko.xz\n",
        )
        .unwrap();
        let has = |m| module_available(m, &sys, Some(&lib));
        assert_eq!(has("br-netfilter"), Some(true), "loaded, `-` as `_`");
        assert_eq!(has("veth"), Some(true), "built in");
        assert_eq!(has("8021q"), Some(true), "loadable");
        assert_eq!(
            has("garp"),
            Some(false),
            "a dependency's name is not a module line"
        );
        assert_eq!(has("nope"), Some(false));
        assert_eq!(module_available("nope", &sys, None), None, "cannot tell");
    }
}
