import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage, RemoteError, newSnapshotId, type Backend } from 'snapshelf'
import { StrandsStorage } from 'snapshelf/strands'
import { TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'

// Issue 11: keys no sync pulls (an adapter's, such as Strands' stash under `context/<id>/…`) are
// found by a second device because a listing outside the snapshot layout reads through to the
// remote, merged with the local page; deletes queued here never come back, offline lists local.

const enc = (text: string) => new TextEncoder().encode(text)

/** A remote backend that counts lists and can be switched off (a dead network). */
function switchable(inner: Backend = new MemoryBackend()) {
  const state = { online: true, lists: 0 }
  const gate = async <R>(op: () => Promise<R>): Promise<R> => {
    if (!state.online) throw new RemoteError('network error (injected)')
    return op()
  }
  const backend: Backend = {
    get: (k, o) => gate(() => inner.get(k, o)),
    head: (k, o) => gate(() => inner.head(k, o)),
    put: (k, b, o) => gate(() => inner.put(k, b, o)),
    delete: (k, o) => gate(() => inner.delete(k, o)),
    list: (p, o) => {
      state.lists++
      return gate(() => inner.list(p, o))
    },
  }
  return { backend, state }
}

describe('a listing outside the snapshot layout reads through to the remote', () => {
  it("device B lists and reads device A's adapter keys, keeps them offline once read, and never resurrects its own deletes", async () => {
    const { backend: remote, state } = switchable()
    const a = new TieredStorage({ local: new MemoryStorage(), remote, name: 'a' })
    const b = new TieredStorage({ local: new MemoryStorage(), remote, name: 'b' })
    const onA = new StrandsStorage({ storage: a })
    const onB = new StrandsStorage({ storage: b })
    const keys = ['context/s1/x', 'context/s1/y', 'context/s1/z', 'context/s2/w']
    for (const key of keys) await onA.write(key, enc(key))
    await a.sync()

    expect(await onB.list('context/s1/')).toEqual(keys.slice(0, 3))
    expect(new TextDecoder().decode((await onB.read('context/s1/x'))!)).toBe('context/s1/x')
    // A local write of B merges in, in order.
    await onB.write('context/s1/xa', enc('b'))
    expect(await onB.list('context/')).toEqual(['context/s1/x', 'context/s1/xa', 'context/s1/y', 'context/s1/z', 'context/s2/w'])
    // B deletes a key it never read: the delete is queued, the remote still has it, the listing does not.
    await onB.delete('context/s1/y')
    expect(await onB.list('context/s1/')).toEqual(['context/s1/x', 'context/s1/xa', 'context/s1/z'])
    // Offline: what B wrote or read stays listed; the listing does not fail.
    state.online = false
    expect(await onB.list('context/s1/')).toEqual(['context/s1/x', 'context/s1/xa'])
    expect(b.status.online).toBe(false)
    state.online = true
    await b.sync()
    // The remote got B's write and delete (device A keeps its own copy of y: deletions travel to the remote).
    expect((await remote.list('context/s1/')).entries.map((e) => e.key)).toEqual(['context/s1/x', 'context/s1/xa', 'context/s1/z'])
    a.close()
    b.close()
  })

  it('pages merge completely: local and remote keys interleaved, small pages', async () => {
    const { backend: remote } = switchable()
    for (let i = 0; i < 40; i += 2) await remote.put(`k/${String(i).padStart(2, '0')}`, enc('r'))
    const store = new TieredStorage({ local: new MemoryStorage(), remote })
    for (let i = 1; i < 40; i += 3) await store.backend.put(`k/${String(i).padStart(2, '0')}`, enc('l'))
    const seen: string[] = []
    let startAfter: string | undefined
    for (;;) {
      const page = await store.backend.list('k/', { startAfter, limit: 3 })
      seen.push(...page.entries.map((e) => e.key))
      if (!page.truncated) break
      startAfter = page.entries.at(-1)!.key
    }
    const expected = [...new Set([...Array.from({ length: 20 }, (_, i) => i * 2), ...Array.from({ length: 13 }, (_, i) => 1 + i * 3)])]
      .sort((x, y) => x - y)
      .map((i) => `k/${String(i).padStart(2, '0')}`)
    expect(seen).toEqual(expected)
    store.close()
  })

  it('listing the snapshot layout stays local (sync and hydrate pull history); tombstones are never listed', async () => {
    const { backend: remote, state } = switchable()
    const location = { sessionId: `l-${Date.now().toString(36)}`, scope: 'agent', scopeId: 'main' }
    const a = new TieredStorage({ local: new MemoryStorage(), remote, name: 'a' })
    const id = newSnapshotId()
    await a.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot('x') })
    await a.sync()
    await a.deleteSnapshot({ location, snapshotId: id })
    await a.sync() // leaves a tombstone on the remote
    const b = new TieredStorage({ local: new MemoryStorage(), remote, name: 'b' })
    state.lists = 0
    expect(await b.listSnapshotIds({ location })).toEqual([])
    expect(state.lists).toBe(0)
    // Through an adapter's whole-store listing the remote is asked, and its tombstone is left out.
    expect((await new StrandsStorage({ storage: b }).list('')).filter((k) => k.includes('tombstones'))).toEqual([])
    expect((await remote.list(`${location.sessionId}/`)).entries.map((e) => e.key).some((k) => k.includes('tombstones'))).toBe(true)
    a.close()
    b.close()
  })
})
