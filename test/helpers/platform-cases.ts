import { gunzip, sha256Hex, sigV4Signer } from '#platform'
import { AwsV4Signer } from 'aws4fetch'
import type { it as vitestIt } from 'vitest'
import { encodeJSON, isGzip, MemoryStorage } from 'snapshelf'
import { equal } from 'snapshelf/testing'
import { nodeWritten } from './platform-fixture.js'

/**
 * What every runtime's `#platform` must agree on with the node platform, from bytes it wrote
 * (test/helpers/platform-fixture.ts): run in workerd and Chromium, whose runners resolve
 * `#platform` to the web file, so the Node-written objects are read by the other path.
 *
 * @example
 * runPlatformCases(it, 'workerd')
 */
export function runPlatformCases(it: typeof vitestIt, runtime: string): void {
  const gzipped = Uint8Array.from(atob(nodeWritten.gzipBase64), (c) => c.charCodeAt(0))

  it(`${runtime}: a snapshot gzipped by the node platform loads`, async () => {
    const storage = new MemoryStorage()
    const location = { sessionId: 'node-written', scope: 'agent', scopeId: 'main' }
    await storage.backend.put('node-written/scopes/agent/main/snapshots/snapshot_latest.json', gzipped)
    equal(await storage.loadSnapshot({ location }), nodeWritten.snapshot)
    // And what this runtime writes back reads as the same snapshot.
    await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: nodeWritten.snapshot as never })
    equal(await storage.loadSnapshot({ location }), nodeWritten.snapshot)
  })

  it(`${runtime}: a large snapshot (many messages) is gzipped piece by piece as exactly JSON.stringify's text, and loads`, async () => {
    const messages: unknown[] = []
    for (let i = 0; i < 60_000; i++)
      messages.push({ role: i % 2 ? 'assistant' : 'user', content: [{ text: `turn ${i >> 2}: ünïcødé 😀 #${i}` }] })
    const snapshot = { scope: 'agent', schemaVersion: '1.0', createdAt: new Date(0).toISOString(), data: { messages }, appData: {} }
    const stored = await encodeJSON(snapshot, 'gzip', 64 << 20)
    equal(isGzip(stored), true)
    const text = new TextDecoder().decode(await gunzip(stored, 64 << 20))
    equal(text === JSON.stringify(snapshot), true, 'the stored text is JSON.stringify of the snapshot')
    const storage = new MemoryStorage()
    const location = { sessionId: 'large', scope: 'agent', scopeId: 'main' }
    await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: snapshot as never })
    equal(JSON.stringify(await storage.loadSnapshot({ location })) === text, true, 'loads as saved')
  })

  it(`${runtime}: SHA-256 and the SigV4 signature are the node platform's`, async () => {
    equal(await sha256Hex(new TextEncoder().encode(JSON.stringify(nodeWritten.snapshot))), nodeWritten.sha256)
    const { request } = nodeWritten
    const signer = new AwsV4Signer({ ...request, headers: { ...request.headers }, service: 's3' })
    const sign = sigV4Signer(request.secretAccessKey, request.region, 's3')
    signer.signature = () => sign(signer)
    equal((await signer.sign()).headers.get('authorization'), nodeWritten.authorization)
  })
}
