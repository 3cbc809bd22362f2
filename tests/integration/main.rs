//! tplab's integration tests: one binary, a fluent harness (`harness.rs`), one module
//! per feature. Root-only tests are reported as ignored, with the reason, when not root.

mod agent;
mod agent_batches;
mod answers;
mod choices;
mod cilium_fidelity;
mod ctrl_c;
mod docs;
mod engine;
mod exit_status;
mod exports;
mod hardening_lab;
mod hardening_reports;
mod hardening_sandbox;
mod hardening_state;
mod harness;
mod interactive;
mod k8s_checks;
mod kube_env;
mod kubeapi;
mod kubeapi_io;
mod kubeapi_pods;
mod kubeapi_seed;
mod lang_detect;
mod language;
mod lifecycle;
mod lint;
mod pipe;
mod records;
mod reports;
mod sandbox;
mod seed_lab;
mod shows;
mod skip;
mod topology;
mod watch;

use tplab_testkit::Suite;

fn main() {
    let suite = Suite::new();
    let suite = lint::register(suite);
    let suite = lifecycle::register(suite);
    let suite = engine::register(suite);
    let suite = exit_status::register(suite);
    let suite = docs::register(suite);
    let suite = interactive::register(suite);
    let suite = ctrl_c::register(suite);
    let suite = skip::register(suite);
    let suite = answers::register(suite);
    let suite = choices::register(suite);
    let suite = watch::register(suite);
    let suite = shows::register(suite);
    let suite = pipe::register(suite);
    let suite = sandbox::register(suite);
    let suite = cilium_fidelity::register(suite);
    let suite = reports::register(suite);
    let suite = language::register(suite);
    let suite = exports::register(suite);
    let suite = seed_lab::register(suite);
    let suite = hardening_lab::register(suite);
    let suite = hardening_reports::register(suite);
    let suite = hardening_sandbox::register(suite);
    let suite = hardening_state::register(suite);
    let suite = kubeapi::register(suite);
    let suite = agent::register(suite);
    let suite = agent_batches::register(suite);
    let suite = k8s_checks::register(suite);
    let suite = kubeapi_io::register(suite);
    let suite = kubeapi_seed::register(suite);
    let suite = kubeapi_pods::register(suite);
    let suite = records::register(suite);
    let suite = kube_env::register(suite);
    let suite = topology::register(suite);
    suite.run();
}
