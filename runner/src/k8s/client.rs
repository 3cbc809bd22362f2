//! Reading objects for `k8s` checks through kube-rs: a client from a kubeconfig, kinds
//! resolved by discovery (cached for the session), `Api<DynamicObject>` gets and lists.
//! Every failure names what to do; none of them is the student's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use serde_json::Value;

use super::query::ObjectSelector;

/// How long one lookup (discovery included) may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(15);

/// Why objects could not be read.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("reading the kubeconfig {}: {source} (check the file, or pass another one)", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("building a Kubernetes client from {}: {source}", path.display())]
    Client {
        path: PathBuf,
        #[source]
        source: kube::Error,
    },
    #[error(
        "the Kubernetes API at {server} is unreachable ({message}): is the cluster up? \
         (`kubectl cluster-info` tells)"
    )]
    Unreachable { server: String, message: String },
    #[error(
        "the Kubernetes API refused the credentials of this kubeconfig (401: {message}): they \
         are wrong or expired; refresh them (your cloud's `kubeconfig` command)"
    )]
    Unauthorized { message: String },
    #[error(
        "the Kubernetes API forbids `{verb}` on `{resource}`{} ({message}): grant it to this \
         kubeconfig's user (a Role or ClusterRole with verbs [get, list] on `{resource}`, and \
         its binding)",
        namespace.as_deref().map(|n| format!(" in namespace `{n}`")).unwrap_or_default()
    )]
    Forbidden {
        verb: &'static str,
        resource: String,
        namespace: Option<String>,
        message: String,
    },
    #[error(
        "the cluster serves no kind `{kind}`{}: check its spelling and apiVersion \
         (`kubectl api-resources` lists them)",
        api_version.as_deref().map(|v| format!(" in `{v}`")).unwrap_or_default()
    )]
    UnknownKind {
        kind: String,
        api_version: Option<String>,
    },
    #[error("the Kubernetes API answered {code} {reason}: {message}")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    #[error("the Kubernetes API did not answer within {}s ({what})", LOOKUP_TIMEOUT.as_secs())]
    Timeout { what: String },
}

/// A client of one cluster, with its discovery cached.
pub struct KubeClient {
    client: kube::Client,
    server: String,
    discovery: tokio::sync::OnceCell<Discovery>,
}

impl KubeClient {
    /// A client from the kubeconfig at `path` (its current context, or `context`).
    pub async fn from_kubeconfig(path: &Path, context: Option<&str>) -> Result<Self, K8sError> {
        let kubeconfig = Kubeconfig::read_from(path).map_err(|source| K8sError::Kubeconfig {
            path: path.to_path_buf(),
            source,
        })?;
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| K8sError::Kubeconfig {
                path: path.to_path_buf(),
                source,
            })?;
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|source| K8sError::Client {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            client,
            server,
            discovery: tokio::sync::OnceCell::new(),
        })
    }

    /// A client over an existing kube-rs client (the kube environment's own).
    pub fn from_client(client: kube::Client, server: String) -> Self {
        Self {
            client,
            server,
            discovery: tokio::sync::OnceCell::new(),
        }
    }

    /// The objects `sel` selects, as JSON (none when a named object does not exist).
    pub async fn objects(&self, sel: &ObjectSelector) -> Result<Vec<Value>, K8sError> {
        tokio::time::timeout(LOOKUP_TIMEOUT, self.objects_now(sel))
            .await
            .map_err(|_| K8sError::Timeout {
                what: format!("reading {sel}"),
            })?
    }

    async fn objects_now(&self, sel: &ObjectSelector) -> Result<Vec<Value>, K8sError> {
        let (ar, caps) = self.resolve(sel).await?;
        let namespaced = caps.scope == Scope::Namespaced;
        let namespace = namespaced.then(|| {
            sel.namespace
                .clone()
                .unwrap_or_else(|| self.client.default_namespace().to_string())
        });
        let api: Api<DynamicObject> = match &namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        };
        let refused = |verb: &'static str| {
            let resource = ar.plural.clone();
            let namespace = namespace.clone();
            let server = self.server.clone();
            move |e: kube::Error| api_error(e, verb, resource, namespace, &server)
        };
        let objects = if let Some(name) = &sel.name {
            api.get_opt(name)
                .await
                .map_err(refused("get"))?
                .into_iter()
                .collect()
        } else {
            let mut params = ListParams::default();
            if let Some(labels) = &sel.selector {
                params = params.labels(labels);
            }
            api.list(&params).await.map_err(refused("list"))?.items
        };
        Ok(objects
            .into_iter()
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            .collect())
    }

    /// The resource serving `sel.kind`: from its apiVersion when given, else from the
    /// cluster's discovery (the core group first).
    async fn resolve(
        &self,
        sel: &ObjectSelector,
    ) -> Result<(ApiResource, ApiCapabilities), K8sError> {
        let unknown = || K8sError::UnknownKind {
            kind: sel.kind.clone(),
            api_version: sel.api_version.clone(),
        };
        let server = self.server.clone();
        let discovery_error =
            |e: kube::Error| api_error(e, "get", "discovery".into(), None, &server);
        if let Some(api_version) = &sel.api_version {
            let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
            let gvk = GroupVersionKind::gvk(group, version, &sel.kind);
            return match kube::discovery::pinned_kind(&self.client, &gvk).await {
                Ok(found) => Ok(found),
                Err(kube::Error::Discovery(_)) => Err(unknown()),
                Err(kube::Error::Api(s)) if s.code == 404 => Err(unknown()),
                Err(e) => Err(discovery_error(e)),
            };
        }
        let discovery = self
            .discovery
            .get_or_try_init(|| Discovery::new(self.client.clone()).run())
            .await
            .map_err(discovery_error)?;
        let wanted = sel.kind.to_ascii_lowercase();
        let mut groups: Vec<_> = discovery.groups().collect();
        groups.sort_by_key(|g| !g.name().is_empty());
        groups
            .into_iter()
            .flat_map(kube::discovery::ApiGroup::recommended_resources)
            .find(|(ar, _)| ar.kind.to_ascii_lowercase() == wanted || ar.plural == wanted)
            .ok_or_else(unknown)
    }
}

fn api_error(
    e: kube::Error,
    verb: &'static str,
    resource: String,
    namespace: Option<String>,
    server: &str,
) -> K8sError {
    match e {
        kube::Error::Api(s) => match s.code {
            401 => K8sError::Unauthorized { message: s.message },
            403 => K8sError::Forbidden {
                verb,
                resource,
                namespace,
                message: s.message,
            },
            code => K8sError::Api {
                code,
                reason: s.reason,
                message: s.message,
            },
        },
        other => K8sError::Unreachable {
            server: server.to_string(),
            message: chain(&other),
        },
    }
}

/// An error and its causes on one line (kube's errors nest the useful part).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cause = c.source();
    }
    text
}
