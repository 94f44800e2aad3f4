import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { s3Server } from './s3-server.js'
import { S3Storage } from 'snapshelf/s3'

// A 24 MB snapshot round-trips inside workerd (issue 18 item 3), through the R2 binding and
// through S3Storage against the real Ceph gateway: encoded piece by piece into CompressionStream,
// hashed and signed, uploaded, downloaded, inflated piece by piece through DecompressionStream and
// parsed as it inflates. A deployed Worker has 128 MB; workerd as miniflare runs it here enforces
// no memory limit (miniflare sets none: the workerd process running this file peaked at ~380 MB
// of RSS without an error), so what these tests assert is that the round trip completes and gives
// back the very value. The memory figures come from bench/memory.bench.mjs (Node) and
// bench/workerd-memory.mjs (a workerd process's peak RSS; see the README).
// To stay well inside 128 MB the test never holds two copies of the snapshot: the value saved is
// dropped before the load, and the loaded one is checked message by message against messages
// made again from their index.

const MB = 1024 * 1024
const bucket = (env as unknown as { SNAPSHOTS: R2BucketLike }).SNAPSHOTS
const server = s3Server

/** Message `i` of the conversation: made again from its index to check a loaded one. */
function message(i: number): unknown {
  const turn = i >> 2
  switch (i & 3) {
    case 0:
      return { role: 'user', content: [{ text: `Where is order #${turn}? It was due on the ${(turn % 28) + 1}th. ünïcødé 😀` }] }
    case 1:
      return {
        role: 'assistant',
        content: [{ toolUse: { toolUseId: `tooluse_${turn.toString(36)}`, name: 'lookup_order', input: { id: turn } } }],
      }
    case 2:
      return {
        role: 'user',
        content: [
          {
            toolResult: { toolUseId: `tooluse_${turn.toString(36)}`, status: 'success', content: [{ json: { id: turn, carrier: 'DHL' } }] },
          },
        ],
      }
    default:
      return { role: 'assistant', content: [{ text: `Order #${turn} is ${turn % 3 ? 'on its way with DHL' : 'still being prepared'}.` }] }
  }
}

/** Saves a snapshot of at least `size` bytes of JSON through `storage` and returns how many messages it had; the value is gone on return. */
async function saveLarge(storage: R2Storage | S3Storage, location: object, size: number): Promise<number> {
  const messages: unknown[] = []
  for (let length = 200; length < size; ) {
    const next = message(messages.length)
    messages.push(next)
    length += JSON.stringify(next).length + 1
  }
  const snapshot = { scope: 'agent' as const, schemaVersion: '1.0', createdAt: new Date(0).toISOString(), data: { messages }, appData: {} }
  await storage.saveSnapshot({ location: location as never, snapshotId: 'latest', isLatest: true, snapshot: snapshot as never })
  return messages.length
}

async function roundTrip(storage: R2Storage | S3Storage): Promise<void> {
  const location = { sessionId: `large-${Date.now().toString(36)}`, scope: 'agent', scopeId: 'main' }
  const count = await saveLarge(storage, location, 24 * MB)
  expect(count).toBeGreaterThan(100_000)
  const loaded = (await storage.loadSnapshot({ location })) as { data: { messages: unknown[] }; createdAt: string } | null
  expect(loaded?.createdAt).toBe(new Date(0).toISOString())
  const messages = loaded!.data.messages
  expect(messages.length).toBe(count)
  let differing = 0
  for (let i = 0; i < count; i++) if (JSON.stringify(messages[i]) !== JSON.stringify(message(i))) differing++
  expect(differing).toBe(0)
  await storage.deleteSession({ sessionId: location.sessionId })
}

it('a 24 MB snapshot round-trips through the R2 binding inside workerd', { timeout: 120_000 }, async () => {
  expect(navigator.userAgent).toBe('Cloudflare-Workers')
  await roundTrip(new R2Storage({ bucket }))
})

it.skipIf(!server)('a 24 MB snapshot round-trips through S3Storage (Ceph) inside workerd', { timeout: 120_000 }, async () => {
  await roundTrip(new S3Storage({ ...server!, prefix: `large/workerd-${Math.random().toString(36).slice(2, 8)}` }))
})
