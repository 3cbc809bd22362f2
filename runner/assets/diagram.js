// tplab serve's live topology diagram: draws the topology the server read with its
// probes (pods, lxc, cilium_host, nodes, eth*, world, Services) as SVG, and lights the
// hops of the last packets in order, with a NAT badge where addresses were rewritten.
// Everything from the server is set as text (textContent), never as markup.
'use strict';
window.TplabDiagram = (function () {
  const NS = 'http://www.w3.org/2000/svg';
  const CHIP_W = 170, CHIP_H = 50, COL_W = 190, GAP = 14;
  let T = {};
  let top = null;
  let path = { hops: [], not_observed: null };

  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }

  // One interface: name, IPv4, MAC; `data-hop` is the observer's label for it.
  function chip(g, x, y, role, i, title) {
    const c = svg('g', {
      class: `iface${i.up ? '' : ' down'}`, 'data-role': role, 'data-name': i.name,
      'data-ip': i.ip || '', 'data-mac': i.mac || '', 'data-hop': i.hop || null,
      transform: `translate(${x},${y})`,
    });
    c.append(svg('rect', { width: CHIP_W, height: CHIP_H, rx: 5 }));
    c.append(svg('text', { x: 6, y: 14, class: 'ifname' }, title ? `${title} · ${i.name}` : i.name));
    c.append(svg('text', { x: 6, y: 29 }, i.ip || '—'));
    c.append(svg('text', { x: 6, y: 43, class: 'mac' }, i.mac || ''));
    g.append(c);
    return { x: x + CHIP_W / 2, top: y, bottom: y + CHIP_H, left: x, right: x + CHIP_W };
  }

  function box(g, x, y, w, h, cls, label) {
    g.append(svg('rect', { x, y, width: w, height: h, rx: 8, class: `box ${cls}` }));
    g.append(svg('text', { x: x + 8, y: y + 16, class: 'boxlabel' }, label));
  }

  // `pod web`, but `pod` alone for the pod named `pod` (and `nœud node2` in French).
  function named(kind, name, word) {
    return name === word ? kind : `${kind} ${name}`;
  }

  function link(g, a, b, cls) {
    g.append(svg('line', { x1: a.x, y1: a.bottom, x2: b.x, y2: b.top, class: `wire ${cls || ''}` }));
  }

  function draw() {
    const host = document.getElementById('diagram-svg');
    if (!host || !top) return;
    const nodes = top.nodes.length ? top.nodes : [{ name: 'node', role: 'node', ifaces: [] }];
    const g = svg('g');
    let y = 8;
    if (top.services.length) {
      let x = 8;
      g.append(svg('text', { x, y: y + 13, class: 'boxlabel' }, T.d_services));
      x += 70;
      top.services.forEach((s) => {
        const label = `${s.name} ${s.cluster_ip}:${s.port} → ${s.target_port}${s.node_port ? ` (NodePort ${s.node_port})` : ''}`;
        const w = 12 + label.length * 6.4;
        const sg = svg('g', { class: 'service', 'data-name': s.name, 'data-ip': s.cluster_ip });
        sg.append(svg('rect', { x, y, width: w, height: 20, rx: 10 }));
        sg.append(svg('text', { x: x + 6, y: y + 14 }, label));
        g.append(sg);
        x += w + 8;
      });
      y += 32;
    }
    const podY = y, nodeY = podY + CHIP_H + 44;
    let x = 8;
    const eths = [];
    nodes.forEach((n) => {
      const pods = top.pods.filter((p) => p.node === n.name);
      const extra = n.ifaces.length;
      const cols = Math.max(pods.length, extra, 1);
      const w = cols * COL_W - GAP + 16;
      // The node first (its box under its chips), pods above it, each lxc peer right
      // below its pod inside the node.
      box(g, x, nodeY, w, 2 * CHIP_H + 48, 'node', named(T.d_node, n.name, 'node'));
      pods.forEach((p, i) => {
        const px = x + 8 + i * COL_W;
        box(g, px - 6, podY - 2, CHIP_W + 12, CHIP_H + 24, 'pod', named(T.d_pod, p.name, 'pod'));
        const a = p.iface ? chip(g, px, podY + 20, p.role, p.iface) : null;
        const b = p.lxc ? chip(g, px, nodeY + 24, n.role, p.lxc) : null;
        if (a && b) link(g, a, b, 'veth');
      });
      const rowY = nodeY + 24 + CHIP_H + 12;
      n.ifaces.forEach((i, k) => {
        const c = chip(g, x + 8 + k * COL_W, rowY, n.role, i);
        if (i.name.startsWith('eth')) eths.push({ node: n, iface: i, at: c });
      });
      x += w + GAP;
    });
    let height = nodeY + 2 * CHIP_H + 56;
    if (top.world) {
      const wy = height + 24;
      const wx = 8;
      box(g, wx - 6, wy - 2, CHIP_W + 12, CHIP_H + 24, 'world', T.d_world);
      const w = chip(g, wx, wy + 20, 'world', top.world);
      // The world is reached through each node's eth0 (eth1 links the nodes).
      eths.filter((e) => e.iface.name === 'eth0').forEach((e) => link(g, e.at, w, 'uplink'));
      height = wy + CHIP_H + 30;
    }
    const width = Math.max(x, CHIP_W + 30);
    // Drawn at its own size (never blown up), shrunk to fit a narrow panel.
    const s = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, role: 'img', 'aria-label': T.d_title });
    s.append(g);
    host.replaceChildren(s);
    if (top.unreadable.length) {
      host.append(Object.assign(document.createElement('p'), { className: 'warning', textContent: `${T.d_unreadable} ${top.unreadable.join('; ')}` }));
    }
    light();
  }

  // Lights the hops of the last packets one after the other, NAT where it happened.
  function light() {
    const host = document.getElementById('diagram-svg');
    if (!host) return;
    host.querySelectorAll('.iface').forEach((c) => {
      c.classList.remove('lit', 'nat');
      c.querySelector('rect').style.animationDelay = '';
      c.querySelectorAll('.nat-badge').forEach((b) => b.remove());
    });
    path.hops.forEach((h, i) => {
      const c = host.querySelector(`.iface[data-hop="${CSS.escape(h.label)}"]`);
      if (!c) return;
      c.classList.add('lit');
      // The first crossing of each hop sets when it lights: hop by hop, in order.
      const r = c.querySelector('rect');
      if (!r.style.animationDelay) r.style.animationDelay = `${i * 200}ms`;
      if (h.nat.length && !c.querySelector('.nat-badge')) {
        c.classList.add('nat');
        const b = svg('g', { class: 'nat-badge' });
        b.append(svg('rect', { x: CHIP_W - 40, y: -9, width: 44, height: 17, rx: 8 }));
        b.append(svg('text', { x: CHIP_W - 32, y: 3 }, 'NAT'));
        const t = svg('title', {}, h.nat.map((n) => `${n.side} ${n.from} → ${n.to}`).join('\n'));
        b.append(t);
        c.append(b);
      }
    });
    const list = document.getElementById('diagram-path');
    const items = path.hops.map((h) => {
      const li = document.createElement('li');
      li.dataset.label = h.label;
      if (h.nat.length) li.className = 'nat';
      li.textContent = h.line;
      return li;
    });
    if (!items.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = path.not_observed ? `${T.d_not_observed} ${path.not_observed}` : T.d_no_packets;
      items.push(li);
    }
    list.replaceChildren(...items);
  }

  return {
    setText(text) { T = text; },
    topology(t) { top = t; draw(); },
    path(p) { path = p; light(); },
  };
})();
