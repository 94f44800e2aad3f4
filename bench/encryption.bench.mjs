#!/usr/bin/env node
// Client-side encryption (issue 16), one run: what AES-GCM adds to a snapshot's round trip
// (saveSnapshot latest + loadSnapshot on MemoryStorage, built package imported by name), for a
// 1 KB and a 256 KB snapshot of prose-like JSON, against gzip alone (the default codec) and plain
// JSON. Memory's own cost is a Map set/get, so the differences are the codec's. Also the stored
// bytes (the envelope adds a fixed 36 bytes with key id 'k1': 4 magic, version, id length, id,
// 12-byte IV, 16-byte tag). Medians of ROUNDS; compare ratios, never absolute times.
// Usage: node bench/encryption.bench.mjs   (after `npx tsup`; bench/run.mjs runs it with the others)
import { MemoryStorage } from 'snapshelf'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const location = { sessionId: 'bench', scope: 'agent', scopeId: 'main' }

/** Text that compresses like prose (about 3x with gzip): words drawn by a seeded generator. */
function prose(seed, chars) {
  const words = ['the', 'agent', 'called', 'a', 'tool', 'with', 'result', 'user', 'asked', 'about', 'weather', 'in', 'Paris', 'flight']
  let x = seed * 2654435761 + 1
  let text = ''
  while (text.length < chars) {
    x = (x * 1103515245 + 12345) % 2147483648
    text += `${words[x % words.length]}${x % 13 ? ' ' : '. '}${x % 7 === 0 ? x % 1000 : ''}`
  }
  return text
}

/** A Strands-shaped snapshot whose JSON is about `bytes` long: messages of ~200 characters. */
function snapshotOf(bytes) {
  const messages = []
  const base = { scope: 'agent', schemaVersion: '1.0', createdAt: new Date(0).toISOString(), data: { messages }, appData: {} }
  for (let i = 0; JSON.stringify(base).length < bytes; i++) messages.push({ role: i % 2 ? 'assistant' : 'user', content: prose(i, 200) })
  return base
}

const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
const encryption = { keys: { k1: key }, writeKeyId: 'k1' }
const variants = [
  ['plain JSON', { compression: 'none' }],
  ['gzip (default)', {}],
  ['plain JSON + AES-GCM', { compression: 'none', encryption }],
  ['gzip + AES-GCM', { encryption }],
]

/** µs per round trip (save latest + load) of `storage`, `ops` of them. */
async function roundTrip(storage, snapshot, ops) {
  const t0 = performance.now()
  for (let i = 0; i < ops; i++) {
    await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot })
    await storage.loadSnapshot({ location })
  }
  return ((performance.now() - t0) * 1000) / ops
}

/** µs per AES-GCM encrypt + decrypt of `bytes` with Web Crypto alone (what sealing costs, envelope aside). */
async function aesAlone(bytes, ops) {
  const data = crypto.getRandomValues(new Uint8Array(Math.min(bytes, 65536)))
  const input = new Uint8Array(bytes).map((_, i) => data[i % data.length])
  const t0 = performance.now()
  for (let i = 0; i < ops; i++) {
    const iv = crypto.getRandomValues(new Uint8Array(12))
    const additionalData = new TextEncoder().encode('bench/scopes/agent/main/snapshots/snapshot_latest.json')
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, input)
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData }, key, sealed)
  }
  return ((performance.now() - t0) * 1000) / ops
}

const rows = []
for (const [label, bytes, ops] of [
  ['1 KB', 1024, 500],
  ['256 KB', 256 * 1024, 8],
]) {
  const snapshot = snapshotOf(bytes)
  const storages = variants.map(([name, options]) => [name, new MemoryStorage(options)])
  // Warm-up (JIT, the lazy crypto module), then rounds with the variants interleaved, so drift on
  // a shared machine spreads over all of them.
  for (const [, storage] of storages) await roundTrip(storage, snapshot, Math.ceil(ops / 4))
  const times = Object.fromEntries(variants.map(([name]) => [name, []]))
  const aes = { json: [], gzipped: [] }
  const gzippedBytes = await (async () => {
    const s = new MemoryStorage()
    await s.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot })
    return (await s.backend.get(`${location.sessionId}/scopes/agent/main/snapshots/snapshot_latest.json`)).body.length
  })()
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, storage] of storages) times[name].push(await roundTrip(storage, snapshot, ops))
    aes.json.push(await aesAlone(JSON.stringify(snapshot).length, ops * 4))
    aes.gzipped.push(await aesAlone(gzippedBytes, ops * 4))
  }
  // A stale dist/ without encryption would measure nothing: the envelope must be there.
  const storedOf = async (i) =>
    (await storages[i][1].backend.get(`${location.sessionId}/scopes/agent/main/snapshots/snapshot_latest.json`)).body.length
  if ((await storedOf(2)) !== (await storedOf(0)) + 36) throw new Error('plain JSON + AES-GCM is not sealed: rebuild dist/ (npx tsup)')
  const gzip = median(times['gzip (default)'])
  for (const [name, storage] of storages) {
    const us = median(times[name])
    const stored = (await storage.backend.get(`${location.sessionId}/scopes/agent/main/snapshots/snapshot_latest.json`)).body.length
    rows.push([label, name, `${us.toFixed(1)} µs`, `${(us / gzip).toFixed(2)}x`, `${stored} B`])
  }
  rows.push([
    label,
    `AES-GCM alone, ${JSON.stringify(snapshot).length} B (the JSON)`,
    `${median(aes.json).toFixed(1)} µs`,
    `${(median(aes.json) / gzip).toFixed(2)}x`,
    '',
  ])
  rows.push([
    label,
    `AES-GCM alone, ${gzippedBytes} B (gzipped)`,
    `${median(aes.gzipped).toFixed(1)} µs`,
    `${(median(aes.gzipped) / gzip).toFixed(2)}x`,
    '',
  ])
}

const header = ['snapshot', 'codec', 'save+load', 'vs gzip', 'stored']
const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => String(r[i]).length)))
const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ')
console.log(
  `MemoryStorage round trip (saveSnapshot latest + loadSnapshot) and Web Crypto encrypt + decrypt alone, median of ${ROUNDS} rounds`,
)
console.log(line(header))
for (const r of rows) console.log(line(r))
