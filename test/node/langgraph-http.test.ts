import { emptyCheckpoint } from '@langchain/langgraph-checkpoint'
import { describe, expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { SnapshelfCheckpointSaver, langgraphLayout } from 'snapshelf/langgraph'
import { runLangGraphValidation } from '../helpers/langgraph-validation.js'

/** An HttpStorage whose requests go straight into a handler over `server`, with `layouts` served. */
function overHttp(server: MemoryStorage, options: Partial<Parameters<typeof createSnapshotHandler>[0]> = {}): HttpStorage {
  const handle = createSnapshotHandler({ storage: server, authorize: () => true, ...options })
  return new HttpStorage({ baseUrl: 'http://local.test', fetch: (u, init) => handle(new Request(u, init)) })
}

const checkpointAt = (thread: string) =>
  [{ configurable: { thread_id: thread } }, emptyCheckpoint(), { source: 'input', step: -1, parents: {} }, {}] as const

describe('SnapshelfCheckpointSaver over HttpStorage → createSnapshotHandler', () => {
  it('a handler that was not given langgraphLayout refuses the adapter keys with a typed error, before any storage I/O', async () => {
    const server = new MemoryStorage()
    const put = new SnapshelfCheckpointSaver({ storage: overHttp(server) }).put(...checkpointAt('t1'))
    // The handler's 400 ("key must follow the snapshot key layout"), as HttpStorage reports it.
    await expect(put).rejects.toMatchObject({ code: 'ERR_REMOTE', status: 400, message: expect.stringMatching(/snapshot key layout/) })
    expect((await server.backend.list('')).entries).toEqual([])
  })

  it('with langgraphLayout: every key is authorized as its thread, and list() without a thread sees only allowed threads', async () => {
    const server = new MemoryStorage()
    const asked = new Set<string>()
    const saver = (allowed: string[]) =>
      new SnapshelfCheckpointSaver({
        storage: overHttp(server, {
          layouts: [langgraphLayout],
          authorize: (_r, { sessionId, op, layout }) => {
            asked.add(`${layout} ${op} ${sessionId}`)
            return allowed.includes(sessionId)
          },
        }),
      })
    const all = saver(['alice/1', 'bob 2'])
    await all.put(...checkpointAt('alice/1'))
    await all.put(...checkpointAt('bob 2'))
    expect([...asked].filter((a) => a.includes('write'))).toEqual(['langgraph write alice/1', 'langgraph write bob 2'])
    const alice = saver(['alice/1'])
    const threads: string[] = []
    for await (const tuple of alice.list({})) threads.push(tuple.config.configurable!.thread_id as string)
    expect(threads).toEqual(['alice/1'])
    await expect(alice.getTuple({ configurable: { thread_id: 'bob 2' } })).rejects.toMatchObject({ code: 'ERR_AUTH', status: 403 })
    await expect(alice.deleteThread('bob 2')).rejects.toMatchObject({ status: 403 })
    expect(await all.getTuple({ configurable: { thread_id: 'bob 2' } })).toBeDefined()
  })
})

// LangGraph's own conformance suite through the handler (a fresh server per checkpointer).
await runLangGraphValidation('HttpStorage → createSnapshotHandler → MemoryStorage', () =>
  overHttp(new MemoryStorage({ prefix: 'lg' }), { layouts: [langgraphLayout] }),
)
