import type { SessionStore } from 'genkit/beta'
import { describe, expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { GenkitSessionStore } from 'snapshelf/genkit'
import { S3Storage } from 'snapshelf/s3'
import { genkitAgent } from '../helpers/genkit-agent.js'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

/** The agent scenario every tier runs: multi-turn by session, resume by snapshot, a detached turn aborted. */
async function agentScenario(store: GenkitSessionStore & SessionStore): Promise<void> {
  const { agent, runTurn, seen } = genkitAgent(store)
  const first = await runTurn({ sessionId: 'trip-1' }, 'hello')
  expect(first.message?.content[0]?.text).toBe('echo 1: hello')
  const second = await runTurn({ sessionId: 'trip-1' }, 'again')
  expect(second.message?.content[0]?.text).toBe('echo 2: again')
  // The store resolved the session's leaf: the second turn saw the whole conversation.
  const latest = await store.getSnapshot({ sessionId: 'trip-1' })
  expect(latest?.snapshotId).toBe(second.snapshotId)
  expect(latest?.parentId).toBe(first.snapshotId)
  expect(latest?.state?.messages?.map((m) => m.content[0]?.text)).toEqual(['hello', 'echo 1: hello', 'again', 'echo 2: again'])

  // Regenerate from the first snapshot: a branch; the newest leaf is the session's latest.
  const branch = await runTurn({ snapshotId: first.snapshotId }, 'other way')
  expect((await store.getSnapshot({ sessionId: 'trip-1' }))?.snapshotId).toBe(branch.snapshotId)
  const lineage = await store.listSessionSnapshots('trip-1')
  expect(lineage.map((s) => [s.snapshotId, s.parentId ?? null])).toEqual([
    [first.snapshotId, null],
    [second.snapshotId, first.snapshotId],
    [branch.snapshotId, first.snapshotId],
  ])

  // A detached turn that only an abort ends, aborted through Genkit's own abort action: our
  // onSnapshotStateChange tells the background worker, whose model call sees the signal.
  const detached = await runTurn({ snapshotId: branch.snapshotId }, 'wait', true)
  expect(detached.finishReason).toBe('detached')
  const id = detached.snapshotId!
  expect((await store.getSnapshot({ snapshotId: id }))?.status).toBe('pending')
  await expect.poll(() => seen.waiting, { timeout: 10_000 }).toBe(1)
  expect(await agent.abort(id)).toBe('pending')
  await expect.poll(() => seen.aborted, { timeout: 10_000 }).toBe(1)
  // Aborted stays aborted: the worker's end-of-turn write is abort-aware, and aborting again is a no-op.
  await new Promise((r) => setTimeout(r, 200))
  expect((await store.getSnapshot({ snapshotId: id }))?.status).toBe('aborted')
  expect(await agent.abort(id)).toBe('aborted')
  // Resuming the session skips the aborted snapshot back to the last completed one.
  const resumed = await runTurn({ sessionId: 'trip-1' }, 'after abort')
  expect(resumed.message?.content[0]?.text).toMatch(/: after abort$/)
}

describe('a Genkit agent over GenkitSessionStore', () => {
  it('over MemoryStorage (pushed watch)', async () => {
    await agentScenario(new GenkitSessionStore({ storage: new MemoryStorage() }))
  })
})

describeS3('a Genkit agent over GenkitSessionStore on S3 (Ceph)', () => {
  it('over S3Storage (ETag-polled watch)', async () => {
    const prefix = uniquePrefix('genkit-agent')
    try {
      await agentScenario(new GenkitSessionStore({ storage: new S3Storage(s3Options({ prefix })), watchIntervalMs: 100 }))
    } finally {
      await wipePrefix(prefix)
    }
  }, 60_000)
})
