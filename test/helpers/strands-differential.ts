import type { Storage } from '@strands-agents/sdk'
import { InMemoryStorage } from '@strands-agents/sdk/storage'
import { SnapshelfError } from 'snapshelf'
import type { StrandsStorage } from 'snapshelf/strands'
import { prng } from './random.js'

/**
 * The differential test of `StrandsStorage` against Strands' own `InMemoryStorage`, runtime
 * neutral (Node, workerd, Chromium run it over their tiers): one seeded random sequence of
 * `write / read / delete / list / namespace` calls goes to both, on the root and on namespaced
 * views of either, and every result must be identical (bytes, `null`, key lists, and errors by
 * kind: Strands' `StorageError` and our `ERR_VALIDATION` are both "refused"). After every call
 * that changed something, both whole stores are compared too.
 *
 * The keys come from the domain both define alike: every key Strands accepts except those we
 * refuse on purpose (a `.` segment, a first segment starting with `.`, control characters: see
 * src/adapters/strands/keys.ts), plus keys Strands refuses (empty, `..`, backslash), which both
 * must refuse. Namespaces never end in `/`: Strands' views list wrong keys then (a known bug
 * we do not copy; strands-storage.test.ts pins both behaviours).
 */

/**
 * Segments every tier must keep exactly: URL specials (a URL parser reads an unescaped `%2e%2e` as
 * `..`), XML specials, Unicode, dots inside a name.
 */
const SEGMENTS = [
  'a',
  'b',
  'ab',
  'a.b',
  'x.json',
  'session',
  'scopes',
  'é',
  'ü.txt',
  '😀',
  'sp ace',
  '%41',
  '%2e%2e',
  '%2E',
  '+',
  '?q',
  '#h',
  '&amp;',
  "it's",
  '<b>',
  '-',
  '_',
  '~',
  '!',
  '=',
  '10',
  '9',
]
/** Only after the first segment: a leading dot there is reserved (ours), inside it is fine. */
const INNER_SEGMENTS = ['.x', '..x', '...', '.env']

type Op =
  | { op: 'write'; view: number; key: string; data: number[] }
  | { op: 'read' | 'delete'; view: number; key: string }
  | { op: 'list'; view: number; prefix: string }
  | { op: 'namespace'; view: number; prefix: string }

/** What one call gave: a value, or the kind of error. */
type Outcome = { ok: unknown } | { refused: true } | { unexpected: string }

/**
 * Runs `steps` random calls against a fresh `InMemoryStorage` and `ours` (a fresh, empty
 * `StrandsStorage`); throws with the seed, the step and the recent calls on the first difference.
 *
 * @example
 * await runDifferential({ seed: 42, steps: 400, ours: new StrandsStorage({ storage: new MemoryStorage() }) })
 */
export async function runDifferential(p: {
  seed: number
  steps: number
  ours: StrandsStorage
  label?: string
  /** Both sides start as a view at this namespace (ours: `ours.namespace(namespace)`), e.g. one session's folder. */
  namespace?: string
}): Promise<void> {
  const random = prng(p.seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const root = new InMemoryStorage()
  const theirsViews: Storage[] = [p.namespace === undefined ? root : root.namespace(p.namespace)]
  const oursViews: Storage[] = [p.namespace === undefined ? p.ours : p.ours.namespace(p.namespace)]
  const known: string[] = []
  const history: Op[] = []

  const keyOf = (): string => {
    const roll = random()
    // Keys Strands refuses: both must refuse them, before touching anything.
    if (roll < 0.03) return pick(['', '/', '//', '///'])
    const segments = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) =>
      i > 0 && random() < 0.15 ? pick(INNER_SEGMENTS) : pick(SEGMENTS),
    )
    if (roll < 0.06) segments.splice(Math.floor(random() * (segments.length + 1)), 0, '..')
    if (roll > 0.97) segments[segments.length - 1] += '\\x'
    // Slash runs, a leading and a trailing slash all normalise away.
    let key = segments.reduce((acc, s, i) => (i ? `${acc}${random() < 0.15 ? '//' : '/'}${s}` : s), '')
    if (random() < 0.1) key = `/${key}`
    if (random() < 0.1) key = `${key}/`
    return key
  }
  const reuseOrNew = (): string => (known.length && random() < 0.6 ? pick(known) : keyOf())
  const dataOf = (): number[] => {
    const roll = random()
    if (roll < 0.15) return [0x1f, 0x8b, ...Array.from({ length: Math.floor(random() * 20) }, () => Math.floor(random() * 256))] // a caller's own gzip
    if (roll < 0.2) return []
    if (roll < 0.5) return [...new TextEncoder().encode(JSON.stringify({ n: Math.floor(random() * 1e6) }))]
    return Array.from({ length: Math.floor(random() * 48) }, () => Math.floor(random() * 256))
  }
  const nextOp = (): Op => {
    const view = Math.floor(random() * theirsViews.length)
    const roll = random()
    if (roll < 0.35) return { op: 'write', view, key: reuseOrNew(), data: dataOf() }
    if (roll < 0.6) return { op: 'read', view, key: reuseOrNew() }
    if (roll < 0.72) return { op: 'delete', view, key: reuseOrNew() }
    if (roll < 0.92) {
      // A prefix of a key, cut anywhere (mid-segment too), or a fresh one.
      const whole = reuseOrNew()
      return { op: 'list', view, prefix: random() < 0.1 ? '' : whole.slice(0, Math.floor(random() * (whole.length + 1))) }
    }
    // Never a trailing slash, never empty: see the module comment.
    const prefix = keyOf().replace(/\/+$/, '') || 'ns'
    return { op: 'namespace', view, prefix }
  }

  const run = async (storage: Storage, op: Op): Promise<Outcome> => {
    try {
      switch (op.op) {
        case 'write':
          return { ok: await storage.write(op.key, new Uint8Array(op.data)) }
        case 'read': {
          const bytes = await storage.read(op.key)
          return { ok: bytes && [...bytes] }
        }
        case 'delete':
          return { ok: await storage.delete(op.key) }
        case 'list':
          return { ok: await storage.list(op.prefix) }
        case 'namespace':
          return { ok: storage.namespace!(op.prefix) }
      }
    } catch (error) {
      const e = error as { name?: string }
      if (e?.name === 'StorageError' || (error instanceof SnapshelfError && error.code === 'ERR_VALIDATION')) return { refused: true }
      return { unexpected: `${e?.name}: ${(error as Error)?.message}` }
    }
  }
  const fail = (step: number, what: string): never => {
    const recent = history.slice(-12).map((o, i) => `  #${history.length - Math.min(12, history.length) + i} ${JSON.stringify(o)}`)
    throw new Error(
      `${p.label ?? 'differential'}: seed ${p.seed} (rerun with STRANDS_SEED=${p.seed}), step ${step}: ${what}\nlast calls:\n${recent.join('\n')}`,
    )
  }
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

  for (let step = 0; step < p.steps; step++) {
    const op = nextOp()
    history.push(op)
    const theirs = await run(theirsViews[op.view]!, op)
    const mine = await run(oursViews[op.view]!, op)
    if ('unexpected' in theirs || 'unexpected' in mine)
      fail(step, `unexpected error: theirs ${JSON.stringify(theirs)}, ours ${JSON.stringify(mine)}`)
    if (op.op === 'namespace') {
      if ('refused' in theirs !== 'refused' in mine)
        fail(step, `namespace: theirs ${'refused' in theirs ? 'refused' : 'ok'}, ours ${'refused' in mine ? 'refused' : 'ok'}`)
      if ('ok' in theirs && 'ok' in mine && theirsViews.length < 8) {
        theirsViews.push(theirs.ok as Storage)
        oursViews.push(mine.ok as Storage)
      }
      continue
    }
    if (!same(theirs, mine)) fail(step, `${op.op}: theirs ${JSON.stringify(theirs)}, ours ${JSON.stringify(mine)}`)
    if (op.op === 'write' && 'ok' in theirs && 'key' in op) known.push(op.key)
    if ((op.op === 'write' || op.op === 'delete') && 'ok' in theirs) {
      // The whole stores: the same keys, and the same bytes under each.
      const [tk, ok] = [await theirsViews[0]!.list(''), await oursViews[0]!.list('')]
      if (!same(tk, ok)) fail(step, `stored keys differ: theirs ${JSON.stringify(tk)}, ours ${JSON.stringify(ok)}`)
    }
  }
  // Finally every value, byte for byte.
  for (const key of await theirsViews[0]!.list('')) {
    const [t, o] = [await theirsViews[0]!.read(key), await oursViews[0]!.read(key)]
    if (!same(t && [...t], o && [...o])) fail(p.steps, `final bytes of ${JSON.stringify(key)} differ`)
  }
}

/** The seed of this run: `STRANDS_SEED` when set (to replay a failure), else a random one. */
export function seedFrom(env: string | undefined): number {
  return env ? Number(env) : Math.floor(Math.random() * 2 ** 31)
}
