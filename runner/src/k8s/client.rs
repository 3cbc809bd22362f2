//! Reading objects for `k8s` checks through kube-rs: a client from a kubeconfig, kinds
//! resolved by discovery (cached for the session), `Api<DynamicObject>` gets and lists.
//! Every failure names what to do; none of them is the student's.

use std::path::Path;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use serde_json::Value;

use super::error::{KubeError, Request, from_kube};
use super::query::ObjectSelector;

/// How long one lookup (discovery included) may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(15);

/// A client of one cluster, with its discovery cached.
pub struct KubeClient {
    client: kube::Client,
    server: String,
    discovery: tokio::sync::OnceCell<Discovery>,
}

impl KubeClient {
    /// A client from the kubeconfig at `path` (its current context, or `context`).
    pub async fn from_kubeconfig(path: &Path, context: Option<&str>) -> Result<Self, KubeError> {
        let kubeconfig = Kubeconfig::read_from(path).map_err(|source| KubeError::Kubeconfig {
            path: path.to_path_buf(),
            source,
        })?;
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| KubeError::Kubeconfig {
                path: path.to_path_buf(),
                source,
            })?;
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|source| KubeError::Client {
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
    pub async fn objects(&self, sel: &ObjectSelector) -> Result<Vec<Value>, KubeError> {
        tokio::time::timeout(LOOKUP_TIMEOUT, self.objects_now(sel))
            .await
            .map_err(|_| KubeError::Timeout {
                what: format!("reading {sel}"),
                secs: LOOKUP_TIMEOUT.as_secs(),
            })?
    }

    async fn objects_now(&self, sel: &ObjectSelector) -> Result<Vec<Value>, KubeError> {
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
            move |e: kube::Error| {
                let request = Request {
                    action: "reading objects",
                    verb,
                    resource: &resource,
                    namespace: namespace.as_deref(),
                };
                from_kube(e, &server, &request)
            }
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
    ) -> Result<(ApiResource, ApiCapabilities), KubeError> {
        let unknown = || KubeError::UnknownKind {
            kind: sel.kind.clone(),
            api_version: sel.api_version.clone(),
        };
        let server = self.server.clone();
        let discovery_error = |e: kube::Error| {
            let request = Request {
                action: "discovering the API's kinds",
                verb: "get",
                resource: "discovery",
                namespace: None,
            };
            from_kube(e, &server, &request)
        };
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
