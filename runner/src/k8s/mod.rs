//! The `k8s` check kind: Kubernetes objects read through the environment's cluster
//! API (kube-rs, `Api<DynamicObject>` with discovery), their fields matched with the
//! matchers of the other kinds (evaluated in `check::k8s`). API failures (unreachable, 401, Forbidden, an unknown
//! kind) are error verdicts naming the way out; an object that does not exist is a
//! fact (a failure, or a pass for `absent: true`).

pub mod body;
pub mod client;
pub mod error;
pub mod path;
pub mod query;

pub use client::KubeClient;
pub use error::KubeError;
pub use path::FieldPath;
pub use query::{K8sQuery, ObjectSelector};

/// The check key.
pub const KIND: &str = "k8s";
