//! What a step's checks read from the machine, asked all at once: kernel facts of a
//! role and the datapath's CT map. [`super::Environment::fetch_batch`] answers a list
//! of [`Fetch`]es in one go (one round trip for a remote node agent).

use tplab_ebpf::CtEntry;
use tplab_probe::{Facts, Query};

/// One read a check needs.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a handful per step, short-lived (as `Query` itself)"
)]
pub enum Fetch {
    /// The kernel facts `query` is matched against, on `role`.
    Probe { role: String, query: Query },
    /// The entries of the datapath's conntrack map (`bpf_map` checks).
    DatapathCt,
}

/// The answer to a [`Fetch`].
#[derive(Debug, Clone)]
pub enum Fetched {
    Facts(Facts),
    Ct(Vec<CtEntry>),
}
