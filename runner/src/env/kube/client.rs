//! The cluster's client: kube-rs from `--kubeconfig`, else `KUBECONFIG` (every file of
//! it, merged as kubectl does), else `~/.kube/config`; `--context`, `--namespace`; exec
//! auth plugins (DOKS's `doctl`) as kube-rs runs them. Errors of the API become
//! [`KubeError`]s that say what to do.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::options::KubeOptions;
use crate::k8s::error::{KubeError, Request, from_kube};

/// A client of one cluster, and what it was made from.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    /// Kept to make another client where this one's runtime is gone (drop-time cleanup).
    pub config: kube::Config,
    pub namespace: String,
    pub server: String,
    /// The kubeconfig file read first (shown in facts and hints).
    pub kubeconfig: PathBuf,
    /// The context's cluster name (`tplab-<id>` for a tplab sandbox's API).
    pub cluster_name: Option<String>,
}

/// The kubeconfig files to read, in order, and whether any exists.
fn kubeconfig_files(opts: &KubeOptions) -> Vec<PathBuf> {
    if let Some(p) = &opts.kubeconfig {
        return vec![p.clone()];
    }
    if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    std::env::var_os("HOME")
        .map(|h| vec![Path::new(&h).join(".kube").join("config")])
        .unwrap_or_default()
}

fn read(path: &Path) -> Result<Kubeconfig, KubeError> {
    Kubeconfig::read_from(path).map_err(|source| KubeError::Kubeconfig {
        path: path.to_path_buf(),
        source,
    })
}

impl Cluster {
    /// Connects as `opts` say (nothing is sent to the API yet).
    pub async fn connect(opts: &KubeOptions) -> Result<Self, KubeError> {
        let tried = kubeconfig_files(opts);
        let existing: Vec<&PathBuf> = tried.iter().filter(|p| p.exists()).collect();
        let Some(first) = existing.first().map(|p| (*p).clone()) else {
            return Err(KubeError::NoKubeconfig { tried });
        };
        let mut merged = read(&first)?;
        for p in existing.iter().skip(1) {
            merged = merged
                .merge(read(p)?)
                .map_err(|source| KubeError::Kubeconfig {
                    path: (*p).clone(),
                    source,
                })?;
        }
        let context_name = opts
            .context
            .clone()
            .or_else(|| merged.current_context.clone());
        let cluster_name = context_name.as_ref().and_then(|c| {
            merged
                .contexts
                .iter()
                .find(|n| &n.name == c)
                .and_then(|n| n.context.as_ref())
                .map(|ctx| ctx.cluster.clone())
        });
        let kopts = KubeConfigOptions {
            context: opts.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(merged, &kopts)
            .await
            .map_err(|source| KubeError::Kubeconfig {
                path: first.clone(),
                source,
            })?;
        let namespace = opts
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let server = config.cluster_url.to_string();
        let client =
            kube::Client::try_from(config.clone()).map_err(|source| KubeError::Client {
                path: first.clone(),
                source,
            })?;
        Ok(Self {
            client,
            config,
            namespace,
            server,
            kubeconfig: first,
            cluster_name,
        })
    }

    /// What kube-rs said, as the way out: `action` is what tplab was doing, `verb` and
    /// `resource` what the API was asked (for a 403), in `namespace`.
    pub fn error(
        &self,
        e: kube::Error,
        action: &str,
        (verb, resource, namespace): (&str, &str, &str),
    ) -> KubeError {
        let request = Request {
            action,
            verb,
            resource,
            namespace: Some(namespace),
        };
        from_kube(e, &self.server, &request)
    }

    /// The id of the tplab sandbox serving this API, when it is one on this machine: its
    /// world stands in for the internet, and only its namespaces hold its pods' IPs.
    pub fn sandbox_id(&self) -> Option<String> {
        let id = self.cluster_name.as_deref()?.strip_prefix("tplab-")?;
        if !tplab_sandbox::valid_id(id) {
            return None;
        }
        let sandbox = tplab_sandbox::Sandbox::attach(id).ok()?;
        let theirs = tplab_kubeapi::kubeconfig_path(sandbox.id()).ok()?;
        let same_server = Kubeconfig::read_from(&theirs).ok().is_some_and(|k| {
            k.clusters.iter().any(|c| {
                c.cluster
                    .as_ref()
                    .and_then(|c| c.server.as_deref())
                    .is_some_and(|s| s.trim_end_matches('/') == self.server.trim_end_matches('/'))
            })
        });
        same_server.then(|| id.to_string())
    }
}
