// tplab serve's page: draws the session's state (pushed over /ws/events), sends the
// student's actions to /api, and attaches one xterm.js terminal per role to /ws/term/ROLE.
// Lab HTML arrives sanitised by the server; everything else is set as text.
'use strict';
(function () {
  let S = null;
  let T = {};
  const $ = (sel) => document.querySelector(sel);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else if (k === 'html') e.innerHTML = v; // server-sanitised lab HTML only
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, '');
      else if (v !== false && v != null) e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }

  function banner(text) {
    const b = $('#banner');
    b.hidden = !text;
    b.textContent = text || '';
  }

  async function api(body) {
    try {
      const r = await fetch('/api', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) { banner(await r.text()); return; }
      render(await r.json());
    } catch (e) {
      banner(String(e));
    }
  }

  function fmt(p) { return Number.isInteger(p) ? String(p) : p.toFixed(1); }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const ta = el('textarea', {}, text);
      document.body.append(ta); ta.select(); document.execCommand('copy'); ta.remove();
    }
    button.textContent = T.copied;
    setTimeout(() => { button.textContent = T.copy; }, 1200);
  }

  function command(step, c) {
    const copyBtn = el('button', { class: 'copy', text: T.copy });
    copyBtn.addEventListener('click', () => copy(c.script, copyBtn));
    const head = el('div', { class: 'cmd-head' },
      el('span', { class: 'role', text: `${T.on_role} ${c.role}` }), copyBtn);
    if (c.runnable) {
      head.append(el('button', {
        class: 'run', text: T.run_it,
        onclick: () => api({ action: 'run', step: step.index, command: c.index }),
      }));
    }
    return el('div', { class: 'cmd', 'data-role': c.role }, head, el('pre', { text: c.script }));
  }

  function checkRow(c) {
    const mark = { pass: '✔', fail: '✘', error: '⚠', pending: '…' }[c.verdict] || '…';
    const li = el('li', { class: `check ${c.verdict}`, 'data-id': c.id },
      el('span', { class: 'mark', text: mark + ' ' }), el('span', { class: 'name', text: c.name }));
    if (c.verdict === 'fail') {
      const why = [];
      if (c.message) why.push(c.message);
      why.push(`${T.expected}: ${c.expected}`, `${T.found}: ${c.found}`);
      if (c.hint) why.push(`${T.hint}: ${c.hint}`);
      li.append(el('div', { class: 'why', text: why.join('\n') }));
    } else if (c.verdict === 'error') {
      li.append(el('div', { class: 'why', text: `${T.checker_error}: ${c.message}` }));
    }
    return li;
  }

  function question(step, q, kept) {
    const box = el('div', { class: 'question', 'data-id': q.id },
      el('div', { class: 'prompt', html: q.prompt }));
    const st = q.state || {};
    if (q.lacking) {
      box.append(el('div', { class: 'warning', text: q.lacking }));
      return box;
    }
    if (!st.finished) {
      let input;
      if (q.choices.length) {
        input = el('div', { class: 'choices' });
        q.choices.forEach((ch) => input.append(el('label', {},
          el('input', { type: 'radio', name: `q-${q.id}`, value: ch }), ' ' + ch)));
      } else {
        input = el('input', { type: 'text', name: `q-${q.id}`, 'aria-label': T.your_answer, placeholder: T.your_answer });
        if (kept[q.id] != null) input.value = kept[q.id];
      }
      const send = () => {
        const picked = box.querySelector(`input[name="q-${q.id}"]:checked`) || box.querySelector('input[type=text]');
        api({ action: 'answer', step: step.index, id: q.id, answer: picked ? picked.value : '' });
      };
      if (input.tagName === 'INPUT') input.addEventListener('keydown', (e) => { if (e.key === 'Enter') send(); });
      box.append(input, ' ', el('button', { class: 'answer', text: T.submit, onclick: send }));
    }
    if (st.said) box.append(el('div', { class: `said ${st.correct ? 'right' : 'wrong'}`, text: st.said }));
    if (st.answer_was) box.append(el('div', { text: `${T.the_answer_was} ${st.answer_was}` }));
    if (st.explain) box.append(el('div', { class: 'explain', html: st.explain }));
    return box;
  }

  function render(state) {
    S = state;
    T = state.text;
    window.TplabDiagram.setText(T);
    $('#diagram-title').textContent = T.d_title;
    document.documentElement.lang = state.lang;
    document.title = state.title;
    $('#title').textContent = state.title;
    $('#score').textContent = `${T.score} ${fmt(state.score)}/${fmt(state.max_score)}`;
    // Keep what the student is typing across redraws.
    const kept = {};
    document.querySelectorAll('.question input[type=text]').forEach((i) => { kept[i.name.slice(2)] = i.value; });
    const focused = document.activeElement && document.activeElement.name;

    const ol = el('ol');
    state.outline.forEach((s, i) => ol.append(el('li', {
      class: `${s.status || ''} ${i === state.current && !state.done ? 'current' : ''}`, text: s.title,
    })));
    $('#outline').replaceChildren(el('strong', { text: T.outline }), ol);

    const art = $('#step');
    if (state.done) {
      art.replaceChildren(
        el('h2', { class: 'done', text: T.done }),
        el('p', { text: `${T.score} ${fmt(state.score)}/${fmt(state.max_score)}` }),
        state.report ? el('p', { text: `${T.report_written} ${state.report}` }) : null,
        state.report ? el('p', {}, el('a', { id: 'report-link', href: '/report', target: '_blank', rel: 'noopener', text: T.open_report })) : null);
      terminals(state);
      return;
    }
    const step = state.step;
    const kids = [];
    if (step.index === 0 && state.intro) kids.push(el('div', { class: 'intro', html: state.intro }));
    kids.push(el('h2', { text: `${T.step} ${step.index + 1}/${state.outline.length} · ${step.title}` }));
    const body = el('div', { class: 'body', html: step.html });
    body.querySelectorAll('.cmd-slot').forEach((slot) => {
      const c = step.commands[Number(slot.dataset.index)];
      if (c) slot.replaceWith(command(step, c));
    });
    kids.push(body);
    step.hints.forEach((h, i) => kids.push(el('div', { class: 'hint' },
      el('strong', { text: `${T.hint} ${i + 1}/${step.hint_count}` }), el('div', { html: h }))));
    if (step.solution) {
      const sol = step.commands.filter((c) => c.solution);
      (sol.length ? sol : step.commands).forEach((c) => kids.push(command(step, c)));
    }
    if (step.checks.length) {
      const ul = el('ul', { class: 'checks' });
      step.checks.forEach((c) => ul.append(checkRow(c)));
      kids.push(ul);
      const all = step.checks.every((c) => c.verdict === 'pass');
      const errs = step.checks.some((c) => c.verdict === 'error');
      if (all) kids.push(el('p', { class: 'all-good', text: T.all_good }));
      else if (errs && step.checks.every((c) => c.verdict !== 'fail' && c.verdict !== 'pending')) kids.push(el('p', { text: T.checker_errors }));
    }
    step.questions.forEach((q) => kids.push(question(step, q, kept)));
    step.warnings.forEach((w) => kids.push(el('p', { class: 'warning', text: w })));
    if (step.ran.length) {
      const ran = el('div', { class: 'ran' });
      step.ran.forEach((r) => ran.append(el('div', { text: `${T.tplab_ran} (${r.role}):` }),
        el('pre', { text: `$ ${r.command}\n${r.output}` })));
      kids.push(ran);
    }
    const actions = el('div', { class: 'actions' });
    const button = (cls, text, body, enabled = true) => actions.append(el('button', {
      class: cls, text, disabled: !enabled, onclick: () => api(Object.assign({ step: step.index }, body)),
    }));
    if (step.checks.length) button('check-now', T.check_now, { action: 'check' });
    if (step.commands.some((c) => c.runnable && !c.solution) || step.commands.some((c) => c.runnable && c.solution)) {
      button('run-all', T.run_for_me, { action: 'run', command: null });
    }
    if (step.hints.length < step.hint_count) button('hint', T.show_hint, { action: 'hint' });
    if (!step.solution && step.commands.some((c) => c.solution)) button('solution', T.show_solution, { action: 'solution' });
    button('skip', T.skip_step, { action: 'skip' });
    button('next primary', T.next_step, { action: 'next' }, step.can_next);
    kids.push(actions);
    art.replaceChildren(...kids);
    if (focused) { const f = document.querySelector(`[name="${focused}"]`); if (f) f.focus(); }
    terminals(state);
  }

  // --- live state ---
  function events() {
    const ws = new WebSocket(`ws://${location.host}/ws/events`);
    ws.onopen = () => banner('');
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      // The diagram's own messages; everything else is the session's state.
      if (m.type === 'topology') window.TplabDiagram.topology(m.topology);
      else if (m.type === 'path') window.TplabDiagram.path(m);
      else render(m);
    };
    ws.onclose = () => { if (S) banner(T.disconnected); setTimeout(events, 1000); };
  }

  // --- terminals ---
  const terms = {};
  // The page's terminals, reachable from the console (and the browser tests).
  window.tplabTerms = terms;
  let tabsDrawn = false;
  function terminals(state) {
    if (tabsDrawn) return;
    tabsDrawn = true;
    if (!state.terminals) {
      $('#screens').append(el('p', { class: 'warning', text: T.no_terminals }));
      return;
    }
    state.roles.forEach((role, i) => {
      $('#tabs').append(el('button', { role: 'tab', 'data-role': role, text: role, onclick: () => show(role) }));
      $('#screens').append(el('div', { class: 'screen', id: `screen-${role}`, 'data-role': role, hidden: true }));
      if (i === 0) show(role);
    });
  }

  function show(role) {
    document.querySelectorAll('#tabs button').forEach((b) => b.classList.toggle('active', b.dataset.role === role));
    document.querySelectorAll('.screen').forEach((s) => { s.hidden = s.dataset.role !== role; });
    if (!terms[role]) terms[role] = open(role);
    const t = terms[role];
    t.fit.fit();
    t.term.focus();
  }

  function open(role) {
    const term = new window.Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000 });
    const fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(document.getElementById(`screen-${role}`));
    const t = { term, fit, ws: null, ended: false };
    const enc = new TextEncoder();
    const size = () => { if (t.ws && t.ws.readyState === 1) t.ws.send(JSON.stringify({ cols: term.cols, rows: term.rows })); };
    term.onData((d) => {
      if (t.ended) { t.ended = false; term.reset(); connect(); return; }
      if (t.ws && t.ws.readyState === 1) t.ws.send(enc.encode(d));
    });
    term.onResize(size);
    new ResizeObserver(() => { if (!document.getElementById(`screen-${role}`).hidden) fit.fit(); })
      .observe(document.getElementById('screens'));
    function connect() {
      const ws = new WebSocket(`ws://${location.host}/ws/term/${encodeURIComponent(role)}`);
      ws.binaryType = 'arraybuffer';
      let first = true;
      ws.onopen = () => size();
      ws.onmessage = (e) => {
        // The first message replays the shell's recent output: start from a clean screen.
        if (first) { term.reset(); first = false; }
        term.write(new Uint8Array(e.data));
      };
      ws.onclose = (e) => {
        if (e.code === 1000 || e.code === 1005) {
          t.ended = true;
          term.write(`\r\n\x1b[2m${T.shell_ended}\x1b[0m\r\n`);
        } else {
          setTimeout(connect, 1000);
        }
      };
      t.ws = ws;
    }
    connect();
    return t;
  }

  events();
})();
