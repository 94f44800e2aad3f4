// History growth (issue 15, DESIGN.md §8): what a session stores and uploads when an agent saves
// after every turn, whole snapshots (`dedup: false`, as before) against delta history (the
// default), on the real S3 server (S3Storage, built package). Three shapes, 200 turns each:
//   conversation  a ~200 B user message and a ~1.5 KB assistant message with a tool call per turn
//   tool-result   a short conversation whose 40 KB tool result is rewritten every turn
//   multi-agent   three agents' message arrays in one snapshot, one of them growing per turn
// Per save: commitSnapshot (history + latest), as Strands' SessionManager does. Bytes stored are
// what the bucket holds for the session at the end (every key); bytes uploaded and requests are
// counted by a fetch wrapper. Load times are medians of fresh stores (no cache), by id.
import { S3Storage } from 'snapshelf/s3'
import { ensureS3 } from '../scripts/s3-server.mjs'
import { goal, progress, quick } from './report.mjs'

const TURNS = quick ? 60 : 200
const s3 = process.env.S3_ENDPOINT
  ? {
      endpoint: process.env.S3_ENDPOINT,
      region: process.env.S3_REGION || 'us-east-1',
      accessKeyId: process.env.S3_ACCESS_KEY,
      secretAccessKey: process.env.S3_SECRET_KEY,
      bucket: process.env.S3_BUCKET || 'snapshelf-test',
    }
  : await ensureS3({ required: false })
if (!s3) {
  console.error('bench/history: no S3 server, skipped (see the banner above)')
  process.exit(0)
}
const runId = `bench/${Date.now().toString(36)}`

/**
 * A deterministic text of about `n` characters: pseudo-words of one to four syllables, commas and
 * numbers, so it gzips about as real chat does (the 200-turn conversation: 344 KB of JSON, 118 KB
 * gzipped, 2.9:1; the issue measured 343 KB and 110.6 KB on its own).
 */
const SYLLABLES =
  'zu qi fen wol yar nix tho plu gri vas ka lo mi ra ten sun ver pa lis bon ho tel fli ght da te us er as ko be pri ce ne wa ther an di bu get to ol ca se re sul mo de ri go'.split(
    ' ',
  )
function prose(seed, n) {
  let x = (seed * 2654435761) >>> 0
  const next = () => {
    x = (x * 1103515245 + 12345) >>> 0
    return x
  }
  let out = ''
  while (out.length < n) {
    let word = ''
    for (let i = 1 + (next() % 4); i > 0; i--) word += SYLLABLES[(next() >>> 8) % SYLLABLES.length]
    out += `${word}${(x >>> 4) % 9 === 0 ? ',' : ''} ${(x >>> 12) % 6 === 0 ? `${(x >>> 16) % 10000} ` : ''}`
  }
  return out.slice(0, n)
}

const turn = (t) => [
  { role: 'user', content: [{ text: prose(t, 200) }] },
  {
    role: 'assistant',
    content: [
      { text: prose(t + 7919, 1330) },
      { toolUse: { toolUseId: `tool-${t}`, name: 'search_flights', input: { from: 'BER', to: 'LIS', day: t % 28 } } },
    ],
  },
]

const shapes = {
  conversation(t, messages) {
    messages.push(...turn(t))
    return { scope: 'agent', schemaVersion: '1.0', createdAt: new Date(1e12 + t * 1000).toISOString(), data: { messages }, appData: {} }
  },
  'tool-result'(t, messages) {
    if (messages.length < 6) messages.push(...turn(t))
    return {
      scope: 'agent',
      schemaVersion: '1.0',
      createdAt: new Date(1e12 + t * 1000).toISOString(),
      data: { messages, toolResult: { rows: prose(t * 31, 40_000) } },
      appData: { turn: t },
    }
  },
  'multi-agent'(t, messages) {
    messages.push(...turn(t))
    const agents = { planner: messages.slice(0, 12), researcher: [], writer: messages }
    return {
      scope: 'multiAgent',
      schemaVersion: '1.0',
      createdAt: new Date(1e12 + t * 1000).toISOString(),
      data: { agents, step: t },
      appData: {},
    }
  },
}

/** A fetch that counts requests and request body bytes. */
function counting() {
  const c = { requests: 0, uploaded: 0, history: 0 }
  c.fetch = async (input, init) => {
    c.requests++
    const body = init?.body ?? (input instanceof Request ? await input.clone().arrayBuffer() : undefined)
    const bytes = body?.byteLength ?? body?.length ?? 0
    c.uploaded += bytes
    if (String(input instanceof Request ? input.url : input).includes('/immutable_history/')) c.history += bytes
    return fetch(input, init)
  }
  return c
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const kb = (n) => `${(n / 1024).toFixed(1)} KB`
const rows = []
const floor = []
const cases = Object.keys(shapes).flatMap((shape) => [false, true].map((dedup) => ({ shape, dedup })))
for (const [i, { shape, dedup }] of cases.entries()) {
  progress('history', i + 1, cases.length, `${shape}, ${dedup ? 'delta history' : 'whole snapshots'}, ${TURNS} turns`)
  const counter = counting()
  const common = { ...s3, prefix: `${runId}/${shape}-${dedup}`, dedup }
  const store = new S3Storage({ ...common, fetch: counter.fetch })
  const location = { sessionId: 's1', scope: 'agent', scopeId: 'a' }
  const messages = []
  const ids = []
  const saveMs = []
  let final
  for (let t = 0; t < TURNS; t++) {
    const snapshot = shapes[shape](t, messages)
    const t0 = performance.now()
    ids.push((await store.commitSnapshot({ location, snapshot })).snapshotId)
    saveMs.push(performance.now() - t0)
    if (t === TURNS - 1) final = JSON.stringify(snapshot)
  }
  const { requests, uploaded, history } = counter
  const keys = await store.backend.list(`${runId}/${shape}-${dedup}/s1/`, { limit: 1000 })
  const stored = keys.entries.reduce((a, e) => a + e.size, 0)
  const latestSize = keys.entries.find((e) => e.key.endsWith('snapshot_latest.json')).size
  // Save time around turns 10, 100, 200: the median of the five saves ending there.
  const around = (n) => median(saveMs.slice(Math.max(0, n - 5), n))
  const load = async (snapshotId) => {
    const times = []
    for (let r = 0; r < (quick ? 3 : 7); r++) {
      const fresh = new S3Storage(common)
      const t0 = performance.now()
      const value = await fresh.loadSnapshot({ location, snapshotId })
      times.push(performance.now() - t0)
      if (snapshotId !== ids[49] && JSON.stringify(value) !== final)
        throw new Error(`${shape}: the newest snapshot did not load back exactly`)
    }
    return median(times)
  }
  // The floor under any layout that spreads a snapshot over k objects (why uploads ≤ 3× and a
  // newest load ≤ 1.5× a whole one cannot both hold, see the note after the table): one GET of
  // latest against k GETs of deltas in parallel, raw bytes only (no decode), medians.
  if (shape === 'conversation' && dedup) {
    const deltas = keys.entries.filter((e) => e.key.includes('/immutable_history/')).slice(-32)
    const timeGets = async (list) => {
      const times = []
      for (let r = 0; r < (quick ? 3 : 9); r++) {
        const t0 = performance.now()
        await Promise.all(list.map((e) => store.backend.get(e.key)))
        times.push(performance.now() - t0)
      }
      return median(times)
    }
    const latestEntry = keys.entries.filter((e) => e.key.endsWith('snapshot_latest.json'))
    floor.push(`1 GET of latest (${kb(latestEntry[0].size)}): ${(await timeGets(latestEntry)).toFixed(1)} ms`)
    for (const k of [2, 4, 8, 16, 32]) floor.push(`${k} deltas in parallel: ${(await timeGets(deltas.slice(-k))).toFixed(1)} ms`)
  }
  rows.push({
    shape,
    dedup,
    final: latestSize,
    stored,
    uploaded,
    history,
    perSave: requests / TURNS,
    save10: around(10),
    save100: around(Math.min(100, TURNS)),
    save200: around(TURNS),
    loadLatest: await load(undefined),
    loadNewest: await load(ids.at(-1)),
    load50: await load(ids[49]),
  })
}

console.log(`\nHistory: ${TURNS} turns per shape, commitSnapshot per turn, S3Storage on the real S3 server`)
console.log('stored / uploaded: bytes for the session at the end and sent in all (history: to immutable_history/ only;')
console.log('  the rest is latest, whole every turn); ×final: ÷ the final snapshot as stored (gzip)')
console.log('save ms: median of the five saves up to that turn; load ms: median of fresh-store loads: latest, newest by id, 50th by id')
const head = [
  'shape',
  'history',
  'final',
  'stored',
  '×final',
  'uploaded',
  '×final',
  'of it history',
  '×final',
  'req/save',
  'save@10',
  'save@100',
  `save@${TURNS}`,
  'load latest',
  'newest',
  '50th',
]
const table = rows.map((r) => [
  r.shape,
  r.dedup ? 'delta' : 'whole',
  kb(r.final),
  kb(r.stored),
  `${(r.stored / r.final).toFixed(1)}×`,
  kb(r.uploaded),
  `${(r.uploaded / r.final).toFixed(1)}×`,
  kb(r.history),
  `${(r.history / r.final).toFixed(1)}×`,
  r.perSave.toFixed(1),
  r.save10.toFixed(1),
  r.save100.toFixed(1),
  r.save200.toFixed(1),
  r.loadLatest.toFixed(1),
  r.loadNewest.toFixed(1),
  r.load50.toFixed(1),
])
const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)))
for (const row of [head, ...table]) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '))

console.log(`\nGETs alone, fresh from the server (conversation, delta history): ${floor.join(' · ')}`)
console.log('A latest that uploads only what changed must be spread over several objects, all immutable. Rebuilt from')
console.log(
  `at most two (a whole base, and one delta since it), ${TURNS} equal turns upload at least √${TURNS} = ${Math.sqrt(TURNS).toFixed(1)}× the final`,
)
console.log('snapshot: bases every L turns cost turns²/2L turns of content, the deltas turns·L/2, least at L = √turns.')
console.log('From k objects it loads no faster than the k GETs in parallel above. So uploads ≤ 3× and a newest load')
console.log('≤ 1.5× a whole one exclude each other on this server: latest stays whole (one GET), and its gzip is what')
console.log('makes a late save slower than an early one.')
const conv = rows.find((r) => r.shape === 'conversation' && r.dedup)
const convWhole = rows.find((r) => r.shape === 'conversation' && !r.dedup)
goal({
  bench: 'history',
  goal: 'conversation: stored ≤ 3× the final snapshot',
  measured: `${(conv.stored / conv.final).toFixed(2)}×`,
  met: conv.stored <= 3 * conv.final,
})
goal({
  bench: 'history',
  goal: 'conversation: uploaded ≤ 3× the final snapshot',
  measured: `${(conv.uploaded / conv.final).toFixed(2)}× (history alone ${(conv.history / conv.final).toFixed(2)}×; latest stays whole)`,
  met: conv.uploaded <= 3 * conv.final,
})
goal({
  bench: 'history',
  goal: `conversation: save at turn ${TURNS} ≤ 1.5× turn 10`,
  measured: `${(conv.save200 / conv.save10).toFixed(2)}× (whole: ${(convWhole.save200 / convWhole.save10).toFixed(2)}×)`,
  met: conv.save200 <= 1.5 * conv.save10,
})
goal({
  bench: 'history',
  goal: 'conversation: load of the newest by id ≤ 1.5× loading it whole',
  measured: `${(conv.loadNewest / convWhole.loadNewest).toFixed(2)}× (latest: ${(conv.loadLatest / convWhole.loadLatest).toFixed(2)}×; 50th: ${(conv.load50 / convWhole.load50).toFixed(2)}×)`,
  met: conv.loadNewest <= 1.5 * convWhole.loadNewest,
})
