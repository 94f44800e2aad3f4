#!/usr/bin/env node
// TieredStorage sync vs a serial save loop, against a remote that adds 20 ms of latency to
// every request (a delaying wrapper around an in-memory backend: the latency is what a real
// remote costs; the memory behind it keeps the figure about the client). 1,000 snapshots are
// written to the local tier first (as an offline browser tab would), then:
//   ours:   storage.sync()   (bounded concurrency, encoded bytes copied as they are)
//   serial: for each snapshot, remote.saveSnapshot(...)  (one request after another, re-encoded)
// Also reports bytes sent to the remote vs bytes stored locally (equal: no re-encoding).
// Needs the built package (`npm run build`, or run through `npm run bench -- tiered`).
import { BackendSnapshotStore, MemoryBackend, MemoryStorage, newSnapshotId } from 'snapshelf'
import { TieredStorage } from 'snapshelf/tiered'
import { goal, progress, quick } from './report.mjs'

// --quick (bench/run.mjs): 200 snapshots instead of 1,000 (the serial loop alone takes 20 s at 1,000).
const N = Number(process.env.TIERED_BENCH_N ?? (quick ? 200 : 1000))
const LATENCY_MS = 20

/** A remote backend with LATENCY_MS per request; counts requests and bytes sent. */
class SlowBackend {
  inner = new MemoryBackend()
  requests = 0
  bytesSent = 0
  async wait() {
    this.requests++
    await new Promise((r) => setTimeout(r, LATENCY_MS))
  }
  async get(k, o) {
    await this.wait()
    return this.inner.get(k, o)
  }
  async head(k, o) {
    await this.wait()
    return this.inner.head(k, o)
  }
  async put(k, b, o) {
    await this.wait()
    this.bytesSent += b.length
    return this.inner.put(k, b, o)
  }
  async delete(k, o) {
    await this.wait()
    return this.inner.delete(k, o)
  }
  async list(p, o) {
    await this.wait()
    return this.inner.list(p, o)
  }
}

const location = { sessionId: 'bench', scope: 'agent', scopeId: 'main' }
const snapshots = []
const messages = []
for (let i = 0; i < N; i++) {
  messages.push({ role: i % 2 ? 'assistant' : 'user', content: [{ text: `message ${i}: ${'lorem ipsum dolor sit amet '.repeat(6)}` }] })
  if (messages.length > 20) messages.shift()
  snapshots.push({
    id: newSnapshotId(),
    snapshot: {
      scope: 'agent',
      schemaVersion: '1.0',
      createdAt: new Date().toISOString(),
      data: { messages: [...messages] },
      appData: { turn: i },
    },
  })
}
const rawBytes = snapshots.reduce((n, s) => n + JSON.stringify(s.snapshot).length, 0)

// Ours: write locally (no remote involved), then one sync.
progress('tiered', 1, 3, `write ${N} snapshots to the local tier`)
const localStore = new MemoryStorage()
const ourRemote = new SlowBackend()
const tiered = new TieredStorage({ local: localStore, remote: ourRemote })
for (const [i, s] of snapshots.entries())
  if (i === N - 1) await tiered.commitSnapshot({ location, snapshotId: s.id, snapshot: s.snapshot })
  else await tiered.saveSnapshot({ location, snapshotId: s.id, isLatest: false, snapshot: s.snapshot })
const stored = (await localStore.backend.list('bench/', { limit: 100_000 })).entries.reduce((n, e) => n + e.size, 0)
progress('tiered', 2, 3, 'TieredStorage.sync() to the slow remote')
let t0 = performance.now()
const result = await tiered.sync()
const oursMs = performance.now() - t0
const remoteIds = await new BackendSnapshotStore({ backend: ourRemote.inner }).listSnapshotIds({ location })
if (remoteIds.length !== N || result.pushed !== N + 1) throw new Error(`sync pushed ${result.pushed}, remote holds ${remoteIds.length}`)

// Serial: the same snapshots saved one by one straight to the remote.
progress('tiered', 3, 3, `serial save loop of ${N} snapshots to the slow remote (about ${Math.round((N * 2 * LATENCY_MS) / 1000)} s)`)
const serialRemote = new SlowBackend()
const serialStore = new BackendSnapshotStore({ backend: serialRemote })
t0 = performance.now()
for (const [i, s] of snapshots.entries())
  if (i === N - 1) await serialStore.commitSnapshot({ location, snapshotId: s.id, snapshot: s.snapshot })
  else await serialStore.saveSnapshot({ location, snapshotId: s.id, isLatest: false, snapshot: s.snapshot })
const serialMs = performance.now() - t0

const kb = (n) => `${(n / 1024).toFixed(1)} KB`
console.log(`TieredStorage sync of ${N} local snapshots to a remote with ${LATENCY_MS} ms per request`)
console.table([
  {
    method: 'TieredStorage.sync() (concurrency 16)',
    ms: Math.round(oursMs),
    requests: ourRemote.requests,
    'bytes sent': kb(ourRemote.bytesSent),
  },
  {
    method: 'serial saveSnapshot loop',
    ms: Math.round(serialMs),
    requests: serialRemote.requests,
    'bytes sent': kb(serialRemote.bytesSent),
  },
])
console.log(`speed-up: ${(serialMs / oursMs).toFixed(1)}x (goal >= 10x)`)
goal({
  bench: 'tiered',
  goal: `sync ≥ 10× a serial save loop (${N} snapshots, 20 ms per request)`,
  measured: `${(serialMs / oursMs).toFixed(1)}×`,
  met: serialMs / oursMs >= 10,
})
goal({
  bench: 'tiered',
  goal: 'bytes sent by sync = bytes stored locally (no re-encoding)',
  measured: `${kb(ourRemote.bytesSent)} sent, ${kb(stored)} stored`,
  met: ourRemote.bytesSent === stored,
})
console.log(
  `bytes: raw JSON ${kb(rawBytes)}, stored locally ${kb(stored)}, sent by sync ${kb(ourRemote.bytesSent)} (${ourRemote.bytesSent === stored ? 'identical: no re-encoding' : 'DIFFERENT'})`,
)
tiered.close()
// A missed goal is in the goal table (run.mjs); bytes that differ are a bug, not a slow machine.
if (ourRemote.bytesSent !== stored) process.exitCode = 1
