//! The sandbox's PKI, as a real cluster has: a CA of its own, a server certificate for
//! 127.0.0.1 and a client certificate for a cluster admin (`O=system:masters`), all
//! ECDSA P-256 (rcgen). The server asks every client for a certificate signed by that CA;
//! a client without one still completes the handshake and gets a 401 `Status`.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{KubeApiError, Result};

/// The admin user of every sandbox (as kubeadm's `kubernetes-admin`).
pub const ADMIN_USER: &str = "kubernetes-admin";
/// The group that may do anything (RBAC's super-user group).
pub const ADMIN_GROUP: &str = "system:masters";

/// PEM texts of everything the server and the kubeconfig need.
pub struct Bundle {
    pub ca_cert: String,
    pub ca_key: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

fn validity(params: &mut CertificateParams) {
    let now = std::time::SystemTime::now();
    params.not_before = (now - std::time::Duration::from_secs(300)).into();
    params.not_after = (now + std::time::Duration::from_secs(365 * 24 * 3600)).into();
}

fn dn(cn: &str, orgs: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

/// A client certificate for `user` in `groups`, signed by the CA.
pub fn client_cert(
    issuer: &Issuer<'_, KeyPair>,
    user: &str,
    groups: &[&str],
) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = dn(user, groups);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut params);
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The CA as an issuer again, from its PEM files (to issue more client certificates).
pub fn load_issuer(ca_cert: &str, ca_key: &str) -> Result<Issuer<'static, KeyPair>> {
    let key = KeyPair::from_pem(ca_key)?;
    Ok(Issuer::from_ca_cert_pem(ca_cert, key)?)
}

/// Draws a fresh CA, server and admin certificates for sandbox `id`.
pub fn generate(id: &str) -> Result<Bundle> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name = dn(&format!("tplab-{id}-ca"), &[]);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut ca);
    let ca_cert = ca.self_signed(&ca_key)?;
    let ca_cert_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
    ])?;
    server.distinguished_name = dn("kube-apiserver", &[]);
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut server);
    let server_cert = server.signed_by(&server_key, &issuer)?;

    let (client_cert, client_key) = client_cert(&issuer, ADMIN_USER, &[ADMIN_GROUP])?;
    Ok(Bundle {
        ca_cert: ca_cert_pem,
        ca_key: ca_key_pem,
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
        client_cert,
        client_key,
    })
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<std::result::Result<Vec<_>, _>>)
        .map_err(|e| KubeApiError::Pem {
            path: path.to_path_buf(),
            source: e,
        })
}

/// The server's TLS configuration from the files in `kube_dir` (`ca.crt`, `server.crt`,
/// `server.key`): client certificates verified against the CA but optional, so that an
/// anonymous client gets a Kubernetes 401 instead of a TLS alert.
pub fn server_config(kube_dir: &Path) -> Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in certs(&kube_dir.join("ca.crt"))? {
        roots.add(ca)?;
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()?;
    let key_path = kube_dir.join("server.key");
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| KubeApiError::Pem {
        path: key_path,
        source: e,
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&kube_dir.join("server.crt"))?, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Who a verified client certificate names: CN is the user, each O a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == ADMIN_GROUP)
    }
}

/// The user of a (CA-verified) client certificate.
pub fn user_of(cert: &CertificateDer<'_>) -> Option<User> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let subject = parsed.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())?
        .to_string();
    let mut groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect();
    groups.push("system:authenticated".into());
    Some(User { name, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_certificate_names_a_master() {
        let b = generate("ab12").unwrap();
        let der = CertificateDer::from_pem_slice(b.client_cert.as_bytes()).unwrap();
        let user = user_of(&der).unwrap();
        assert_eq!(user.name, ADMIN_USER);
        assert!(user.is_admin());
        let issuer = load_issuer(&b.ca_cert, &b.ca_key).unwrap();
        let (alice, _) = client_cert(&issuer, "alice", &["dev"]).unwrap();
        let der = CertificateDer::from_pem_slice(alice.as_bytes()).unwrap();
        let user = user_of(&der).unwrap();
        assert_eq!(user.name, "alice");
        assert!(!user.is_admin());
    }
}
