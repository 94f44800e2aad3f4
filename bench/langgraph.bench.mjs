#!/usr/bin/env node
// LangGraph checkpoints, one run: SnapshelfCheckpointSaver (built package, imported by name) vs
// LangGraph's own MemorySaver (the floor: plain objects in memory) on a 100-step thread, driven by
// the saver API exactly as LangGraph's loop calls it: per step one put (the channels that changed)
// and one putWrites, then getTuple of the newest checkpoint. Ours over MemoryStorage (gzip and
// none), and over S3 (Ceph) when S3_* is set. Then bytes stored for the 100 steps: ours (channel
// values once per version) vs whole snapshots (every checkpoint carrying every channel value, what
// a saver storing whole checkpoints writes), raw and gzipped. Medians of ROUNDS; compare ratios.
// LangGraph's SQLite saver (in memory, and a file) joins when it installs (bench/peers.mjs: a
// bench-only peer, compiled on first use, never a devDependency).
// Usage: node bench/langgraph.bench.mjs   (after `npx tsup`; bench/run.mjs runs it with the others)
import { MemorySaver, emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint'
import { gzipSync } from 'node:zlib'
import { MemoryStorage } from 'snapshelf'
import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'
import { S3Storage } from 'snapshelf/s3'
import { readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { benchPeer } from './peers.mjs'
import { goal, progress, quick } from './report.mjs'

const STEPS = 100
// --quick (bench/run.mjs): 3 rounds (the median then skips the cold first one), a smoke run.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 3 : 5))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const kb = (n) => `${(n / 1024).toFixed(1)} KB`

/** Text that compresses like prose (about 3x with gzip): words drawn by a seeded generator. */
function prose(seed, chars) {
  const words = [
    'the',
    'agent',
    'called',
    'a',
    'tool',
    'with',
    'result',
    'user',
    'asked',
    'about',
    'weather',
    'in',
    'Paris',
    'flight',
    'hotel',
    'booked',
    'price',
    'euros',
    'tomorrow',
    'morning',
    'option',
    'cheaper',
    'later',
    'train',
    'station',
    'confirmed',
    'seat',
  ]
  let x = seed * 2654435761 + 1
  let text = ''
  while (text.length < chars) {
    x = (x * 1103515245 + 12345) % 2147483648
    text += `${words[x % words.length]}${x % 13 ? ' ' : '. '}${x % 7 === 0 ? x % 1000 : ''}`
  }
  return text
}
const DOCUMENT = prose(999, 20_000)

/**
 * The state of step `i` of an agent thread: a transcript that grows by one message per step (the
 * last 20 kept, as trimming agents do), a 20 KB reference document loaded once, a plan revised every
 * 10 steps and a step counter. Which channels change per step is what LangGraph's newVersions says.
 */
function stateAt(i) {
  const messages = []
  for (let m = Math.max(0, i - 19); m <= i; m++) messages.push({ role: m % 2 ? 'assistant' : 'user', content: prose(m, 240) })
  return {
    values: { messages, document: DOCUMENT, plan: prose(10_000 + Math.floor(i / 10), 600), step: i },
    changed: ['messages', 'step', ...(i === 0 ? ['document'] : []), ...(i % 10 === 0 ? ['plan'] : [])],
  }
}

/** Lists the whole thread (what getStateHistory reads); returns ms. */
async function history(saver, threadId) {
  const t0 = performance.now()
  let n = 0
  for await (const tuple of saver.list({ configurable: { thread_id: threadId, checkpoint_ns: '' } })) n += tuple.checkpoint ? 1 : 0
  if (n !== STEPS) throw new Error(`listed ${n} checkpoints`)
  return performance.now() - t0
}

/** Runs the 100-step thread on `saver`; returns ms. */
async function thread(saver, threadId) {
  const versions = {}
  let config = { configurable: { thread_id: threadId, checkpoint_ns: '' } }
  const t0 = performance.now()
  for (let i = 0; i < STEPS; i++) {
    const { values, changed } = stateAt(i)
    const newVersions = {}
    for (const channel of changed) newVersions[channel] = versions[channel] = saver.getNextVersion(versions[channel])
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(i), channel_values: values, channel_versions: { ...versions } }
    config = await saver.put(config, checkpoint, { source: 'loop', step: i, parents: {} }, newVersions)
    await saver.putWrites(config, [['messages', values.messages.at(-1)]], `task-${i}`)
    const tuple = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: '' } })
    if (tuple?.checkpoint.id !== checkpoint.id) throw new Error(`step ${i}: read back ${tuple?.checkpoint.id}`)
  }
  return performance.now() - t0
}

const s3 = process.env.S3_ENDPOINT
  ? () =>
      new S3Storage({
        bucket: process.env.S3_BUCKET,
        endpoint: process.env.S3_ENDPOINT,
        region: process.env.S3_REGION,
        accessKeyId: process.env.S3_ACCESS_KEY,
        secretAccessKey: process.env.S3_SECRET_KEY,
        forcePathStyle: true,
        prefix: `bench/lg-${Date.now().toString(36)}`,
      })
  : undefined
const sqlite = await benchPeer('@langchain/langgraph-checkpoint-sqlite@1.0.4', '@langchain/langgraph-checkpoint-sqlite')
let sqliteFiles = 0
const contenders = [
  ['MemorySaver (LangGraph)', () => new MemorySaver()],
  ...(sqlite
    ? [
        ['SqliteSaver (LangGraph, :memory:)', () => sqlite.SqliteSaver.fromConnString(':memory:')],
        [
          'SqliteSaver (LangGraph, file)',
          () => sqlite.SqliteSaver.fromConnString(`${tmpdir()}/snapshelf-bench-${process.pid}-${sqliteFiles++}.db`),
        ],
      ]
    : []),
  ['ours over MemoryStorage (gzip)', () => new SnapshelfCheckpointSaver({ storage: new MemoryStorage() })],
  ['ours over MemoryStorage (none)', () => new SnapshelfCheckpointSaver({ storage: new MemoryStorage({ compression: 'none' }) })],
  ...(s3 ? [['ours over S3Storage (Ceph, gzip)', () => new SnapshelfCheckpointSaver({ storage: s3() })]] : []),
]
const times = Object.fromEntries(contenders.map(([name]) => [name, []]))
const lists = Object.fromEntries(contenders.map(([name]) => [name, []]))
let langgraphCase = 0
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, make] of contenders) {
    progress('langgraph', ++langgraphCase, ROUNDS * contenders.length, `round ${round + 1}/${ROUNDS}: ${name}`)
    const saver = make()
    times[name].push(await thread(saver, `t${round}`))
    lists[name].push(await history(saver, `t${round}`))
    await saver.deleteThread(`t${round}`)
  }
}
const floor = median(times[contenders[0][0]])
console.log(`${STEPS}-step thread: put + putWrites + getTuple(newest) per step, then list the whole thread; median of ${ROUNDS}`)
console.table(
  contenders.map(([name]) => ({
    saver: name,
    'ms / thread': median(times[name]).toFixed(1),
    'ms / step': (median(times[name]) / STEPS).toFixed(2),
    'x MemorySaver': (median(times[name]) / floor).toFixed(1),
    'list all 100 (ms)': median(lists[name]).toFixed(1),
  })),
)

// No goal is set for the saver's speed: the figures are reported (run.mjs lists them as such).
for (const [name] of contenders.slice(1))
  goal({
    bench: 'langgraph',
    goal: `${name}, ms per step (no goal set)`,
    measured: `${(median(times[name]) / STEPS).toFixed(2)} ms, ${(median(times[name]) / floor).toFixed(1)}× MemorySaver`,
    met: null,
  })

// Bytes for the 100 steps.
const bytesOf = async (compression) => {
  const storage = new MemoryStorage({ compression })
  await thread(new SnapshelfCheckpointSaver({ storage }), 'bytes')
  return (await storage.backend.list('', { limit: 100_000 })).entries.reduce((n, e) => n + e.size, 0)
}
let wholeRaw = 0
let wholeGzip = 0
for (let i = 0; i < STEPS; i++) {
  const json = JSON.stringify({ ...emptyCheckpoint(), channel_values: stateAt(i).values })
  wholeRaw += json.length
  wholeGzip += gzipSync(json).length
}
// SQLite's file after the same 100 steps (its pages, WAL folded in by closing): what LangGraph's own
// local saver keeps on disk.
let sqliteBytes
if (sqlite) {
  const file = `${tmpdir()}/snapshelf-bench-${process.pid}-bytes.db`
  const saver = sqlite.SqliteSaver.fromConnString(file)
  await thread(saver, 'bytes')
  saver.db.close()
  sqliteBytes = statSync(file).size
}
for (const f of readdirSync(tmpdir())) if (f.startsWith(`snapshelf-bench-${process.pid}-`)) rmSync(`${tmpdir()}/${f}`, { force: true })
const oursGzip = await bytesOf('gzip')
const oursNone = await bytesOf('none')
const finalRaw = JSON.stringify(stateAt(STEPS - 1).values).length
console.log(`bytes stored for ${STEPS} steps (final state ${kb(finalRaw)} of JSON)`)
console.table([
  { layout: 'whole snapshots, raw JSON', bytes: kb(wholeRaw), 'x final state': (wholeRaw / finalRaw).toFixed(1) },
  { layout: 'whole snapshots, gzip', bytes: kb(wholeGzip), 'x final state': (wholeGzip / finalRaw).toFixed(1) },
  ...(sqliteBytes
    ? [{ layout: 'SqliteSaver file (LangGraph)', bytes: kb(sqliteBytes), 'x final state': (sqliteBytes / finalRaw).toFixed(1) }]
    : []),
  { layout: 'ours, channel per version, none', bytes: kb(oursNone), 'x final state': (oursNone / finalRaw).toFixed(1) },
  { layout: 'ours, channel per version, gzip', bytes: kb(oursGzip), 'x final state': (oursGzip / finalRaw).toFixed(1) },
])
