// Issue 10 #9: stores whose prefixes nest in one bucket. A store with prefix `p` keeps session
// `tenantB` under `p/tenantB/`, which is exactly where a store with prefix `p/tenantB` keeps all of
// its sessions: erasing that session must never erase the nested store.
import { describe, expect, it } from 'vitest'
import { BackendSnapshotStore, MemoryBackend, newSnapshotId, type Backend } from 'snapshelf'
import { S3Backend } from 'snapshelf/s3'
import { TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'
import { describeS3, s3Options, uniquePrefix } from '../helpers/s3.js'

const at = (sessionId: string, scopeId = 'main') => ({ sessionId, scope: 'agent', scopeId })

async function keys(backend: Backend, prefix: string): Promise<string[]> {
  return (await backend.list(prefix, { limit: 1000 })).entries.map((e) => e.key)
}

/** Two stores in one backend, the second nested in a session folder of the first; both hold data. */
async function nestedPair(backend: Backend, root: string) {
  const outer = new BackendSnapshotStore({ backend, prefix: root })
  const inner = new BackendSnapshotStore({ backend, prefix: `${root}/tenantB` })
  // Inner sessions named like outer layout folders, to tempt a parser: `scopes`, and a plain one.
  for (const sessionId of ['a', 'scopes']) {
    await inner.commitSnapshot({
      location: at(sessionId),
      snapshotId: newSnapshotId(),
      snapshot: sampleSnapshot(`inner-${sessionId}`),
    })
    await inner.saveManifest({ location: at(sessionId), manifest: { schemaVersion: '1.0', updatedAt: new Date().toISOString() } })
  }
  await outer.commitSnapshot({ location: at('tenantB'), snapshotId: newSnapshotId(), snapshot: sampleSnapshot('outer') })
  await outer.saveSnapshot({
    location: at('tenantB', 'other'),
    snapshotId: newSnapshotId(),
    isLatest: false,
    snapshot: sampleSnapshot('outer'),
  })
  // A nested tiered store's own state folder, and a stray file of the outer session.
  await backend.put(`${root}/tenantB/.snapshelf/sync/a/scopes/agent/main/snapshots`, new TextEncoder().encode('{}'))
  await backend.put(`${root}/tenantB/notes.txt`, new TextEncoder().encode('stray'))
  return { outer, inner }
}

async function expectOnlyOuterGone(backend: Backend, root: string, inner: BackendSnapshotStore) {
  const left = await keys(backend, `${root}/tenantB/`)
  expect(left.some((k) => k.startsWith(`${root}/tenantB/scopes/agent/`))).toBe(false) // the outer session's keys
  expect(left).not.toContain(`${root}/tenantB/notes.txt`) // its stray file too
  expect(left).toContain(`${root}/tenantB/.snapshelf/sync/a/scopes/agent/main/snapshots`)
  for (const sessionId of ['a', 'scopes']) {
    expect((await inner.loadSnapshot({ location: at(sessionId) }))?.appData.tag).toBe(`inner-${sessionId}`)
    expect(await inner.listSnapshotIds({ location: at(sessionId) })).toHaveLength(1)
  }
}

describe('nested prefixes (memory)', () => {
  it("deleteSession('tenantB') on prefix p leaves the store with prefix p/tenantB intact", async () => {
    const backend = new MemoryBackend()
    const { outer, inner } = await nestedPair(backend, 'p')
    await outer.deleteSession({ sessionId: 'tenantB' })
    await expectOnlyOuterGone(backend, 'p', inner)
    expect(await outer.loadSnapshot({ location: at('tenantB') })).toBeNull()
  })

  it('a tiered deleteSession erases the session locally and remotely, never the nested store', async () => {
    const remote = new MemoryBackend()
    const { inner } = await nestedPair(remote, 'p')
    // The remote storage's prefix places the tiered store's keys remotely (its own prefix is local only).
    const tiered = new TieredStorage({ local: new MemoryBackend(), remote: { backend: remote, prefix: 'p' }, prefix: 'device' })
    await tiered.hydrate({ location: at('tenantB') })
    expect((await tiered.loadSnapshot({ location: at('tenantB') }))?.appData.tag).toBe('outer')
    await tiered.deleteSession({ sessionId: 'tenantB' })
    await tiered.sync()
    await expectOnlyOuterGone(remote, 'p', inner)
    expect(await tiered.loadSnapshot({ location: at('tenantB') })).toBeNull()
    tiered.close()
  })
})

describeS3('nested prefixes (real S3)', () => {
  it("deleteSession('tenantB') on prefix p leaves the store with prefix p/tenantB intact", async () => {
    const backend = new S3Backend(s3Options())
    const root = uniquePrefix('nest')
    const { outer, inner } = await nestedPair(backend, root)
    await outer.deleteSession({ sessionId: 'tenantB' })
    await expectOnlyOuterGone(backend, root, inner)
    await inner.deleteSession({ sessionId: 'a' })
    await inner.deleteSession({ sessionId: 'scopes' })
  })
})
