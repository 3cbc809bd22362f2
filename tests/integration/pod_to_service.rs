//! The shipped `labs/pod-to-service` lab (root): it lints without a warning, `tplab test`
//! proves every step (its packets check with a DNAT hop and an absent hop included), and a
//! student at 80x24 plays its break-and-fix step: the hidden setup really removed the
//! node's route to node2 (read with `ip -j route` in the node's namespace), the student
//! puts it back with `onlink` from their own shell while watch mode runs, and the step
//! passes (an `any_of` check accepts that repair).

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tplab_testkit::Suite;

use crate::harness::{Failed, Guided, ensure, fail, tplab};

const LAB: &str = "labs/pod-to-service";
const WAIT: Duration = Duration::from_secs(30);
/// The topology is deterministic: node 2's pod CIDR and `eth1` address.
const NODE2_CIDR: &str = "10.244.0.0/25";
const NODE2_IP: &str = "10.135.0.12";

pub fn register(suite: Suite) -> Suite {
    suite
        .test("pod_to_service::lints_without_warning", lints)
        .root_test("pod_to_service::every_step_is_proven", proven)
        .root_test("pod_to_service::break_and_fix_at_80x24", break_and_fix)
}

fn lints() -> Result<(), Failed> {
    // The whole labs/ directory: the seed lab's captures are all used too.
    let out = tplab(["lint", "labs/"]).run();
    out.success()?.stderr_has("0 error(s), 0 warning(s)")?;
    let json = tplab(["lint", "--json", "labs/"]).run().json()?;
    ensure(
        json.as_array().is_some_and(Vec::is_empty),
        format!("`tplab lint --json labs/` reports problems: {json:#}"),
    )
}

fn proven() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let out = tplab(["test", LAB]).run();
    out.success()?;
    let text = &out.stdout;
    for needed in [
        "✔ la requête sort du Pod vers la ClusterIP et du Node vers le Pod web, port 8080",
        "✔ conntrack du Node tient la DNAT et la SNAT de la requête du Node",
        // French typography: a narrow no-break space before `:`.
        "ok étape `repair`\u{202f}: 2 vérifications en échec avant la solution, 2 réussies après",
        "7 étapes prouvées",
    ] {
        ensure(
            text.contains(needed),
            format!("{needed:?} not in `tplab test`:\n{text}"),
        )?;
    }
    ensure(
        !text.contains("{{"),
        format!("a raw template in `tplab test`:\n{text}"),
    )
}

/// Removes the session's sandbox if the test fails before the lab's end does.
struct Down(Option<String>);

impl Drop for Down {
    fn drop(&mut self) {
        if let Some(id) = &self.0 {
            let _ = tplab(["sandbox", "down", id.as_str()]).run();
        }
    }
}

/// The node's routes to `dst` over `eth1` via node 2, read by iproute2.
fn routes_to_node2(netns: &str) -> Result<Vec<Value>, Failed> {
    let out = Command::new("ip")
        .args(["-n", netns, "-j", "route", "show", NODE2_CIDR])
        .output()
        .map_err(|e| fail(format!("ip -n {netns} route: {e}")))?;
    let routes: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail(format!("ip -j route: {e}: {:?}", out.stdout)))?;
    Ok(routes
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["gateway"] == NODE2_IP && r["dev"] == "eth1")
        .collect())
}

fn break_and_fix() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let g = Guided::start(LAB, "")?;
    let t = &g.tmux;
    let menu = "Que voulez-vous faire ?";
    let skip = ["Up", "Up", "Enter"];
    let screen = t.wait_for("Votre réponse", WAIT)?;
    let id = screen
        .split("--sandbox ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_alphanumeric()).next())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail(format!("no sandbox id on the screen:\n{screen}")))?
        .to_string();
    let _down = Down(Some(id.clone()));
    let node_ns = format!("tplab-{id}-node");
    // Step 1: the ClusterIP. Steps 2 to 5 skipped, their questions answered.
    t.type_line("10.96.0.100")?;
    t.wait_for_n(menu, 1, WAIT)?;
    t.send(&skip)?;
    t.wait_for_n("Votre réponse", 2, WAIT)?;
    t.type_line("10.244.0.85")?;
    t.wait_for("4. KUBE-POSTROUTING", WAIT)?;
    t.type_line("3")?;
    t.wait_for_n(menu, 2, WAIT)?;
    t.send(&skip)?;
    t.wait_for_n("Votre réponse", 4, WAIT)?;
    t.type_line("10.244.0.213")?;
    for n in 3..=4 {
        t.wait_for_n(menu, n, WAIT)?;
        t.send(&skip)?;
    }
    // The source before the SNAT: the lab's targeted feedback, then the right answer.
    t.wait_for_n("Votre réponse", 5, WAIT)?;
    t.type_line("198.51.100.2")?;
    t.wait_for("C'est la source avant la SNAT.", WAIT)?;
    t.type_line("10.135.0.11")?;
    // Step 6: the hidden setup broke the route; the student sees the request fail.
    let screen = t.wait_for_n(menu, 5, WAIT)?;
    ensure(
        screen.contains("Étape 6/7 · Panne : la route vers node2 a disparu")
            && screen.contains("pas de réponse"),
        format!("the break-and-fix step does not show the failure:\n{screen}"),
    )?;
    ensure(
        routes_to_node2(&node_ns)?.is_empty(),
        format!("the hidden setup left the route to {NODE2_CIDR} in {node_ns}"),
    )?;
    t.send(&["Down", "Enter"])?;
    t.wait_for("Je surveille votre environnement", WAIT)?;
    // The student's own repair, from their own root shell, with `onlink`.
    let status = Command::new("ip")
        .args(["-n", &node_ns, "route", "add", NODE2_CIDR, "via", NODE2_IP])
        .args(["dev", "eth1", "onlink"])
        .status()
        .map_err(|e| fail(e.to_string()))?;
    ensure(status.success(), "ip route add … onlink failed")?;
    let screen = t.wait_for("Étape 7/7", WAIT)?;
    for needed in [
        "✔ le Node route de nouveau vers le Pod web par eth1, via node2",
        "✔ le Service répond de nouveau au Pod",
        "Toutes les vérifications de cette étape passent.",
    ] {
        ensure(
            screen.contains(needed),
            format!("{needed:?} not on the screen:\n{screen}"),
        )?;
    }
    let onlink = routes_to_node2(&node_ns)?;
    ensure(
        onlink.len() == 1
            && onlink[0]["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "onlink")),
        format!("the repaired route is not the onlink one: {onlink:?}"),
    )?;
    // Step 7: skipped, its multiple-choice question answered; the lab ends.
    t.wait_for_n(menu, 6, WAIT)?;
    t.send(&skip)?;
    t.wait_for("4. dans le Pod client", WAIT)?;
    t.type_line("3")?;
    let screen = t.wait_for("TPLAB-EXIT=", WAIT)?;
    ensure(
        screen.contains("TP terminé.") && !screen.contains("{{"),
        format!("the lab did not end cleanly:\n{screen}"),
    )?;
    let report = g.report()?;
    let json = serde_json::to_value(&report).map_err(|e| fail(e.to_string()))?;
    let repair = json["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == "repair"))
        .ok_or_else(|| fail(format!("no step `repair` in the report: {json:#}")))?;
    ensure(
        repair["checks"]
            .as_array()
            .is_some_and(|c| c.len() == 2 && c.iter().all(|c| c["verdict"] == "pass")),
        format!("step `repair` in the report: {repair:#}"),
    )?;
    // The lab's end removed its sandbox.
    let left = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map_err(|e| fail(e.to_string()))?;
    ensure(
        !String::from_utf8_lossy(&left.stdout).contains(&format!("tplab-{id}-")),
        format!("sandbox {id}'s namespaces are left after the lab's end"),
    )
}
