//! What the kube-rs tests share: a sandbox with its API in this process, and a client.

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tplab_sandbox::{Sandbox, SandboxConfig};
use tplab_testkit::{Failed, fail};

/// A sandbox with its API, torn down on drop.
pub struct Cluster {
    sandbox: Option<Sandbox>,
}

impl Cluster {
    pub fn up() -> Result<Cluster, Failed> {
        let mut sandbox = Sandbox::up_blocking(&SandboxConfig::default()).map_err(fail)?;
        if let Err(e) = tplab_kubeapi::start(&mut sandbox, &tplab_kubeapi::Faults::default()) {
            let _ = sandbox.down();
            return Err(fail(format!("starting the API: {e:?}")));
        }
        Ok(Cluster {
            sandbox: Some(sandbox),
        })
    }

    pub fn id(&self) -> &str {
        self.sandbox.as_ref().map_or("", Sandbox::id)
    }

    pub async fn client(&self) -> Result<Client, Failed> {
        let path = tplab_kubeapi::kubeconfig_path(self.id()).map_err(fail)?;
        let kc = Kubeconfig::read_from(&path).map_err(fail)?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(fail)?;
        Client::try_from(config).map_err(fail)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(sb) = self.sandbox.take() {
            let _ = sb.down();
        }
    }
}

pub fn block_on<F: std::future::Future<Output = Result<(), Failed>>>(f: F) -> Result<(), Failed> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(fail)?
        .block_on(f)
}
