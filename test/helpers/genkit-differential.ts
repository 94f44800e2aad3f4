import fc from 'fast-check'
import type { SessionSnapshot, SessionSnapshotInput, SessionStore, SnapshotMutator } from 'genkit/beta'
import { InMemorySessionStore } from 'genkit/beta'

/**
 * The differential test of `GenkitSessionStore` against Genkit's own `InMemorySessionStore`,
 * runtime neutral (Node runs it over its tiers; workerd and Chromium can run it over theirs): a
 * seeded fast-check sequence of `saveSnapshot` (existing ids, new ids named by the result, with
 * Genkit's own mutators: plain writes, `null`, throws, the agent's abort-aware and abort
 * mutators, the heartbeat) and `getSnapshot` (by id, by session, malformed lookups) goes to both;
 * every result must be identical: ids, snapshots (as JSON: ours stores JSON, so `undefined`
 * fields are absent), `null`, `undefined`, and errors (message and Genkit status).
 *
 * Sessions move between snapshots, parents point anywhere (cycles and branches included), and
 * `createdAt` comes from a few values so ties between leaves happen: the leaf rule, its
 * first-saved tie-break and both `FAILED_PRECONDITION`s are all exercised.
 */

const IDS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']
const SESSIONS = ['chat-a', 'chat-b', 'chat-c']
const TIMES = ['2026-12-02T10:00:00.000Z', '2026-12-02T10:00:01.000Z']
const STATUSES = [undefined, 'pending', 'completed', 'aborted', 'failed'] as const

/** How a written snapshot names its session: `sessionId`, only `state.sessionId`, or none. */
type SessionField = { where: 'top' | 'state'; session: number } | { where: 'none' }

interface Content {
  session: SessionField
  parent: number | null
  time: number
  status: number
  text: string
}

type Op =
  | {
      op: 'save'
      target: 'existing' | 'new'
      id: number
      mutator: 'put' | 'null' | 'throw' | 'abortAware' | 'abort' | 'heartbeat'
      content: Content
    }
  | { op: 'getById'; id: number }
  | { op: 'getBySession'; session: number }
  | { op: 'badLookup'; both: boolean }

const content: fc.Arbitrary<Content> = fc.record({
  session: fc.oneof(
    { weight: 4, arbitrary: fc.record({ where: fc.constant('top' as const), session: fc.nat(SESSIONS.length - 1) }) },
    { weight: 1, arbitrary: fc.record({ where: fc.constant('state' as const), session: fc.nat(SESSIONS.length - 1) }) },
    { weight: 1, arbitrary: fc.constant({ where: 'none' as const }) },
  ),
  parent: fc.option(fc.nat(IDS.length - 1), { freq: 3 }),
  time: fc.nat(TIMES.length - 1),
  status: fc.nat(STATUSES.length - 1),
  text: fc.string({ maxLength: 8 }),
})

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('save' as const),
      target: fc.constantFrom('existing' as const, 'new' as const),
      id: fc.nat(IDS.length - 1),
      mutator: fc.constantFrom(
        'put' as const,
        'put' as const,
        'null' as const,
        'throw' as const,
        'abortAware' as const,
        'abort' as const,
        'heartbeat' as const,
      ),
      content,
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('getById' as const), id: fc.nat(IDS.length) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('getBySession' as const), session: fc.nat(SESSIONS.length) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('badLookup' as const), both: fc.boolean() }) },
)

/** The snapshot a `put` writes: built from the current one, so rewrites keep what they do not set. */
function written(current: SessionSnapshot | undefined, c: Content, id: string | undefined): SessionSnapshotInput {
  const session = c.session.where === 'none' ? undefined : SESSIONS[c.session.session]
  const base: Record<string, unknown> = { ...(current ?? {}) }
  delete base.sessionId
  const state = { ...(current?.state ?? {}), messages: [{ role: 'user', content: [{ text: c.text }] }] } as Record<string, unknown>
  delete state.sessionId
  if (c.session.where === 'state') state.sessionId = session
  return {
    ...base,
    ...(id !== undefined && { snapshotId: id }),
    ...(c.session.where === 'top' && { sessionId: session }),
    ...(c.parent !== null ? { parentId: IDS[c.parent] } : { parentId: undefined }),
    createdAt: TIMES[c.time]!,
    ...(STATUSES[c.status] && { status: STATUSES[c.status] }),
    state,
  } as SessionSnapshotInput
}

/** Genkit's own mutators (agent.ts: `abortAwareMutator`, `abortSnapshotInStore`, the heartbeat) and plain ones. */
function mutatorOf(o: Extract<Op, { op: 'save' }>, step: number): SnapshotMutator {
  const id = o.target === 'new' ? IDS[o.id] : undefined
  switch (o.mutator) {
    case 'put':
      return (current) => written(current, o.content, id)
    case 'null':
      return () => null
    case 'throw':
      return () => {
        throw new Error(`mutator refused at step ${step}`)
      }
    case 'abortAware':
      return (current) => (current?.status === 'aborted' ? null : written(current, o.content, id))
    case 'abort':
      return (current) => {
        if (!current || current.status === 'completed' || current.status === 'failed' || current.status === 'aborted') return null
        return { ...current, status: 'aborted' }
      }
    case 'heartbeat':
      return (current) => (current?.status === 'pending' ? { ...current, heartbeatAt: TIMES[o.content.time] } : null)
  }
}

type Outcome = { ok: unknown } | { error: { message: string; status?: string } }

/** JSON with object keys sorted: key order is no part of a snapshot's meaning (ours is stored as JSON text). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  )
}

async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    const value = await call()
    return { ok: value === undefined ? '<undefined>' : JSON.parse(JSON.stringify(value)) }
  } catch (error) {
    const e = error as { message: string; status?: string; originalMessage?: string }
    return { error: { message: e.originalMessage ?? e.message, status: e.status } }
  }
}

function run(store: SessionStore, o: Op, step: number): Promise<Outcome> {
  switch (o.op) {
    case 'save':
      return outcome(() => store.saveSnapshot(o.target === 'existing' ? IDS[o.id] : undefined, mutatorOf(o, step)))
    case 'getById':
      return outcome(() => store.getSnapshot({ snapshotId: IDS[o.id] ?? 'never-saved' }))
    case 'getBySession':
      return outcome(() => store.getSnapshot({ sessionId: SESSIONS[o.session] ?? 'no-such-session' }))
    case 'badLookup':
      return outcome(() => store.getSnapshot(o.both ? { snapshotId: IDS[0], sessionId: SESSIONS[0] } : {}))
  }
}

/**
 * Runs `numRuns` seeded sequences of up to `maxSteps` calls; each run gets a fresh
 * `InMemorySessionStore` and a fresh store from `create`. Throws fast-check's report (seed, path,
 * the shrunk sequence) on the first difference.
 *
 * @example
 * await runGenkitDifferential({ seed: 1, numRuns: 50, create: () => new GenkitSessionStore({ storage: new MemoryStorage() }) })
 */
export async function runGenkitDifferential(p: {
  seed: number
  numRuns: number
  maxSteps?: number
  rejectBranchingSessions?: boolean
  create: () => SessionStore | Promise<SessionStore>
}): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: p.maxSteps ?? 40, size: 'max' }), async (ops) => {
      const reference = new InMemorySessionStore({ rejectBranchingSessions: p.rejectBranchingSessions })
      const ours = await p.create()
      for (const [step, o] of ops.entries()) {
        const expected = await run(reference, o, step)
        const actual = await run(ours, o, step)
        if (canonical(actual) !== canonical(expected)) {
          throw new Error(`step ${step} ${JSON.stringify(o)}:\n ours:   ${canonical(actual)}\n Genkit: ${canonical(expected)}`)
        }
      }
    }),
    { seed: p.seed, numRuns: p.numRuns },
  )
}
