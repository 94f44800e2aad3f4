// deleteSession erases ONE session: in a session named like an adapter's folder, only its snapshots,
// manifests and tombstones (`<sessionId>/scopes/…`). Adapters keep their folders in the same
// prefix (`langgraph/`, `genkit/`, Strands' `session/` and `context/`), where a plain session of
// that name would also live: erasing the session `langgraph` must not erase every thread.
import { emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint'
import { describe, expect, it } from 'vitest'
import { MemoryBackend, MemoryStorage, newSnapshotId, type Backend, type SnapshotStorage } from 'snapshelf'
import { GenkitSessionStore } from 'snapshelf/genkit'
import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'
import { StrandsStorage } from 'snapshelf/strands'
import { TieredStorage } from 'snapshelf/tiered'
import { sampleSnapshot } from 'snapshelf/testing'

const at = (sessionId: string) => ({ sessionId, scope: 'agent', scopeId: 'main' })
const bytes = (text: string) => new TextEncoder().encode(text)

async function keys(backend: Backend): Promise<string[]> {
  return (await backend.list('', { limit: 1000 })).entries.map((e) => e.key)
}

/** Every adapter writes into `storage`, with names chosen to sit inside a plain session's folder. */
async function fillAdapters(storage: SnapshotStorage & { backend: Backend; prefix: string }) {
  // A LangGraph thread called `scopes`: its keys are `langgraph/scopes/…`, inside session `langgraph`'s `scopes/`.
  const saver = new SnapshelfCheckpointSaver({ storage })
  const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1) }
  await saver.put({ configurable: { thread_id: 'scopes', checkpoint_ns: '' } }, checkpoint, { source: 'loop', step: 0, parents: {} }, {})
  // A Genkit snapshot (namespace `global`: `genkit/global/…`).
  const genkit = new GenkitSessionStore({ storage })
  const genkitId = await genkit.saveSnapshot(undefined, () => ({
    snapshotId: crypto.randomUUID(),
    sessionId: 'scopes',
    createdAt: new Date().toISOString(),
    state: { messages: [] },
  }))
  // Strands: a session called `scopes` (`session/scopes/scopes/…`) and its stash (`context/scopes/scopes/…`).
  const strands = new StrandsStorage({ storage })
  await strands.write('session/scopes/scopes/agent/main/snapshots/snapshot_latest.json', bytes('{"schemaVersion":"1.0"}'))
  await strands.write('context/scopes/scopes/agent/main/toolu_01', bytes('stash'))
  return { saver, genkit, genkitId, strands }
}

async function expectAdaptersIntact(filled: Awaited<ReturnType<typeof fillAdapters>>) {
  expect(await filled.saver.getTuple({ configurable: { thread_id: 'scopes', checkpoint_ns: '' } })).toBeDefined()
  expect(await filled.genkit.getSnapshot({ snapshotId: filled.genkitId! })).toBeDefined()
  expect(await filled.strands.read('session/scopes/scopes/agent/main/snapshots/snapshot_latest.json')).not.toBeNull()
  expect(await filled.strands.read('context/scopes/scopes/agent/main/toolu_01')).not.toBeNull()
}

describe('deleteSession erases only its own snapshot layout', () => {
  for (const sessionId of ['langgraph', 'genkit', 'session', 'context']) {
    it(`deleteSession('${sessionId}') keeps every adapter's keys and erases the session's own`, async () => {
      const storage = new MemoryStorage()
      const filled = await fillAdapters(storage)
      await storage.commitSnapshot({ location: at(sessionId), snapshotId: newSnapshotId(), snapshot: sampleSnapshot('plain') })
      await storage.deleteSession({ sessionId })
      expect(await storage.loadSnapshot({ location: at(sessionId) })).toBeNull()
      expect(await storage.listSnapshotIds({ location: at(sessionId) })).toEqual([])
      await expectAdaptersIntact(filled)
    })
  }

  it('a plain session’s stray files go with it; in a session named like an adapter folder only its layout keys go', async () => {
    const storage = new MemoryStorage()
    for (const sessionId of ['s1', 'langgraph']) {
      await storage.commitSnapshot({ location: at(sessionId), snapshotId: newSnapshotId(), snapshot: sampleSnapshot('plain') })
      await storage.backend.put(`${sessionId}/notes.txt`, bytes('stray'))
      await storage.deleteSession({ sessionId })
    }
    expect(await keys(storage.backend)).toEqual(['langgraph/notes.txt'])
  })

  it('a tiered deleteSession, pushed, keeps the adapters’ keys on both tiers', async () => {
    const remote = new MemoryStorage()
    const local = new MemoryBackend()
    const tiered = new TieredStorage({ local, remote })
    const filled = await fillAdapters(tiered)
    await tiered.sync()
    for (const sessionId of ['langgraph', 'genkit', 'session', 'context']) {
      await tiered.commitSnapshot({ location: at(sessionId), snapshotId: newSnapshotId(), snapshot: sampleSnapshot('plain') })
    }
    await tiered.sync()
    for (const sessionId of ['langgraph', 'genkit', 'session', 'context']) await tiered.deleteSession({ sessionId })
    await tiered.sync()
    await expectAdaptersIntact(filled)
    await expectAdaptersIntact(await fillAdaptersView(remote))
    for (const sessionId of ['langgraph', 'genkit', 'session', 'context']) {
      expect(await remote.loadSnapshot({ location: at(sessionId) })).toBeNull()
    }
    tiered.close()
  })
})

/** The same adapters' objects, read through another storage (the remote) without writing. */
async function fillAdaptersView(storage: MemoryStorage) {
  const saver = new SnapshelfCheckpointSaver({ storage })
  const genkit = new GenkitSessionStore({ storage })
  const strands = new StrandsStorage({ storage })
  const listed = await keys(storage.backend)
  const genkitKey = listed.find((k) => k.startsWith('genkit/global/snapshots/'))!
  const genkitId = genkitKey.slice('genkit/global/snapshots/'.length, -'.json'.length)
  return { saver, genkit, genkitId, strands }
}
