// Renders /api/status into the page every few seconds. Every value enters the page as
// text (textContent) or as an attribute, never as HTML: object keys are whatever the
// uploaders chose, and the Content-Security-Policy refuses HTML sinks anyway.
"use strict";
(function () {
  const EVERY_MS = 2000;
  const TIMEOUT_MS = 5000;

  const byId = (id) => document.getElementById(id);
  const numbers = new Intl.NumberFormat();

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  function count(n) { return numbers.format(n || 0); }

  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let v = n || 0, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : 1)) + " " + units[i];
  }

  function duration(s) {
    if (s > 0 && s < 10) return s.toFixed(1) + " s";
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min " + (s % 60) + " s";
    const h = Math.floor(m / 60);
    if (h < 48) return h + " h " + (m % 60) + " min";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }

  // when shows a time, with the date unless it is today, and how long ago it was by
  // the server's clock.
  function when(iso, now) {
    if (!iso) return "never";
    const t = new Date(iso);
    const shown = t.toDateString() === now.toDateString() ? t.toLocaleTimeString() : t.toLocaleString();
    const ago = (now - t) / 1000;
    return shown + (ago < 1 ? " (just now)" : " (" + duration(ago) + " ago)");
  }

  // percent floors to a tenth, so 100 means done, not 99.96.
  function percent(ratio) {
    return Math.floor(Math.min(Math.max(ratio || 0, 0), 1) * 1000) / 10;
  }

  // Characters that would hide or reorder what a key looks like are shown as escapes.
  const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/;

  // quoteKey shows a key as a quoted string with control and invisible characters
  // escaped, as the command line's report prints it.
  function quoteKey(k) {
    let out = "\"";
    for (const ch of k) {
      const c = ch.codePointAt(0);
      if (ch === "\"" || ch === "\\") out += "\\" + ch;
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || INVISIBLE.test(ch)) out += "\\u" + c.toString(16).padStart(4, "0");
      else out += ch;
    }
    return out + "\"";
  }

  // setBar shows ratio; tone colours it: running, complete, or incomplete.
  function setBar(bar, ratio, tone) {
    const p = percent(ratio);
    bar.setAttribute("aria-valuenow", String(p));
    bar.dataset.progress = String(p);
    bar.dataset.tone = tone;
    bar.querySelector(".fill").style.width = p + "%";
    bar.parentElement.querySelector(".pct").textContent = p + "%";
  }

  // newBar returns a meter: the progress bar and its percentage beside it.
  function newBar(label) {
    const bar = el("div", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-label", label);
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.append(el("div", "fill"));
    const pct = el("span", "pct", "0%");
    pct.setAttribute("aria-hidden", "true");
    const meter = el("div", "meter");
    meter.append(bar, pct);
    return { meter, bar };
  }

  // stats fills a <dl> with label/value rows; a row is [field, label, value, tone].
  function stats(dl, rows) {
    const items = rows.map(([field, label, value, tone]) => {
      const div = el("div", "stat" + (tone ? " " + tone : ""));
      div.dataset.field = field;
      div.append(el("dt", "", label), el("dd", "", value));
      return div;
    });
    dl.replaceChildren(...items);
  }

  // bucketState is running, complete, incomplete (the last pass ended with failures,
  // conflicts or a stop), or waiting (no pass yet).
  function bucketState(b) {
    if (b.running) return "running";
    if (b.complete) return "complete";
    if (b.passStarted) return "incomplete";
    return "waiting";
  }

  const cards = new Map();

  function card(name) {
    let c = cards.get(name);
    if (c) return c;
    const root = el("article", "card bucket");
    root.dataset.bucket = name;
    const head = el("div", "head");
    const state = el("span", "state");
    head.append(el("h2", "name", name), state);
    const { meter, bar } = newBar(name);
    const dl = el("dl", "stats");
    const failures = el("div", "failures");
    failures.hidden = true;
    root.append(head, meter, dl, failures);
    c = { root, state, bar, dl, failures };
    cards.set(name, c);
    return c;
  }

  function renderBucket(b, now) {
    const c = card(b.bucket);
    const state = bucketState(b);
    c.state.dataset.state = state;
    c.state.textContent = state;
    setBar(c.bar, b.progress, state);
    const eta = b.etaSeconds === undefined || b.etaSeconds === null ? "unknown" : duration(b.etaSeconds);
    stats(c.dl, [
      ["objects", "Objects", count(b.objectsDone) + " / " + count(b.objectsKnown)],
      ["bytes", "Bytes", bytes(b.bytesDone) + " / " + bytes(b.bytesKnown)],
      ["rate", "Rate", b.running ? bytes(b.bytesPerSecond) + "/s" : "–"],
      ["eta", "ETA", b.running ? eta : (b.complete ? "done" : "–")],
      ["copied", "Copied", count(b.copied) + " (" + bytes(b.bytesCopied) + ")"],
      ["skipped", "Already there", count(b.skipped)],
      ["failed", "Failed", count(b.failed), b.failed > 0 ? "bad" : ""],
      ["conflicts", "Conflicts", count(b.conflicts), b.conflicts > 0 ? "warn" : ""],
      // The destination keeps no tags (R2): OpenReplay's retention tags are lost there.
      ["tagsdropped", "Copied without tags", count(b.tagsDropped || 0), b.tagsDropped > 0 ? "warn" : ""],
      ["checkpoint", "Last checkpoint", when(b.lastCheckpoint, now)],
      ["started", "Pass started", when(b.passStarted, now)],
    ]);
    renderFailures(c.failures, b);
    return c.root;
  }

  function renderFailures(box, b) {
    const keys = b.failedKeys || [];
    box.hidden = keys.length === 0;
    if (box.hidden) { box.replaceChildren(); return; }
    const title = keys.length < b.failed
      ? "First " + keys.length + " of " + count(b.failed) + " failed keys"
      : "Failed keys";
    const list = el("ul", "keys");
    for (const f of keys) {
      const li = el("li");
      li.append(el("code", "key", quoteKey(f.key)), el("span", "err", f.error));
      list.append(li);
    }
    box.replaceChildren(el("h3", "", title), list);
  }

  function renderSummary(s, now) {
    const phase = byId("phase");
    phase.dataset.phase = s.phase;
    phase.textContent = "phase: " + s.phase;

    let known = 0, weighted = 0, done = 0, left = 0, rate = 0, failed = 0, conflicts = 0;
    let objDone = 0, objKnown = 0, checkpoint = "";
    for (const b of s.buckets) {
      known += b.bytesKnown;
      weighted += b.progress * b.bytesKnown;
      done += b.bytesDone;
      if (b.running || !b.passStarted) left += Math.max(b.bytesKnown - b.bytesDone, 0);
      rate += b.bytesPerSecond;
      failed += b.failed;
      conflicts += b.conflicts;
      objDone += b.objectsDone;
      objKnown += b.objectsKnown;
      if (b.lastCheckpoint && b.lastCheckpoint > checkpoint) checkpoint = b.lastCheckpoint;
    }
    let overall = 0;
    if (known > 0) overall = weighted / known;
    else if (s.buckets.length > 0) overall = s.buckets.every((b) => b.progress >= 1) ? 1 : 0;
    const tone = s.buckets.some((b) => b.running) ? "running"
      : s.buckets.length > 0 && s.buckets.every((b) => b.complete) ? "complete"
      : s.buckets.some((b) => b.passStarted) ? "incomplete" : "waiting";
    setBar(byId("overall"), overall, tone);
    document.title = percent(overall) + "% · OpenReplay migration";

    const running = s.buckets.some((b) => b.running);
    stats(byId("totals"), [
      ["objects", "Objects", count(objDone) + " / " + count(objKnown)],
      ["bytes", "Bytes", bytes(done) + " / " + bytes(known)],
      ["rate", "Rate", running ? bytes(rate) + "/s" : "–"],
      ["eta", "ETA", running ? (rate > 0 ? duration(left / rate) : "unknown") : "–"],
      ["failed", "Failed", count(failed), failed > 0 ? "bad" : ""],
      ["conflicts", "Conflicts", count(conflicts), conflicts > 0 ? "warn" : ""],
      ["inflight", "In flight", count(s.inFlight) + (s.concurrencyLimit ? " of " + count(s.concurrencyLimit) : "")],
      ["checkpoint", "Last checkpoint", when(checkpoint, now)],
    ]);

    const runs = new Map(s.runs.map((r) => [r.kind, r]));
    const rows = [];
    for (const kind of ["copy", "sync"]) {
      const r = runs.get(kind);
      rows.push(["success-" + kind, "Last successful " + kind, when(r && r.lastSuccess, now)]);
    }
    for (const r of s.runs) {
      rows.push(["last-" + r.kind, "Last " + r.kind,
        (r.lastOk ? "ok" : "failed") + " · " + when(r.lastFinished, now) + " · took " + duration(r.lastDurationSeconds),
        r.lastOk ? "" : "bad"]);
    }
    // serve's notification streams: what copies new objects between the syncs.
    const n = s.notifications;
    if (n) {
      const bs = n.buckets || [];
      const up = bs.filter((b) => b.connected).length;
      const copied = bs.reduce((a, b) => a + b.copied, 0);
      const text = n.mode === "listening" ? up + " of " + bs.length + " streams connected · " + count(copied) + " copied"
        : n.mode === "schedule" ? "source is not MinIO: schedule only" : "off: schedule only";
      rows.push(["notifications", "Notifications", text, n.mode === "listening" && up < bs.length ? "warn" : ""]);
    }
    stats(byId("runs"), rows);
  }

  function render(s) {
    const now = new Date(s.now);
    renderSummary(s, now);
    const list = byId("buckets");
    const seen = new Set();
    const nodes = s.buckets.map((b) => { seen.add(b.bucket); return renderBucket(b, now); });
    for (const name of cards.keys()) if (!seen.has(name)) cards.delete(name);
    list.replaceChildren(...nodes);
    byId("updated").textContent = "updated " + now.toLocaleTimeString();
  }

  async function poll() {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const resp = await fetch("/api/status", { cache: "no-store", signal: ctl.signal });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      render(await resp.json());
      byId("offline").hidden = true;
    } catch (e) {
      byId("offline").hidden = false;
    } finally {
      clearTimeout(timer);
      setTimeout(poll, EVERY_MS);
    }
  }

  poll();
})();
