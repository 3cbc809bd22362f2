//! Any bytes through what `tplab lint` does with a lab file: decode, parse, lint,
//! and render every diagnostic as text and JSON. Nothing may panic or hang.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = tplab::lab::source::decode(data) else {
        return;
    };
    let parsed = tplab::lab::parse("fuzz.md", text);
    let mut diagnostics = parsed.diagnostics;
    if let Some(lab) = &parsed.lab {
        diagnostics.extend(tplab::lint::lint(lab));
    }
    for d in &diagnostics {
        let _ = d.location();
        let _ = d.render(false);
        let _ = d.to_json();
    }
});
