//! `cilium service list`, Cilium 1.16's table, from the socket LB's pinned maps.

use std::path::Path;

use super::table::render;
use crate::error::EbpfError;
use crate::socklb::{LbEntry, lb_entries};

/// The table of `entries` (every Service is a TCP `ClusterIP` in the sandbox).
pub fn format_service_list(entries: &[LbEntry]) -> String {
    let mut rows = vec![vec![
        "ID".to_string(),
        "Frontend".into(),
        "Service Type".into(),
        "Backend".into(),
    ]];
    for svc in entries {
        let (ip, port) = svc.frontend;
        let mut first = vec![
            svc.id.to_string(),
            format!("{ip}:{port}/TCP"),
            "ClusterIP".into(),
        ];
        if svc.backends.is_empty() {
            first.push(String::new());
            rows.push(first);
            continue;
        }
        for (n, (bip, bport)) in svc.backends.iter().enumerate() {
            let cell = format!("{} => {bip}:{bport}/TCP (active)", n + 1);
            if n == 0 {
                first.push(cell.clone());
                rows.push(first.clone());
            } else {
                rows.push(vec![String::new(), String::new(), String::new(), cell]);
            }
        }
    }
    render(&rows)
}

/// The table for the sandbox whose bpf root is `pin_dir`: empty without socket LB (the
/// Services are then kube-proxy's, which Cilium does not list).
pub fn service_list_report(pin_dir: &Path) -> Result<String, EbpfError> {
    match lb_entries(pin_dir) {
        Ok(entries) => Ok(format_service_list(&entries)),
        Err(EbpfError::NotPinned { .. }) => Ok(format_service_list(&[])),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn one_line_per_backend() {
        let entries = [LbEntry {
            id: 1,
            frontend: (Ipv4Addr::new(10, 96, 0, 100), 80),
            backends: vec![
                (Ipv4Addr::new(10, 244, 0, 85), 8080),
                (Ipv4Addr::new(10, 244, 0, 86), 8080),
            ],
        }];
        let text = format_service_list(&entries);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID   Frontend             Service Type   Backend");
        assert_eq!(
            lines[1],
            "1    10.96.0.100:80/TCP   ClusterIP      1 => 10.244.0.85:8080/TCP (active)"
        );
        assert!(
            lines[2].ends_with("2 => 10.244.0.86:8080/TCP (active)"),
            "{text}"
        );
        assert!(lines[2].starts_with("     "), "{text}");
    }
}
