// The triage page in a real browser: Debian's headless Chromium driven by
// playwright-core, the page written by `vpnrecon page` and served from 127.0.0.1.
// Files are dropped on the page as a user would; the table must list exactly the
// expected detections and the timeline must be drawn.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const h = require('./helpers');

const CHROMIUM = process.env.VPNRECON_CHROMIUM || '/usr/bin/chromium';
// The screenshot in docs/ is refreshed with VPNRECON_SCREENSHOT=docs/triage-page.png.
const SCREENSHOT = process.env.VPNRECON_SCREENSHOT || path.join(os.tmpdir(), 'vpnrecon-triage-page.png');

function prerequisites() {
  let playwright;
  try {
    playwright = require('playwright-core');
  } catch {
    return { skip: h.missing('playwright-core', 'run npm ci in web/') };
  }
  if (!fs.existsSync(CHROMIUM)) {
    return { skip: h.missing(`Chromium at ${CHROMIUM}`, 'apt-get install chromium') };
  }
  if (!fs.existsSync(h.cliPath())) {
    return { skip: h.missing(`the CLI at ${h.cliPath()}`, 'build it with cargo build -p vpnrecon-host') };
  }
  return { playwright };
}

const { playwright, skip } = prerequisites();

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** A static file server on 127.0.0.1 for `dir` (what any static server does). */
function serve(dir) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.join(dir, path.normalize(rel));
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Drops `files` (paths) on the page's drop zone, as a drag from the desktop would. */
async function dropFiles(page, files) {
  const payload = files.map((file) => ({
    name: path.basename(file),
    base64: fs.readFileSync(file).toString('base64'),
  }));
  const transfer = await page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const { name, base64 } of items) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], name));
    }
    return dt;
  }, payload);
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
}

/** The detection rows the page shows: `rule|arn|action|ip|time`, sorted. */
async function tableRows(page) {
  return page.$$eval('#detections tbody tr', (rows) =>
    rows
      .map((tr) => {
        const cell = (name) => tr.querySelector(`td.${name}`).textContent;
        return [cell('rule'), cell('arn'), cell('action'), cell('ip'), cell('time')].join('|');
      })
      .sort(),
  );
}

/** Expected rows from the CLI's alerts output (the wasmtime host, another build). */
function expectedFromCli(paths) {
  const rows = [];
  for (const line of h.lines(h.cli(['replay', '--mode', 'alerts', ...paths]))) {
    const d = JSON.parse(line).detection;
    for (const one of d.events || [d]) {
      rows.push([one.rule.id, one.identity.arn, one.event.action, one.source.ip, one.event.time].join('|'));
    }
  }
  return rows.sort();
}

/** Expected rows from the hand-written `.expect` file of an NDJSON fixture. */
function expectedFromExpectFile(ndjson) {
  const events = h.lines(fs.readFileSync(ndjson, 'utf8')).map((l) => JSON.parse(l));
  const expect = fs.readFileSync(ndjson.replace(/\.ndjson$/, '.expect'), 'utf8');
  const rules = { A: 'vpnrecon-discovery-vpn-new-identity', B: 'vpnrecon-discovery-vpn-workload' };
  const rows = [];
  for (const line of expect.split('\n')) {
    const m = /^(\d+) ([AB])\b/.exec(line);
    if (!m) continue;
    const e = events[Number(m[1]) - 1];
    const action = e.eventName.replace(/20\d{6}(v\d+)?$/, '');
    rows.push([rules[m[2]], e.userIdentity.arn, action, e.sourceIPAddress, e.eventTime].join('|'));
  }
  return rows.sort();
}

/**
 * About 50 MB of NDJSON (the benign noise and the attack chain, repeated), gzipped
 * as S3 would deliver it.
 */
function writeLargeArchive() {
  const zlib = require('node:zlib');
  const fixtures = path.join(h.repo, 'tests', 'fixtures');
  const block = fs.readFileSync(path.join(fixtures, 'benign.ndjson'), 'utf8') +
    fs.readFileSync(path.join(fixtures, 'attack_chain.ndjson'), 'utf8');
  const copies = Math.ceil((50 * 1024 * 1024) / Buffer.byteLength(block));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vpnrecon-large-')), 'large.ndjson.gz');
  fs.writeFileSync(file, zlib.gzipSync(block.repeat(copies), { level: 1 }));
  return file;
}

test('the triage page lists exactly the expected detections and draws the timeline', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpnrecon-page-'));
  h.cli(['page', dir]);
  const server = await serve(fs.realpathSync(dir));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vpnrecon-chromium-'));
  // A persistent context is how playwright takes a profile directory of our own.
  const browser = await playwright.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(async () => {
    await browser.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);

  await t.test('the S3 archive (.json.gz delivery files): the CLI alerts', async () => {
    const archive = path.join(h.repo, 'samples', 'cloudtrail');
    const files = fs.readdirSync(archive).filter((n) => n.endsWith('.json.gz')).map((n) => path.join(archive, n));
    assert.ok(files.length > 0);
    await dropFiles(page, files);
    await page.waitForSelector('body[data-state="done"]', { timeout: 60000 });
    const expected = expectedFromCli([archive]);
    assert.ok(expected.length > 0, 'the archive has detections');
    assert.deepEqual(await tableRows(page), expected);
    assert.ok((await page.$$('#timeline .lane')).length > 0, 'timeline lanes are drawn');
    assert.ok((await page.$$('#timeline circle.vpn.fired')).length >= expected.length);
  });

  await t.test('the attack chain (NDJSON): the hand-written .expect file', async () => {
    const fixture = path.join(h.repo, 'tests', 'fixtures', 'attack_chain.ndjson');
    await page.evaluate(() => delete document.body.dataset.state);
    await dropFiles(page, [fixture]);
    await page.waitForSelector('body[data-state="done"]', { timeout: 60000 });
    const expected = expectedFromExpectFile(fixture);
    assert.equal(expected.length, 3);
    assert.deepEqual(await tableRows(page), expected);

    // One lane per identity with discovery calls; alice's has VPN and non-VPN calls.
    const alice = page.locator('#timeline .lane[data-identity="111122223333 / alice"]');
    assert.equal(await alice.count(), 1);
    assert.ok((await alice.locator('circle.vpn').count()) > 0);
    assert.ok((await alice.locator('circle.other').count()) > 0);
    assert.equal(await alice.locator("circle.fired").count(), 3);

    // Sorting, filtering and the explanation of a selected detection.
    await page.fill('#filter', '212238');
    assert.equal(await page.locator('#detections tbody tr').count(), 1);
    await page.click('#detections tbody tr');
    assert.match(await page.textContent('#why'), /AS212238.*\n?.*first seen for this key/s);
    await page.fill('#filter', '');
    await page.click('#detections th[data-key="action"]');
    const actions = await page.$$eval('#detections td.action', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(actions, [...actions].sort());
    // A call that did not fire says why.
    await alice.locator('circle.other').first().dispatchEvent('click');
    assert.match(await page.textContent('#why'), /not a candidate: AS7922 is not on the VPN ASN list/);

    assert.equal(await page.textContent('#summary-list div:nth-child(3) dd'), '18');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  await t.test('a 50 MB archive: progress is shown, the page stays responsive', async () => {
    const big = writeLargeArchive();
    await page.evaluate(() => delete document.body.dataset.state);
    await dropFiles(page, [big]);
    const statuses = new Set();
    let slowest = 0;
    for (;;) {
      const started = Date.now();
      const state = await page.evaluate(() => document.body.dataset.state);
      slowest = Math.max(slowest, Date.now() - started);
      statuses.add(await page.textContent('#status'));
      if (state === 'done' || state === 'error') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'done');
    assert.ok(
      [...statuses].some((s) => /records, \d+ detections$/.test(s)),
      `progress was shown: ${[...statuses].join(' / ')}`,
    );
    assert.ok(slowest < 1000, `the main thread answered within ${slowest} ms`);
    assert.deepEqual(await tableRows(page), expectedFromCli([big]));
  });

  assert.deepEqual(errors, [], 'no script errors on the page');
});
