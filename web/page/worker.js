// The triage page's worker: reads the dropped files (gunzipping in the browser),
// splits them into CloudTrail records, runs each through the vpnrecon detector and
// sends back what the page shows. Running here keeps the page responsive on large
// archives; nothing leaves the browser.
import init, { Detector } from './pkg/vpnrecon_filter.js';

const ready = init();
/** Discovery calls kept for the timeline; past this only counts go on. */
const MAX_TIMELINE_EVENTS = 200000;
const PROGRESS_EVERY_MS = 200;

self.onmessage = async (message) => {
  const request = message.data;
  try {
    await ready;
    if (request.type === 'explain') {
      const detector = new Detector();
      self.postMessage({ type: 'explained', result: JSON.parse(detector.explain(request.text, 0)) });
      return;
    }
    const run = new Run();
    if (request.type === 'files') {
      await run.files(request.files);
    } else if (request.type === 'text') {
      run.totalBytes = request.text.length;
      await run.text(request.name, request.text);
    }
    self.postMessage({ type: 'result', ...run.result() });
  } catch (error) {
    self.postMessage({ type: 'error', message: String(error && error.message ? error.message : error) });
  }
};

class Run {
  constructor() {
    this.detector = new Detector();
    this.totalBytes = 0;
    this.bytesRead = 0;
    this.fileCount = 0;
    this.records = 0;
    this.invalidJson = 0;
    this.lastTime = 0;
    this.detections = [];
    this.timeline = [];
    this.timelineDropped = 0;
    this.asns = new Map();
    this.lastProgress = 0;
  }

  async files(files) {
    const sorted = [...files].sort((a, b) => a.name.localeCompare(b.name));
    this.totalBytes = sorted.reduce((sum, f) => sum + f.size, 0);
    for (const file of sorted) {
      await this.file(file);
    }
  }

  async file(file) {
    this.fileCount += 1;
    const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    const counter = new TransformStream({
      transform: (chunk, controller) => {
        this.bytesRead += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    let stream = file.stream().pipeThrough(counter);
    if (gzip) stream = stream.pipeThrough(new DecompressionStream('gzip'));
    stream = stream.pipeThrough(new TextDecoderStream());
    await this.lines(file.name, stream.getReader());
  }

  async text(name, text) {
    this.fileCount += 1;
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(text);
        controller.close();
      },
    });
    await this.lines(name, stream.getReader());
    this.bytesRead = this.totalBytes;
  }

  /** NDJSON line by line; a file whose first line is not a whole document is read whole. */
  async lines(name, reader) {
    let pending = '';
    let first = true;
    let whole = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (whole !== null) {
        whole.push(value);
        continue;
      }
      pending += value;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line.length === 0) continue;
        if (first) {
          first = false;
          if (/^[[{]/.test(line) && !/[\]}]$/.test(line)) {
            whole = [line, '\n', pending];
            pending = '';
            break;
          }
        }
        this.document(line);
      }
      this.progress(name);
    }
    if (whole !== null) {
      this.document(whole.join(''));
    } else if (pending.trim().length > 0) {
      this.document(pending.trim());
    }
    this.progress(name, true);
  }

  /** One JSON document: an S3 delivery file is split into its events, as the CLI does. */
  document(text) {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch {
      this.invalidJson += 1;
      this.record(text, undefined);
      return;
    }
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      if (Object.hasOwn(doc, 'digestPublicKeyFingerprint')) return;
      if (Array.isArray(doc.Records)) {
        for (const event of doc.Records) this.record(JSON.stringify(event), event);
        return;
      }
    }
    if (Array.isArray(doc)) {
      for (const event of doc) this.record(JSON.stringify(event), event);
      return;
    }
    this.record(text, doc);
  }

  record(text, doc) {
    this.records += 1;
    const time = eventSeconds(doc);
    if (time !== null) this.lastTime = time;
    const out = this.detector.annotate(text, this.lastTime);
    const fired = new Map();
    if (out !== text) {
      const detection = JSON.parse(out).detection;
      for (const one of detection.events || [detection]) {
        fired.set(one.index ?? null, one);
        this.detections.push(row(this.detections.length, one));
      }
    }
    if (!mayBeDiscovery(doc) && fired.size === 0) return;
    const explained = JSON.parse(this.detector.explain(text, this.lastTime));
    for (const event of explained.events || []) {
      if (!event.discovery) continue;
      const detection = fired.get(event.index ?? null) || null;
      this.count(event, detection);
      if (this.timeline.length >= MAX_TIMELINE_EVENTS) {
        this.timelineDropped += 1;
        continue;
      }
      this.timeline.push(timelineEvent(this.timeline.length, event, detection));
    }
  }

  count(event, detection) {
    const asn = event.fields.asn;
    if (!asn) return;
    let entry = this.asns.get(asn.number);
    if (!entry) {
      entry = { number: asn.number, organization: asn.organization, category: asn.vpn_category, calls: 0, detections: 0 };
      this.asns.set(asn.number, entry);
    }
    entry.calls += 1;
    if (detection) entry.detections += 1;
  }

  progress(name, force = false) {
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    self.postMessage({
      type: 'progress',
      file: name,
      bytesRead: this.bytesRead,
      totalBytes: this.totalBytes,
      records: this.records,
      detections: this.detections.length,
    });
  }

  result() {
    const info = JSON.parse(this.detector.info());
    return {
      summary: {
        files: this.fileCount,
        bytes: this.bytesRead,
        records: this.records,
        parsed: info.counters.parsed,
        candidates: info.counters.candidates,
        detections: this.detections.length,
        byRule: info.counters.detections,
        unparsable: info.counters.unparsable,
        invalidJson: this.invalidJson,
        discoveryCalls: this.timeline.length + this.timelineDropped,
        timelineDropped: this.timelineDropped,
        version: info.version,
        asnData: info.asn_data,
        window: info.config.window,
      },
      detections: this.detections,
      timeline: this.timeline,
      asns: [...this.asns.values()].sort((a, b) => b.calls - a.calls || a.number - b.number),
    };
  }
}

/** The record's own time, for records that lack a readable `eventTime` later on. */
function eventSeconds(doc) {
  if (!doc || typeof doc !== 'object') return null;
  const text = doc.eventTime ?? (doc.detail && doc.detail.eventTime) ?? doc['@timestamp'];
  if (typeof text !== 'string') return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/**
 * Cheap test before asking for an explanation: could this record hold an API call?
 * Records that do not parse, or whose shape hides the action, are asked anyway.
 */
function mayBeDiscovery(doc) {
  if (!doc || typeof doc !== 'object') return false;
  const action = doc.eventName ?? (doc.detail && doc.detail.eventName);
  if (typeof action === 'string') return /^(Get|List|Describe|Lookup)/.test(action);
  return true;
}

function row(id, d) {
  return {
    id,
    time: d.event.time ?? "",
    rule: d.rule.id,
    severity: d.rule.severity,
    arn: d.identity.arn ?? '',
    user: d.identity.user_name ?? '',
    account: d.identity.account_id ?? '',
    key: d.identity.key ?? '',
    action: d.event.action,
    provider: d.event.provider,
    outcome: d.event.outcome,
    ip: d.source.ip,
    asn: d.source.as.number,
    organization: d.source.as.organization ? d.source.as.organization.name : '',
    category: d.source.asn_category,
    reason: d.reason,
    configError: d.config_error ?? null,
  };
}

function timelineEvent(id, event, detection) {
  const f = event.fields;
  const seconds = Date.parse(f.time ?? '');
  let why;
  if (detection) {
    why = `fired ${detection.rule.id}: ${detection.reason}`;
  } else if (event.candidate) {
    why =
      event.rule === 'B'
        ? `did not fire: ${event.reason}; this principal, ASN and action already alerted in this UTC hour`
        : `did not fire: ${event.reason}; this key was seen within the window before`;
  } else {
    why = `not a candidate: ${event.reason}`;
  }
  return {
    id,
    time: Number.isFinite(seconds) ? seconds / 1000 : null,
    timeText: f.time,
    identity: `${f.account_id ?? '?'} / ${f.user_name ?? f.arn ?? '?'}`,
    arn: f.arn,
    action: f.action,
    provider: f.provider,
    ip: f.source_ip,
    asn: f.asn ? f.asn.number : null,
    organization: f.asn ? f.asn.organization : null,
    vpn: Boolean(f.asn && f.asn.vpn_category),
    category: f.asn ? f.asn.vpn_category : null,
    fired: detection ? detection.rule.id : null,
    why,
  };
}
