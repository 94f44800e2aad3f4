// A listing through the handler reaches only the snapshot keys of the one session it was
// authorized for: a prefix like `session/victim/` (where a Strands adapter sharing the storage
// keeps session `victim`) is not a listing of session `session`.
import { expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { createSnapshotHandler } from 'snapshelf/http'
import { StrandsStorage } from 'snapshelf/strands'

it("a listing prefix outside the session's snapshot layout is a 400, never another session's keys", async () => {
  const storage = new MemoryStorage()
  await new StrandsStorage({ storage }).write(
    'session/victim/scopes/agent/a/snapshots/snapshot_latest.json',
    new TextEncoder().encode('{"secret":1}'),
  )
  const handle = createSnapshotHandler({ storage, authorize: (_r, { sessionId }) => sessionId === 'session' })
  const list = (prefix: string) => handle(new Request(`http://local.test/list?prefix=${encodeURIComponent(prefix)}`))
  for (const prefix of ['session/victim/', 'session/v', 'session/victim/scopes/']) {
    const response = await list(prefix)
    expect(response.status, prefix).toBe(400)
    expect(await response.text()).not.toContain('victim/scopes')
  }
  // The session's own layout still lists (nothing there).
  const own = await list('session/scopes/')
  expect(own.status).toBe(200)
  // A memory storage lists metadata (none here).
  expect(await own.json()).toEqual({ entries: [], truncated: false, metadataListed: true })
})
