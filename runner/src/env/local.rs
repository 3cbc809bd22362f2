//! The `local` environment: commands run on this machine, in this network namespace,
//! or, for a role the lab binds to a named namespace (`netns: { red: … }`), inside
//! that namespace (as `ip netns exec` does), its facts read there over netlink; for a
//! role bound to a container (`netns: { web: "docker:web" }`), inside the container's
//! network namespace ([`super::container`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;

use tplab_ebpf::ObservePoint;
use tplab_probe::{FactKind, Facts, Query};

use super::container::{self, Binding};
use super::{EnvError, Environment, ExecOutput, Hop, PacketStream, ensure_role, exec, inproc};

#[derive(Debug, Default)]
pub struct LocalEnv {
    /// Role -> namespace name, bound by the session ([`Environment::bind_netns`]).
    netns: RwLock<BTreeMap<String, String>>,
}

/// Where a role's commands run and facts are read.
enum Place {
    /// This process's own namespace.
    Here,
    /// A named namespace: its name and path (it exists).
    Netns(String, PathBuf),
}

impl LocalEnv {
    fn bound(&self, role: &str) -> Option<String> {
        self.netns
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(role)
            .cloned()
    }

    /// `role`'s place; a bound namespace that does not exist is an error. A check's
    /// `netns: NAME` arrives as the role `netns:NAME` ([`super::netns_role`]).
    fn place(&self, role: &str) -> Result<Place, EnvError> {
        let name = if let Some(name) = role.strip_prefix(super::NETNS_ROLE) {
            if !valid_name(name) {
                return Err(EnvError::BadConfig(format!(
                    "`{name}` is not a network namespace name"
                )));
            }
            name.to_string()
        } else {
            ensure_role(self, role)?;
            let Some(name) = self.bound(role) else {
                return Ok(Place::Here);
            };
            if let Binding::Container { tool, name } = Binding::of(&name) {
                let path =
                    container::netns_path(tool, name).map_err(|source| EnvError::Container {
                        role: role.to_string(),
                        source,
                    })?;
                return Ok(Place::Netns(format!("{}:{name}", tool.name()), path));
            }
            name
        };
        let path = tplab_netns::path_of(&name);
        if path.exists() {
            Ok(Place::Netns(name, path))
        } else {
            Err(EnvError::NoNetns {
                role: role.to_string(),
                name,
            })
        }
    }

    fn netns_path(&self, role: &str) -> Result<Option<PathBuf>, EnvError> {
        Ok(match self.place(role)? {
            Place::Here => None,
            Place::Netns(_, path) => Some(path),
        })
    }
}

#[async_trait]
impl Environment for LocalEnv {
    fn name(&self) -> &'static str {
        "local"
    }

    fn roles(&self) -> Vec<String> {
        let bound = self
            .netns
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::iter::once("local".to_string())
            .chain(bound.keys().filter(|r| *r != "local").cloned())
            .collect()
    }

    async fn facts(&self) -> Result<BTreeMap<String, String>, EnvError> {
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(BTreeMap::from([("hostname".to_string(), hostname)]))
    }

    async fn exec(
        &self,
        role: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<ExecOutput, EnvError> {
        let spawn = |source| EnvError::Spawn {
            role: role.to_string(),
            command: script.lines().next().unwrap_or_default().to_string(),
            source,
        };
        let mut cmd = exec::shell(script);
        // Kept open until the child has entered the namespace.
        let _ns = match self.place(role)? {
            Place::Here => None,
            Place::Netns(name, path) => Some(
                tplab_netns::prepare_command(&mut cmd, &path).map_err(|e| EnvError::Role {
                    role: role.to_string(),
                    message: format!("entering namespace {name}: {e}"),
                })?,
            ),
        };
        exec::run(cmd, timeout).await.map_err(spawn)
    }

    async fn probe(&self, role: &str, query: &Query) -> Result<Facts, EnvError> {
        let netns = self.netns_path(role)?;
        inproc::probe(role, netns, query).await
    }

    async fn http(
        &self,
        role: &str,
        request: &super::http::HttpRequest,
        timeout: Duration,
    ) -> Result<super::http::HttpAnswer, EnvError> {
        let netns = self.netns_path(role)?;
        super::http::send_in(role, netns, request.clone(), timeout).await
    }

    async fn probe_kinds(&self, role: &str, kinds: &[FactKind]) -> Result<Vec<Facts>, EnvError> {
        let netns = self.netns_path(role)?;
        inproc::probe_kinds(role, netns, kinds).await
    }

    async fn observe(&self, hops: &[Hop]) -> Result<Box<dyn PacketStream>, EnvError> {
        let mut points = Vec::new();
        for hop in hops {
            let netns = self
                .netns_path(&hop.role)?
                .unwrap_or_else(|| PathBuf::from("/proc/self/ns/net"));
            points.push(ObservePoint {
                netns,
                ifname: hop.ifname.clone(),
                label: hop.label.clone(),
            });
        }
        inproc::observe(points).await
    }

    /// Commands of `local` run in the student's own terminal; a namespace role's in
    /// `ip netns exec`.
    fn shell_hint(&self, role: &str) -> String {
        let sudo = if nix::unistd::geteuid().is_root() {
            ""
        } else {
            "sudo "
        };
        match self.bound(role) {
            Some(bound) => match Binding::of(&bound) {
                // The container's network, this machine's files and tools (as tplab runs it).
                Binding::Container { tool, name } => format!(
                    "`{sudo}nsenter -n -t $({} inspect --format '{{{{.State.Pid}}}}' {name}) bash`",
                    tool.name()
                ),
                Binding::Netns(name) => format!("`{sudo}ip netns exec {name} bash`"),
            },
            None => String::new(),
        }
    }

    fn bind_netns(&self, roles: &BTreeMap<String, String>) -> Result<(), EnvError> {
        for (role, name) in roles {
            let valid = match Binding::of(name) {
                Binding::Netns(name) => valid_name(name),
                Binding::Container { tool, name } => {
                    // Without the tool, no check on this role could ever run: say so now.
                    if !container::installed(tool) {
                        return Err(EnvError::Container {
                            role: role.clone(),
                            source: container::ContainerError::NoTool { tool },
                        });
                    }
                    valid_name(name)
                }
            };
            if role == "local" || !valid {
                return Err(EnvError::BadConfig(format!(
                    "role `{role}` cannot be bound to namespace `{name}`"
                )));
            }
        }
        *self
            .netns
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = roles.clone();
        Ok(())
    }

    fn role_missing(&self, role: &str) -> Option<EnvError> {
        match self.place(role) {
            Err(e @ EnvError::NoNetns { .. }) => Some(e),
            Err(e @ EnvError::Container { .. }) if matches!(&e, EnvError::Container { source, .. } if source.not_there_yet()) => {
                Some(e)
            }
            _ => None,
        }
    }
}

/// A name `ip netns` accepts as a file of /run/netns (no path, no hidden file).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.starts_with('.')
}
