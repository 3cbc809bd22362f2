//! Prints the firewall facts of a netns as JSON, or (`--hex`) the raw netlink messages
//! of the dump, one per line: how `tests/fixtures/firewall/*.hex` were captured.
//!
//! `cargo run -p tplab-probe --example firewall_dump -- [--hex] [NETNS]`

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut hex = false;
    let mut ns = None;
    for a in std::env::args().skip(1) {
        if a == "--hex" {
            hex = true;
        } else {
            ns = Some(if a.contains('/') {
                PathBuf::from(a)
            } else {
                tplab_netns::path_of(&a)
            });
        }
    }
    // Time the dump (and decode) alone, not the printing.
    let started = Instant::now();
    let result = if hex {
        tplab_probe::firewall::capture_sync(ns.as_deref()).map(|msgs| {
            let took = started.elapsed();
            let mut out = String::new();
            for m in msgs {
                for b in m {
                    let _ = write!(out, "{b:02x}");
                }
                out.push('\n');
            }
            (out, took)
        })
    } else {
        tplab_probe::collect_firewall_sync(ns.as_deref()).map(|fw| {
            let took = started.elapsed();
            (
                serde_json::to_string_pretty(&fw).unwrap_or_default() + "\n",
                took,
            )
        })
    };
    match result {
        Ok((text, took)) => {
            print!("{text}");
            eprintln!("dumped in {took:?}");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
