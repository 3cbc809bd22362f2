//! Root integration tests of the sandbox, asserting through independent tools.

mod lifecycle;
mod signals;
mod support;
mod topology;

use std::sync::RwLock;

use tplab_testkit::{Failed, Suite};

/// `down_all` removes every sandbox: it runs alone, the other tests share this lock.
static EXCLUSIVE: RwLock<()> = RwLock::new(());

fn shared(f: fn() -> Result<(), Failed>) -> impl FnOnce() -> Result<(), Failed> {
    move || {
        let _g = EXCLUSIVE
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f()
    }
}

fn main() {
    tplab_sandbox::dispatch_if_daemon();
    if let Ok(id) = std::env::var(signals::CHILD_ENV) {
        signals::child_main(&id);
    }
    if std::env::var_os(lifecycle::DOWN_ALL_CHILD_ENV).is_some() {
        lifecycle::down_all_child();
    }
    Suite::new()
        .test("role names parse", || {
            let r: tplab_sandbox::Role = "pod:web"
                .parse()
                .map_err(|e| Failed::from(format!("{e}")))?;
            tplab_testkit::check!(r.to_string() == "pod:web", "{r}");
            Ok(())
        })
        .test(
            "iptables rules carry Cilium's masquerade and KUBE chains",
            || {
                let rules = tplab_sandbox::iptables_rules(&tplab_sandbox::SandboxConfig::default());
                tplab_testkit::check!(
                    rules.contains(
                        "-A CILIUM_POST_nat -s 10.244.0.0/16 ! -d 10.244.0.0/16 ! -o cilium_+"
                    ),
                    "{rules}"
                );
                tplab_testkit::check!(rules.matches("KUBE").count() >= 20, "{rules}");
                Ok(())
            },
        )
        .test("missing tools name their Debian package", || {
            let m = tplab_sandbox::missing_tools(&["no-such-tool-zz"]);
            tplab_testkit::check!(m.len() == 1, "{m:?}");
            tplab_testkit::check!(tplab_sandbox::debian_package("arp") == "net-tools", "arp");
            Ok(())
        })
        .root_test(
            "pod routes look like the seed",
            shared(topology::pod_routes_like_the_seed),
        )
        .root_test(
            "gateway MAC is the lxc MAC",
            shared(topology::gateway_mac_is_the_lxc_mac),
        )
        .root_test(
            "lxc is the pod's veth peer; cilium_host holds the gateway",
            shared(topology::lxc_is_the_pods_peer),
        )
        .root_test(
            "ping to the world is masqueraded",
            shared(topology::ping_is_masqueraded),
        )
        .root_test(
            "HTTP GET from the pod returns 200",
            shared(topology::http_get_returns_200),
        )
        .root_test(
            "roles run in their netns",
            shared(lifecycle::roles_run_in_their_netns),
        )
        .root_test(
            "two sandboxes are independent",
            shared(lifecycle::two_sandboxes_are_independent),
        )
        .root_test(
            "a second pod on the same node",
            shared(lifecycle::second_pod_on_the_same_node),
        )
        .root_test(
            "fixed id, bad config, attach after down",
            shared(lifecycle::fixed_id_and_bad_config),
        )
        .root_test(
            "async up and tokio commands",
            shared(lifecycle::async_up_and_tokio_commands),
        )
        .root_test(
            "SIGTERM during up leaves nothing",
            shared(signals::sigterm_leaves_nothing),
        )
        .root_test(
            "SIGKILL during up, then down, leaves nothing",
            shared(signals::sigkill_then_down_leaves_nothing),
        )
        .root_test("down_all removes every leftover", || {
            let _g = EXCLUSIVE
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            lifecycle::down_all_removes_everything()
        })
        .run();
}
