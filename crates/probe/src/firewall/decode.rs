//! Netlink chain / rule messages -> [`Firewall`]: the message headers, chains, and each
//! rule's table / chain / handle / userdata; the expressions are replayed in `replay`.

use std::collections::HashMap;

use super::dump::{HDR, MSG_NEWCHAIN, MSG_NEWRULE, SUBSYS_NFTABLES};
use super::expr::{self, be32, be64, cstr, get};
use super::replay::Replay;
use super::{Firewall, FirewallChain, FirewallRule, text};

/// Decodes every chain and rule message; other messages are skipped.
pub fn firewall<M: AsRef<[u8]>>(messages: &[M]) -> Firewall {
    let mut fw = Firewall::default();
    for m in messages {
        let m = m.as_ref();
        let (Some(kind), Some(&family)) = (m.get(4..6), m.get(HDR)) else {
            continue;
        };
        let kind = u16::from_ne_bytes([kind[0], kind[1]]);
        let len = m
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u32::from_ne_bytes(b) as usize);
        let body = m.get(HDR + 4..len.min(m.len())).unwrap_or_default();
        if kind >> 8 != SUBSYS_NFTABLES {
            continue;
        }
        match kind & 0xff {
            MSG_NEWCHAIN => fw.chains.extend(chain(family, body)),
            MSG_NEWRULE => fw.rules.extend(rule(family, body)),
            _ => {}
        }
    }
    let mut counts: HashMap<(String, String, String), usize> = HashMap::new();
    for r in &mut fw.rules {
        let n = counts
            .entry((r.family.clone(), r.table.clone(), r.chain.clone()))
            .or_default();
        *n += 1;
        r.position = *n;
    }
    for c in &mut fw.chains {
        let key = (c.family.clone(), c.table.clone(), c.name.clone());
        c.rules = counts.get(&key).copied().unwrap_or(0);
    }
    fw
}

/// `NFTA_CHAIN_*`: table 1, name 3, hook 4 {num 1, priority 2}, policy 5, type 7,
/// counters 8 {bytes 1, packets 2}.
fn chain(family: u8, body: &[u8]) -> Option<FirewallChain> {
    let hook = get(body, 4);
    let counters = get(body, 8);
    Some(FirewallChain {
        family: text::family(family),
        table: cstr(get(body, 1)?),
        name: cstr(get(body, 3)?),
        hook: hook
            .and_then(|h| be32(get(h, 1)?))
            .map(|n| text::hook(family, n)),
        priority: hook
            .and_then(|h| be32(get(h, 2)?))
            .map(|p| i32::from_ne_bytes(p.to_ne_bytes())),
        chain_type: get(body, 7).map(cstr),
        policy: get(body, 5).and_then(be32).map(|p| match p {
            0 => "DROP".to_string(),
            1 => "ACCEPT".to_string(),
            n => n.to_string(),
        }),
        packets: counters.and_then(|c| be64(get(c, 2)?)),
        bytes: counters.and_then(|c| be64(get(c, 1)?)),
        rules: 0,
    })
}

/// `NFTA_RULE_*`: table 1, chain 2, handle 3, expressions 4, userdata 7.
fn rule(family: u8, body: &[u8]) -> Option<FirewallRule> {
    let mut d = Replay::new(
        family,
        FirewallRule {
            family: text::family(family),
            table: cstr(get(body, 1)?),
            chain: cstr(get(body, 2)?),
            handle: get(body, 3).and_then(be64).unwrap_or(0),
            ..FirewallRule::default()
        },
    );
    for e in get(body, 4).map(expr::list).unwrap_or_default() {
        d.expr(e);
    }
    let mut r = d.finish();
    if r.comment.is_none() {
        r.comment = get(body, 7).and_then(userdata_comment);
    }
    Some(r)
}

/// Rule userdata TLVs (`u8 type, u8 len, value`); type 0 is the comment.
fn userdata_comment(mut b: &[u8]) -> Option<String> {
    while let [kind, len, rest @ ..] = b {
        let value = rest.get(..usize::from(*len))?;
        if *kind == 0 {
            return Some(cstr(value));
        }
        b = &rest[usize::from(*len)..];
    }
    None
}
