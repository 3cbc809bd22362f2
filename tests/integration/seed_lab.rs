//! The reference lab on the sandbox (root): proven solvable, and played by a "student"
//! through a pseudo-terminal — watch mode with commands typed in a sandbox shell, tplab
//! running the others, a wrong then right answer, quitting in the middle and resuming in
//! the same sandbox — ending with a full, chain-verified report.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, Tmux, bin, fail, root, tempdir, tplab};

const LAB: &str = "labs/ebpf-network-deep-dive";

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test("labs::seed_lab_is_solvable_on_the_sandbox", solvable)
        .root_test(
            "labs::student_plays_the_seed_lab_through_a_pty",
            student_plays,
        )
}

fn solvable() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tplab(["test", LAB])
        .run()
        .success()?
        .stdout_has("est faisable sur `sandbox`\u{202f}: 16 étapes prouvées")?;
    Ok(())
}

const MENU: &str = "Que voulez-vous faire ?";
const ANSWER: &str = "Votre réponse";
const RUN_FOR_ME: &str = "Lancer les commandes pour moi";

fn exec(id: &str, role: &str, script: &str) -> Result<String, Failed> {
    let out = tplab([
        "sandbox",
        "exec",
        role,
        "--sandbox",
        id,
        "--",
        "sh",
        "-c",
        script,
    ])
    .run();
    out.success()?;
    Ok(out.stdout.trim().to_string())
}

/// The answers, read from the sandbox with independent tools (iproute2, tc, iptables).
fn answers(id: &str) -> Result<Vec<(&'static str, String)>, Failed> {
    let links: serde_json::Value =
        serde_json::from_str(&exec(id, "node", "ip -j link")?).map_err(|e| fail(e.to_string()))?;
    let link = |pred: &dyn Fn(&str) -> bool| {
        links
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["ifname"].as_str().is_some_and(pred))
            .cloned()
            .unwrap_or_default()
    };
    let lxc = link(&|n: &str| n.starts_with("lxc"));
    let lxc_name = lxc["ifname"].as_str().unwrap_or_default().to_string();
    let host = link(&|n: &str| n == "cilium_host");
    let tc: serde_json::Value = serde_json::from_str(&exec(
        id,
        "node",
        &format!("tc -j filter show dev {lxc_name} ingress"),
    )?)
    .map_err(|e| fail(e.to_string()))?;
    let prog_id = tc
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|f| f["options"]["prog"]["id"].as_u64())
        .unwrap_or_default();
    let kube = exec(id, "node", "iptables-save | grep -c KUBE")?;
    let config = exec(id, "agent", "cilium config view")?;
    let cidr = config
        .lines()
        .find(|l| l.starts_with("ipv4-native-routing-cidr"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_string();
    Ok(vec![
        ("adresse IP de la passerelle", "10.244.0.201".into()),
        (
            "adresse MAC de la passerelle",
            lxc["address"]
                .as_str()
                .unwrap_or_default()
                .to_uppercase()
                .replace(':', "-"),
        ),
        ("eth0@ifNN", lxc["ifindex"].to_string()),
        ("nom de l'interface du Node", lxc_name.clone()),
        (
            "(ether) de cilium_host",
            host["address"].as_str().unwrap_or_default().to_string(),
        ),
        ("identifiant (`id`)", prog_id.to_string()),
        ("quitte-t-il le Node", "eth0".into()),
        ("mentionnent KUBE", kube),
        ("enable-bpf-masquerade", "false".into()),
        ("nf_conntrack", "198.51.100.2".into()),
        ("routé nativement", cidr),
    ])
}

/// Last `Question · <prompt>` line on the screen.
fn current_question(screen: &str) -> String {
    screen
        .lines()
        .rev()
        .find_map(|l| l.split_once("Question · ").map(|(_, p)| p.to_string()))
        .unwrap_or_default()
}

/// The lines of the menu being shown (after the last menu prompt).
fn current_menu(screen: &str) -> String {
    screen
        .rsplit_once(MENU)
        .map(|(_, tail)| tail.to_string())
        .unwrap_or_default()
}

fn student_plays() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let state = tempdir();
    let report = tempdir();
    let command = format!(
        "cd {} && TPLAB_STATE_DIR={} NO_COLOR=1 {} run {LAB} --student zoe --report {}; echo TPLAB-EXIT=$?",
        root().display(),
        state.path().display(),
        bin().display(),
        report.path().display()
    );
    let t = Tmux::start("bash --norc --noprofile")?;
    t.type_line(&command)?;
    let screen = t.wait_for(MENU, Duration::from_secs(60))?;
    let id = screen
        .lines()
        .find_map(|l| {
            l.split_once("sandbox ")
                .and_then(|(_, r)| r.split_whitespace().next())
                .filter(|w| w.len() == 6)
        })
        .ok_or_else(|| fail(format!("no sandbox id on screen:\n{screen}")))?
        .to_string();
    let answers = answers(&id)?;

    // Step 1, watch mode: tplab watches while the student pings from their own pod shell.
    t.send(&["Down", "Enter"])?;
    t.wait_for("mode surveillance", Duration::from_secs(10))?;
    let shell = Tmux::start(&format!(
        "{} sandbox shell pod --sandbox {id}",
        bin().display()
    ))?;
    // The prompt names the sandbox and the role.
    shell.wait_for(&format!("[tplab {id} pod]"), Duration::from_secs(10))?;
    shell.type_line("ping -c 3 203.0.113.10")?;
    t.wait_for(
        "Toutes les vérifications de cette étape passent",
        Duration::from_secs(30),
    )?;

    let mut menus = 1;
    let mut prompts = 0;
    let mut wrong_given = false;
    let mut quit_done = false;
    let mut asked: BTreeMap<String, usize> = BTreeMap::new();
    let start = Instant::now();
    loop {
        if start.elapsed() > Duration::from_secs(420) {
            return Err(fail(format!(
                "the session did not finish; screen:\n{}",
                t.screen()
            )));
        }
        let screen = t.screen();
        if screen.contains("TPLAB-EXIT=0")
            && quit_done
            && screen.matches("TPLAB-EXIT=0").count() >= 2
        {
            break;
        }
        let menu_count = screen.matches(MENU).count();
        let prompt_count = screen.matches(ANSWER).count();
        if prompt_count > prompts {
            prompts = prompt_count;
            let question = current_question(&screen);
            let (_, right) = answers
                .iter()
                .find(|(k, _)| question.contains(k))
                .ok_or_else(|| fail(format!("unexpected question {question:?}")))?;
            *asked.entry(question.clone()).or_default() += 1;
            if wrong_given {
                t.type_line(right)?;
            } else {
                wrong_given = true;
                t.type_line("10.0.0.1")?;
                t.wait_for("Pas tout à fait.", Duration::from_secs(10))?;
            }
            continue;
        }
        if menu_count > menus {
            menus = menu_count;
            // Quit in the middle (at step 6), then resume in the same sandbox.
            if !quit_done && screen.contains("Étape 6/16") {
                t.send(&["Up", "Enter"])?;
                t.wait_for("TPLAB-EXIT=0", Duration::from_secs(20))?;
                quit_done = true;
                if !tplab(["sandbox", "status"]).run().stdout.contains(&id) {
                    return Err(fail("quitting removed the student's sandbox"));
                }
                t.type_line(&command)?;
                t.wait_for("Reprise à l'étape 6/16", Duration::from_secs(30))?;
                continue;
            }
            if current_menu(&screen).contains(RUN_FOR_ME) {
                t.send(&["Enter"])?;
            } else {
                // Watch (0), Check now (1).
                t.send(&["Down", "Enter"])?;
            }
            continue;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let screen = t.screen();
    if !screen.contains("TP terminé.") {
        return Err(fail(format!("no end of lab:\n{screen}")));
    }
    // The report: every step passed, full score, answers recorded, chain verified.
    let text = std::fs::read_to_string(report.path().join("report.json"))
        .map_err(|e| fail(e.to_string()))?;
    let r: tplab_report::Report = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    tplab_report::verify_report(&r).map_err(|e| fail(format!("chain: {e}")))?;
    let not_passed: Vec<&str> = r
        .steps
        .iter()
        .filter(|s| s.status != tplab_report::StepStatus::Passed)
        .map(|s| s.id.as_str())
        .collect();
    if !not_passed.is_empty() || (r.score - r.max_score).abs() > 1e-9 || r.max_score < 40.0 {
        return Err(fail(format!(
            "score {}/{}; steps not passed: {not_passed:?}",
            r.score, r.max_score
        )));
    }
    let first_q = r
        .steps
        .iter()
        .flat_map(|s| &s.questions)
        .next()
        .ok_or_else(|| fail("no question"))?;
    if first_q.answers.len() != 2 || first_q.answers[0] != "10.0.0.1" {
        return Err(fail(format!(
            "the wrong-then-right answers are not recorded: {first_q:?}"
        )));
    }
    if asked.len() < 10 {
        return Err(fail(format!(
            "only {} questions asked: {asked:?}",
            asked.len()
        )));
    }
    // The lab finished: the adopted sandbox is gone.
    if tplab(["sandbox", "status"]).run().stdout.contains(&id) {
        return Err(fail(format!(
            "sandbox {id} left behind after the lab ended"
        )));
    }
    Ok(())
}
