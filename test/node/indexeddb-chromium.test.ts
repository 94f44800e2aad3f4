import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error -- plain .mjs helper shared with the browser config and the bench
import { chromiumArgs, chromiumHowTo, findChromium } from '../../scripts/chromium.mjs'
// @ts-expect-error -- plain .mjs helper shared with the scripts and benches
import { bundleBrowserPage } from '../../scripts/esbuild-snapshelf.mjs'

// Two pages (two tabs) of one http://127.0.0.1 origin in real Chromium, driven by playwright-core:
// a change committed in tab A reaches a watcher in tab B (BroadcastChannel after commit), and
// two tabs racing updateLatest lose nothing (compare-and-swap inside one readwrite transaction).

const executablePath: string | null = findChromium()
if (!executablePath) console.warn(`\n!!! SKIPPING the two-tab IndexedDB tests: no Chromium found. To run them, ${chromiumHowTo}.\n`)

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The two-tab page, bundled the way a user's bundler would (`snapshelf/*` from src/). */
const bundlePage = (): Promise<string> => bundleBrowserPage(`${root}test/browser/pages/two-tabs.ts`)

describe.skipIf(!executablePath)('IndexedDB in real Chromium via playwright-core (two tabs, real quota)', () => {
  let server: Server
  let browser: Browser
  let origin: string
  let a: Page
  let b: Page
  const dbName = `snapshelf-two-tabs-${Date.now().toString(36)}`

  beforeAll(async () => {
    const js = await bundlePage()
    server = createServer((req, res) => {
      if (req.url === '/tab.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/tab.js"></script>')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs, headless: true })
    // One context = one profile: the two pages share the origin's IndexedDB, as two tabs do.
    const context = await browser.newContext()
    a = await context.newPage()
    b = await context.newPage()
    for (const page of [a, b]) {
      await page.goto(`${origin}/`)
      await page.waitForFunction(() => 'tab' in window)
      await page.evaluate((name) => window.tab.open(name), dbName)
    }
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  })

  it('a change committed in tab A reaches a watcher in tab B', async () => {
    const location = { sessionId: 'watch', scope: 'agent', scopeId: 'main' }
    await a.evaluate((l) => window.tab.setLatest(l, 'v0'), location)
    await b.evaluate((l) => window.tab.watch(l), location)
    await a.evaluate((l) => window.tab.setLatest(l, 'from-a'), location)
    await b.waitForFunction(() => window.tab.changes.length >= 1, undefined, { timeout: 10_000 })
    await a.evaluate((l) => window.tab.setLatest(l, 'from-a-2'), location)
    await b.waitForFunction(() => window.tab.changes.length >= 2, undefined, { timeout: 10_000 })
    const tags = await b.evaluate(() => window.tab.changes.map((s) => s.appData.tag))
    expect(tags).toEqual(['from-a', 'from-a-2'])
  })

  it('tabs A and B each run 20 concurrent updateLatest increments: count 40, every writer exactly once', async () => {
    const location = { sessionId: 'race', scope: 'agent', scopeId: 'main' }
    const [inA, inB] = await Promise.all([
      a.evaluate((l) => window.tab.increments(l, 'a', 20), location),
      b.evaluate((l) => window.tab.increments(l, 'b', 20), location),
    ])
    expect([inA, inB]).toEqual([20, 20])
    const final = (await b.evaluate((l) => window.tab.load(l), location))!.data as { count: number; writers: string[] }
    expect(final.count).toBe(40)
    const expected = [...['a', 'b'].flatMap((w) => Array.from({ length: 20 }, (_, i) => `${w}-${i}`))].sort()
    expect([...final.writers].sort()).toEqual(expected)
  })

  it('QuotaExceededError is ERR_QUOTA naming the key, and everything stored before is intact (real quota)', async () => {
    // A fresh context (fresh origin storage) whose quota DevTools shrinks to 2 MiB before any
    // IndexedDB use: Chromium then refuses the commit that would exceed it.
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      const cdp = await context.newCDPSession(page)
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 2 * 1024 * 1024 })
      await page.goto(`${origin}/`)
      await page.waitForFunction(() => 'tab' in window)
      await page.evaluate(() => window.tab.open('snapshelf-quota'))
      const r = await page.evaluate((l) => window.tab.fillUntilQuota(l), { sessionId: 'quota', scope: 'agent', scopeId: 'main' })
      expect(r.error).toMatchObject({ code: 'ERR_QUOTA', name: 'QuotaError', causeName: 'QuotaExceededError' })
      expect(r.saved.length).toBeGreaterThan(0)
      // A save is two writes (history, then latest). The quota refuses one of them: either the
      // history object (nothing of that save stored) or latest (its history copy committed
      // before, as on every tier). Either way nothing committed earlier is lost or damaged.
      const refusedLatest = r.error!.key!.endsWith('/snapshot_latest.json')
      expect(r.error!.key).toBe(
        refusedLatest
          ? 'quota/scopes/agent/main/snapshots/snapshot_latest.json'
          : `quota/scopes/agent/main/snapshots/immutable_history/snapshot_${r.failedId}.json`,
      )
      expect(r.listed).toEqual(refusedLatest ? [...r.saved, r.failedId] : r.saved)
      expect(r.loadable).toBe(r.listed.length)
      expect(r.latestTag).toBe(String(r.saved.length - 1))
      expect(r.pruned).toBe(r.listed.length - 1)
      expect(r.afterTag).toBe('after')
    } finally {
      await context.close()
    }
  })

  it("a newer schema opened in tab B is not blocked by tab A's connection; A then fails ERR_VALIDATION", async () => {
    const location = { sessionId: 'upgrade', scope: 'agent', scopeId: 'main' }
    await a.evaluate((l) => window.tab.setLatest(l, 'old'), location)
    expect(await b.evaluate((name) => window.tab.upgrade(name, 2), dbName)).toBe('opened')
    expect(await a.evaluate((l) => window.tab.codeOf(() => window.tab.load(l)), location)).toBe('ERR_VALIDATION')
  })
})
