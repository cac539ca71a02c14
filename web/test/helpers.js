// Shared pieces of the Node and browser tests: where the built package and the CLI
// are, running the CLI, and what a missing tool means (skip locally, fail in CI).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const repo = path.resolve(__dirname, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
const jsOut = process.env.VPNRECON_JS_OUT || path.join(repo, 'target', 'js');

// CI must run every test: there a missing tool is a failure, not a skip.
const required = process.env.CI === 'true' || process.env.VPNRECON_REQUIRE_ALL === '1';

/** `false` when present; otherwise a skip reason (or a thrown error in CI). */
function missing(what, fix) {
  const reason = `${what} is missing (${fix})`;
  if (required) {
    throw new Error(`${reason}; CI runs every test`);
  }
  console.log(`# SKIPPED: ${reason}`);
  return reason;
}

function packageDir() {
  return path.join(jsOut, 'node');
}

function cliPath() {
  return process.env.VPNRECON_BIN || path.join(targetDir, 'debug', 'vpnrecon');
}

/** Runs the `vpnrecon` CLI and returns its standard output. */
function cli(args, options = {}) {
  return execFileSync(cliPath(), args, {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
}

/** The non-empty lines of NDJSON text. */
function lines(text) {
  return text.split('\n').filter((line) => line.length > 0);
}

/**
 * Seconds of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)`, the form the CLI reads
 * for the record time it stamps (as Fluent Bit with `Time_Key eventTime`), or null.
 */
function isoSeconds(text) {
  if (typeof text !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d*))?(Z|\+00:00)$/.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return null;
  }
  const days = Date.UTC(year, month - 1, 1) / 86400000 + (day - 1);
  const fraction = m[7] ? Number(`0.${m[7].slice(0, 9)}`) : 0;
  return days * 86400 + hour * 3600 + minute * 60 + second + fraction;
}

/**
 * The record time the CLI's replay passes with each record: the record's own
 * `eventTime` (the first event's for a `Records` batch), else the last one it
 * passed (0 before any).
 */
function recordTimes(records) {
  let last = 0;
  return records.map((record) => {
    let doc = null;
    try {
      doc = JSON.parse(record);
    } catch {
      doc = null;
    }
    let t = null;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      if (Object.hasOwn(doc, 'eventTime')) {
        t = isoSeconds(doc.eventTime);
      } else if (Array.isArray(doc.Records) && doc.Records.length > 0) {
        t = isoSeconds(doc.Records[0] && doc.Records[0].eventTime);
      }
    }
    if (t !== null) last = t;
    return last;
  });
}

/** Every fixture file the end-to-end tests use, with its configuration if any. */
function fixtureFiles() {
  const dirs = [path.join(repo, 'tests', 'fixtures'), path.join(repo, 'tests', 'fixtures', 'clauses')];
  const files = [];
  for (const dir of dirs) {
    for (const name of fs.readdirSync(dir).sort()) {
      if (!name.endsWith('.ndjson')) continue;
      const file = path.join(dir, name);
      const toml = file.replace(/\.ndjson$/, '.toml');
      files.push({ file, toml: fs.existsSync(toml) ? toml : null });
    }
  }
  files.push({ file: path.join(repo, 'samples', 'cloudtrail'), toml: null });
  files.push({ file: path.join(repo, 'samples', 'cloudtrail-events.ndjson'), toml: null });
  return files;
}

module.exports = {
  repo,
  required,
  missing,
  packageDir,
  cliPath,
  cli,
  lines,
  isoSeconds,
  recordTimes,
  fixtureFiles,
};
