//! The wire form of kernel facts: what `tplab probe --json` prints and what a remote
//! node agent sends back, versioned so both ends can tell when they disagree.

use serde::{Deserialize, Serialize};

use crate::facts::Facts;

/// Format tag of [`FactsMessage`]; bump it on any incompatible change.
pub const FACTS_FORMAT: &str = "tplab.facts/1";

/// Facts of one or more kinds, read on one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactsMessage {
    pub format: String,
    pub facts: Vec<Facts>,
}

impl FactsMessage {
    pub fn new(facts: Vec<Facts>) -> Self {
        Self {
            format: FACTS_FORMAT.to_string(),
            facts,
        }
    }

    /// Reads a message, refusing another format version.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let msg: FactsMessage = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if msg.format == FACTS_FORMAT {
            Ok(msg)
        } else {
            Err(format!(
                "facts in format `{}`, expected `{FACTS_FORMAT}`",
                msg.format
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_versions() {
        let msg = FactsMessage::new(vec![Facts::Routes(Vec::new())]);
        let text = serde_json::to_string(&msg).unwrap();
        assert_eq!(FactsMessage::from_json(&text).unwrap(), msg);
        let other = text.replace(FACTS_FORMAT, "tplab.facts/9");
        assert!(FactsMessage::from_json(&other).is_err());
    }
}
