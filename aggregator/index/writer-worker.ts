/**
 * The index writer's worker thread. It runs from its own source text (`eval` worker, see
 * index-writer.ts), because the single executable has no file a worker could load: so this
 * function must be self-contained — no imports, no identifiers from outside its body; Node's
 * built-ins come from process.getBuiltinModule, the SQL and settings from workerData.
 *
 * Messages in: add {node, seq, data (NDJSON bytes), meta?}, flush, deleteOlderThan {cutoff},
 * trimNode {node, maxBytes}, close — each but add with an id that the answer carries.
 * Messages out: ready, flushed {nodes: [node, entries, errors][], indexed, bad, bytes, ms}, done
 * {id, result}, failed {id?, bytes?, message}.
 *
 * Parsing and inserting happen here, off the thread that takes batches from agents and sends
 * their ACKs: on a multi-core gateway server the index costs ingest little.
 */
export function indexWriterMain(): void {
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const port = parentPort!;
  const wd = workerData as {
    path: string; flushMs: number; flushBytes: number; schema: string;
    sql: { insert: string; fts: string; node: string; nodes: string; setMeta: string; nodeBytes: string; nodeRowsNewestFirst: string; progress: string };
    ranks: Record<string, number>; nice: number;
  };
  // This thread only (Linux: setpriority on a thread id), `nice` below the aggregator's own
  // priority, so that under CPU contention the aggregator's main thread (sessions, ACKs) wins and
  // the index lags instead of slowing ingest.
  let nice: number | string;
  try {
    const os = process.getBuiltinModule('node:os');
    const tid = Number(process.getBuiltinModule('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) throw new Error('no thread id in /proc/thread-self');
    nice = Math.min(19, os.getPriority(tid) + wd.nice);
    os.setPriority(tid, nice);
  } catch (e) {
    nice = `not applied: ${(e as Error).message}`;
  }
  const db = new DatabaseSync(wd.path);
  db.exec(wd.schema);
  // An index written before `progress` existed: its sequences come from the rows, once.
  if (!db.prepare('SELECT 1 FROM progress LIMIT 1').get() && db.prepare('SELECT 1 FROM entries LIMIT 1').get()) {
    db.exec(`INSERT INTO progress (node, seq) SELECT node, max(CASE WHEN batch_seq > 0 THEN batch_seq ELSE coalesce(json_extract(line, '$.seq'), 0) END) FROM entries GROUP BY node`);
  }
  const st = {
    insert: db.prepare(wd.sql.insert), fts: db.prepare(wd.sql.fts), node: db.prepare(wd.sql.node), setMeta: db.prepare(wd.sql.setMeta),
    nodeBytes: db.prepare(wd.sql.nodeBytes), nodeRows: db.prepare(wd.sql.nodeRowsNewestFirst), progress: db.prepare(wd.sql.progress),
  };
  const nodeIds = new Map<string, number>();
  for (const r of db.prepare(wd.sql.nodes).all() as { id: number; name: string }[]) nodeIds.set(r.name, r.id);
  const decoder = new TextDecoder();
  let queue: { node: string; seq: number; data: Uint8Array; meta?: [string, string]; received: number }[] = [];
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | undefined;

  const nodeId = (name: string): number => {
    let id = nodeIds.get(name);
    if (id === undefined) {
      id = Number(st.node.run(name).lastInsertRowid);
      nodeIds.set(name, id);
    }
    return id;
  };

  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (queue.length === 0) return;
    const items = queue;
    queue = [];
    queuedBytes = 0;
    const t0 = performance.now();
    // Per node: entries, ERROR/FATAL entries, highest batch sequence.
    const perNode = new Map<string, [number, number, number]>();
    let indexed = 0;
    let bad = 0;
    db.exec('BEGIN');
    try {
      for (const p of items) {
        const node = nodeId(p.node);
        const counts = perNode.get(p.node) ?? [0, 0, 0];
        perNode.set(p.node, counts);
        const text = decoder.decode(p.data);
        let start = 0;
        while (start < text.length) {
          let end = text.indexOf('\n', start);
          if (end < 0) end = text.length;
          const line = text.slice(start, end);
          start = end + 1;
          if (line.length === 0) continue;
          let e: Record<string, unknown>;
          try {
            e = JSON.parse(line) as Record<string, unknown>;
            if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new Error('not an object');
          } catch {
            bad++;
            continue;
          }
          const ts = typeof e.timestamp === 'string' ? Date.parse(e.timestamp) : NaN;
          const level = wd.ranks[String(e.level)] ?? 1;
          // A live batch has its sequence; lines read back from the store (reindex, catch-up)
          // carry theirs as the aggregator stored it.
          const seq = p.seq || (typeof e.seq === 'number' && Number.isSafeInteger(e.seq) ? e.seq : 0);
          if (seq > counts[2]) counts[2] = seq;
          const id = st.insert.run(
            node, Number.isFinite(ts) ? ts : p.received, level, typeof e.module === 'string' ? e.module : '',
            typeof e.source === 'string' ? e.source : null, typeof e.lang_key === 'string' ? e.lang_key : null,
            seq, Buffer.byteLength(line) + 1, line,
          ).lastInsertRowid;
          // What free text searches: the message, the lang_key and its arguments.
          let search = typeof e.message === 'string' ? e.message : '';
          if (typeof e.lang_key === 'string') search += ' ' + e.lang_key;
          if (Array.isArray(e.args)) search += ' ' + e.args.join(' ');
          st.fts.run(id, search);
          indexed++;
          counts[0]++;
          if (level >= 3) counts[1]++;
        }
        if (p.meta) st.setMeta.run(p.meta[0], p.meta[1]);
      }
      for (const [name, c] of perNode) if (c[2] > 0) st.progress.run(nodeId(name), c[2]);
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      let bytes = 0;
      for (const p of items) bytes += p.data.length;
      port.postMessage({ op: 'failed', bytes, message: `index: writing ${items.length} batches failed: ${(e as Error).message}` });
      return;
    }
    let bytes = 0;
    for (const p of items) bytes += p.data.length;
    port.postMessage({ op: 'flushed', nodes: [...perNode].map(([n, c]) => [n, c[0], c[1]]), indexed, bad, bytes, ms: performance.now() - t0 });
  };

  const deleteWhere = (cond: string, params: number[]): number => {
    flush();
    db.exec('BEGIN');
    try {
      db.prepare(`DELETE FROM entries_text WHERE rowid IN (SELECT id FROM entries WHERE ${cond})`).run(...params);
      const n = Number(db.prepare(`DELETE FROM entries WHERE ${cond}`).run(...params).changes);
      db.exec('COMMIT');
      return n;
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  };

  const trimNode = (name: string, maxBytes: number): number => {
    const id = nodeIds.get(name);
    if (id === undefined) return 0;
    flush();
    if ((st.nodeBytes.get(id) as { b: number }).b <= maxBytes) return 0;
    // The newest rows whose running total fits stay; the first that does not fit and all older go.
    let kept = 0;
    let cut = 0;
    for (const r of st.nodeRows.iterate(id) as Iterable<{ id: number; bytes: number }>) {
      kept += r.bytes;
      if (kept > maxBytes) {
        cut = r.id;
        break;
      }
    }
    return cut ? deleteWhere('node = ? AND id <= ?', [id, cut]) : 0;
  };

  port.on('message', (m: { op: string; id?: number; node?: string; seq?: number; data?: Uint8Array; meta?: [string, string]; cutoff?: number; maxBytes?: number; received?: number }) => {
    try {
      switch (m.op) {
        case 'add':
          queue.push({ node: m.node!, seq: m.seq!, data: m.data!, meta: m.meta, received: m.received! });
          queuedBytes += m.data!.length;
          if (queuedBytes >= wd.flushBytes) flush();
          else timer ??= setTimeout(flush, wd.flushMs);
          return;
        case 'flush':
          flush();
          return port.postMessage({ op: 'done', id: m.id, result: 0 });
        case 'deleteOlderThan':
          return port.postMessage({ op: 'done', id: m.id, result: deleteWhere('ts < ?', [m.cutoff!]) });
        case 'trimNode':
          return port.postMessage({ op: 'done', id: m.id, result: trimNode(m.node!, m.maxBytes!) });
        case 'close':
          flush();
          db.close();
          port.postMessage({ op: 'done', id: m.id, result: 0 });
          port.close();
          return;
      }
    } catch (e) {
      port.postMessage({ op: 'failed', id: m.id, message: `index: ${m.op}: ${(e as Error).message}` });
    }
  });
  port.postMessage({ op: 'ready', nice });
}
