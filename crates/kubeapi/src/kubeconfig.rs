//! The sandbox's kubeconfig: one cluster, user and context, all named `tplab-<id>`, with
//! the CA and the admin's certificate embedded (as `kubeadm` writes `admin.conf`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{KubeApiError, Result};
use crate::tls::Bundle;

/// The kubeconfig text for sandbox `id` served at `server`.
pub fn render(id: &str, server: &str, tls: &Bundle) -> Result<String> {
    let name = format!("tplab-{id}");
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": name,
            "cluster": {
                "server": server,
                "certificate-authority-data": STANDARD.encode(&tls.ca_cert),
            },
        }],
        "users": [{
            "name": name,
            "user": {
                "client-certificate-data": STANDARD.encode(&tls.client_cert),
                "client-key-data": STANDARD.encode(&tls.client_key),
            },
        }],
        "contexts": [{
            "name": name,
            "context": { "cluster": name, "user": name, "namespace": "default" },
        }],
        "current-context": name,
        "preferences": {},
    });
    Ok(serde_yaml::to_string(&config)?)
}

/// Writes `text` to `path`, mode 0600 (it holds a private key), atomically.
pub fn write_private(path: &Path, text: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| KubeApiError::io(format!("creating {}", tmp.display()), e))?;
    f.write_all(text)
        .map_err(|e| KubeApiError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| KubeApiError::io(format!("renaming {}", tmp.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_everything_after_the_sandbox() {
        let tls = crate::tls::generate("ab12").unwrap();
        let text = render("ab12", "https://127.0.0.1:6443", &tls).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(v["current-context"].as_str(), Some("tplab-ab12"));
        assert_eq!(
            v["clusters"][0]["cluster"]["server"].as_str(),
            Some("https://127.0.0.1:6443")
        );
        assert_eq!(v["users"][0]["name"].as_str(), Some("tplab-ab12"));
    }
}
