import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { Snapshot, SnapshotLocation } from 'snapshelf'
import { launchChromium, openedApi, startServer, uniqueSession, workerApi } from './harness.js'

// The local-first example end to end: `npm start` (the Worker in workerd, local R2, serving
// examples/browser) on its own port, real Chromium via playwright-core. Offline is Chromium's
// own network emulation (context.setOffline); what reached R2 is read back through the Worker
// (listings with no key; snapshots opened with the key the page derives, as another device would).

const PORT = Number(process.env.E2E_PORT ?? 8917)
let url = ''
let stop: () => Promise<void> = async () => {}
let browser: Browser | undefined

beforeAll(async () => {
  ;({ url, stop } = await startServer(PORT))
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await stop()
})

type App = {
  ready: Promise<void>
  location: SnapshotLocation
  addMessage(m: { role: string; text: string }): Promise<string>
  loadLatest(): Promise<void>
  messages(): { role: string; text: string }[]
  storage: {
    sync(): Promise<unknown>
    pendingCount(): Promise<number>
    loadSnapshot(p: { location: SnapshotLocation }): Promise<Snapshot | null>
  }
}
declare const app: App

function where(session: string): SnapshotLocation {
  return { sessionId: session, scope: 'agent', scopeId: 'chat' }
}

async function open(context: BrowserContext, session: string, db: string): Promise<Page> {
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error('page error:', e))
  // E2E_CONSOLE=1 prints the page's console: the quickest way to see why a page misbehaves.
  page.on('console', (m) => process.env.E2E_CONSOLE && console.log('console:', m.type(), m.text()))
  await page.goto(`${url}/?session=${session}&db=${db}`)
  await page.evaluate(() => app.ready)
  return page
}

/** History ids R2 holds for the location, and every key under the session (to spot strays). */
async function inR2(location: SnapshotLocation): Promise<{ ids: string[]; keys: number }> {
  const api = workerApi(url)
  const ids = await api.listSnapshotIds({ location, limit: 1000 })
  const { entries } = await api.backend.list(`${location.sessionId}/`, { limit: 1000 })
  return { ids, keys: entries.length }
}

describe('examples/browser on `npm start`, in real Chromium', () => {
  it('offline: 50 messages, reload (still there), online: all 50 snapshots in R2, no duplicates', async () => {
    const session = uniqueSession('offline')
    const location = where(session)
    const context = await browser!.newContext()
    const page = await open(context, session, `db-${session}`)
    await context.setOffline(true)
    await expect.poll(() => page.locator('#online').textContent()).toBe('offline')
    for (let i = 0; i < 25; i++) {
      // One user message and the agent's reply: two messages, two snapshots.
      await page.fill('#text', `offline message ${i}`)
      await page.press('#text', 'Enter')
      await expect.poll(() => page.locator('#messages li').count()).toBe(2 * (i + 1))
    }
    await expect.poll(() => page.locator('#history li').count()).toBe(50)
    await expect.poll(() => page.locator('#pending').textContent()).toBe('51') // 50 history keys + latest
    expect((await inR2(location)).keys).toBe(0)

    // Reload with the API unreachable but the page served (the offline shell is demo-page.test.ts).
    await context.route('**/api/**', (route) => route.abort('internetdisconnected'))
    await context.setOffline(false)
    await page.reload()
    await page.evaluate(() => app.ready)
    expect(await page.locator('#messages li').count()).toBe(50)
    expect(await page.locator('#history li').count()).toBe(50)
    await expect.poll(() => page.locator('#pending').textContent()).toBe('51')
    expect((await inR2(location)).keys).toBe(0)

    // Back online: the `online` event starts the sync.
    await context.unroute('**/api/**')
    await context.setOffline(true)
    await context.setOffline(false)
    await expect.poll(async () => (await inR2(location)).ids.length, { timeout: 60_000 }).toBe(50)
    const { ids, keys } = await inR2(location)
    expect(new Set(ids).size).toBe(50)
    expect(keys).toBe(51) // 50 history objects + latest, nothing else
    const latest = await (await openedApi(url)).loadSnapshot({ location })
    expect((latest!.data.messages as unknown[]).length).toBe(50)
    await expect.poll(() => page.locator('#pending').textContent()).toBe('0')
    expect(await page.locator('#last-sync').textContent()).not.toBe('never')
    await context.close()
  })

  it('two tabs of one browser and a second device write at once and converge on one latest', async () => {
    const session = uniqueSession('tabs')
    const location = where(session)
    const laptop = await browser!.newContext()
    const phone = await browser!.newContext() // its own IndexedDB: another device
    const [tabA, tabB] = [await open(laptop, session, 'shared-db'), await open(laptop, session, 'shared-db')]
    const other = await open(phone, session, 'shared-db')
    const write = (page: Page, tag: string) =>
      page.evaluate(async (t) => {
        const ids: string[] = []
        for (let i = 0; i < 10; i++) ids.push(await app.addMessage({ role: 'user', text: `${t}${i}` }))
        return ids
      }, tag)
    const written = (await Promise.all([write(tabA, 'A'), write(tabB, 'B'), write(other, 'P')])).flat()
    expect(new Set(written).size).toBe(30)
    await expect.poll(async () => (await inR2(location)).ids.length, { timeout: 60_000 }).toBe(30)
    // Quiesce: every tab syncs until nothing moves.
    for (let round = 0; round < 2; round++) for (const page of [tabA, tabB, other]) await page.evaluate(() => app.storage.sync())
    const { ids, keys } = await inR2(location)
    expect(ids).toEqual([...written].sort())
    expect(keys).toBe(31)
    const r2Latest = await (await openedApi(url)).loadSnapshot({ location })
    for (const page of [tabA, tabB, other]) {
      expect(await page.evaluate((l) => app.storage.loadSnapshot({ location: l }), location)).toEqual(r2Latest)
      expect(await page.evaluate(() => app.storage.pendingCount())).toBe(0)
    }
    await laptop.close()
    await phone.close()
  })

  it('a tab closed in the middle of a sync loses nothing once reopened', async () => {
    const session = uniqueSession('closed')
    const location = where(session)
    const context = await browser!.newContext()
    const page = await open(context, session, `db-${session}`)
    await context.setOffline(true)
    const written = await page.evaluate(async () => {
      const ids: string[] = []
      for (let i = 0; i < 30; i++) ids.push(await app.addMessage({ role: 'user', text: `m${i}` }))
      return ids
    })
    // A slow link, so the sync is still running when the tab goes away.
    await context.route('**/api/**', async (route) => {
      await new Promise((r) => setTimeout(r, 400))
      await route.continue().catch(() => {})
    })
    await context.setOffline(false)
    await expect.poll(async () => (await inR2(location)).ids.length, { timeout: 30_000, interval: 50 }).toBeGreaterThan(0)
    await page.close()
    const partial = (await inR2(location)).ids.length
    expect(partial).toBeLessThan(30)
    await context.unroute('**/api/**')

    const reopened = await open(context, session, `db-${session}`)
    await expect.poll(async () => (await inR2(location)).ids.length, { timeout: 60_000 }).toBe(30)
    const { ids, keys } = await inR2(location)
    expect(ids).toEqual([...written].sort())
    expect(keys).toBe(31)
    expect(((await (await openedApi(url)).loadSnapshot({ location }))!.data.messages as unknown[]).length).toBe(30)
    await expect.poll(() => reopened.evaluate(() => app.storage.pendingCount())).toBe(0)
    await context.close()
  })
})
