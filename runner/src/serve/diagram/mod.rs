//! The page's live topology diagram: the sandbox's interfaces as the probes read them
//! ([`topology`]) and the path of the last packets the eBPF observer saw at the seed's
//! hops, with routing and NAT as `tplab trace` computes them ([`path`]). The engine
//! re-reads the topology every second while a page watches and pushes a message only
//! when something changed; packet paths are pushed at most every [`FLUSH`].

pub mod path;
pub mod topology;

use std::time::Duration;

use serde_json::{Value, json};
use tplab_ebpf::PacketEvent;
use tplab_vocab::Lang;

use crate::env::{Environment, Hop, PacketStream, packet_path};

/// How long packets are gathered before their path is pushed (a burst is one push).
pub const FLUSH: Duration = Duration::from_millis(150);

pub struct Diagram {
    lang: Lang,
    hops: Vec<Hop>,
    topology: Option<topology::Topology>,
    path: path::Path,
    /// Why packets are not observed (`None`: they are, or not tried yet).
    not_observed: Option<String>,
    tried: bool,
    observing: bool,
}

impl Diagram {
    pub fn new(lang: Lang) -> Self {
        Self {
            lang,
            hops: packet_path::seed_hops("pod"),
            topology: None,
            path: path::Path::default(),
            not_observed: None,
            tried: false,
            observing: false,
        }
    }

    /// Re-reads the topology; the message to push when it changed.
    pub async fn refresh(&mut self, env: &dyn Environment) -> Option<Value> {
        let now = topology::read(env, &self.hops).await;
        if self.topology.as_ref() == Some(&now) {
            return None;
        }
        self.topology = Some(now);
        Some(self.topology_message())
    }

    pub fn topology_message(&self) -> Value {
        json!({ "type": "topology", "topology": self.topology })
    }

    pub fn path_message(&self) -> Value {
        json!({
            "type": "path",
            "observing": self.observing,
            "hops": self.path.hops(),
            "not_observed": self.not_observed,
        })
    }

    /// Starts the packet observer once; afterwards [`Self::path_message`] says whether
    /// packets are observed (the environment must have the seed's roles).
    pub async fn observe(&mut self, env: &dyn Environment) -> Option<Box<dyn PacketStream>> {
        if self.tried {
            return None;
        }
        self.tried = true;
        let roles = env.roles();
        if !self.hops.iter().all(|h| roles.contains(&h.role)) {
            self.not_observed = Some(
                self.lang
                    .pick(
                        "this environment has no pod and node to observe",
                        "cet environnement n’a pas de pod et de nœud à observer",
                    )
                    .to_string(),
            );
            return None;
        }
        match env.observe(&self.hops).await {
            Ok(o) => {
                self.observing = true;
                Some(o)
            }
            Err(e) => {
                self.not_observed = Some(e.to_string());
                None
            }
        }
    }

    pub fn packet(&mut self, ev: &PacketEvent) {
        self.path.add(ev, self.lang);
    }
}

/// The next packet of `observer`; never, without one.
pub async fn next_packet(observer: &mut Option<Box<dyn PacketStream>>) -> Option<PacketEvent> {
    match observer {
        Some(o) => o.next().await,
        None => std::future::pending().await,
    }
}
