//! Packets observed by the node agent ([`super::agent::AgentEnv::observe`]): one
//! `observe` round trip starts tplab's eBPF observer on the node, its events stream back
//! over the agent's stdout between the answers, one `unobserve` round trip detaches it
//! (the agent process ending detaches it too: the TCX links are fd-owned).

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tplab_ebpf::PacketEvent;
use tplab_probe::agent::{Ask, EventsLine, Observe, Request, Target};

use super::agent::AgentProcess;
use super::{EnvError, PacketStream};

/// Starts `obs` on the agent; the stream of its events.
pub async fn start(
    agent: Arc<AgentProcess>,
    obs: Observe,
) -> Result<Box<dyn PacketStream>, EnvError> {
    let id = obs.id.clone();
    // Registered first: events may come before the answer that says it started.
    let rx = agent.register(&id);
    let request = Request {
        id: "q0".into(),
        netns: Target::Own,
        ask: Ask::Observe(obs),
    };
    let answer = match agent.batch(&[request]).await {
        Ok(mut answers) => answers.pop().ok_or_else(|| agent.fail("no answer")),
        Err(e) => Err(e),
    };
    let started = answer.and_then(|a| {
        a.into_observing().map_err(|e| EnvError::Agent {
            what: "the node agent, starting the packet observer".into(),
            message: e.message,
        })
    });
    if let Err(e) = started {
        agent.unregister(&id);
        return Err(e);
    }
    Ok(Box::new(AgentStream {
        agent,
        id,
        rx,
        queued: VecDeque::new(),
        lost: 0,
        ended: false,
        stopped: false,
    }))
}

struct AgentStream {
    agent: Arc<AgentProcess>,
    id: String,
    rx: mpsc::UnboundedReceiver<EventsLine>,
    queued: VecDeque<PacketEvent>,
    lost: u64,
    /// The observation ended (its last line came, or the agent's output ended).
    ended: bool,
    stopped: bool,
}

impl AgentStream {
    fn absorb(&mut self, line: EventsLine) {
        self.lost = self.lost.max(line.lost);
        self.ended |= line.end;
        self.queued.extend(line.events);
    }

    fn absorb_ready(&mut self) {
        while let Ok(line) = self.rx.try_recv() {
            self.absorb(line);
        }
    }
}

#[async_trait]
impl PacketStream for AgentStream {
    async fn next(&mut self) -> Option<PacketEvent> {
        loop {
            if let Some(ev) = self.queued.pop_front() {
                return Some(ev);
            }
            if self.ended {
                return None;
            }
            match self.rx.recv().await {
                Some(line) => self.absorb(line),
                None => self.ended = true,
            }
        }
    }

    fn drain(&mut self) -> Vec<PacketEvent> {
        self.absorb_ready();
        self.queued.drain(..).collect()
    }

    fn lost(&self) -> u64 {
        self.lost
    }

    async fn stop(mut self: Box<Self>) -> Vec<PacketEvent> {
        self.stopped = true;
        if !self.ended {
            let request = Request {
                id: "q0".into(),
                netns: Target::Own,
                ask: Ask::Unobserve(self.id.clone()),
            };
            // The agent queues the observation's last line before this answer, and the
            // reader hands lines over in order: once answered, every event is here.
            if let Err(e) = self.agent.batch(&[request]).await {
                eprintln!("tplab: stopping the node agent's packet observer: {e}");
            }
        }
        self.absorb_ready();
        self.agent.unregister(&self.id);
        self.queued.drain(..).collect()
    }
}

impl Drop for AgentStream {
    fn drop(&mut self) {
        if self.stopped || self.ended {
            return;
        }
        // Dropped without `stop` (a cancelled check): detach now rather than at the end
        // of the session.
        self.agent.unregister(&self.id);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let agent = Arc::clone(&self.agent);
            let id = self.id.clone();
            handle.spawn(async move {
                let request = Request {
                    id: "q0".into(),
                    netns: Target::Own,
                    ask: Ask::Unobserve(id),
                };
                let _ = agent.batch(&[request]).await;
            });
        }
    }
}
