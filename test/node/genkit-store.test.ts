import fc from 'fast-check'
import { GenkitError } from 'genkit'
import type { SessionSnapshot, SessionSnapshotInput } from 'genkit/beta'
import { describe, expect, it } from 'vitest'
import { type Backend, MemoryBackend, MemoryStorage } from 'snapshelf'
import {
  GenkitSessionStore,
  genkitLineageKey,
  genkitLineagePrefix,
  genkitSessionKey,
  genkitSnapshotKey,
  parseGenkitKey,
} from 'snapshelf/genkit'
import { S3Storage } from 'snapshelf/s3'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

/** A backend that counts every call (and can hold each one until the scheduler releases it). */
function counted(inner: Backend, hold?: <A extends unknown[], R>(f: (...a: A) => Promise<R>) => (...a: A) => Promise<R>) {
  const calls: string[] = []
  const wrap =
    <K extends 'get' | 'head' | 'put' | 'delete' | 'list'>(name: K) =>
    (...args: unknown[]) => {
      calls.push(`${name} ${String(args[0])}`)
      const f = (inner[name] as (...a: unknown[]) => Promise<unknown>).bind(inner)
      return hold ? hold(f)(...args) : f(...args)
    }
  const backend = {
    get: wrap('get'),
    head: wrap('head'),
    put: wrap('put'),
    delete: wrap('delete'),
    list: wrap('list'),
    subscribe: inner.subscribe?.bind(inner),
  } as unknown as Backend
  return { backend, calls }
}

const turn = (
  sessionId: string,
  parentId: string | undefined,
  text: string,
  createdAt = new Date().toISOString(),
): SessionSnapshotInput => ({
  sessionId,
  parentId,
  createdAt,
  status: 'completed',
  state: { sessionId, messages: [{ role: 'user', content: [{ text }] }], custom: { count: 0 } },
})

/** Saves a chain of `n` turns in `sessionId`; resolves their ids, oldest first. */
async function chain(store: GenkitSessionStore, sessionId: string, n: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push((await store.saveSnapshot(undefined, () => turn(sessionId, ids.at(-1), `turn ${i}`)))!)
  return ids
}

async function refusal(call: () => unknown): Promise<GenkitError> {
  try {
    await call()
  } catch (error) {
    return error as GenkitError
  }
  throw new Error('expected a refusal')
}

const BAD_IDS = ['a/b', 'a\\b', 'a\u0000b', '.', '..', 'x'.repeat(129), '../escape', 'sp ace']

describe('GenkitSessionStore: bad input is refused before any I/O', () => {
  for (const bad of BAD_IDS) {
    it(`id ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 8)}…(${bad.length})` : bad)}`, async () => {
      const { backend, calls } = counted(new MemoryBackend())
      const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
      const refusals = [
        await refusal(() => store.getSnapshot({ snapshotId: bad })),
        await refusal(() => store.getSnapshot({ sessionId: bad })),
        await refusal(() => store.saveSnapshot(bad, () => turn('s1', undefined, 'x'))),
        await refusal(() => store.saveSnapshot(undefined, () => ({ ...turn('s1', undefined, 'x'), snapshotId: bad }))),
        await refusal(() => store.saveSnapshot(undefined, () => turn(bad, undefined, 'x'))),
        await refusal(() => store.onSnapshotStateChange(bad, () => {})),
        await refusal(() => store.listSessionSnapshots(bad)),
        await refusal(() => store.deleteSession(bad)),
        await refusal(() =>
          new GenkitSessionStore({ storage: { backend, prefix: '' }, namespace: () => bad }).getSnapshot({ snapshotId: 'ok' }),
        ),
      ]
      for (const error of refusals) {
        expect(error).toBeInstanceOf(GenkitError)
        expect(error.status).toBe('INVALID_ARGUMENT')
      }
      // The new-snapshot save with a bad session reads the id it would write first (its mutator
      // decides the session): nothing else, and no write, ever.
      expect(calls.filter((c) => !c.startsWith('get '))).toEqual([])
      expect(calls.length).toBeLessThanOrEqual(1)
    })
  }

  it('a storage that is none, or has a bad compression or maxDecodedBytes: INVALID_ARGUMENT at construction', async () => {
    const backend = new MemoryBackend()
    for (const storage of [
      undefined,
      {},
      { backend, prefix: 1 },
      { backend, prefix: '', compression: 'brotli' },
      { backend, prefix: '', maxDecodedBytes: 0 },
    ]) {
      const error = await refusal(() => new GenkitSessionStore({ storage: storage as never }))
      expect(error.status, JSON.stringify(storage)).toBe('INVALID_ARGUMENT')
      expect(error.message).toMatch(/storage/)
    }
  })

  it('neither or both of snapshotId / sessionId: INVALID_ARGUMENT, as Genkit', async () => {
    const store = new GenkitSessionStore({ storage: new MemoryStorage() })
    for (const opts of [{}, { snapshotId: 'a', sessionId: 'b' }]) {
      const error = await refusal(() => store.getSnapshot(opts))
      expect(error).toBeInstanceOf(GenkitError)
      expect(error.status).toBe('INVALID_ARGUMENT')
    }
  })

  it('a mutator result that is not JSON (a cycle, a BigInt) is INVALID_ARGUMENT and writes nothing', async () => {
    const { backend, calls } = counted(new MemoryBackend())
    const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
    const id = (await store.saveSnapshot(undefined, () => turn('s1', undefined, 'hello')))!
    const before = await store.getSnapshot({ snapshotId: id })
    calls.length = 0
    const cyclic = turn('s1', id, 'cycle') as SessionSnapshotInput & { self?: unknown }
    cyclic.self = cyclic
    const big = { ...turn('s1', id, 'big'), state: { custom: { n: 10n } } } as unknown as SessionSnapshotInput
    for (const bad of [cyclic, big]) {
      for (const target of [undefined, id]) {
        const error = await refusal(() => store.saveSnapshot(target, () => bad))
        expect(error).toBeInstanceOf(GenkitError)
        expect(error.status).toBe('INVALID_ARGUMENT')
      }
    }
    expect(calls.filter((c) => c.startsWith('put ') || c.startsWith('delete '))).toEqual([])
    expect(await store.getSnapshot({ snapshotId: id })).toEqual(before)
    expect(await store.getSnapshot({ sessionId: 's1' })).toEqual(before)
  })

  it("a mutator's own throw aborts: rethrown unchanged, nothing written", async () => {
    const { backend, calls } = counted(new MemoryBackend())
    const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
    const id = (await store.saveSnapshot(undefined, () => turn('s1', undefined, 'hello')))!
    calls.length = 0
    const mine = new Error('precondition failed')
    await expect(
      store.saveSnapshot(id, () => {
        throw mine
      }),
    ).rejects.toBe(mine)
    expect(calls.filter((c) => !c.startsWith('get '))).toEqual([])
  })
})

describe('GenkitSessionStore: lineage, leaf in O(1) requests, listing, erasure, namespaces, status', () => {
  it('getSnapshot({ sessionId }) is three requests (lineage entries and summary at once, then the leaf) whatever the session length', async () => {
    const { backend, calls } = counted(new MemoryBackend())
    const store = new GenkitSessionStore({ storage: { backend, prefix: 'p' } })
    for (const n of [1, 10, 60]) {
      const ids = await chain(store, `s${n}`, n)
      calls.length = 0
      const leaf = await store.getSnapshot({ sessionId: `s${n}` })
      expect(leaf?.snapshotId).toBe(ids.at(-1))
      expect(calls).toEqual([
        `list ${genkitLineagePrefix('p/', 'global', `s${n}`)}`,
        `get ${genkitSessionKey('p/', 'global', `s${n}`)}`,
        `get ${genkitSnapshotKey('p/', 'global', ids.at(-1)!)}`,
      ])
    }
  })

  it("new snapshots get Genkit's ids (crypto.randomUUID) and keep their own when given", async () => {
    const store = new GenkitSessionStore({ storage: new MemoryStorage() })
    const id = await store.saveSnapshot(undefined, () => turn('s1', undefined, 'x'))
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(await store.saveSnapshot(undefined, () => ({ ...turn('s1', id!, 'y'), snapshotId: 'reserved-1' }))).toBe('reserved-1')
    expect((await store.getSnapshot({ sessionId: 's1' }))?.snapshotId).toBe('reserved-1')
  })

  it("a new snapshot's mutator runs once, as in Genkit, even when it returns undefined", async () => {
    const store = new GenkitSessionStore({ storage: new MemoryStorage() })
    let calls = 0
    const id = await store.saveSnapshot(undefined, (() => {
      calls++
      return undefined
    }) as unknown as () => SessionSnapshotInput)
    expect(calls).toBe(1)
    expect(await store.getSnapshot({ snapshotId: id! })).toEqual({ snapshotId: id })
  })

  it('branches: the newest leaf, or FAILED_PRECONDITION with rejectBranchingSessions; a cycle has no leaf', async () => {
    const storage = new MemoryStorage()
    const store = new GenkitSessionStore({ storage })
    const strict = new GenkitSessionStore({ storage, rejectBranchingSessions: true })
    const [root] = await chain(store, 'b1', 1)
    await store.saveSnapshot('left', () => turn('b1', root, 'left', '2026-12-02T10:00:01.000Z'))
    await store.saveSnapshot('right', () => turn('b1', root, 'right', '2026-12-02T10:00:02.000Z'))
    expect((await store.getSnapshot({ sessionId: 'b1' }))?.snapshotId).toBe('right')
    const branching = await refusal(() => strict.getSnapshot({ sessionId: 'b1' }))
    expect(branching).toBeInstanceOf(GenkitError)
    expect(branching.status).toBe('FAILED_PRECONDITION')
    await store.saveSnapshot('c1', () => turn('cyc', 'c2', 'a'))
    await store.saveSnapshot('c2', () => turn('cyc', 'c1', 'b'))
    expect((await refusal(() => store.getSnapshot({ sessionId: 'cyc' }))).status).toBe('FAILED_PRECONDITION')
  })

  it('a save interrupted between its steps: the index never hides a stored snapshot, nor shows an unstored one', async () => {
    const backend = new MemoryBackend()
    const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
    const [root, child] = await chain(store, 'crash', 2)
    // Interrupted after the snapshot's write, before the summary learned its lineage: the lineage
    // entry written first names it. Reads resolve it from the snapshot itself.
    const late = 'written-late'
    const failing: Backend = {
      get: backend.get.bind(backend),
      head: backend.head.bind(backend),
      put: backend.put.bind(backend),
      delete: backend.delete.bind(backend),
      list: backend.list.bind(backend),
    }
    let puts = 0
    failing.put = async (key, body, options) => {
      if (key.includes('/sessions/') && ++puts === 2) throw new Error('crashed before the index update')
      return backend.put(key, body, options)
    }
    await expect(
      new GenkitSessionStore({ storage: { backend: failing, prefix: '' } }).saveSnapshot(late, () => turn('crash', child, 'late')),
    ).rejects.toThrow('crashed before the index update')
    expect((await store.getSnapshot({ sessionId: 'crash' }))?.snapshotId).toBe(late)
    expect((await store.listSessionSnapshots('crash')).map((s) => [s.snapshotId, s.parentId])).toEqual([
      [root, undefined],
      [child, root],
      [late, child],
    ])
    // Interrupted after the lineage entry, before the snapshot: nothing of it is reported.
    let bodies = 0
    failing.put = async (key, body, options) => {
      if (key.includes('/snapshots/') && ++bodies === 1) throw new Error('crashed before the snapshot write')
      return backend.put(key, body, options)
    }
    await expect(
      new GenkitSessionStore({ storage: { backend: failing, prefix: '' } }).saveSnapshot('never', () => turn('crash', late, 'never')),
    ).rejects.toThrow('crashed before the snapshot write')
    expect((await store.getSnapshot({ sessionId: 'crash' }))?.snapshotId).toBe(late)
    expect((await store.listSessionSnapshots('crash')).map((s) => s.snapshotId)).toEqual([root, child, late])
    // Erasure still covers both: their lineage entries were written before anything else.
    await store.deleteSession('crash')
    expect((await backend.list('')).entries).toEqual([])
  })

  it('listSessionSnapshots: id, parentId, createdAt, status without payloads, in two requests (entries and summary)', async () => {
    const { backend, calls } = counted(new MemoryBackend())
    const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
    const ids = await chain(store, 'l1', 3)
    await store.saveSnapshot(ids[2], (current) => ({ ...current!, status: 'aborted' }))
    calls.length = 0
    const listed = await store.listSessionSnapshots('l1')
    expect(calls.sort()).toEqual([`get ${genkitSessionKey('', 'global', 'l1')}`, `list ${genkitLineagePrefix('', 'global', 'l1')}`])
    expect(listed.map((s) => [s.snapshotId, s.parentId, s.status])).toEqual([
      [ids[0], undefined, 'completed'],
      [ids[1], ids[0], 'completed'],
      [ids[2], ids[1], 'aborted'],
    ])
    for (const s of listed) expect(s).not.toHaveProperty('state')
  })

  it('deleteSession erases every key the session wrote, and nothing of another session', async () => {
    const backend = new MemoryBackend()
    const store = new GenkitSessionStore({ storage: { backend, prefix: 'p' } })
    await chain(store, 'gone', 5)
    const kept = await chain(store, 'kept', 2)
    await store.deleteSession('gone')
    const left = (await backend.list('p/')).entries.map((e) => e.key)
    expect(left.sort()).toEqual(
      [
        genkitSessionKey('p/', 'global', 'kept'),
        ...kept.map((id) => genkitSnapshotKey('p/', 'global', id)),
        ...kept.map((id) => genkitLineageKey('p/', 'global', 'kept', id, 1, 'in')),
      ].sort(),
    )
    for (const key of left) expect(parseGenkitKey(key.slice(2))).toBeDefined()
    expect(await store.getSnapshot({ sessionId: 'gone' })).toBeUndefined()
    expect(await store.listSessionSnapshots('gone')).toEqual([])
  })

  it('namespace from options.context keeps tenants apart', async () => {
    const storage = new MemoryStorage()
    const store = new GenkitSessionStore({ storage, namespace: (options) => String(options?.context?.auth?.uid ?? 'anonymous') })
    const alice = { context: { auth: { uid: 'alice' } } }
    const bob = { context: { auth: { uid: 'bob' } } }
    const id = (await store.saveSnapshot(undefined, () => turn('shared-name', undefined, 'for alice'), alice))!
    expect(await store.getSnapshot({ snapshotId: id, ...bob })).toBeUndefined()
    expect(await store.getSnapshot({ sessionId: 'shared-name', ...bob })).toBeUndefined()
    expect((await store.getSnapshot({ sessionId: 'shared-name', ...alice }))?.snapshotId).toBe(id)
    expect(await storage.backend.get(genkitSnapshotKey('', 'alice', id))).not.toBeNull()
  })

  it('heartbeatTimeoutMs: a stale pending snapshot reads as expired, is never stored so, and mutators see pending', async () => {
    const storage = new MemoryStorage()
    const store = new GenkitSessionStore({ storage, heartbeatTimeoutMs: 60_000 })
    const stale = new Date(Date.now() - 120_000).toISOString()
    const id = (await store.saveSnapshot(undefined, () => ({ ...turn('h1', undefined, 'x'), status: 'pending', heartbeatAt: stale })))!
    expect((await store.getSnapshot({ snapshotId: id }))?.status).toBe('expired')
    expect((await store.getSnapshot({ sessionId: 'h1' }))?.status).toBe('expired')
    expect((await store.listSessionSnapshots('h1'))[0]?.status).toBe('expired')
    let seen: string | undefined
    await store.saveSnapshot(id, (current) => {
      seen = current?.status
      return null
    })
    expect(seen).toBe('pending')
    expect((await new GenkitSessionStore({ storage }).getSnapshot({ snapshotId: id }))?.status).toBe('pending')
    // A fresh heartbeat is pending again; terminal states absorb Genkit's abort.
    await store.saveSnapshot(id, (current) => ({ ...current!, heartbeatAt: new Date().toISOString() }))
    expect((await store.getSnapshot({ snapshotId: id }))?.status).toBe('pending')
  })

  it('onSnapshotStateChange: the current state, then every change, pushed on memory; stops on unsubscribe', async () => {
    const store = new GenkitSessionStore({ storage: new MemoryStorage() })
    const id = (await store.saveSnapshot(undefined, () => ({ ...turn('w1', undefined, 'x'), status: 'pending' })))!
    const seen: (string | undefined)[] = []
    const stop = store.onSnapshotStateChange(id, (s) => seen.push(s.status))
    await expect.poll(() => seen).toEqual(['pending'])
    await store.saveSnapshot(id, (current) => ({ ...current!, status: 'aborted' }))
    await expect.poll(() => seen).toEqual(['pending', 'aborted'])
    stop()
    await store.saveSnapshot(id, (current) => ({ ...current!, status: 'completed' }))
    await new Promise((r) => setTimeout(r, 50))
    expect(seen).toEqual(['pending', 'aborted'])
  })
})

describe('GenkitSessionStore: concurrent mutators on one id (seeded interleavings against a model)', () => {
  it('every committed mutation is kept; an abort absorbs later abort-aware writes; the index agrees', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom('inc' as const, 'inc' as const, 'abort' as const, 'awareInc' as const), { minLength: 2, maxLength: 8 }),
        async (s, kinds) => {
          const { backend } = counted(new MemoryBackend(), (f) => s.scheduleFunction(f))
          const store = new GenkitSessionStore({ storage: { backend, prefix: '' } })
          const seed = store.saveSnapshot('one', () => ({ ...turn('m1', undefined, 'x'), status: 'pending' }))
          await s.waitFor(seed)
          const bump = (current: SessionSnapshot | undefined): SessionSnapshotInput => ({
            ...current!,
            state: { ...current!.state, custom: { count: (current!.state!.custom as { count: number }).count + 1 } },
          })
          const results = kinds.map((kind) =>
            store.saveSnapshot('one', (current) => {
              if (kind === 'abort') return current?.status === 'pending' ? { ...current, status: 'aborted' } : null
              if (kind === 'awareInc' && current?.status === 'aborted') return null
              return bump(current)
            }),
          )
          const settled = await s.waitFor(Promise.all(results))
          const final = await s.waitFor(store.getSnapshot({ snapshotId: 'one' }))
          // Model: every increment that resolved an id was applied exactly once; an abort that
          // resolved an id is the stored status.
          const applied = kinds.filter((k, i) => k !== 'abort' && settled[i] !== null).length
          expect((final!.state!.custom as { count: number }).count).toBe(applied)
          const aborted = kinds.some((k, i) => k === 'abort' && settled[i] !== null)
          expect(final!.status).toBe(aborted ? 'aborted' : 'pending')
          const listed = await s.waitFor(store.listSessionSnapshots('m1'))
          expect(listed.map((e) => e.status)).toEqual([final!.status])
        },
      ),
      { seed: 20261202, numRuns: 60 },
    )
  })
})

describeS3('GenkitSessionStore on S3 (Ceph)', () => {
  it('32 concurrent mutators on one id lose nothing', async () => {
    const prefix = uniquePrefix('genkit-cas')
    try {
      const store = new GenkitSessionStore({ storage: new S3Storage(s3Options({ prefix })) })
      const id = (await store.saveSnapshot(undefined, () => turn('race', undefined, 'x')))!
      const results = await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          store.saveSnapshot(id, (current) => {
            const custom = current!.state!.custom as { count: number; who?: number[] }
            return { ...current!, state: { ...current!.state, custom: { count: custom.count + 1, who: [...(custom.who ?? []), i] } } }
          }),
        ),
      )
      expect(results).toEqual(Array(32).fill(id))
      const custom = (await store.getSnapshot({ snapshotId: id }))!.state!.custom as { count: number; who: number[] }
      expect(custom.count).toBe(32)
      expect([...custom.who].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i))
      expect((await store.getSnapshot({ sessionId: 'race' }))?.snapshotId).toBe(id)
    } finally {
      await wipePrefix(prefix)
    }
  }, 120_000)
})

describe('the Genkit key layout (adapters/genkit/keys.ts): built and parsed in one module', () => {
  it('round-trips every key it builds, and parses nothing else', () => {
    expect(parseGenkitKey(genkitSnapshotKey('', 'global', 'b9c7-1'))).toEqual({ kind: 'snapshot', namespace: 'global', id: 'b9c7-1' })
    expect(parseGenkitKey(genkitSessionKey('', 'alice', 'chat.1'))).toEqual({ kind: 'session', namespace: 'alice', id: 'chat.1' })
    for (const change of ['in', 'out'] as const) {
      expect(parseGenkitKey(genkitLineageKey('', 'alice', 'chat.1', 'b9c7-1', 12, change))).toEqual({
        kind: 'lineage',
        namespace: 'alice',
        id: 'chat.1',
        snapshotId: 'b9c7-1',
        rev: 12,
        change,
      })
    }
    expect(genkitLineageKey('p/', 'global', 's', 'x', 1, 'in')).toBe('p/genkit/global/sessions/s/x~1~in.json')
    expect(genkitSnapshotKey('p/', 'global', 'x')).toBe('p/genkit/global/snapshots/x.json')
    for (const other of [
      's1/scopes/agent/a/snapshots/snapshot_latest.json',
      'genkit/global/snapshots/x.txt',
      'genkit/global/other/x.json',
      'genkit/.hidden/snapshots/x.json',
      'genkit/global/snapshots/.json',
      'genkit/global/snapshots/a/b.json',
      'notgenkit/global/snapshots/x.json',
      'genkit/global/sessions/s/x~0~in.json',
      'genkit/global/sessions/s/x~01~in.json',
      'genkit/global/sessions/s/x~1~moved.json',
      'genkit/global/sessions/s/x~1.json',
      'genkit/global/sessions/s/x~1~in~in.json',
      'genkit/global/sessions/s/.x~1~in.json',
      'genkit/global/sessions/.s/x~1~in.json',
      'genkit/global/snapshots/s/x~1~in.json',
      'genkit/global/sessions/s/t/x~1~in.json',
    ]) {
      expect(parseGenkitKey(other)).toBeUndefined()
    }
  })
})
