//! Load-only check of an eBPF object: every program through the verifier, nothing attached.
//! Used by `tplab doctor`-style checks and by the tests (a bad object must surface the log).

use aya::programs::Program;

use crate::error::EbpfError;
use crate::loader::loader;

/// Loads every program of `object` (named `object_name` in errors) and unloads them.
/// Returns the program names that passed the verifier.
pub fn verify_object(object: &[u8], object_name: &str) -> Result<Vec<String>, EbpfError> {
    let mut bpf = loader()
        .load(object)
        .map_err(|e| EbpfError::from_object(object_name, &e))?;
    let mut names = Vec::new();
    for (name, prog) in bpf.programs_mut() {
        let res = match prog {
            Program::SchedClassifier(p) => p.load(),
            Program::TracePoint(p) => p.load(),
            other => {
                return Err(EbpfError::Object {
                    object: object_name.into(),
                    detail: format!(
                        "unsupported program type for `{name}`: {:?}",
                        other.prog_type()
                    ),
                });
            }
        };
        res.map_err(|e| EbpfError::from_load(name, e))?;
        names.push(name.to_string());
    }
    Ok(names)
}
