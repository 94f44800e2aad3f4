import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { CorruptError, newSnapshotId, type Snapshot } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'

// Encryption inside workerd (issue 16): R2Storage seals with Web Crypto in the Worker runtime, and
// the HTTP handler in front of a keyless R2Storage moves ciphertext it cannot read: what the
// example Worker does. Stored bytes are read from the R2 binding itself.
const bucket = (
  env as unknown as { SNAPSHOTS: R2BucketLike & { get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null> } }
).SNAPSHOTS
const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
const encryption = { keys: { k1: key }, writeKeyId: 'k1' }
const sealed = (bytes: Uint8Array) => [0x89, 0x53, 0x48, 0x45].every((b, i) => bytes[i] === b)
const text = (bytes: Uint8Array) => new TextDecoder('latin1').decode(bytes)

function snapshotWith(secret: string): Snapshot {
  return { scope: 'agent', schemaVersion: '1.0', createdAt: new Date().toISOString(), data: { messages: [secret] }, appData: {} }
}

it('R2Storage with encryption: round trip; the R2 object is sealed and holds no plaintext; a keyless R2Storage names the key id', async () => {
  const storage = new R2Storage({ bucket, prefix: 'enc-r2', compression: 'none', encryption })
  const location = { sessionId: 'w1', scope: 'agent', scopeId: 'main' }
  const secret = `SECRET-workerd-${Math.random()}`
  const { snapshotId } = await storage.commitSnapshot({ location, snapshot: snapshotWith(secret) })
  expect((await storage.loadSnapshot({ location, snapshotId }))?.data).toEqual({ messages: [secret] })
  const raw = new Uint8Array(await (await bucket.get('enc-r2/w1/scopes/agent/main/snapshots/snapshot_latest.json'))!.arrayBuffer())
  expect(sealed(raw)).toBe(true)
  expect(text(raw)).not.toContain(secret)
  const keyless = new R2Storage({ bucket, prefix: 'enc-r2' })
  await expect(keyless.loadSnapshot({ location })).rejects.toThrow(CorruptError)
  await expect(keyless.loadSnapshot({ location })).rejects.toThrow(/key id "k1"/)
})

it('HttpStorage (encrypted) -> handler -> keyless R2Storage: the Worker stores and serves ciphertext only', async () => {
  const server = new R2Storage({ bucket, prefix: 'enc-http' })
  const handle = createSnapshotHandler({ storage: server, basePath: '/api', authorize: () => true })
  const client = new HttpStorage({ baseUrl: 'https://worker.test/api', fetch: (u, init) => handle(new Request(u, init)), encryption })
  const location = { sessionId: 'w2', scope: 'agent', scopeId: 'main' }
  const secret = `SECRET-http-${Math.random()}`
  const id = newSnapshotId()
  await client.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: snapshotWith(secret) })
  await client.updateLatest({ location, mutate: () => snapshotWith(secret) })
  expect((await client.loadSnapshot({ location, snapshotId: id }))?.data).toEqual({ messages: [secret] })
  expect((await client.loadSnapshot({ location }))?.data).toEqual({ messages: [secret] })
  for (const k of [
    `enc-http/w2/scopes/agent/main/snapshots/immutable_history/snapshot_${id}.json`,
    'enc-http/w2/scopes/agent/main/snapshots/snapshot_latest.json',
  ]) {
    const raw = new Uint8Array(await (await bucket.get(k))!.arrayBuffer())
    expect(sealed(raw), k).toBe(true)
    expect(text(raw)).not.toContain(secret)
  }
})
