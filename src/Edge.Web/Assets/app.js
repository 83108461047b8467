// The technician's page: hash routes #/worklist, #/result/ID, #/status, #/calibration. No framework, no outside assets.
// Data are always placed with textContent (never innerHTML), so nothing in the record can become markup.
'use strict';

const T = JSON.parse(document.getElementById('strings').textContent);
const t = (key) => T[key] ?? key;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function translate(root) {
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
}

async function api(path, options) {
  const init = options ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(options) } : {};
  const response = await fetch(path, init);
  if (response.status === 401 && document.body.dataset.login === 'true') { location.href = '/login'; throw new Error('login'); }
  const body = response.headers.get('Content-Type')?.includes('json') ? await response.json() : null;
  if (!response.ok) { const e = new Error(body?.key ? t(body.key) : (body?.error ?? response.statusText)); e.body = body; throw e; }
  return body;
}

const fmt = (v, digits = 1) => (v === null || v === undefined) ? '–' : Number(v).toFixed(digits);
const pct = (v) => (v === null || v === undefined) ? '–' : (v * 100).toFixed(1) + '%';
const resultWord = (r) => ({ 'refer': t('result.refer'), 'no-refer': t('result.norefer'), 'rejected': t('result.rejected'), 'error': t('result.error') }[r] ?? r);

// ---- login page --------------------------------------------------------------------------------------------------

if (document.body.dataset.page === 'login') {
  translate(document);
  document.getElementById('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const message = document.getElementById('login-message');
    try {
      await api('/api/login', { pin: document.getElementById('pin').value });
      location.href = '/';
    } catch (err) {
      message.textContent = err.message;
    }
  });
} else {
  startApp();
}

// ---- the app -----------------------------------------------------------------------------------------------------

function startApp() {
  translate(document);
  if (document.body.dataset.login === 'true') {
    const logout = document.getElementById('logout');
    logout.hidden = false;
    logout.addEventListener('click', async () => { await api('/api/logout', {}); location.href = '/login'; });
  }

  const state = { filters: { result: '', unack: false, day: 'today' }, refresh: null, generation: 0 };
  const root = document.getElementById('view');

  // Each view is built off-screen and swapped in whole; a render overtaken by a newer one (a click and a live event
  // at once) is dropped, so the page never shows a view twice.
  async function route() {
    const generation = ++state.generation;
    const hash = location.hash || '#/worklist';
    const [, name, id] = hash.split('/');
    const view = h('div', { class: 'page' });
    let refresh;
    if (name === 'result') refresh = await showResult(view, decodeURIComponent(id));
    else if (name === 'status') refresh = await showStatus(view);
    else if (name === 'calibration') refresh = await showCalibration(view);
    else refresh = await showWorklist(view);
    if (generation !== state.generation) return;
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === name || (name === 'result' && a.dataset.nav === 'worklist'));
    root.replaceChildren(view);
    root.dataset.view = name;
    state.refresh = refresh ?? null;
  }

  // ---- worklist ----

  async function showWorklist(view) {
    const counts = h('div', { class: 'counts', id: 'counts' });
    const select = h('select', { id: 'filter-result', onchange: (e) => { state.filters.result = e.target.value; load(); } },
      h('option', { value: '', text: t('filter.all') }),
      h('option', { value: 'refer', text: t('result.refer') }),
      h('option', { value: 'no-refer', text: t('result.norefer') }),
      h('option', { value: 'not-screened', text: t('count.notscreened') }));
    select.value = state.filters.result;
    const unack = h('input', { type: 'checkbox', id: 'filter-unack', onchange: (e) => { state.filters.unack = e.target.checked; load(); } });
    unack.checked = state.filters.unack;
    const day = h('select', { id: 'filter-day', onchange: (e) => { state.filters.day = e.target.value; load(); } },
      h('option', { value: 'today', text: t('filter.today') }),
      h('option', { value: 'all', text: t('filter.alldays') }));
    day.value = state.filters.day;
    const filters = h('div', { class: 'filters' },
      h('label', {}, t('filter.result') + ' ', select),
      h('label', {}, unack, ' ' + t('filter.unack')),
      h('label', {}, t('filter.day') + ' ', day));
    const body = h('tbody', { id: 'worklist' });
    const table = h('table', { class: 'worklist' },
      h('thead', {}, h('tr', {}, ...['col.time', 'col.ref', 'col.result', 'col.score', 'col.ack'].map((k) => h('th', { text: t(k) })))),
      body);
    view.append(counts, filters, h('div', { class: 'scroll' }, table));

    async function load() {
      const q = new URLSearchParams({ result: state.filters.result, unack: state.filters.unack ? '1' : '0', day: state.filters.day });
      const page = await api('/api/worklist?' + q);
      counts.replaceChildren(
        count('total', t('count.total'), page.today.total), count('refer', t('count.refer'), page.today.refer),
        count('norefer', t('count.norefer'), page.today.noRefer), count('notscreened', t('count.notscreened'), page.today.notScreened),
        count('unack', t('count.unack'), page.today.unacknowledged));
      body.replaceChildren(...page.rows.map((r) => h('tr', { 'data-id': r.id, class: 'row ' + r.result, onclick: () => { location.hash = '#/result/' + encodeURIComponent(r.id); } },
        h('td', { text: r.time }),
        h('td', { class: 'ref', text: r.examReference ?? '–' }),
        h('td', {}, h('span', { class: 'badge ' + r.result, text: resultWord(r.result) }), r.reason ? h('span', { class: 'reason', text: ' ' + r.reason }) : null),
        h('td', { class: 'num', text: fmt(r.score) }),
        h('td', { text: r.acknowledgedBy ?? '' }))));
      if (page.rows.length === 0) body.append(h('tr', {}, h('td', { colspan: 5, class: 'empty', text: t('worklist.empty') })));
    }
    const count = (cls, label, n) => h('div', { class: 'count ' + cls, 'data-count': cls }, h('span', { class: 'n', text: String(n) }), h('span', { text: label }));
    await load();
    return (kind) => { if (kind === 'result') load(); };
  }

  // ---- one result ----

  async function showResult(view, id) {
    let r;
    try { r = await api('/api/results/' + encodeURIComponent(id)); } catch (err) { view.append(h('p', { class: 'message', text: err.message })); return; }
    const row = r.row;
    const back = h('a', { href: '#/worklist', class: 'back', text: '← ' + t('detail.back') });

    // Image and the heatmap over it: the overlay is the heatmap at full colour, its CSS opacity is the slider.
    const image = h('img', { id: 'image', src: '/api/results/' + encodeURIComponent(id) + '/image.png', alt: '' });
    image.addEventListener('error', () => { figure.replaceChildren(h('p', { class: 'message', text: t('detail.noimage') })); });
    const overlay = r.hasHeatmap ? h('img', { id: 'overlay', src: '/api/results/' + encodeURIComponent(id) + '/overlay.png', alt: '' }) : null;
    const figure = h('div', { class: 'figure' }, image, overlay);
    let controls = null;
    if (overlay) {
      const toggle = h('input', { type: 'checkbox', id: 'overlay-toggle', checked: true });
      const opacity = h('input', { type: 'range', id: 'overlay-opacity', min: 0, max: 100, value: 40 });
      const apply = () => { overlay.hidden = !toggle.checked; overlay.style.opacity = String(opacity.value / 100); };
      toggle.addEventListener('change', apply);
      opacity.addEventListener('input', apply);
      apply();
      controls = h('div', { class: 'controls' }, h('label', {}, toggle, ' ' + t('detail.overlay')), h('label', {}, t('detail.opacity') + ' ', opacity));
    }

    const facts = h('dl', { class: 'facts' },
      fact(t('col.time'), row.time), fact(t('col.ref'), row.examReference ?? '–'),
      fact(t('detail.model'), [r.modelName, r.modelVersion].filter(Boolean).join(' ') || '–'),
      fact(t('detail.provider'), r.provider ?? '–'));
    const score = row.score !== null ? scoreBar(row.score, row.threshold) : null;
    const qc = h('div', { class: 'qc' }, h('h3', { text: t('detail.qc') }),
      (r.qcNotes.length || r.error) ? h('ul', {}, ...r.qcNotes.map((n) => h('li', { text: n })), r.error ? h('li', { text: r.error }) : null) : h('p', { text: t('detail.qc.none') }));

    const message = h('p', { class: 'message', id: 'detail-message', role: 'status' });
    const say = (text) => { message.textContent = text; };

    // Acknowledge with initials.
    const ack = row.acknowledgedBy
      ? h('p', { class: 'acked', id: 'acked', text: t('detail.acked') + ' ' + row.acknowledgedBy + (r.acknowledgedAt ? ' · ' + r.acknowledgedAt : '') })
      : h('form', { id: 'ack-form', class: 'inline', onsubmit: async (e) => {
          e.preventDefault();
          try { await api('/api/results/' + encodeURIComponent(id) + '/acknowledge', { initials: e.target.initials.value }); await route(); } catch (err) { say(err.message); }
        } }, h('input', { name: 'initials', id: 'ack-initials', placeholder: t('detail.initials'), maxlength: 8, size: 6, required: true }),
        h('button', { type: 'submit', id: 'ack', class: r.needsAcknowledgement ? 'primary' : '', text: t('detail.ack') }));

    // Slip preview and reprint.
    const slip = h('div', { class: 'slip' }, h('h3', { text: t('detail.slip') }),
      r.hasSlip ? h('img', { id: 'slip', src: '/api/results/' + encodeURIComponent(id) + '/slip.png', alt: '' }) : h('p', { text: t('detail.noslip') }),
      h('button', { type: 'button', id: 'reprint', text: t('detail.reprint'), onclick: async () => {
        try { const d = await api('/api/results/' + encodeURIComponent(id) + '/reprint', {}); say(t(d.outcome)); } catch (err) { say(err.body?.outcome ? t(err.body.outcome) : err.message); }
      } }));

    // Confirmed outcome, for the site calibration.
    const outcome = row.result === 'refer' || row.result === 'no-refer' ? h('form', { id: 'outcome-form', class: 'inline', onsubmit: async (e) => {
        e.preventDefault();
        const f = e.target;
        try { await api('/api/results/' + encodeURIComponent(id) + '/outcome', { outcome: f.outcome.value, test: f.test.value, initials: f.initials.value }); say(t('detail.saved')); } catch (err) { say(err.message); }
      } }, h('h3', { text: t('detail.outcome') }),
      radio('test', 'xpert', t('test.xpert'), true), radio('test', 'smear', t('test.smear')),
      h('select', { name: 'outcome', id: 'outcome' }, h('option', { value: 'positive', text: t('outcome.positive') }), h('option', { value: 'negative', text: t('outcome.negative') })),
      h('input', { name: 'initials', placeholder: t('detail.initials'), maxlength: 8, size: 6, required: true }),
      h('button', { type: 'submit', text: t('detail.save') }),
      row.outcome ? h('span', { class: 'saved', text: ' ✓ ' + t('outcome.' + row.outcome) }) : null) : null;

    const headline = h('div', { class: 'headline ' + row.result },
      h('span', { class: 'badge big ' + row.result, id: 'result-badge', text: resultWord(row.result) }),
      row.reason ? h('span', { class: 'reason', text: row.reason }) : null);
    view.append(back, h('div', { class: 'detail' },
      h('section', { class: 'picture' }, figure, controls),
      h('section', { class: 'side' }, headline, score, ack, message, facts, qc, outcome, slip)));
    return (kind, changedId) => { if (kind === 'result' && changedId === id) route(); };
  }

  const fact = (k, v) => [h('dt', { text: k }), h('dd', { text: v })];
  const radio = (name, value, label, checked) => h('label', { class: 'radio' }, h('input', { type: 'radio', name, value, checked: !!checked }), ' ' + label);

  function scoreBar(score, threshold) {
    return h('div', { class: 'score', id: 'score' },
      h('div', { class: 'score-text' }, h('span', {}, t('detail.score') + ' ', h('b', { text: fmt(score) })), h('span', {}, t('detail.threshold') + ' ', h('b', { text: fmt(threshold) }))),
      h('div', { class: 'bar' }, h('div', { class: 'fill' + (score >= threshold ? ' over' : ''), style: null, 'data-w': score }), h('div', { class: 'mark', 'data-x': threshold })));
  }

  // ---- device status ----

  async function showStatus(view) {
    const s = await api('/api/status');
    const lamp = (name, pattern) => h('div', { class: 'lamp-row' }, h('span', { class: 'lamp big ' + name + ' ' + pattern, 'data-status-lamp': name, 'data-pattern': pattern }), h('span', { text: t('light.' + name) + ': ' + t('pattern.' + pattern) }));
    view.append(
      h('section', { class: 'card' }, h('h2', { text: t('status.lights') }),
        h('div', { class: 'lamps' }, lamp('red', s.lights.red), lamp('yellow', s.lights.yellow), lamp('green', s.lights.green), lamp('sync', s.lights.sync)),
        h('p', { id: 'lights-describe', text: t('status.state') + ': ' + s.lights.describe }),
        s.lights.faults.length ? h('p', { class: 'message', text: t('status.faults') + ': ' + s.lights.faults.join(', ') }) : null),
      h('section', { class: 'card' }, h('dl', { class: 'facts' },
        fact(t('status.printer'), s.printer + ' — ' + (s.printerOffline ? t('status.printer.offline') : t('status.printer.ok'))),
        fact(t('status.disk'), s.diskFreeMb === null ? '–' : (s.diskFreeMb / 1024).toFixed(1) + ' GB / ' + (s.diskTotalMb / 1024).toFixed(1) + ' GB'),
        fact(t('status.dicom'), s.dicomPort ? s.dicomAeTitle + ' :' + s.dicomPort : t('status.dicom.off')),
        fact(t('status.sync'), String(s.syncBacklog) + ' (' + t('sync.' + s.syncState) + ', ' + s.syncTarget + ')'),
        fact(t('status.lastsync'), s.lastSync ?? t('status.never')),
        fact(t('status.model'), s.modelName + ' ' + s.modelVersion + ' · ' + s.provider),
        fact(t('status.threshold'), fmt(s.threshold.value * 100) + ' (' + t('source.' + s.threshold.source) + (s.threshold.appliedBy ? ', ' + s.threshold.appliedBy + ' ' + s.threshold.appliedAt : '') + ')'),
        fact(t('status.firmware'), s.firmware))));
    return (kind) => { if (kind === 'lights' || kind === 'result' || kind === 'threshold') route(); };
  }

  // ---- site calibration ----

  async function showCalibration(view) {
    const out = h('div', { id: 'calibration-result' });
    view.append(h('section', { class: 'card' }, h('h2', { text: t('nav.calibration') }), h('p', { text: t('cal.intro') }),
      h('button', { type: 'button', id: 'compute', class: 'primary', text: t('cal.compute'), onclick: compute })), out);

    async function compute() {
      const c = await api('/api/calibration');
      out.replaceChildren();
      out.append(h('p', { id: 'cal-cases', text: t('cal.cases') + ': ' + c.positives + ' ' + t('cal.positive') + ', ' + c.negatives + ' ' + t('cal.negative') + ' · ' + t('cal.target') + ' ' + pct(c.targetSensitivity) }));
      if (c.refusal) {
        out.append(h('p', { class: 'message refusal', id: 'cal-refusal', text: t('cal.refused').replace('{p}', c.positives).replace('{n}', c.negatives).replace('{minP}', c.minPositives).replace('{minN}', c.minNegatives) }));
        return;
      }
      out.append(h('div', { class: 'calibration' },
        roc(c),
        h('dl', { class: 'facts' },
          fact(t('cal.threshold'), ''), fact(t('cal.sensitivity'), pct(c.sensitivity) + ' [' + pct(c.sensitivityLow) + ' – ' + pct(c.sensitivityHigh) + ']'),
          fact(t('cal.specificity'), pct(c.specificity) + ' [' + pct(c.specificityLow) + ' – ' + pct(c.specificityHigh) + ']'),
          fact(t('cal.auc'), fmt(c.auc, 3)), fact(t('status.threshold'), fmt(c.inForce.value * 100) + ' (' + t('source.' + c.inForce.source) + ')'),
          h('dd', { class: 'note', text: t('cal.ci') }))));
      out.querySelector('dd').replaceChildren(h('b', { id: 'cal-threshold', text: fmt(c.threshold * 100) }));
      const apply = h('form', { id: 'apply-form', class: 'inline', onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api('/api/calibration/apply', { threshold: c.threshold, initials: e.target.initials.value });
            await compute();
            const done = document.getElementById('apply-message');
            done.textContent = t('cal.applied');
            done.classList.add('ok');
          } catch (err) { applied.textContent = err.message; }
        } }, h('input', { name: 'initials', placeholder: t('detail.initials'), maxlength: 8, size: 6, required: true }),
        h('button', { type: 'submit', id: 'apply', text: t('cal.apply') }));
      const applied = h('p', { class: 'message', id: 'apply-message', role: 'status' });
      out.append(apply, applied);
    }
  }

  // The ROC curve as inline SVG: false positive rate across, sensitivity up, the chosen threshold marked.
  function roc(c) {
    const ns = 'http://www.w3.org/2000/svg';
    const s = (tag, attrs) => { const el = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v); return el; };
    const size = 240, pad = 44;
    const x = (f) => pad + f * size, y = (v) => pad + (1 - v) * size;
    const svg = s('svg', { viewBox: `0 0 ${size + pad * 2} ${size + pad * 2}`, class: 'roc', id: 'roc', role: 'img' });
    svg.append(s('rect', { x: pad, y: pad, width: size, height: size, class: 'frame' }));
    svg.append(s('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: 'chance' }));
    svg.append(s('polyline', { points: c.roc.map((p) => `${x(p.fpr).toFixed(1)},${y(p.tpr).toFixed(1)}`).join(' '), class: 'curve' }));
    svg.append(s('circle', { cx: x(1 - c.specificity), cy: y(c.sensitivity), r: 5, class: 'chosen' }));
    for (const v of [0, 0.5, 1]) {
      const tx = s('text', { x: x(v), y: pad + size + 16, class: 'tick' }); tx.textContent = v; svg.append(tx);
      const ty = s('text', { x: pad - 8, y: y(v) + 4, class: 'tick end' }); ty.textContent = v; svg.append(ty);
    }
    const lx = s('text', { x: pad + size / 2, y: pad + size + 30, class: 'axis' }); lx.textContent = t('cal.roc.fpr'); svg.append(lx);
    const ly = s('text', { x: 12, y: pad + size / 2, class: 'axis', transform: `rotate(-90 12 ${pad + size / 2})` }); ly.textContent = t('cal.roc.tpr'); svg.append(ly);
    return svg;
  }

  // ---- the light tower in the header and live updates ----

  async function tower() {
    try {
      const s = await api('/api/status');
      const el = document.getElementById('tower');
      for (const lamp of el.querySelectorAll('[data-lamp]')) {
        const pattern = s.lights[lamp.dataset.lamp];
        lamp.className = 'lamp ' + lamp.dataset.lamp + ' ' + pattern;
        lamp.dataset.pattern = pattern;
      }
      el.title = s.lights.describe;
    } catch { /* shown again on the next event */ }
  }

  function listen() {
    const events = new EventSource('/api/events');
    const on = (kind) => events.addEventListener(kind, (e) => {
      if (kind !== 'threshold') tower();
      if (state.refresh) state.refresh(kind, e.data);
    });
    on('result'); on('lights'); on('threshold');
    events.addEventListener('open', () => { document.body.dataset.live = 'true'; tower(); if (state.refresh) state.refresh('result'); });
  }

  // Bars are sized here rather than with inline styles, which the page's content security policy forbids in markup.
  new MutationObserver(() => {
    for (const el of root.querySelectorAll('[data-w]')) { el.style.width = Math.min(100, Math.max(0, el.dataset.w)) + '%'; el.removeAttribute('data-w'); }
    for (const el of root.querySelectorAll('[data-x]')) { el.style.left = Math.min(100, Math.max(0, el.dataset.x)) + '%'; el.removeAttribute('data-x'); }
  }).observe(root, { childList: true, subtree: true });

  window.addEventListener('hashchange', route);
  route();
  tower();
  listen();
}
