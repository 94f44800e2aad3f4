// A large snapshot through the BUILT package's codec on the node platform as Deno's and Bun's
// node compat run it (issue 18 item 3): written piece by piece into a node:zlib stream, read back
// through one trailer-sized inflate. Shared by the Deno and Bun runners; throws on any difference.
import { gunzipSync } from 'node:zlib'
import { encodeJSON, MemoryStorage } from 'snapshelf'

/** Saves and loads a ~5 MB conversation (80,000 messages) and checks the stored text and the value. */
export async function largeRoundTrip(): Promise<void> {
  const messages: unknown[] = []
  for (let i = 0; i < 80_000; i++)
    messages.push({ role: i % 2 ? 'assistant' : 'user', content: [{ text: `turn ${i >> 2}: ünïcødé 😀 #${i}` }] })
  const snapshot = { scope: 'agent' as const, schemaVersion: '1.0', createdAt: new Date(0).toISOString(), data: { messages }, appData: {} }
  const text = new TextDecoder().decode(gunzipSync(await encodeJSON(snapshot, 'gzip', 64 << 20)))
  if (text !== JSON.stringify(snapshot)) throw new Error('the stored text differs from JSON.stringify')
  const storage = new MemoryStorage()
  const location = { sessionId: 'large', scope: 'agent', scopeId: 'main' }
  await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: snapshot as never })
  const loaded = await storage.loadSnapshot({ location })
  if (JSON.stringify(loaded) !== text) throw new Error('the loaded snapshot differs from the saved one')
}
