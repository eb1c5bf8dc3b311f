/**
 * Parses a schedlab `--trace` file with the Chrome DevTools trace engine (the code behind the
 * Performance panel, published as `@paulirish/trace_engine`) and prints what it made of it.
 *
 * Usage: node check-trace.mjs TRACE.json
 *
 * Prints one JSON object to stdout: the engine's version, the tracks (threads) it found with
 * their names and how many events of each phase and category each holds, the call tree it
 * built per track with the entries left out of it (`tree.notDrawn`: the Performance panel draws
 * a track from its tree, so these are kept but never shown), which of the input's events no
 * track holds (`notRecognised`), and the problems found. Exits 1 if the engine throws, finds no
 * thread of pid 1, or loses a named track or a complete (`X`) event of one; 2 on a usage or
 * I/O error. `tree.notDrawn` is reported, not judged: the caller decides.
 *
 * The engine is written for Chrome's own traces, so it keeps only what its handlers know: for
 * a generic trace like ours that is the `Renderer` handler's per-thread `X`/`I`/`B`/`E` events
 * and the `Meta` handler's process and thread names. Counters (`C`) and lower-case instants
 * (`i`) are not shown by the Performance panel and are reported under `notRecognised` rather
 * than treated as failures; the checks are about what the panel must show: every named track
 * and every slice on it.
 */

import fs from 'node:fs';
import {createRequire} from 'node:module';

import * as Trace from '@paulirish/trace_engine';
import {polyfillDOMRect} from '@paulirish/trace_engine/analyze-trace.mjs';

// The engine's own Node entry point: some handlers construct DOMRects, which Node lacks.
if (typeof globalThis.DOMRect === 'undefined') {
  polyfillDOMRect();
}

const PID = 1;

function engineVersion() {
  const require = createRequire(import.meta.url);
  return require('@paulirish/trace_engine/package.json').version;
}

/** Adds one to `counts[key]`. */
function bump(counts, key) {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Nodes and depth of one thread's call tree, and the entries left out of it. The Performance
 * panel draws a thread's track by walking this tree, so an entry outside it is never shown
 * (the engine leaves out an event that starts inside another and ends after it).
 */
function treeSummary(tree, entries) {
  if (!tree) {
    return null;
  }
  const inTree = new Set();
  let maxDepth = 0;
  // Walked without recursion: a long run's trees can be deep.
  const stack = [...tree.roots].map(node => [node, 1]);
  while (stack.length) {
    const [node, depth] = stack.pop();
    inTree.add(node.entry);
    maxDepth = Math.max(maxDepth, depth);
    for (const child of node.children) {
      stack.push([child, depth + 1]);
    }
  }
  const left = entries.filter(e => !inTree.has(e));
  const byCategory = {};
  for (const e of left) {
    bump(byCategory, e.cat ?? '');
  }
  return {
    roots: tree.roots.size,
    nodes: inTree.size,
    maxDepth,
    notDrawn: {
      count: left.length,
      byCategory,
      first: left.slice(0, 3).map(e => ({name: e.name, ts: e.ts, dur: e.dur ?? null})),
    },
  };
}

/** Per-tid counts of the input's events of `pid`, by phase, and the names `thread_name` gives. */
function inputSummary(events) {
  const byTid = new Map();
  const names = new Map();
  const byPhase = {};
  for (const e of events) {
    bump(byPhase, e.ph);
    if (e.pid !== PID) {
      continue;
    }
    if (e.ph === 'M') {
      if (e.name === 'thread_name') {
        names.set(e.tid, e.args?.name ?? null);
      }
      continue;
    }
    // Counters belong to the process, not to a thread track.
    if (e.ph === 'C' || e.tid === undefined) {
      continue;
    }
    const counts = byTid.get(e.tid) ?? {};
    bump(counts, e.ph);
    byTid.set(e.tid, counts);
  }
  return {byPhase, byTid, names};
}

async function main() {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node check-trace.mjs TRACE.json');
    process.exit(2);
  }
  let events;
  try {
    const doc = JSON.parse(fs.readFileSync(path, 'utf8'));
    events = Array.isArray(doc) ? doc : doc.traceEvents;
    if (!Array.isArray(events)) {
      throw new Error('no traceEvents array');
    }
  } catch (e) {
    console.error(`check-trace: cannot read ${path}: ${e.message}`);
    process.exit(2);
  }
  const input = inputSummary(events);
  const summary = {
    engine: {package: '@paulirish/trace_engine', version: engineVersion()},
    file: path,
    input: {events: events.length, byPhase: input.byPhase},
    traceIsGeneric: null,
    traceBoundsUs: null,
    processName: null,
    threads: [],
    notRecognised: {},
    warnings: 0,
    problems: [],
    error: null,
  };

  // stdout carries only the summary: anything the engine logs goes to stderr.
  const log = console.log;
  console.log = console.info = console.debug = console.error;
  let data;
  try {
    const model = Trace.TraceModel.Model.createWithAllHandlers();
    // The engine stores its input events and may annotate them, so it gets its own copy.
    await model.parse(structuredClone(events));
    data = model.parsedTrace(0)?.data;
    if (!data) {
      throw new Error('the engine returned no parsed trace');
    }
  } catch (e) {
    summary.error = String(e?.stack ?? e);
  }
  console.log = log;

  if (data) {
    const meta = data.Meta;
    summary.traceIsGeneric = meta.traceIsGeneric;
    summary.traceBoundsUs = {min: meta.traceBounds.min, max: meta.traceBounds.max};
    summary.processName = meta.processNames.get(PID)?.args?.name ?? null;
    summary.warnings = data.Warnings?.perWarning?.size ?? 0;
    // The helper the Performance panel itself uses to decide which thread tracks to draw.
    const threads = Trace.Handlers.Threads.threadsInTrace(data).filter(t => t.pid === PID);
    const kept = {};
    for (const t of threads) {
      const byPhase = {};
      const byCategory = {};
      for (const e of t.entries) {
        bump(byPhase, e.ph);
        bump(kept, e.ph);
        if (e.cat !== undefined) {
          bump(byCategory, e.cat);
        }
      }
      summary.threads.push({
        pid: t.pid,
        tid: t.tid,
        name: t.name ?? null,
        type: t.type,
        entries: t.entries.length,
        byPhase,
        byCategory,
        taskSlices: t.entries.filter(e => e.ph === 'X' && e.cat === 'task').length,
        tree: treeSummary(t.tree, t.entries),
      });
    }
    summary.threads.sort((a, b) => a.tid - b.tid);
    // What the input has on pid 1's threads that no track of the engine holds.
    const given = {};
    for (const counts of input.byTid.values()) {
      for (const [ph, n] of Object.entries(counts)) {
        given[ph] = (given[ph] ?? 0) + n;
      }
    }
    given.C = events.filter(e => e.pid === PID && e.ph === 'C').length;
    for (const [ph, n] of Object.entries(given)) {
      const missing = n - (kept[ph] ?? 0);
      if (missing > 0) {
        summary.notRecognised[ph] = missing;
      }
    }

    if (!summary.threads.length) {
      summary.problems.push(`the engine found no thread of pid ${PID}`);
    }
    const found = new Map(summary.threads.map(t => [t.tid, t]));
    for (const [tid, name] of input.names) {
      const t = found.get(tid);
      if (!t) {
        summary.problems.push(`track ${tid} (${name}) is missing`);
      } else if (t.name !== name) {
        summary.problems.push(`track ${tid} is named ${JSON.stringify(t.name)}, not ${JSON.stringify(name)}`);
      }
    }
    for (const [tid, counts] of input.byTid) {
      const x = counts.X ?? 0;
      const got = found.get(tid)?.byPhase.X ?? 0;
      if (got !== x) {
        summary.problems.push(`track ${tid} holds ${got} of its ${x} complete (X) events`);
      }
    }
  } else {
    summary.problems.push('the engine threw');
  }

  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  process.exitCode = summary.problems.length ? 1 : 0;
}

await main();
