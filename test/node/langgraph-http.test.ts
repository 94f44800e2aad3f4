import { emptyCheckpoint } from '@langchain/langgraph-checkpoint'
import { expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'

// !!! KNOWN GAP — HttpStorage → createSnapshotHandler does not carry the LangGraph adapter's keys yet.
// !!! The handler validates every key against the snapshot layout (`<sessionId>/scopes/…`) and
// !!! authorizes by the session that layout names; `langgraph/<thread>/<ns>/…` is neither, so it answers
// !!! 400 before any storage I/O. Teaching the handler adapter keys (and which "session" a thread is
// !!! for `authorize`) is src/http/ work, being done for Strands' adapter keys in another branch; once
// !!! it covers `langgraph/<thread>/` (thread = session), this turns green: flip it to `it` and run
// !!! LangGraph's validation suite over Http → handler → R2 in workerd (test/helpers/langgraph-validation.ts).
it.fails('KNOWN GAP: a checkpoint put through HttpStorage → createSnapshotHandler is read back', async () => {
  const server = new MemoryStorage()
  const handle = createSnapshotHandler({ storage: server, authorize: () => true })
  const storage = new HttpStorage({ baseUrl: 'http://local.test', fetch: (u, init) => handle(new Request(u, init)) })
  const saver = new SnapshelfCheckpointSaver({ storage })
  const checkpoint = emptyCheckpoint()
  const config = await saver.put({ configurable: { thread_id: 't1' } }, checkpoint, { source: 'input', step: -1, parents: {} }, {})
  expect((await saver.getTuple(config))?.checkpoint).toEqual(checkpoint)
})

it('today the handler refuses the adapter keys with a typed error, before any storage I/O (nothing stored)', async () => {
  const server = new MemoryStorage()
  const handle = createSnapshotHandler({ storage: server, authorize: () => true })
  const storage = new HttpStorage({ baseUrl: 'http://local.test', fetch: (u, init) => handle(new Request(u, init)) })
  const saver = new SnapshelfCheckpointSaver({ storage })
  const put = saver.put({ configurable: { thread_id: 't1' } }, emptyCheckpoint(), { source: 'input', step: -1, parents: {} }, {})
  // The handler's 400 ("key must follow the snapshot key layout"), as HttpStorage reports it.
  await expect(put).rejects.toMatchObject({ code: 'ERR_REMOTE', status: 400, message: expect.stringMatching(/snapshot key layout/) })
  expect((await server.backend.list('')).entries).toEqual([])
})
