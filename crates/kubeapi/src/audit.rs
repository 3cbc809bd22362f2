//! The audit log: one `audit.k8s.io/v1` `Event` per request stage, as JSON lines beside
//! the sandbox's state, so tests and instructors can count API calls.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::tls::User;

/// Appends events to the log (`O_APPEND`: each line is one write).
pub struct Audit {
    file: Mutex<Option<std::fs::File>>,
}

/// What is known of a request when it arrives.
#[derive(Debug, Clone)]
pub struct Record {
    pub audit_id: String,
    pub verb: String,
    pub request_uri: String,
    pub user: Option<User>,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub object_ref: Option<Value>,
    pub received: chrono::DateTime<chrono::Utc>,
}

fn micro(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Record {
    /// The Event for this request at `stage` with HTTP `code`.
    pub fn event(&self, stage: &str, code: u16) -> Value {
        let user = self.user.as_ref().map_or_else(
            || json!({ "username": "system:anonymous", "groups": ["system:unauthenticated"] }),
            |u| json!({ "username": u.name, "groups": u.groups }),
        );
        let mut ev = json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": self.audit_id,
            "stage": stage,
            "requestURI": self.request_uri,
            "verb": self.verb,
            "user": user,
            "sourceIPs": [self.source_ip],
            "responseStatus": { "metadata": {}, "code": code },
            "requestReceivedTimestamp": micro(self.received),
            "stageTimestamp": micro(chrono::Utc::now()),
        });
        if let Some(ua) = &self.user_agent {
            ev["userAgent"] = json!(ua);
        }
        if let Some(r) = &self.object_ref {
            ev["objectRef"] = r.clone();
        }
        ev
    }
}

impl Audit {
    /// Opens (creating, mode 0600) the log at `path`; a log that cannot be opened is
    /// skipped rather than stopping the API.
    pub fn open(path: &Path) -> Audit {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .ok();
        Audit {
            file: Mutex::new(file),
        }
    }

    pub fn log(&self, record: &Record, stage: &str, code: u16) {
        let mut line = record.event(stage, code).to_string();
        line.push('\n');
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(f) = guard.as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// A fresh audit id (UUID-shaped, random).
pub fn new_id() -> String {
    let r = crate::identity::random_alnum(32);
    let hex: String = r
        .bytes()
        .map(|b| char::from(b"0123456789abcdef"[usize::from(b) % 16]))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_audit_shape() {
        let rec = Record {
            audit_id: new_id(),
            verb: "list".into(),
            request_uri: "/api/v1/pods".into(),
            user: None,
            source_ip: "127.0.0.1".into(),
            user_agent: Some("kubectl/v1.33".into()),
            object_ref: Some(json!({"resource": "pods", "apiVersion": "v1"})),
            received: chrono::Utc::now(),
        };
        let ev = rec.event("ResponseComplete", 200);
        assert_eq!(ev["apiVersion"], "audit.k8s.io/v1");
        assert_eq!(ev["responseStatus"]["code"], 200);
        assert_eq!(ev["objectRef"]["resource"], "pods");
        assert_eq!(ev["user"]["username"], "system:anonymous");
        assert_eq!(rec.audit_id.len(), 36);
    }
}
