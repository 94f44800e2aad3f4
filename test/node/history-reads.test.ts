import { describe, expect, it } from 'vitest'
import { type Backend, BackendSnapshotStore, MemoryBackend, type Snapshot } from 'snapshelf'

// How a load by id reaches delta history (issue 15, history.ts `read`): the newest snapshot by id
// is a delta whose hash is latest's, so a store that writes deltas fetches latest beside it, in
// one round trip; a whole object cancels that GET; a failed GET ahead is no shortcut, never a
// failed load. Requests are recorded by a wrapper in front of a real memory backend.

const location = { sessionId: 'reads', scope: 'agent', scopeId: 'main' }

interface Call {
  op: 'get' | 'list'
  key: string
  /** Requests in flight when this one started (itself included). */
  inFlight: number
  signal?: AbortSignal
}

/** `inner`, each get and list recorded and held for one macrotask, so parallel calls overlap. */
function recording(inner: Backend, failLatest = false): { backend: Backend; calls: Call[] } {
  const calls: Call[] = []
  let inFlight = 0
  const track = async <R>(call: Omit<Call, 'inFlight'>, run: () => Promise<R>): Promise<R> => {
    calls.push({ ...call, inFlight: ++inFlight })
    try {
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (failLatest && call.key.endsWith('snapshot_latest.json')) throw new Error('connection reset')
      return await run()
    } finally {
      inFlight--
    }
  }
  const backend: Backend = {
    get: (k, o) => track({ op: 'get', key: k, signal: o?.signal }, () => inner.get(k, o)),
    head: (k, o) => inner.head(k, o),
    put: (k, b, o) => inner.put(k, b, o),
    delete: (keys, o) => inner.delete(keys, o),
    list: (p, o) => track({ op: 'list', key: p }, () => inner.list(p, o)),
  }
  return { backend, calls }
}

/** Saves `turns` growing snapshots through one writer; their ids and JSON texts, oldest first. */
async function conversation(memory: Backend, turns: number, dedup = true) {
  const writer = new BackendSnapshotStore<Snapshot>({ backend: memory, dedup })
  const messages: string[] = []
  const saved: { id: string; json: string }[] = []
  for (let t = 0; t < turns; t++) {
    messages.push(`${t}: ${Array.from({ length: 60 }, (_, i) => ((i + 3) * 7919 * (t + 1)) % 10007).join(' ')}`)
    const snapshot: Snapshot = {
      scope: 'agent',
      schemaVersion: '1.0',
      createdAt: `turn ${t}`,
      data: { messages: [...messages] },
      appData: {},
    }
    saved.push({ id: (await writer.commitSnapshot({ location, snapshot })).snapshotId, json: JSON.stringify(snapshot) })
  }
  return saved
}

const last = (key: string) => key.split('/').pop()

describe('delta history: a load by id', () => {
  it('the newest by id: its delta and latest in one round trip, no listing', async () => {
    const memory = new MemoryBackend()
    const saved = await conversation(memory, 6)
    const { backend, calls } = recording(memory)
    const reader = new BackendSnapshotStore<Snapshot>({ backend })
    const newest = saved.at(-1)!
    expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: newest.id }))).toBe(newest.json)
    expect(calls.map((c) => `${c.op} ${last(c.key)}`).sort()).toEqual([`get snapshot_${newest.id}.json`, 'get snapshot_latest.json'])
    expect(Math.max(...calls.map((c) => c.inFlight))).toBe(2)
  })

  it('an older delta: latest ahead, then the listings, then its chain: exact, in three round trips', async () => {
    const memory = new MemoryBackend()
    const saved = await conversation(memory, 6)
    const { backend, calls } = recording(memory)
    const reader = new BackendSnapshotStore<Snapshot>({ backend })
    const old = saved[3]!
    expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: old.id }))).toBe(old.json)
    // Round 1: the object and latest together; then the two listings together; then the chain.
    expect(
      calls
        .slice(0, 2)
        .map((c) => last(c.key))
        .sort(),
    ).toEqual([`snapshot_${old.id}.json`, 'snapshot_latest.json'])
    expect(calls.filter((c) => c.op === 'list')).toHaveLength(2)
    expect(calls.findIndex((c) => c.op === 'list')).toBe(2)
  })

  it('a whole object: the GET of latest ahead is cancelled, the object returned', async () => {
    const memory = new MemoryBackend()
    const [first] = await conversation(memory, 3) // the first save of a session is whole
    const { backend, calls } = recording(memory)
    const reader = new BackendSnapshotStore<Snapshot>({ backend })
    expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: first!.id }))).toBe(first!.json)
    const ahead = calls.find((c) => c.key.endsWith('snapshot_latest.json'))
    expect(ahead?.signal?.aborted).toBe(true)
    expect(calls.filter((c) => c.op === 'list')).toEqual([])
  })

  it('a failing GET of latest ahead is no shortcut: the delta is walked and loads exactly', async () => {
    const memory = new MemoryBackend()
    const saved = await conversation(memory, 5)
    const { backend, calls } = recording(memory, true)
    const reader = new BackendSnapshotStore<Snapshot>({ backend })
    const newest = saved.at(-1)!
    expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: newest.id }))).toBe(newest.json)
    expect(calls.some((c) => c.op === 'list')).toBe(true)
  })

  it('a corrupt latest is no shortcut: the newest by id is walked and loads exactly', async () => {
    const memory = new MemoryBackend()
    const saved = await conversation(memory, 5)
    const latestKey = 'reads/scopes/agent/main/snapshots/snapshot_latest.json'
    const good = (await memory.get(latestKey))!.body
    expect(good[0]).toBe(0x1f) // gzip: its trailer still names the snapshot's size below
    const broken = good.slice()
    for (let i = 20; i < broken.length - 8; i += 7) broken[i]! ^= 0x55
    await memory.put(latestKey, broken)
    const reader = new BackendSnapshotStore<Snapshot>({ backend: memory })
    await expect(reader.loadSnapshot({ location })).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
    const newest = saved.at(-1)!
    expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: newest.id }))).toBe(newest.json)
  })

  it('dedup: false reads a whole object in one GET, with nothing fetched ahead', async () => {
    const memory = new MemoryBackend()
    const saved = await conversation(memory, 3, false)
    const { backend, calls } = recording(memory)
    const reader = new BackendSnapshotStore<Snapshot>({ backend, dedup: false })
    expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: saved[1]!.id }))).toBe(saved[1]!.json)
    expect(calls.map((c) => `${c.op} ${last(c.key)}`)).toEqual([`get snapshot_${saved[1]!.id}.json`])
  })

  it('the caller aborting stops the GET ahead too', async () => {
    const memory = new MemoryBackend()
    const saved = await conversation(memory, 4)
    const { backend, calls } = recording(memory)
    const reader = new BackendSnapshotStore<Snapshot>({ backend })
    const ctrl = new AbortController()
    const load = reader.loadSnapshot({ location, snapshotId: saved[2]!.id, signal: ctrl.signal })
    ctrl.abort(new Error('user gave up'))
    await expect(load).rejects.toThrow()
    expect(calls.find((c) => c.key.endsWith('snapshot_latest.json'))?.signal?.aborted).toBe(true)
  })
})
