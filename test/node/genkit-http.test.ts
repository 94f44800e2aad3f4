import { describe, expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { GenkitSessionStore } from 'snapshelf/genkit'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'

// KNOWN GAP (loud on purpose): Genkit over HttpStorage. The handler authorizes a request by the
// session it derives from the key (core/keys' parseKey), and knows only the snapshot layout, so it
// refuses the adapter's keys (genkit/<namespace>/…) with 400, as it refuses Strands' unified keys.
// A snapshot is addressed by id alone (Genkit's getSnapshot({ snapshotId })), so the handler also
// needs a rule for who may read one: see the issue 12 report. Until then this is expected to fail.
describe('GenkitSessionStore over HttpStorage → createSnapshotHandler → MemoryStorage', () => {
  it.fails('saves and resolves a session through the handler', async () => {
    const handle = createSnapshotHandler({ storage: new MemoryStorage(), authorize: () => true })
    const http = new HttpStorage({ baseUrl: 'http://local.test/', fetch: (u, init) => handle(new Request(u, init)) })
    const store = new GenkitSessionStore({ storage: http })
    const id = await store.saveSnapshot(undefined, () => ({ sessionId: 'web', createdAt: new Date().toISOString(), status: 'completed' }))
    expect((await store.getSnapshot({ sessionId: 'web' }))?.snapshotId).toBe(id)
  })
})
