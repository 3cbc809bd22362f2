//! Errors of the sandbox's Kubernetes API (setup and daemon side; request errors are
//! Kubernetes `Status` objects, see `status.rs`).

/// What went wrong while preparing or serving a sandbox's API.
#[derive(Debug, thiserror::Error)]
pub enum KubeApiError {
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("generating the sandbox's certificates")]
    Cert(#[from] rcgen::Error),
    #[error("configuring TLS")]
    Tls(#[from] rustls::Error),
    #[error("configuring client-certificate verification")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("reading PEM data from {path}")]
    Pem {
        path: std::path::PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("the sandbox")]
    Sandbox(#[from] tplab_sandbox::SandboxError),
    #[error("encoding {what}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("encoding the kubeconfig")]
    Yaml(#[from] serde_yaml::Error),
    #[error("{0}")]
    Usage(String),
}

impl KubeApiError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        KubeApiError::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T, E = KubeApiError> = std::result::Result<T, E>;
