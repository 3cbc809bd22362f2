//! Bounds on running a template: an override is code, and a slip in an instructor's
//! template (nested loops over a big report) must end in an error, not a hung grader.
//! Fuel bounds the instructions, the recursion limit the nesting, a capped writer the
//! output, and a deadline the wall-clock time (a filter working on huge input).

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use minijinja::{Environment, ErrorKind, Value};

use crate::bounded::human;
use crate::templates::RenderError;

/// Template instructions per render: a base, plus [`FUEL_PER_BYTE`] per byte of input. The
/// built-in templates spend under 0.5 instruction per byte of report.json.
pub const FUEL_BASE: u64 = 5_000_000;

/// See [`FUEL_BASE`].
pub const FUEL_PER_BYTE: u64 = 2;

/// The fuel for rendering `input_bytes` of data (a report's JSON size, say).
pub fn fuel_for(input_bytes: usize) -> u64 {
    FUEL_BASE.saturating_add(FUEL_PER_BYTE.saturating_mul(input_bytes as u64))
}

/// Nesting of loops, macros and includes (minijinja's default is 500).
pub const RECURSION_LIMIT: usize = 100;

/// Largest rendered document.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

/// Wall-clock bound of one render.
pub const TIME_LIMIT: Duration = Duration::from_secs(30);

/// Applies the instruction and nesting bounds to `env`.
pub fn limit(env: &mut Environment<'_>, fuel: u64) {
    env.set_fuel(Some(fuel));
    env.set_recursion_limit(RECURSION_LIMIT);
}

/// Renders `name` on a worker thread built by `make_env`, within every bound above
/// (`fuel` from [`fuel_for`]).
pub fn render_bounded<F>(
    make_env: F,
    name: &str,
    ctx: Value,
    fuel: u64,
) -> Result<String, RenderError>
where
    F: FnOnce() -> Environment<'static> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let job_name = name.to_owned();
    let spawned = std::thread::Builder::new()
        .name("tplab-render".into())
        .stack_size(16 * 1024 * 1024)
        .spawn(move || {
            let mut env = make_env();
            limit(&mut env, fuel);
            let _ = tx.send(render_capped(&env, &job_name, ctx, fuel));
        });
    let name = name.to_owned();
    if let Err(e) = spawned {
        return Err(RenderError::Thread { name, source: e });
    }
    // On timeout the worker is left behind: fuel stops it soon, and tplab exits anyway.
    match rx.recv_timeout(TIME_LIMIT) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(RenderError::TimedOut {
            name,
            secs: TIME_LIMIT.as_secs(),
        }),
        Err(RecvTimeoutError::Disconnected) => Err(RenderError::Crashed { name }),
    }
}

fn render_capped(
    env: &Environment<'_>,
    name: &str,
    ctx: Value,
    fuel: u64,
) -> Result<String, RenderError> {
    let wrap = |source: minijinja::Error| {
        if source.kind() == ErrorKind::OutOfFuel {
            RenderError::OutOfFuel {
                name: name.to_owned(),
                fuel,
            }
        } else {
            RenderError::Template {
                name: name.to_owned(),
                source,
            }
        }
    };
    let template = env.get_template(name).map_err(wrap)?;
    let mut out = Capped(Vec::new());
    match template.render_captured_to(ctx, &mut out) {
        Ok(_) => {}
        Err(_) if out.0.len() > MAX_OUTPUT_BYTES => {
            return Err(RenderError::TooLarge {
                name: name.to_owned(),
                limit: human(MAX_OUTPUT_BYTES as u64),
            });
        }
        Err(e) => return Err(wrap(e)),
    }
    String::from_utf8(out.0).map_err(|_| RenderError::NotUtf8 {
        name: name.to_owned(),
    })
}

/// A buffer that refuses to grow past [`MAX_OUTPUT_BYTES`] (it keeps one byte more, so
/// the caller can tell this refusal from other errors).
struct Capped(Vec<u8>);

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.0.resize(MAX_OUTPUT_BYTES + 1, 0);
            return Err(io::Error::other("output too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
