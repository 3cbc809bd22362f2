//! A lab's `requires` (root, kernel modules, tools), checked before `run`, `test` and
//! `check` start: what is missing is said with what to do, and the command exits 3 (the
//! machine cannot carry the lab) instead of charging the student with failures.

use std::path::Path;

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
pub fn missing(lab: &Lab, how: &str) -> (Vec<String>, Vec<String>) {
    let req = &lab.meta.requires;
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    if req.root && !nix::unistd::geteuid().is_root() {
        missing.push(format!("it must run as root: `sudo {how}`"));
    }
    let tools = tplab_sandbox::missing_tools(&req.tools);
    if let Some(install) = tplab_sandbox::install_command(&tools) {
        let names: Vec<String> = tools
            .iter()
            .map(|(t, p)| format!("{t} (package {p})"))
            .collect();
        missing.push(format!(
            "programs not found: {}: `sudo {install}`",
            names.join(", ")
        ));
    }
    let modules = lib_modules();
    for module in &req.kernel {
        match module_available(module, Path::new("/sys/module"), modules.as_deref()) {
            Some(true) => {}
            Some(false) => missing.push(format!(
                "kernel module {module} is neither loaded nor installed: `sudo modprobe {module}`, or a kernel built with it"
            )),
            None => unknown.push(module.clone()),
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
    let (missing, unknown) = missing(lab, &how);
    if !unknown.is_empty() {
        eprintln!(
            "{} cannot tell whether kernel module(s) {} are available here (no /lib/modules for this kernel); going on",
            console::style("note:").dim(),
            unknown.join(", ")
        );
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(EnvError::Requirements(format!(
        "lab `{}` cannot start on this machine:\n  - {}",
        lab.meta.id,
        missing.join("\n  - ")
    )))
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
