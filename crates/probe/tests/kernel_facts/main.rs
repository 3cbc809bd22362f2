//! Root tests: tplab's kernel facts must equal what iproute2, tc, bpftool and conntrack
//! report for the same (randomised) state. Every namespace is `tpt-probe-*` and deleted
//! on exit, taking its links, filters, iptables rules and conntrack table with it
//! (firewall and sysctl tests use `fwt-*`).

mod bpf;
mod conntrack;
mod firewall;
mod iptsave;
mod netlink;
mod privilege;
mod seed;
mod support;
mod sysctl;

use tplab_testkit::Suite;

fn main() {
    Suite::new()
        .root_test(
            "links_addresses_routes_neighbours_equal_iproute2",
            netlink::links_addresses_routes_neighbours_equal_iproute2,
        )
        .root_test(
            "missing_netns_is_not_found",
            netlink::missing_netns_is_not_found,
        )
        .root_test(
            "async_collect_in_current_netns",
            netlink::async_collect_in_current_netns,
        )
        .root_test(
            "tc_and_tcx_programs_equal_tc_and_bpftool",
            bpf::tc_and_tcx_programs_equal_tc_and_bpftool,
        )
        .root_test(
            "conntrack_equals_conntrack_tool_and_nat_checks",
            conntrack::conntrack_equals_conntrack_tool_and_nat_checks,
        )
        .root_test(
            "seed_observations_are_checks",
            seed::seed_observations_are_checks,
        )
        .root_test(
            "unprivileged_caller_gets_permission_errors",
            privilege::unprivileged_caller_gets_permission_errors,
        )
        .root_test(
            "firewall_equals_iptables_save",
            firewall::firewall_equals_iptables_save,
        )
        .root_test(
            "dump_is_consistent_while_rules_change",
            firewall::dump_is_consistent_while_rules_change,
        )
        .root_test("legacy_tables_are_named", firewall::legacy_tables_are_named)
        .root_test(
            "missing_netns_firewall_is_not_found",
            firewall::missing_netns_firewall_is_not_found,
        )
        .root_test(
            "unprivileged_firewall_needs_cap_net_admin",
            privilege::unprivileged_firewall_needs_cap_net_admin,
        )
        .root_test("sysctls_are_per_netns", sysctl::sysctls_are_per_netns)
        .run();
}
