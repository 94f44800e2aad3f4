import { S3Client } from '@aws-sdk/client-s3'
import { Agent, SessionManager, type SnapshotStorage as StrandsSnapshotStorage } from '@strands-agents/sdk'
import { S3Storage as StrandsS3Storage } from '@strands-agents/sdk/session/s3-storage'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryStorage, newSnapshotId, type Snapshot } from 'snapshelf'
import { HttpStorage } from 'snapshelf/http'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { S3Storage } from 'snapshelf/s3'
import { TieredStorage } from 'snapshelf/tiered'
import { describeS3, s3Options, s3Server, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// Interop with the real Strands Agents TypeScript SDK (a devDependency), not an imitation of it:
// every storage class is assignable to its SnapshotStorage, its SessionManager saves and restores
// a real Agent through ours, and its own S3Storage shares a bucket with ours on the real S3 server.

/** Compile-time: `npm test` typechecks the tests, so a drifting signature fails the run. */
// biome-ignore lint/suspicious/noExportsInTest: exported only so the compile-time check is not an unused function
export function everyTierIsAStrandsSnapshotStorage(bucket: R2BucketLike): StrandsSnapshotStorage[] {
  return [
    new MemoryStorage(),
    new S3Storage({ bucket: 'b', endpoint: 'http://127.0.0.1:7480', accessKeyId: 'k', secretAccessKey: 's' }),
    new R2Storage({ bucket }),
    new IndexedDBStorage({ dbName: 'x' }),
    new HttpStorage({ baseUrl: 'http://127.0.0.1/api' }),
    new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage() }),
  ]
}

type AgentLike = { id: string; messages: { role: string; content: unknown[] }[] }
const textOf = (agent: AgentLike) => agent.messages.map((m) => JSON.stringify(m.content))

describe('Strands SessionManager over snapshelf storage', () => {
  it('saves a real Agent through MemoryStorage and restores it into a new Agent', async () => {
    const storage = new MemoryStorage()
    const sessionId = `trip-${Date.now().toString(36)}`
    const manager = new SessionManager({ sessionId, storage: { snapshot: storage } })
    const agent = new Agent({
      id: 'planner',
      plugins: [manager],
      messages: [
        { role: 'user', content: [{ text: 'plan a trip to Lisbon' }] },
        { role: 'assistant', content: [{ text: 'Three days: Alfama, Belém, Sintra.' }] },
      ],
    } as never) as unknown as AgentLike

    await manager.saveSnapshot({ target: agent as never, isLatest: true }) // Strands: snapshotId 'latest'
    await manager.saveSnapshot({ target: agent as never, isLatest: false }) // Strands: a fresh UUIDv7
    const location = { sessionId, scope: 'agent', scopeId: 'planner' }
    const ids = await manager.listSnapshotIds({ target: agent as never })
    expect(ids).toHaveLength(1)
    expect(await storage.listSnapshotIds({ location })).toEqual(ids)
    const stored = (await storage.loadSnapshot({ location }))!
    expect(stored.scope).toBe('agent')
    expect(JSON.stringify(stored.data)).toContain('Alfama')

    const restoredManager = new SessionManager({ sessionId, storage: { snapshot: storage } })
    const restored = new Agent({ id: 'planner', plugins: [restoredManager] } as never) as unknown as AgentLike
    expect(await restoredManager.restoreSnapshot({ target: restored as never })).toBe(true)
    expect(textOf(restored)).toEqual(textOf(agent))
    const older = new Agent({
      id: 'planner',
      plugins: [new SessionManager({ sessionId, storage: { snapshot: storage } })],
    } as never) as unknown as AgentLike
    expect(await restoredManager.restoreSnapshot({ target: older as never, snapshotId: ids[0]! })).toBe(true)
    expect(textOf(older)).toEqual(textOf(agent))

    await manager.deleteSession()
    expect(await storage.loadSnapshot({ location })).toBeNull()
    expect(await storage.listSnapshotIds({ location })).toEqual([])
  })
})

describeS3("Strands' own S3Storage and ours share a bucket (real S3)", () => {
  const prefix = uniquePrefix('strands')
  afterAll(() => wipePrefix(prefix))
  const server = s3Server!
  const strands = () =>
    new StrandsS3Storage({
      bucket: server.bucket,
      prefix,
      s3Client: new S3Client({
        endpoint: server.endpoint,
        region: server.region,
        forcePathStyle: true,
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      }),
    })
  const snapshot = (tag: string): Snapshot => ({
    scope: 'agent',
    schemaVersion: '1.0',
    createdAt: new Date().toISOString(),
    data: { messages: [{ role: 'user', content: [{ text: tag }] }] },
    appData: { tag },
  })

  it('what Strands writes, ours loads, lists and deletes', async () => {
    const theirs = strands()
    const ours = new S3Storage(s3Options({ prefix }))
    const location = { sessionId: `s-${Date.now().toString(36)}`, scope: 'agent' as const, scopeId: 'main' }
    const ids = [newSnapshotId(), newSnapshotId(), newSnapshotId()]
    for (const id of ids) await theirs.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: snapshot(id) })
    await theirs.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: snapshot('latest') })
    await theirs.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: '2026-01-01T00:00:00.000Z' } })

    expect(await ours.listSnapshotIds({ location })).toEqual(ids)
    expect(await ours.listSnapshotIds({ location, startAfter: ids[0], limit: 1 })).toEqual([ids[1]])
    expect((await ours.loadSnapshot({ location }))?.appData.tag).toBe('latest')
    expect((await ours.loadSnapshot({ location, snapshotId: ids[2] }))?.appData.tag).toBe(ids[2])
    expect(await ours.loadManifest({ location })).toEqual({ schemaVersion: '1.0', updatedAt: '2026-01-01T00:00:00.000Z' })
    const { items } = await ours.listSnapshots({ location })
    expect(items.map((i) => i.snapshotId)).toEqual(ids)
    expect(items.every((i) => i.storedBytes > 0)).toBe(true)

    await ours.deleteSession({ sessionId: location.sessionId })
    expect(await theirs.loadSnapshot({ location })).toBeNull()
    expect(await theirs.listSnapshotIds({ location })).toEqual([])
  })

  it("what ours writes with compression 'none', Strands loads and lists", async () => {
    const theirs = strands()
    const ours = new S3Storage(s3Options({ prefix, compression: 'none' }))
    const location = { sessionId: `o-${Date.now().toString(36)}`, scope: 'agent' as const, scopeId: 'main' }
    const ids = [newSnapshotId(), newSnapshotId()]
    for (const id of ids) {
      if (id === ids[1]) await ours.commitSnapshot({ location, snapshotId: id, snapshot: snapshot(id) })
      else await ours.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: snapshot(id) })
    }
    await ours.updateLatest({ location, mutate: (cur) => ({ ...cur!, appData: { tag: 'updated' } }) })

    expect(await theirs.listSnapshotIds({ location })).toEqual(ids)
    expect((await theirs.loadSnapshot({ location, snapshotId: ids[0] }))?.appData).toEqual({ tag: ids[0] })
    expect((await theirs.loadSnapshot({ location }))?.appData).toEqual({ tag: 'updated' })
    await theirs.deleteSession({ sessionId: location.sessionId })
    expect(await ours.listSnapshotIds({ location })).toEqual([])
  })
})
