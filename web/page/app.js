// The triage page's main thread: input (drop, pick, paste), progress, and the views
// of a finished run. All reading and detection happens in worker.js.
const $ = (selector) => document.querySelector(selector);

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
/** Identities drawn on the timeline; the rest are counted in a note. */
const MAX_LANES = 200;

const view = { detections: [], timeline: [], sortKey: 'time', sortAscending: true, filter: '' };

worker.onmessage = ({ data }) => {
  if (data.type === 'progress') showProgress(data);
  else if (data.type === 'result') showResult(data);
  else if (data.type === 'explained') $('#explain-output').textContent = JSON.stringify(data.result, null, 2);
  else if (data.type === 'error') showError(data.message);
};
worker.onerror = (event) => showError(`the worker failed: ${event.message}`);

function start(message, label) {
  $('#error').hidden = true;
  $('#progress-box').hidden = false;
  $('#progress').value = 0;
  $('#status').textContent = `reading ${label}…`;
  document.body.dataset.state = 'running';
  worker.postMessage(message);
}

function startFiles(fileList) {
  const files = [...fileList];
  if (files.length === 0) return;
  start({ type: 'files', files }, files.length === 1 ? files[0].name : `${files.length} files`);
}

const drop = $('#drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  startFiles(event.dataTransfer.files);
});
$('#pick').addEventListener('change', (event) => startFiles(event.target.files));
$('#paste-run').addEventListener('click', () => {
  const text = $('#paste').value;
  if (text.trim()) start({ type: 'text', name: 'pasted events', text }, 'pasted events');
});
$('#explain-run').addEventListener('click', () => {
  worker.postMessage({ type: 'explain', text: $('#explain-input').value.trim() });
});
$('#filter').addEventListener('input', (event) => {
  view.filter = event.target.value.toLowerCase();
  renderDetections();
});
for (const th of document.querySelectorAll('#detections th[data-key]')) {
  th.addEventListener('click', () => {
    const key = th.dataset.key;
    view.sortAscending = view.sortKey === key ? !view.sortAscending : true;
    view.sortKey = key;
    renderDetections();
  });
}

function showProgress(p) {
  const fraction = p.totalBytes > 0 ? Math.min(1, p.bytesRead / p.totalBytes) : 0;
  $('#progress').value = fraction;
  $('#status').textContent =
    `${p.file}: ${mb(p.bytesRead)} of ${mb(p.totalBytes)} read, ` +
    `${p.records.toLocaleString()} records, ${p.detections} detections`;
}

function showError(message) {
  $('#error').textContent = `Could not analyse the input: ${message}`;
  $('#error').hidden = false;
  $('#progress-box').hidden = true;
  document.body.dataset.state = 'error';
}

function showResult(result) {
  $('#progress').value = 1;
  $('#status').textContent = `done: ${result.summary.records.toLocaleString()} records`;
  view.detections = result.detections;
  view.timeline = result.timeline;
  renderSummary(result.summary);
  renderDetections();
  renderTimeline();
  renderAsns(result.asns);
  for (const id of ['#summary', '#detections-box', '#why-box', '#timeline-box', '#asns-box']) $(id).hidden = false;
  document.body.dataset.state = 'done';
}

function renderSummary(s) {
  const items = [
    ['files', s.files],
    ['bytes read', mb(s.bytes)],
    ['records (events)', s.records],
    ['parsed in full', s.parsed],
    ['discovery calls', s.discoveryCalls],
    ['candidates (listed action from a VPN ASN)', s.candidates],
    ['detections', s.detections],
    ['rule A: new identity', s.byRule['vpnrecon-discovery-vpn-new-identity']],
    ['rule B: workload', s.byRule['vpnrecon-discovery-vpn-workload']],
    ['unparsable records', s.unparsable],
  ];
  const list = $('#summary-list');
  list.replaceChildren(
    ...items.map(([label, value]) => {
      const div = el('div');
      div.append(el('dt', label), el('dd', typeof value === 'number' ? value.toLocaleString() : value));
      return div;
    }),
  );
  const note = el('div');
  note.className = 'engine';
  const data = s.asnData ? `${s.asnData.source} ${s.asnData.source_version}` : 'none';
  note.append(el('dt', 'engine'), el('dd', `vpnrecon ${s.version}, window ${s.window}, ASN data ${data}`));
  list.append(note);
}

function renderDetections() {
  const { sortKey, sortAscending, filter } = view;
  const columns = ['time', 'rule', 'arn', 'action', 'provider', 'ip', 'asn', 'organization', 'category', 'reason'];
  const rows = view.detections
    .filter((d) => !filter || columns.some((c) => String(d[c]).toLowerCase().includes(filter)))
    .sort((a, b) => {
      const x = a[sortKey];
      const y = b[sortKey];
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return (sortAscending ? order : -order) || a.id - b.id;
    });
  $('#detection-count').textContent = `(${rows.length} of ${view.detections.length})`;
  for (const th of document.querySelectorAll('#detections th[data-key]')) {
    th.classList.toggle('asc', th.dataset.key === sortKey && sortAscending);
    th.classList.toggle('desc', th.dataset.key === sortKey && !sortAscending);
  }
  $('#detections tbody').replaceChildren(
    ...rows.map((d) => {
      const tr = el('tr');
      tr.dataset.id = d.id;
      for (const c of columns) {
        const td = el('td', String(d[c]));
        td.className = c;
        tr.append(td);
      }
      tr.addEventListener('click', () => {
        for (const other of document.querySelectorAll('#detections tr.selected')) other.classList.remove('selected');
        tr.classList.add('selected');
        showWhy(
          `${d.rule} (${d.severity}) fired for ${d.action} by ${d.arn} from ${d.ip}, ` +
            `AS${d.asn} ${d.organization} (${d.category}) at ${d.time}.\n` +
            `Reason: ${d.reason}. Key: ${d.key}.` +
            (d.configError ? `\nConfiguration error: ${d.configError}` : ''),
        );
      });
      return tr;
    }),
  );
}

function renderTimeline() {
  const box = $('#timeline');
  const events = view.timeline.filter((e) => e.time !== null);
  if (events.length === 0) {
    box.replaceChildren(el('p', 'No discovery calls in this input.'));
    return;
  }
  const lanes = new Map();
  for (const e of events) {
    if (!lanes.has(e.identity)) lanes.set(e.identity, []);
    lanes.get(e.identity).push(e);
  }
  // Identities with VPN calls first, then by number of calls.
  const ordered = [...lanes.entries()].sort(
    ([, a], [, b]) => b.filter((e) => e.vpn).length - a.filter((e) => e.vpn).length || b.length - a.length,
  );
  let min = Infinity;
  let max = -Infinity;
  for (const e of events) {
    min = Math.min(min, e.time);
    max = Math.max(max, e.time);
  }
  const span = Math.max(1, max - min);
  const axis = el('div');
  axis.className = 'axis';
  const ends = el('div');
  ends.append(el('span', iso(min)), el('span', iso(max)));
  axis.append(el('div', ''), ends);
  const rows = ordered.slice(0, MAX_LANES).map(([identity, calls]) => {
    const lane = el('div');
    lane.className = 'lane';
    lane.dataset.identity = identity;
    const who = el('div', `${identity} (${calls.length})`);
    who.className = 'who';
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 1000 28');
    svg.setAttribute('preserveAspectRatio', 'none');
    // Non-VPN calls first so VPN ones are drawn on top.
    for (const e of [...calls].sort((a, b) => Number(a.vpn) - Number(b.vpn))) {
      const dot = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
      dot.setAttribute('cx', String(8 + ((e.time - min) / span) * 984));
      dot.setAttribute('cy', '14');
      dot.setAttribute('r', e.fired ? '7' : '5');
      dot.setAttribute('fill', e.vpn ? 'var(--vpn)' : 'var(--other)');
      if (e.fired) {
        dot.setAttribute('stroke', 'var(--fired)');
        dot.setAttribute('stroke-width', '3');
      }
      dot.classList.add(e.vpn ? 'vpn' : 'other');
      if (e.fired) dot.classList.add('fired');
      const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
      title.textContent = `${e.timeText} ${e.action} from ${e.ip}${e.asn ? ` (AS${e.asn})` : ''}`;
      dot.append(title);
      dot.addEventListener('click', () =>
        showWhy(
          `${e.timeText}: ${e.action} (${e.provider}) by ${e.arn ?? e.identity} from ${e.ip ?? 'no address'}` +
            `${e.asn ? `, AS${e.asn} ${e.organization}` : ''}${e.category ? ` (VPN list: ${e.category})` : ''}.\n${e.why}`,
        ),
      );
      svg.append(dot);
    }
    lane.append(who, svg);
    return lane;
  });
  const children = [axis, ...rows];
  if (ordered.length > MAX_LANES) children.push(el('p', `${ordered.length - MAX_LANES} more identities not drawn.`));
  box.replaceChildren(...children);
}

function renderAsns(asns) {
  $('#asns tbody').replaceChildren(
    ...asns.map((a) => {
      const tr = el('tr');
      for (const value of [`AS${a.number}`, a.organization, a.category ?? '—', a.calls, a.detections]) {
        tr.append(el('td', String(value)));
      }
      return tr;
    }),
  );
}

function showWhy(text) {
  $('#why').textContent = text;
  $('#why-box').hidden = false;
}

function el(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

function mb(bytes) {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function iso(seconds) {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
