import { MemorySaver } from '@langchain/langgraph-checkpoint'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'
import { S3Storage } from 'snapshelf/s3'
import { TieredStorage } from 'snapshelf/tiered'
import { plain, question, resume, sumGraph } from '../helpers/langgraph-graph.js'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// A real LangGraph StateGraph (tool loop through ToolNode, interrupt + resume, time travel) driving
// SnapshelfCheckpointSaver, with LangGraph's own MemorySaver driving the same graph as the reference.

const thread = (thread_id: string, checkpoint_id?: string) => ({ configurable: { thread_id, ...(checkpoint_id ? { checkpoint_id } : {}) } })

async function runToInterrupt(graph: ReturnType<typeof sumGraph>, threadId: string) {
  const out = await graph.invoke(question(), thread(threadId))
  return out as { messages: never[]; __interrupt__?: { value: unknown }[] }
}

const saverAt = (prefix: string) => new SnapshelfCheckpointSaver({ storage: new S3Storage(s3Options({ prefix })) })

describe('a StateGraph over MemoryStorage behaves as over MemorySaver', () => {
  it('the same states, the same history, step by step', async () => {
    const ours = sumGraph(new SnapshelfCheckpointSaver({ storage: new MemoryStorage() }))
    const theirs = sumGraph(new MemorySaver())
    for (const graph of [ours, theirs]) {
      await runToInterrupt(graph, 't')
      await graph.invoke(resume('yes'), thread('t'))
    }
    const history = async (graph: typeof ours) => {
      const states = []
      for await (const s of graph.getStateHistory(thread('t')))
        states.push({ next: s.next, step: s.metadata?.step, messages: plain(s.values.messages) })
      return states
    }
    const expected = await history(theirs)
    expect(expected.length).toBeGreaterThan(8)
    expect(await history(ours)).toEqual(expected)
  })
})

describeS3('a StateGraph over S3Storage (Ceph)', () => {
  const prefixes: string[] = []
  const storage = () => {
    const prefix = uniquePrefix('lg-graph')
    prefixes.push(prefix)
    return prefix
  }
  afterAll(() => Promise.all(prefixes.map(wipePrefix)))

  it('runs a tool loop to an interrupt; a new saver (another process) resumes it; time travel forks without touching the original branch', async () => {
    const prefix = storage()
    const first = sumGraph(saverAt(prefix))
    const stopped = await runToInterrupt(first, 'trip')
    expect(stopped.__interrupt__?.[0]?.value).toEqual({ question: 'Approve this answer?', answer: 'The sum is 10.' })
    // Tool loop: three add calls and their results before the answer.
    expect(plain(stopped.messages).filter((m) => (m as { type: string }).type === 'tool')).toHaveLength(3)

    // Another process: new saver, new graph objects, the same bucket and prefix.
    const second = sumGraph(saverAt(prefix))
    const pending = await second.getState(thread('trip'))
    expect(pending.next).toEqual(['review'])
    const done = (await second.invoke(resume('approved'), thread('trip'))) as { messages: never[] }
    const reference = sumGraph(new MemorySaver())
    await runToInterrupt(reference, 'trip')
    const expected = (await reference.invoke(resume('approved'), thread('trip'))) as { messages: never[] }
    expect(plain(done.messages)).toEqual(plain(expected.messages))

    // Time travel: back to the checkpoint right after the first tool result, and fork from there
    // with a different question. LangGraph numbers the fork's channel versions from that old
    // checkpoint; with plain counters they would collide with the original branch's.
    const history = []
    for await (const s of second.getStateHistory(thread('trip'))) history.push(s)
    const afterFirstTool = history.find(
      (s) => s.next[0] === 'agent' && s.values.messages.filter((m: { getType(): string }) => m.getType() === 'tool').length === 1,
    )!
    const latestBefore = history[0]!
    expect(afterFirstTool).toBeDefined()
    const forkConfig = await second.updateState(afterFirstTool.config, { messages: [] })
    const forked = (await second.invoke(null, forkConfig)) as { messages: never[]; __interrupt__?: unknown[] }
    expect(forked.__interrupt__).toBeDefined()
    const forkDone = (await second.invoke(resume('second look'), thread('trip'))) as { messages: never[] }
    expect(plain(forkDone.messages).at(-1)).toMatchObject({ content: 'review: second look' })
    // Same tool loop from the fork point: the answer is the same, the review is the fork's own.
    expect(plain(forkDone.messages).slice(0, -1)).toEqual(plain(expected.messages).slice(0, -1))

    // The original branch is intact, read by its own checkpoint id through a third saver.
    const third = sumGraph(saverAt(prefix))
    const original = await third.getState(latestBefore.config)
    expect(plain(original.values.messages)).toEqual(plain(expected.messages))
    expect((await third.getState(thread('trip'))).values.messages.at(-1).content).toBe('review: second look')
  })
})

describeS3('two savers resuming the same thread concurrently (Ceph, seeded interleavings)', () => {
  it('never corrupt it: each run ends as the reference does, the thread stays readable, its latest is one of the two', async () => {
    // The model: what LangGraph's MemorySaver ends with for each reviewer's word, alone.
    const expectedFor = async (verdict: string) => {
      const reference = sumGraph(new MemorySaver())
      await runToInterrupt(reference, 'm')
      return plain(((await reference.invoke(resume(verdict), thread('m'))) as { messages: never[] }).messages)
    }
    const expected = { A: await expectedFor('A'), B: await expectedFor('B') }
    const prefix = uniquePrefix('lg-race')
    try {
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), async (s) => {
          const threadId = `race-${Math.random().toString(36).slice(2, 8)}`
          await runToInterrupt(sumGraph(saverAt(prefix)), threadId)
          // Two processes: their own saver over their own S3Storage, every backend call released
          // in an order the scheduler picks from the seed.
          const device = () => {
            const storage = new S3Storage(s3Options({ prefix }))
            const backend = storage.backend
            const scheduled = {
              get: s.scheduleFunction(backend.get.bind(backend)),
              head: s.scheduleFunction(backend.head.bind(backend)),
              put: s.scheduleFunction(backend.put.bind(backend)),
              delete: s.scheduleFunction(backend.delete.bind(backend)),
              list: s.scheduleFunction(backend.list.bind(backend)),
              maxListPage: backend.maxListPage,
            }
            return sumGraph(new SnapshelfCheckpointSaver({ storage: { backend: scheduled, prefix: storage.prefix } }))
          }
          const runs = Promise.all(
            (['A', 'B'] as const).map(async (verdict) => {
              const out = (await device().invoke(resume(verdict), thread(threadId))) as { messages: never[] }
              return plain(out.messages)
            }),
          )
          const [a, b] = await s.waitFor(runs)
          expect(a).toEqual(expected.A)
          expect(b).toEqual(expected.B)
          // Read back by a third process: every checkpoint decodes, every parent exists, one root,
          // and the newest checkpoint is one whole run's end, never a mix.
          const reader = saverAt(prefix)
          const tuples = []
          for await (const tuple of reader.list(thread(threadId))) tuples.push(tuple)
          const ids = new Set(tuples.map((t) => t.checkpoint.id))
          for (const t of tuples) if (t.parentConfig) expect(ids.has(t.parentConfig.configurable?.checkpoint_id)).toBe(true)
          expect(tuples.filter((t) => !t.parentConfig)).toHaveLength(1)
          const latest = plain((await sumGraph(reader).getState(thread(threadId))).values.messages)
          expect([expected.A, expected.B]).toContainEqual(latest)
          // Both runs' ends are kept, each with its own values: one branch's channel value never
          // stands in for the other's (what shared channel versions would do).
          const parents = new Set(tuples.map((t) => t.parentConfig?.configurable?.checkpoint_id))
          const leaves = tuples.filter((t) => !parents.has(t.checkpoint.id))
          const ends = await Promise.all(leaves.map(async (t) => plain((await sumGraph(reader).getState(t.config)).values.messages)))
          expect(ends).toHaveLength(2)
          expect(ends).toContainEqual(expected.A)
          expect(ends).toContainEqual(expected.B)
        }),
        { seed: 13, numRuns: 4 },
      )
    } finally {
      await wipePrefix(prefix)
    }
  })
})

describeS3('a StateGraph on TieredStorage offline, then synced to S3 (Ceph)', () => {
  it('runs the whole thread offline; after sync another device reads it from S3 and resumes it', async () => {
    const prefix = uniquePrefix('lg-tiered')
    let online = false
    const remote = new S3Storage(
      s3Options({ prefix, fetch: (input, init) => (online ? fetch(input, init) : Promise.reject(new TypeError('fetch failed: offline'))) }),
    )
    try {
      const storage = new TieredStorage({ local: new MemoryStorage(), remote })
      const offline = sumGraph(new SnapshelfCheckpointSaver({ storage }))
      const stopped = await runToInterrupt(offline, 'plane')
      expect(stopped.__interrupt__).toBeDefined()
      // Nothing reached S3 while offline.
      online = true
      expect((await remote.backend.list(`${prefix}/`, { limit: 10 })).entries).toEqual([])
      const result = await storage.sync()
      expect(result.conflicts).toEqual([])
      expect(result.pushed).toBeGreaterThan(10)

      // Another device, straight on S3: the same pending interrupt, resumed there.
      const desktop = sumGraph(saverAt(prefix))
      expect((await desktop.getState(thread('plane'))).next).toEqual(['review'])
      const done = (await desktop.invoke(resume('landed'), thread('plane'))) as { messages: never[] }
      const reference = sumGraph(new MemorySaver())
      await runToInterrupt(reference, 'plane')
      const expected = (await reference.invoke(resume('landed'), thread('plane'))) as { messages: never[] }
      expect(plain(done.messages)).toEqual(plain(expected.messages))
    } finally {
      online = true
      await wipePrefix(prefix)
    }
  })
})
