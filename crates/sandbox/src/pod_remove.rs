//! Removing one added pod from a running sandbox (the Kubernetes API's `kubectl delete
//! pod`): the processes inside its netns are ended, the netns deleted (its veth pair and
//! the node's route through the `lxc…` side go with it), the state saved without it and
//! its role's bin dir removed. The first pod (role `pod`) stays: the lab is built on it.

use crate::cleanup::{self, DownReport};
use crate::error::{Result, SandboxError};
use crate::roles::Role;
use crate::state::{self, SandboxState};

/// The state after removing pod `name`, once its kernel objects are gone.
pub(crate) fn remove(current: &SandboxState, name: &str) -> Result<SandboxState> {
    let index = current
        .pods
        .iter()
        .position(|p| p.name == name)
        .ok_or_else(|| SandboxError::NoSuchPod {
            id: current.id.clone(),
            pod: name.to_string(),
        })?;
    if index == 0 {
        return Err(SandboxError::Config(format!(
            "pod `{name}` is the sandbox's first pod (role `pod`): it goes only with the \
             sandbox, `tplab sandbox down {}`",
            current.id
        )));
    }
    let pod = &current.pods[index];
    let mut report = DownReport::default();
    if crate::topology::netns_exists(&pod.netns) {
        cleanup::delete_netns(std::slice::from_ref(&pod.netns), &mut report);
    }
    if let Some(e) = report.errors.first() {
        return Err(SandboxError::Config(format!("removing pod `{name}`: {e}")));
    }
    let mut next = current.clone();
    next.pods.remove(index);
    next.config.pods.retain(|p| p.name != name);
    state::save(&next)?;
    let bin = state::sandbox_dir(&current.id)?
        .join("bin")
        .join(Role::NamedPod(name.to_string()).dir_name());
    if bin.exists() {
        std::fs::remove_dir_all(&bin)
            .map_err(|e| SandboxError::io(format!("removing {}", bin.display()), e))?;
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_pod_and_unknown_pods_are_refused() {
        let st = SandboxState::example();
        let first = remove(&st, &st.pods[0].name).unwrap_err();
        assert!(
            first.to_string().contains("tplab sandbox down ab12"),
            "{first}"
        );
        assert!(matches!(
            remove(&st, "nope"),
            Err(SandboxError::NoSuchPod { pod, .. }) if pod == "nope"
        ));
    }
}
