fn main() {
    tplab_sandbox::dispatch_if_daemon();
    let t = std::time::Instant::now();
    let sb =
        tplab_sandbox::Sandbox::up_blocking(&tplab_sandbox::SandboxConfig::default()).expect("up");
    println!("up in {:?}: {}", t.elapsed(), sb.id());
    for (k, v) in sb.facts() {
        println!("{k}={v}");
    }
    let out = sb.std_command(&tplab_sandbox::Role::Pod, "route -n; ping -c1 -W1 203.0.113.10 | tail -2; arp -an; wget -qO- http://203.0.113.10/").unwrap().output().unwrap();
    println!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = sb
        .std_command(
            &tplab_sandbox::Role::Node,
            "ip -br link; ip -br addr; ip route; conntrack -L; iptables-save | grep -c KUBE",
        )
        .unwrap()
        .output()
        .unwrap();
    println!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let t = std::time::Instant::now();
    let r = sb.down();
    println!("down in {:?}\n{r}", t.elapsed());
}
