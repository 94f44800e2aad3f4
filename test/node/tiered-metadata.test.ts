import { afterAll, describe, expect, it } from 'vitest'
import { MemoryStorage, type SnapshotLocation } from 'snapshelf'
import { createSnapshotHandler, HttpStorage } from 'snapshelf/http'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// Snapshot metadata through TieredStorage: written offline it lists locally at once; sync
// pushes it with the bytes (history create-only, latest by compare-and-swap); another device
// gets it by pull, by discover + sync, and by a read-through; a newer latest's metadata wins
// with its bytes in reconcile.

let n = 0
const where = (): SnapshotLocation => ({ sessionId: `meta-${Date.now().toString(36)}-${n++}`, scope: 'agent', scopeId: 'main' })

/** An HTTP remote over a memory server whose network can be switched off. */
function switchableRemote() {
  const server = new MemoryStorage()
  const handler = createSnapshotHandler({ storage: server, authorize: () => true, basePath: '/api' })
  const network = { online: true }
  const fetch = async (input: string, init: RequestInit): Promise<Response> => {
    if (!network.online) throw new TypeError('Failed to fetch')
    return handler(new Request(new URL(input, 'http://app.test'), init))
  }
  return { server, network, remote: new HttpStorage({ baseUrl: '/api', fetch, retries: 0 }) }
}

describe('TieredStorage snapshot metadata', () => {
  it('offline: listed locally at once; synced: on the remote with the bytes; a second device pulls it', async () => {
    const { server, network, remote } = switchableRemote()
    const a = new TieredStorage({ local: new MemoryStorage(), remote })
    const location = where()
    network.online = false
    const first = await a.commitSnapshot({ location, snapshot: sampleSnapshot(1), metadata: { title: 'Lisboa ☀', turn: '1' } })
    const second = await a.commitSnapshot({ location, snapshot: sampleSnapshot(2), metadata: { title: 'Lisboa ☀', turn: '2' } })
    expect((await a.listSnapshots({ location })).items.map((i) => i.metadata?.turn)).toEqual(['1', '2'])
    expect((await a.listSessions()).items.find((s) => s.sessionId === location.sessionId)?.metadata).toEqual({
      title: 'Lisboa ☀',
      turn: '2',
    })
    await expect(a.sync()).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    network.online = true
    await a.sync()
    // On the remote, as stored, history and latest alike.
    const stored = { title: 'Lisboa %E2%98%80', turn: '2' }
    const { prefix } = server
    expect(prefix).toBe('')
    const history = (id: string) => `${location.sessionId}/scopes/agent/main/snapshots/immutable_history/snapshot_${id}.json`
    expect((await server.backend.head(history(first.snapshotId)))?.metadata).toEqual({ ...stored, turn: '1' })
    expect((await server.backend.head(history(second.snapshotId)))?.metadata).toEqual(stored)
    expect((await server.backend.head(`${location.sessionId}/scopes/agent/main/snapshots/snapshot_latest.json`))?.metadata).toEqual(stored)
    expect((await server.listSessions()).items.find((s) => s.sessionId === location.sessionId)?.metadata).toEqual({
      title: 'Lisboa ☀',
      turn: '2',
    })
    // A new device: discovers the session with its metadata, pulls it, lists it locally.
    const b = new TieredStorage({ local: new MemoryStorage(), remote })
    expect((await b.discover()).items.find((s) => s.sessionId === location.sessionId)?.metadata).toEqual({ title: 'Lisboa ☀', turn: '2' })
    await b.sync({ sessions: [location.sessionId] })
    expect((await b.listSnapshots({ location })).items.map((i) => i.metadata?.turn)).toEqual(['1', '2'])
    expect((await b.listSessions()).items[0]?.metadata?.turn).toBe('2')
    // A third reads one history snapshot through: the cached copy keeps its metadata.
    const c = new TieredStorage({ local: new MemoryStorage(), remote })
    expect((await c.loadSnapshot({ location, snapshotId: first.snapshotId }))?.appData.tag).toBe('1')
    expect((await c.listSnapshots({ location })).items.map((i) => i.metadata)).toEqual([{ title: 'Lisboa ☀', turn: '1' }])
    // B commits turn 3; A syncs: the newer latest wins in reconcile, its metadata with it.
    await b.commitSnapshot({ location, snapshot: sampleSnapshot(3), metadata: { title: 'Lisboa ☀', turn: '3' } })
    await b.sync()
    await a.sync()
    expect((await a.loadSnapshot({ location }))?.appData.tag).toBe('3')
    expect((await a.listSessions()).items.find((s) => s.sessionId === location.sessionId)?.metadata?.turn).toBe('3')
    expect((await a.listSnapshots({ location })).items.map((i) => i.metadata?.turn)).toEqual(['1', '2', '3'])
    a.close()
    b.close()
    c.close()
  })

  it('a snapshot saved without metadata syncs without any (nothing invented on the way)', async () => {
    const { server, remote } = switchableRemote()
    const a = new TieredStorage({ local: new MemoryStorage(), remote })
    const location = where()
    const { snapshotId } = await a.commitSnapshot({ location, snapshot: sampleSnapshot(1) })
    await a.sync()
    const key = `${location.sessionId}/scopes/agent/main/snapshots/immutable_history/snapshot_${snapshotId}.json`
    expect(await server.backend.head(key)).not.toHaveProperty('metadata')
    expect((await server.listSnapshots({ location })).items[0]).not.toHaveProperty('metadata')
    a.close()
  })
})

const prefix = uniquePrefix('tiered-meta')
describeS3('TieredStorage snapshot metadata to a real S3 remote', () => {
  afterAll(() => wipePrefix(prefix))
  it('pushes history and latest with their x-amz-meta-* headers; a new device pulls them back', async () => {
    const remote = new S3Storage(s3Options({ prefix }))
    const a = new TieredStorage({ local: new MemoryStorage(), remote })
    const location = where()
    const { snapshotId } = await a.commitSnapshot({ location, snapshot: sampleSnapshot(1), metadata: { title: 'Café', tokens: '812' } })
    await a.sync()
    const raw = new S3Backend(s3Options())
    const base = `${prefix}/${location.sessionId}/scopes/agent/main/snapshots`
    for (const key of [`${base}/immutable_history/snapshot_${snapshotId}.json`, `${base}/snapshot_latest.json`]) {
      expect((await raw.head(key))?.metadata).toEqual({ title: 'Caf%C3%A9', tokens: '812' })
    }
    const b = new TieredStorage({ local: new MemoryStorage(), remote })
    await b.hydrate({ location })
    // The local tier lists it for free, though S3 itself does not.
    expect((await b.listSnapshots({ location })).items[0]?.metadata).toEqual({ title: 'Café', tokens: '812' })
    expect((await b.listSessions()).items[0]?.metadata).toEqual({ title: 'Café', tokens: '812' })
    a.close()
    b.close()
  })
})
