//! What the API itself owns: pods created through it (and their Events), with one
//! monotonically increasing resourceVersion, saved in the sandbox's kube dir
//! (`objects.json`) so they survive a restart of the daemon and go with the sandbox.
//! Every change is numbered, kept in a bounded history and broadcast to open watches,
//! which replay the history from the version they start at (`410 Gone` below it).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::error::{KubeApiError, Result};
use crate::objects::Obj;
use crate::resources::{self, ResourceDef};

/// The first version the store hands out: above every derived object's (`1000 + pods`).
pub const BASE_VERSION: u64 = 2000;
/// Changes kept for watches starting in the past.
const HISTORY: usize = 2048;
/// Events kept (the oldest go first, as the real server expires them).
const MAX_EVENTS: usize = 500;

/// How a created pod runs in the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PodKind {
    /// `hostNetwork` (the node-shell pod): runs in the node's namespaces.
    Host,
    /// A sandbox pod of its own (netns, lxc veth, address of the node's pod CIDR).
    Sandbox,
}

/// One created pod: how it runs, and its object as served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodRecord {
    pub kind: PodKind,
    pub object: Value,
}

impl PodRecord {
    pub fn namespace(&self) -> &str {
        self.object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub fn obj(&self) -> Obj {
        to_obj(resources::PODS, &self.object)
    }
}

fn to_obj(def: ResourceDef, v: &Value) -> Obj {
    Obj {
        def,
        namespace: v["metadata"]["namespace"].as_str().map(str::to_string),
        name: v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        value: v.clone(),
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    resource_version: u64,
    pods: Vec<PodRecord>,
    events: Vec<Value>,
}

/// One numbered change, as a watch sends it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    pub obj: Obj,
}

struct Inner {
    saved: Saved,
    history: VecDeque<Change>,
    /// The oldest version a watch may start from.
    floor: u64,
}

pub struct Store {
    path: PathBuf,
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Change>,
}

/// A watch asked for a version older than the history holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    pub requested: u64,
    pub oldest: u64,
}

impl Store {
    /// Opens the store at `path` (empty when the file does not exist yet).
    pub fn open(path: &Path) -> Result<Store> {
        let mut saved: Saved = match std::fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => return Err(KubeApiError::io(format!("reading {}", path.display()), e)),
            Ok(b) => serde_json::from_slice(&b).map_err(|source| KubeApiError::Json {
                what: path.display().to_string(),
                source,
            })?,
        };
        saved.resource_version = saved.resource_version.max(BASE_VERSION);
        let floor = saved.resource_version;
        Ok(Store {
            path: path.to_path_buf(),
            inner: Mutex::new(Inner {
                saved,
                history: VecDeque::new(),
                floor,
            }),
            tx: broadcast::channel(1024).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current resourceVersion (of lists, and the newest object).
    pub fn version(&self) -> u64 {
        self.lock().saved.resource_version
    }

    pub fn pods(&self) -> Vec<PodRecord> {
        self.lock().saved.pods.clone()
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<PodRecord> {
        self.lock()
            .saved
            .pods
            .iter()
            .find(|p| p.namespace() == namespace && p.name() == name)
            .cloned()
    }

    /// Created pods and their events, as objects.
    pub fn objects(&self) -> Vec<Obj> {
        let g = self.lock();
        g.saved
            .pods
            .iter()
            .map(PodRecord::obj)
            .chain(g.saved.events.iter().map(|e| to_obj(resources::EVENTS, e)))
            .collect()
    }

    fn save(&self, saved: &Saved) {
        // A failed save only costs persistence across a daemon restart: the API goes on.
        let Ok(text) = serde_json::to_vec(saved) else {
            return;
        };
        let tmp = self.path.with_extension("json.tmp");
        if crate::kubeconfig::write_private(&tmp, &text).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }

    fn record(&self, g: &mut Inner, kind: &'static str, def: ResourceDef, v: &mut Value) {
        g.saved.resource_version += 1;
        let rv = g.saved.resource_version;
        v["metadata"]["resourceVersion"] = json!(rv.to_string());
        let change = Change {
            rv,
            kind,
            obj: to_obj(def, v),
        };
        if g.history.len() == HISTORY
            && let Some(old) = g.history.pop_front()
        {
            g.floor = old.rv;
        }
        g.history.push_back(change.clone());
        let _ = self.tx.send(change);
    }

    /// Adds (`ADDED`) or replaces (`MODIFIED`) a pod; returns it with its new version.
    pub fn put_pod(&self, mut record: PodRecord) -> Value {
        let mut g = self.lock();
        let at = g
            .saved
            .pods
            .iter()
            .position(|p| p.namespace() == record.namespace() && p.name() == record.name());
        let kind = if at.is_some() { "MODIFIED" } else { "ADDED" };
        self.record(&mut g, kind, resources::PODS, &mut record.object);
        let out = record.object.clone();
        match at {
            Some(i) => g.saved.pods[i] = record,
            None => g.saved.pods.push(record),
        }
        self.save(&g.saved);
        out
    }

    /// Changes a stored pod in place (`MODIFIED`); `None` when it is gone.
    pub fn update_pod(
        &self,
        namespace: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let mut g = self.lock();
        let i = g
            .saved
            .pods
            .iter()
            .position(|p| p.namespace() == namespace && p.name() == name)?;
        let mut object = g.saved.pods[i].object.clone();
        f(&mut object);
        self.record(&mut g, "MODIFIED", resources::PODS, &mut object);
        g.saved.pods[i].object = object.clone();
        self.save(&g.saved);
        Some(object)
    }

    /// Removes a pod (`DELETED`, with the version of its removal).
    pub fn remove_pod(&self, namespace: &str, name: &str) -> Option<Value> {
        let mut g = self.lock();
        let i = g
            .saved
            .pods
            .iter()
            .position(|p| p.namespace() == namespace && p.name() == name)?;
        let mut object = g.saved.pods.remove(i).object;
        self.record(&mut g, "DELETED", resources::PODS, &mut object);
        self.save(&g.saved);
        Some(object)
    }

    /// Adds an Event (`ADDED`).
    pub fn add_event(&self, mut event: Value) {
        let mut g = self.lock();
        self.record(&mut g, "ADDED", resources::EVENTS, &mut event);
        g.saved.events.push(event);
        let extra = g.saved.events.len().saturating_sub(MAX_EVENTS);
        g.saved.events.drain(..extra);
        self.save(&g.saved);
    }

    /// The changes after version `from` and a receiver of the later ones (taken under
    /// the same lock: nothing is lost or sent twice).
    pub fn watch_from(
        &self,
        from: u64,
    ) -> Result<(Vec<Change>, broadcast::Receiver<Change>), Gone> {
        let g = self.lock();
        if from < g.floor {
            return Err(Gone {
                requested: from,
                oldest: g.floor,
            });
        }
        let backlog = g.history.iter().filter(|c| c.rv > from).cloned().collect();
        Ok((backlog, self.tx.subscribe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> PodRecord {
        PodRecord {
            kind: PodKind::Host,
            object: json!({ "kind": "Pod", "metadata": { "name": name, "namespace": "default" } }),
        }
    }

    #[test]
    fn versions_grow_persist_and_watches_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("objects.json");
        let store = Store::open(&path).unwrap();
        let start = store.version();
        let added = store.put_pod(pod("a"));
        assert_eq!(
            added["metadata"]["resourceVersion"],
            (start + 1).to_string()
        );
        store.update_pod("default", "a", |o| {
            o["status"] = json!({"phase": "Running"});
        });
        store.add_event(json!({ "metadata": { "name": "a.1", "namespace": "default" } }));
        let (backlog, _rx) = store.watch_from(start + 1).unwrap();
        assert_eq!(
            backlog.iter().map(|c| c.kind).collect::<Vec<_>>(),
            ["MODIFIED", "ADDED"]
        );
        assert!(store.remove_pod("default", "a").is_some());
        assert!(store.remove_pod("default", "a").is_none());
        let v = store.version();
        drop(store);
        let again = Store::open(&path).unwrap();
        assert_eq!(again.version(), v);
        assert!(again.pods().is_empty());
        assert_eq!(again.objects().len(), 1);
        // A restarted daemon has no history before its start: older versions are gone.
        assert_eq!(
            again.watch_from(start).unwrap_err(),
            Gone {
                requested: start,
                oldest: v
            }
        );
        assert!(again.watch_from(v).unwrap().0.is_empty());
    }
}
