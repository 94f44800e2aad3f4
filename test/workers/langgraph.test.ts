import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { R2Storage } from 'snapshelf/r2'
import { runLangGraphValidation } from '../helpers/langgraph-validation.js'

// LangGraph's validation suite inside real workerd, over miniflare's local R2 binding: the saver,
// LangGraph's base package and the R2 backend's conditional writes (`onlyIf`) as a Worker runs them.
const unique = (tag: string) => `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`

it('runs inside workerd, not Node', () => {
  expect(navigator.userAgent).toBe('Cloudflare-Workers')
})

await runLangGraphValidation('R2Storage (workerd)', () => new R2Storage({ bucket: env.SNAPSHOTS, prefix: unique('lg') }))
