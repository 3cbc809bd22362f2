//! A rule's expressions replayed against a model of the registers, so each `cmp` knows
//! what it compares (a source address, the l4 protocol, an interface name...) and each
//! `nat` where its address and ports came from. Anything that does not fit a field goes
//! to `unknown`, described.

use super::describe::{ct_key, describe, op_name};
use super::expr::{Expr, Slot, cstr};
use super::regs::{Regs, Val};
use super::text::{NFPROTO_IPV4, NFPROTO_IPV6};
use super::{FirewallRule, nat, text, xt};

// Meta keys (`enum nft_meta_keys`).
const META_PROTOCOL: u32 = 1;
const META_MARK: u32 = 3;
const META_IIFNAME: u32 = 6;
const META_OIFNAME: u32 = 7;
const META_NFPROTO: u32 = 15;
const META_L4PROTO: u32 = 16;

pub struct Replay {
    family: u8,
    /// The layer-3 protocol the rule's packets are known to have.
    l3: Option<u8>,
    /// A `meta nfproto` match not yet implied by an address match: listed if unused.
    l3_match: Option<(String, bool)>,
    regs: Regs,
    log: Option<Vec<String>>,
    r: FirewallRule,
}

impl Replay {
    pub fn new(family: u8, r: FirewallRule) -> Self {
        Replay {
            family,
            l3: match family {
                NFPROTO_IPV4 | NFPROTO_IPV6 => Some(family),
                _ => None,
            },
            l3_match: None,
            regs: Regs::default(),
            log: None,
            r,
        }
    }

    pub fn expr(&mut self, e: Expr) {
        match e {
            Expr::Payload {
                dreg,
                base,
                offset,
                len,
            } => self
                .regs
                .set(dreg, len as usize, Val::Payload { base, offset, len }),
            Expr::Meta { dreg, key } => {
                let len = if matches!(key, META_IIFNAME | META_OIFNAME) {
                    16
                } else {
                    4
                };
                self.regs.set(dreg, len, Val::Meta(key));
            }
            Expr::Ct { dreg, key } => {
                self.regs
                    .set(dreg, 4, Val::Opaque(format!("ct {}", ct_key(key))));
            }
            Expr::MetaSet { sreg, key } => self.meta_set(sreg, key),
            Expr::Cmp { sreg, op, data } => self.cmp(sreg, op, &data),
            Expr::Bitwise {
                sreg,
                dreg,
                mask,
                xor,
                shift,
            } => {
                let v = match self.regs.get(sreg) {
                    Some(v) if !shift && xor.iter().all(|b| *b == 0) => {
                        Val::Masked(Box::new(v.clone()), mask.clone())
                    }
                    v => Val::Opaque(format!(
                        "bitwise of {} & {} ^ {}",
                        describe(v),
                        text::hex(&mask),
                        text::hex(&xor)
                    )),
                };
                self.regs.set(dreg, mask.len(), v);
            }
            Expr::Range { sreg, op, from, to } => self.range(sreg, op, &from, &to),
            Expr::Counter { packets, bytes } => {
                self.r.packets = Some(packets);
                self.r.bytes = Some(bytes);
            }
            Expr::Verdict { code, chain } => self.verdict(code, chain),
            Expr::Immediate { dreg, data } => {
                self.regs.set(dreg, data.len(), Val::Imm(data));
            }
            Expr::Lookup {
                sreg,
                set,
                inverted,
            } => {
                let op = if inverted { "not in" } else { "in" };
                let what = describe(self.regs.get(sreg));
                self.unknown(format!("{what} {op} set {set}"));
            }
            Expr::Match { name, rev, info } => self.xt_match(name, rev, &info),
            Expr::Target { name, rev, info } => self.xt_target(&name, rev, &info),
            Expr::Nat {
                dnat,
                family,
                addr,
                port,
                flags,
            } => self.native_nat(dnat, family, addr, port, flags),
            Expr::Masq {
                redirect,
                port,
                flags,
            } => {
                let name = if redirect { "REDIRECT" } else { "MASQUERADE" };
                let ports = self.reg_pair(port);
                match nat::native(flags, false, None, ports) {
                    Some(range) if port.is_none() || ports.is_some() => {
                        let n = nat::describe(&range, true);
                        self.set_target(name, None, n.to, n.options);
                    }
                    _ => self.unknown(format!("{} with ports not immediate", name.to_lowercase())),
                }
            }
            Expr::Reject { kind, code } => {
                let with = text::reject_with(self.l3, kind, code);
                self.set_target("REJECT", None, None, vec![format!("--reject-with {with}")]);
            }
            Expr::Log { prefix } => {
                let opts = prefix
                    .filter(|p| !p.is_empty())
                    .map(|p| format!("--log-prefix {}", xt::save_string(&p)));
                self.log = Some(opts.into_iter().collect());
            }
            Expr::Other(name) => self.unknown(name),
            Expr::Malformed(name) => self.unknown(format!("malformed {name} expression")),
        }
    }

    /// Settles what only the whole rule tells (a trailing `log`, an unused `nfproto`).
    pub fn finish(mut self) -> FirewallRule {
        if let Some(opts) = self.log.take() {
            // A native `log` is the rule's action only when nothing else is.
            if self.r.target.is_none() {
                self.set_target("LOG", None, None, opts);
            } else {
                self.unknown("log".into());
            }
        }
        if let Some((what, false)) = self.l3_match.take() {
            self.unknown(what);
        }
        self.r
    }

    fn unknown(&mut self, what: String) {
        self.r.unknown.push(what);
    }

    fn set_target(
        &mut self,
        name: &str,
        verdict: Option<&str>,
        to: Option<String>,
        options: Vec<String>,
    ) {
        if let Some(first) = &self.r.target {
            let what = format!("{name} after {first}");
            self.unknown(what);
            return;
        }
        self.r.target = Some(name.to_string());
        self.r.verdict = verdict.map(str::to_string);
        self.r.to = to;
        self.r.target_options = options;
    }

    /// Stores a decoded match, unless that field is already taken (never overwrite).
    fn put(&mut self, field: Field, value: String) {
        let slot = match field {
            Field::Src => &mut self.r.src,
            Field::Dst => &mut self.r.dst,
            Field::Proto => &mut self.r.proto,
            Field::Sport => &mut self.r.sport,
            Field::Dport => &mut self.r.dport,
            Field::In => &mut self.r.in_iface,
            Field::Out => &mut self.r.out_iface,
            Field::Mark => &mut self.r.mark,
        };
        if slot.is_some() {
            self.unknown(format!("another {} match {value}", field.name()));
        } else {
            *slot = Some(value);
        }
    }

    fn cmp(&mut self, sreg: Slot, op: u32, data: &[u8]) {
        let held = self.regs.get(sreg).cloned();
        let negated = match op {
            0 => false,
            1 => true,
            _ => {
                let what = format!(
                    "{} {} {}",
                    describe(held.as_ref()),
                    op_name(op),
                    text::hex(data)
                );
                return self.unknown(what);
            }
        };
        let (val, mask) = match held {
            Some(Val::Masked(inner, m)) => (Some(*inner), Some(m)),
            v => (v, None),
        };
        let decoded = match (&val, mask.as_deref()) {
            (
                Some(Val::Payload {
                    base: 1,
                    offset,
                    len,
                }),
                m,
            ) => self.network(*offset, *len as usize, m, data),
            (
                Some(Val::Payload {
                    base: 2,
                    offset,
                    len: 2,
                }),
                None,
            ) if *offset <= 2 => text::port(data).map(|p| {
                let f = if *offset == 0 {
                    Field::Sport
                } else {
                    Field::Dport
                };
                (f, p.to_string())
            }),
            (Some(Val::Meta(META_L4PROTO)), None) => match data {
                [p] => Some((Field::Proto, text::proto(*p))),
                _ => None,
            },
            (Some(Val::Meta(k @ (META_IIFNAME | META_OIFNAME))), m) => {
                let f = if *k == META_IIFNAME {
                    Field::In
                } else {
                    Field::Out
                };
                iface_bytes(data, m).map(|b| (f, text::iface(b)))
            }
            (Some(Val::Meta(META_MARK)), m) => mark(data, m),
            (Some(Val::Meta(k @ (META_NFPROTO | META_PROTOCOL))), None) if !negated => {
                self.l3_proto(*k, data);
                return;
            }
            _ => None,
        };
        if let Some((field, value)) = decoded {
            self.put(field, text::neg(negated, &value));
        } else {
            let what = format!(
                "{} {} {}",
                describe(self.regs.get(sreg)),
                op_name(op),
                text::hex(data)
            );
            self.unknown(what);
        }
    }

    /// A compared network-header field: addresses (and IPv4's protocol byte).
    fn network(
        &mut self,
        offset: u32,
        len: usize,
        mask: Option<&[u8]>,
        data: &[u8],
    ) -> Option<(Field, String)> {
        let v6 = match self.l3? {
            NFPROTO_IPV4 => false,
            NFPROTO_IPV6 => true,
            _ => return None,
        };
        let field = match (v6, offset) {
            (false, 12) | (true, 8) => Field::Src,
            (false, 16) | (true, 24) => Field::Dst,
            (false, 9) if len == 1 && mask.is_none() => {
                self.used_l3();
                return Some((Field::Proto, text::proto(*data.first()?)));
            }
            _ => return None,
        };
        if data.len() != len || mask.is_some_and(|m| m.len() != len) {
            return None;
        }
        let text = text::address(v6, data, len, mask)?;
        self.used_l3();
        Some((field, text))
    }

    /// `meta nfproto ipv4` (inet tables) or `meta protocol ip` (bridge, netdev): sets
    /// how later network-header loads are read.
    fn l3_proto(&mut self, key: u32, data: &[u8]) {
        let l3 = match (key, data) {
            (META_NFPROTO, [p]) => Some(*p),
            (META_PROTOCOL, [0x08, 0x00]) => Some(NFPROTO_IPV4),
            (META_PROTOCOL, [0x86, 0xdd]) => Some(NFPROTO_IPV6),
            _ => None,
        };
        let name = match l3 {
            Some(NFPROTO_IPV4) => "ipv4",
            Some(NFPROTO_IPV6) => "ipv6",
            _ => "",
        };
        if name.is_empty() {
            return self.unknown(format!("meta key {key} == {}", text::hex(data)));
        }
        self.l3 = l3;
        self.l3_match = Some((format!("meta nfproto {name}"), false));
    }

    fn used_l3(&mut self) {
        if let Some((_, used)) = &mut self.l3_match {
            *used = true;
        }
    }

    fn range(&mut self, sreg: Slot, op: u32, from: &[u8], to: &[u8]) {
        let held = self.regs.get(sreg).cloned();
        let port = match held {
            Some(Val::Payload {
                base: 2,
                offset: o @ (0 | 2),
                len: 2,
            }) if op <= 1 => text::port(from).zip(text::port(to)).map(|(a, b)| (o, a, b)),
            _ => None,
        };
        if let Some((o, a, b)) = port {
            let f = if o == 0 { Field::Sport } else { Field::Dport };
            self.put(f, text::neg(op == 1, &format!("{a}:{b}")));
        } else {
            let what = format!(
                "{} in range {}..{}{}",
                describe(held.as_ref()),
                text::hex(from),
                text::hex(to),
                if op == 1 { " (negated)" } else { "" }
            );
            self.unknown(what);
        }
    }

    fn verdict(&mut self, code: i32, chain: Option<String>) {
        match (code, chain) {
            (-3, Some(c)) => self.set_target(&c, Some("jump"), None, Vec::new()),
            (-4, Some(c)) => self.set_target(&c, Some("goto"), None, Vec::new()),
            (code, _) => match text::verdict(code) {
                Some(v) => self.set_target(v, None, None, Vec::new()),
                None => self.unknown(format!("verdict {code}")),
            },
        }
    }

    fn meta_set(&mut self, sreg: Slot, key: u32) {
        match (key, self.regs.get(sreg)) {
            (META_MARK, Some(Val::Imm(v))) if v.len() == 4 => {
                let mark = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
                let opt = format!("--set-xmark {mark:#x}/0xffffffff");
                self.set_target("MARK", None, None, vec![opt]);
            }
            (_, v) => {
                let what = format!("meta key {key} set from {}", describe(v));
                self.unknown(what);
            }
        }
    }

    fn xt_match(&mut self, name: String, rev: u32, info: &[u8]) {
        if name == "comment" && rev == 0 {
            self.r.comment = Some(cstr(info));
        } else {
            self.r.matches.push(name);
        }
    }

    fn xt_target(&mut self, name: &str, rev: u32, info: &[u8]) {
        let v6 = self.family == NFPROTO_IPV6;
        match name {
            "SNAT" | "DNAT" | "MASQUERADE" | "REDIRECT" => {
                let compat = !v6 && rev == 0;
                match nat::xt_range(info, v6, compat) {
                    Some(range) => {
                        let ports_only = matches!(name, "MASQUERADE" | "REDIRECT");
                        let n = nat::describe(&range, ports_only);
                        self.set_target(name, None, n.to, n.options);
                    }
                    None => self.unknown(format!("malformed {name} target (rev {rev})")),
                }
            }
            _ => {
                let opts = xt::target_options(name, rev, v6, info);
                let known = opts.is_some();
                self.set_target(name, None, None, opts.unwrap_or_default());
                if !known {
                    self.unknown(format!("{name} target options (rev {rev})"));
                }
            }
        }
    }

    fn native_nat(
        &mut self,
        dnat: bool,
        family: u32,
        addr: Option<(Slot, Slot)>,
        port: Option<(Slot, Slot)>,
        flags: u32,
    ) {
        let name = if dnat { "DNAT" } else { "SNAT" };
        let v6 = family == u32::from(NFPROTO_IPV6);
        let addrs = self.reg_pair(addr);
        let ports = self.reg_pair(port);
        let complete = addr.is_none() == addrs.is_none() && port.is_none() == ports.is_none();
        match nat::native(flags, v6, addrs, ports).filter(|_| complete) {
            Some(range) => {
                let n = nat::describe(&range, false);
                self.set_target(name, None, n.to, n.options);
            }
            None => self.unknown(format!(
                "{} to a non-immediate address or port",
                name.to_lowercase()
            )),
        }
    }

    /// The immediate bytes a pair of registers holds (`None` if either is not one).
    fn reg_pair(&self, pair: Option<(Slot, Slot)>) -> Option<(&[u8], &[u8])> {
        let (lo, hi) = pair?;
        let imm = |s| match self.regs.get(s) {
            Some(Val::Imm(b)) => Some(b.as_slice()),
            _ => None,
        };
        Some((imm(lo)?, imm(hi)?))
    }
}

#[derive(Clone, Copy)]
enum Field {
    Src,
    Dst,
    Proto,
    Sport,
    Dport,
    In,
    Out,
    Mark,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Src => "src",
            Field::Dst => "dst",
            Field::Proto => "proto",
            Field::Sport => "sport",
            Field::Dport => "dport",
            Field::In => "in",
            Field::Out => "out",
            Field::Mark => "mark",
        }
    }
}

/// The compared bytes of an interface name; a `bitwise` mask of leading `ff` bytes
/// (older iptables-nft wildcards) keeps only those.
fn iface_bytes<'d>(data: &'d [u8], mask: Option<&[u8]>) -> Option<&'d [u8]> {
    let Some(mask) = mask else {
        return Some(data);
    };
    let n = mask.iter().take_while(|b| **b == 0xff).count();
    if mask[n..].iter().any(|b| *b != 0) {
        return None;
    }
    data.get(..n).filter(|b| !b.contains(&0))
}

/// `meta mark` compared, optionally masked: `0x4000` or `0x4000/0x4000`.
fn mark(data: &[u8], mask: Option<&[u8]>) -> Option<(Field, String)> {
    let v = u32::from_ne_bytes(data.try_into().ok()?);
    let text = match mask {
        None => format!("{v:#x}"),
        Some(m) => format!("{v:#x}/{:#x}", u32::from_ne_bytes(m.try_into().ok()?)),
    };
    Some((Field::Mark, text))
}
