// The `vpnrecon` npm package (target/js/node) against the wasmtime host running the
// Fluent Bit module: the same records in give the same bytes out, on every fixture.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./helpers');

function loadPackage() {
  const dir = h.packageDir();
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    return { skip: h.missing(`the package at ${dir}`, 'build it with scripts/build-js.sh') };
  }
  if (!fs.existsSync(h.cliPath())) {
    return { skip: h.missing(`the CLI at ${h.cliPath()}`, 'build it with cargo build -p vpnrecon-host') };
  }
  // Required through its package.json, as a user would.
  return { pkg: require(dir) };
}

const { pkg, skip } = loadPackage();

// A configuration under which no rule fires: replaying with it makes the CLI print
// every record exactly as it handed it to the module (annotate passes records that do
// not fire unchanged), which is the input the package must be given.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'vpnrecon-js-'));
const passthroughToml = path.join(scratch, 'rules-off.toml');
fs.writeFileSync(passthroughToml, 'rule_discovery = false\nrule_workload = false\n');

function replay(mode, file, toml) {
  // One cache for the whole file: the module is compiled once, not on every run.
  const args = ['replay', '--mode', mode, '--cache-dir', path.join(scratch, 'cache')];
  if (toml) args.push('--config', toml);
  args.push(file);
  return h.lines(h.cli(args));
}

test('package.json makes the directory require-able as "vpnrecon"', { skip }, () => {
  const meta = JSON.parse(fs.readFileSync(path.join(h.packageDir(), 'package.json'), 'utf8'));
  assert.equal(meta.name, 'vpnrecon');
  assert.equal(typeof pkg.Detector, 'function');
  assert.ok(fs.existsSync(path.join(h.packageDir(), meta.types)), 'TypeScript types are generated');
});

test('the module needs no WASI and carries no Fluent Bit entry points', { skip }, () => {
  const wasm = fs.readFileSync(path.join(h.packageDir(), 'vpnrecon_filter_bg.wasm'));
  const module = new WebAssembly.Module(wasm);
  const imports = WebAssembly.Module.imports(module).map((i) => i.module);
  assert.deepEqual([...new Set(imports)], ['./vpnrecon_filter_bg.js'], 'only the generated glue is imported');
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  assert.ok(!exports.some((name) => name.startsWith('vpnrecon_')), exports.join(','));
});

for (const { file, toml } of skip ? [] : h.fixtureFiles()) {
  const name = path.relative(h.repo, file);
  test(`same bytes as the wasmtime host: ${name}`, () => {
    const records = replay('annotate', file, passthroughToml);
    const expected = replay('annotate', file, toml);
    const alerts = replay('alerts', file, toml);
    assert.equal(records.length, expected.length, 'the CLI printed one line per record in both runs');
    const config = toml ? fs.readFileSync(toml, 'utf8') : undefined;
    const times = h.recordTimes(records);

    const annotating = new pkg.Detector(config);
    const annotated = records.map((record, i) => annotating.annotate(record, times[i]));
    for (let i = 0; i < records.length; i++) {
      assert.equal(annotated[i], expected[i], `record ${i + 1} of ${name}`);
    }

    const alerting = new pkg.Detector(config);
    const passed = records
      .map((record, i) => alerting.alerts(record, times[i]))
      .filter((out) => out !== null);
    assert.deepEqual(passed, alerts);
    assert.equal(
      passed.length,
      expected.filter((line, i) => line !== records[i]).length,
      'alerts mode passes exactly the records annotate mode changed',
    );
  });
}

test('a snapshot taken mid-stream and restored gives the alerts of an uninterrupted run', { skip }, () => {
  const cases = [
    ['attack_chain.ndjson', null],
    ['clauses/15-workload-hourly-dedup.ndjson', null],
    ['clauses/21-config-window-1h.ndjson', 'clauses/21-config-window-1h.toml'],
  ];
  for (const [file, toml] of cases) {
    const fixture = path.join(h.repo, 'tests', 'fixtures', file);
    const config = toml ? fs.readFileSync(path.join(h.repo, 'tests', 'fixtures', toml), 'utf8') : undefined;
    const records = h.lines(fs.readFileSync(fixture, 'utf8'));
    const times = h.recordTimes(records);
    const whole = new pkg.Detector(config);
    const expected = records.map((r, i) => whole.alerts(r, times[i]));
    assert.ok(expected.some((a) => a !== null), `${file} has alerts`);

    for (const cut of [1, Math.floor(records.length / 2), records.length - 1]) {
      const first = new pkg.Detector(config);
      const got = records.slice(0, cut).map((r, i) => first.alerts(r, times[i]));
      const snapshot = first.snapshot();
      assert.ok(snapshot instanceof Uint8Array);
      const second = pkg.Detector.restore(snapshot, config);
      for (let i = cut; i < records.length; i++) got.push(second.alerts(records[i], times[i]));
      assert.deepEqual(got, expected, `${file} cut after record ${cut}`);
    }
  }
});

test('restore refuses bytes that are not a snapshot, with a clear error', { skip }, () => {
  assert.throws(() => pkg.Detector.restore(new Uint8Array([1, 2, 3])), /not a snapshot/);
});

test('bad input passes through (annotate) or is dropped (alerts), never throws', { skip }, () => {
  const detector = new pkg.Detector();
  const deep = '['.repeat(200000) + ']'.repeat(200000);
  const bad = [
    '',
    'not json',
    '{',
    '{"eventName":',
    '[1,2,3]',
    'null',
    '"a string"',
    '{"a":1}',
    `{"log":${JSON.stringify('{"eventName":"ListUsers"')}}`,
    `{"deep":${deep}}`,
    '{"Records":[1,"x",null,{"eventName":5}]}',
    '{"detail-type":"AWS API Call via CloudTrail","detail":"not an object"}',
    `{"big":"${'x'.repeat(5 * 1024 * 1024)}"}`,
  ];
  for (const record of bad) {
    for (const time of [0, -1, NaN, Infinity, 1.5e12]) {
      assert.equal(detector.annotate(record, time), record);
      assert.equal(detector.alerts(record, time), null);
    }
  }
  const info = JSON.parse(detector.info());
  assert.equal(info.counters.records, bad.length * 10);
  assert.ok(info.counters.unparsable >= 6, 'malformed records are counted as unparsable');
});

test('an invalid configuration does not throw: defaults run and detections carry the error', { skip }, () => {
  const detector = new pkg.Detector('windw = "10d"\n');
  const info = JSON.parse(detector.info());
  assert.match(info.config.error, /vpnrecon\.toml line 1, key "windw"/);
  const first = h.lines(fs.readFileSync(path.join(h.repo, 'tests', 'fixtures', 'attack_chain.ndjson'), 'utf8'))[0];
  const out = JSON.parse(detector.annotate(first, 0));
  assert.equal(out.detection.rule.id, 'vpnrecon-discovery-vpn-new-identity');
  assert.match(JSON.stringify(out.detection), /windw/);
});

test('timeSec must be a plain number, not a BigInt', { skip }, () => {
  const detector = new pkg.Detector();
  assert.throws(() => detector.annotate('{}', 10n), TypeError);
});
