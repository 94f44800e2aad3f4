import { expect, it } from 'vitest'
import { newSnapshotId, type SnapshelfError, type Snapshot } from 'snapshelf'
import { S3Storage } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import type { Fault } from '../helpers/fault-proxy.js'
import { bump, type Counter } from '../helpers/counter.js'
import { countingFetch, describeS3, s3Options, uniquePrefix, useS3FaultProxy } from '../helpers/s3.js'

// Faults a real server will not produce on demand, injected by a proxy in front of real Ceph.
const prefix = uniquePrefix('faults')
const location = (sessionId: string) => ({ sessionId, scope: 'agent', scopeId: 'main' })

describeS3('S3Storage under injected faults (proxy in front of real S3)', () => {
  const faults = useS3FaultProxy(prefix)
  const direct = () => new S3Storage(s3Options({ prefix }))
  const viaProxy = (extra: Parameters<typeof s3Options>[0] = {}) =>
    new S3Storage(s3Options({ prefix, endpoint: faults.proxy.url, retries: 8, timeoutMs: 1500, ...extra }))

  it('500 saves at a 10% fault rate: every snapshot stored once, intact, none lost, none extra', async () => {
    const store = viaProxy()
    const loc = location(`s500-${Date.now().toString(36)}`)
    const saved = new Map<string, Snapshot>()
    const ids = Array.from({ length: 500 }, () => newSnapshotId())
    faults.proxy.rate = 0.1
    faults.proxy.faults = ['500', '503', '429', 'reset', 'stall', 'lost']
    const before = { ...faults.proxy.stats.faults }
    try {
      let next = 0
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < ids.length) {
            const i = next++
            const snapshot = sampleSnapshot(i, { payload: `snapshot ${i} `.repeat(20 + (i % 50)) })
            await store.saveSnapshot({ location: loc, snapshotId: ids[i]!, isLatest: false, snapshot })
            saved.set(ids[i]!, snapshot)
          }
        }),
      )
    } finally {
      faults.proxy.rate = 0
    }
    const injected = Object.entries(faults.proxy.stats.faults).map(([k, v]) => [k, v - before[k as Fault]] as const)
    console.log('faults injected during 500 saves:', Object.fromEntries(injected))
    for (const kind of ['500', '503', '429', 'reset', 'stall', 'lost'])
      expect(injected.find(([k]) => k === kind)![1], kind).toBeGreaterThan(0)
    // The truth, read directly from Ceph: exactly the saved ids, each decoding to what was saved.
    const truth = direct()
    expect(await truth.listSnapshotIds({ location: loc })).toEqual([...ids].sort())
    for (const [id, snapshot] of saved) expect(await truth.loadSnapshot({ location: loc, snapshotId: id })).toEqual(snapshot)
  })

  it('32 concurrent updateLatest at a 10% fault rate: each writer applied exactly once', async () => {
    const store = viaProxy()
    const loc = location(`cas-${Date.now().toString(36)}`)
    await direct().commitSnapshot({
      location: loc,
      snapshotId: newSnapshotId(),
      snapshot: sampleSnapshot('c', { count: 0, writers: [] }),
    })
    faults.proxy.rate = 0.1
    faults.proxy.faults = ['500', '503', '429', 'reset', 'lost']
    const lostBefore = faults.proxy.stats.faults.lost
    try {
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          store.updateLatest({
            location: loc,
            maxAttempts: 1000,
            mutate: (cur) => {
              const d = cur!.data as Counter
              return { ...cur!, data: { count: d.count + 1, writers: [...d.writers, i] } }
            },
          }),
        ),
      )
    } finally {
      faults.proxy.rate = 0
    }
    console.log(`lost responses during the race: ${faults.proxy.stats.faults.lost - lostBefore}`)
    const final = (await direct().loadSnapshot({ location: loc }))!.data as Counter
    expect([...final.writers].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i))
    expect(final.count).toBe(32)
  })

  it('a conditional PUT whose response was lost is recognised as our own write, not a lost race', async () => {
    const store = viaProxy()
    const loc = location(`lost-${Date.now().toString(36)}`)
    await direct().commitSnapshot({
      location: loc,
      snapshotId: newSnapshotId(),
      snapshot: sampleSnapshot('c', { count: 0, writers: [] }),
    })
    faults.proxy.force('lost', 1, (req) => req.method === 'PUT' && req.headers['if-match'] !== undefined)
    const lostBefore = faults.proxy.stats.faults.lost
    let calls = 0
    const result = await store.updateLatest({
      location: loc,
      mutate: (cur) => {
        calls++
        return { ...cur!, data: { count: (cur!.data as Counter).count + 1, writers: [1] } }
      },
    })
    expect(faults.proxy.stats.faults.lost - lostBefore).toBe(1)
    expect(result.committed).toBe(true)
    expect(calls).toBe(1)
    expect(((await direct().loadSnapshot({ location: loc }))!.data as Counter).count).toBe(1)
  })

  it('…even when another writer replaced our landed write before the retry', async () => {
    const loc = location(`chain-${Date.now().toString(36)}`)
    const rival = direct()
    await rival.commitSnapshot({
      location: loc,
      snapshotId: newSnapshotId(),
      snapshot: sampleSnapshot('c', { count: 0, writers: [] }),
    })
    // Writer 1's first conditional PUT lands but its answer is lost; before its retry goes out,
    // writer 2 reads writer 1's value and commits on top of it.
    const { fetch: spy } = countingFetch()
    let puts = 0
    const interleave: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && new Headers(init.headers).has('if-match') && ++puts === 2) {
        await rival.updateLatest({ location: loc, mutate: bump(2) })
      }
      return spy(input, init)
    }
    faults.proxy.force('lost', 1, (req) => req.method === 'PUT' && req.headers['if-match'] !== undefined)
    let calls = 0
    const result = await viaProxy({ fetch: interleave }).updateLatest({
      location: loc,
      mutate: (cur) => {
        calls++
        return bump(1)(cur)
      },
    })
    expect(result.committed).toBe(true)
    expect(calls).toBe(1)
    const final = (await rival.loadSnapshot({ location: loc }))!.data as Counter
    expect(final).toEqual({ count: 2, writers: [1, 2] })
  })

  it('…and when a writer without tokens replaced it, the outcome is reported unknown, never applied twice', async () => {
    const loc = location(`foreign-${Date.now().toString(36)}`)
    const rival = direct()
    await rival.commitSnapshot({
      location: loc,
      snapshotId: newSnapshotId(),
      snapshot: sampleSnapshot('c', { count: 0, writers: [] }),
    })
    // Writer 1's first conditional PUT lands but its answer is lost; before its retry goes out, a
    // writer that carries no write tokens (an unconditional save, as Strands' own storage or any
    // other S3 client does) replaces it with count 1 + its own mark. Our token is gone from the
    // object, so nothing can tell whether our write landed.
    const { fetch: spy } = countingFetch()
    let puts = 0
    const interleave: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && new Headers(init.headers).has('if-match') && ++puts === 2) {
        const seen = (await rival.loadSnapshot({ location: loc }))!
        const d = seen.data as Counter
        await rival.saveSnapshot({
          location: loc,
          snapshotId: 'latest',
          isLatest: true,
          snapshot: { ...seen, data: { count: d.count + 1, writers: [...d.writers, 9] } },
        })
      }
      return spy(input, init)
    }
    faults.proxy.force('lost', 1, (req) => req.method === 'PUT' && req.headers['if-match'] !== undefined)
    let calls = 0
    const error = await viaProxy({ fetch: interleave })
      .updateLatest({
        location: loc,
        mutate: (cur) => {
          calls++
          return { ...cur!, data: { count: (cur!.data as Counter).count + 1, writers: [...(cur!.data as Counter).writers, 1] } }
        },
      })
      .then(
        () => null,
        (e: SnapshelfError) => e,
      )
    expect(error?.code).toBe('ERR_REMOTE')
    expect(error?.status).toBe(412)
    expect(error?.message).toContain('outcome unknown')
    expect(calls).toBe(1)
    expect((await rival.loadSnapshot({ location: loc }))!.data).toEqual({ count: 2, writers: [1, 9] })
  })

  it.each(['500', '503', '429', 'reset', 'stall', 'lost'] as const)('a %s on a read or a write is retried transparently', async (fault) => {
    const store = viaProxy()
    const loc = location(`one-${fault}-${Date.now().toString(36)}`)
    const id = newSnapshotId()
    faults.proxy.force(fault, 1, (req) => req.method === 'PUT')
    await store.commitSnapshot({ location: loc, snapshotId: id, snapshot: sampleSnapshot(fault) })
    faults.proxy.force(fault, 1, (req) => req.method === 'GET')
    expect((await store.loadSnapshot({ location: loc, snapshotId: id }))?.appData.tag).toBe(fault)
    faults.proxy.force(fault, 1, (req) => req.method === 'GET')
    expect(await store.listSnapshotIds({ location: loc })).toEqual([id])
    faults.proxy.force(fault, 1, (req) => req.method === 'POST')
    await store.deleteSession({ sessionId: loc.sessionId })
    expect(await direct().listSnapshotIds({ location: loc })).toEqual([])
  })

  it('retries run out: typed errors with status, S3 code and request id; a stall is ERR_TIMEOUT', async () => {
    const store = viaProxy({ retries: 2, timeoutMs: 800 })
    const loc = location(`exhaust-${Date.now().toString(36)}`)
    faults.proxy.force('503', 3, (req) => req.method === 'GET')
    await expect(store.loadSnapshot({ location: loc })).rejects.toMatchObject({
      code: 'ERR_REMOTE',
      status: 503,
      serverCode: 'ServiceUnavailable',
      requestId: expect.stringMatching(/^proxy-/),
    })
    faults.proxy.force('stall', 3, (req) => req.method === 'GET')
    await expect(store.loadSnapshot({ location: loc })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    faults.proxy.force('reset', 3, (req) => req.method === 'GET')
    await expect(store.loadSnapshot({ location: loc })).rejects.toMatchObject({ code: 'ERR_REMOTE' })
  })

  it('integrity: the real server rejects a body altered in flight; nothing is stored', async () => {
    const store = viaProxy()
    const loc = location(`tamper-${Date.now().toString(36)}`)
    const id = newSnapshotId()
    faults.proxy.force('tamper', 1, (req) => req.method === 'PUT')
    const err = await store.commitSnapshot({ location: loc, snapshotId: id, snapshot: sampleSnapshot('t') }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_REMOTE', status: 400, serverCode: 'XAmzContentSHA256Mismatch' })
    expect(await direct().hasSnapshot({ location: loc, snapshotId: id })).toBe(false)
    expect(await direct().hasSnapshot({ location: loc })).toBe(false)
  })

  it('abort mid-request: ERR_ABORTED promptly, even while the server stalls', async () => {
    const store = viaProxy({ timeoutMs: 60_000 })
    const ctrl = new AbortController()
    faults.proxy.force('stall', 1, (req) => req.method === 'GET')
    const pending = store.loadSnapshot({ location: location('abort'), signal: ctrl.signal } as never)
    setTimeout(() => ctrl.abort(new Error('user gave up')), 100)
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' })
  })
})
