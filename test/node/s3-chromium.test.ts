import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error -- plain .mjs helper shared with the browser config and the bench
import { chromiumArgs, chromiumHowTo, findChromium } from '../../scripts/chromium.mjs'
// @ts-expect-error -- plain .mjs helper shared with the scripts and benches
import { bundleBrowserPage } from '../../scripts/esbuild-snapshelf.mjs'
import { startRecorder, type Recorder } from '../helpers/recorder.js'

// S3Backend on real Chromium's fetch, where a redirect not followed is an opaque answer with
// status 0 (Node, Deno, Bun and workerd show the 3xx itself). The page and its S3 endpoint share
// one http://127.0.0.1 origin, served here; the endpoint redirects to another origin (a
// recorder), where nothing may ever arrive: a followed redirect would carry the session token.

const executablePath: string | null = findChromium()
if (!executablePath) console.warn(`\n!!! SKIPPING the S3-in-Chromium tests: no Chromium found. To run them, ${chromiumHowTo}.\n`)

const root = fileURLToPath(new URL('../../', import.meta.url))
const SESSION_TOKEN = 'browser-session-token-0123456789'

describe.skipIf(!executablePath)('S3Backend in real Chromium via playwright-core', () => {
  let server: Server
  let browser: Browser
  let page: Page
  let origin: string
  let elsewhere: Recorder

  beforeAll(async () => {
    const js = await bundleBrowserPage(`${root}test/browser/pages/s3-page.ts`)
    elsewhere = await startRecorder()
    server = createServer((req, res) => {
      if (req.url === '/page.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
      if (req.url?.startsWith('/s3/')) return void res.writeHead(307, { location: `${elsewhere.url}${req.url}` }).end()
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await chromium.launch({ executablePath: executablePath!, args: chromiumArgs, headless: true })
    page = await browser.newPage()
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => 's3' in window)
  })

  afterAll(async () => {
    await browser?.close()
    await elsewhere?.close()
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  })

  it('a redirect (opaque in a browser) is ERR_REMOTE, not "no such object", and nothing reaches the other origin', async () => {
    const credentials = { accessKeyId: 'AKIDBROWSER', secretAccessKey: 'browser-secret-0123456789', sessionToken: SESSION_TOKEN }
    const result = await page.evaluate(({ endpoint, credentials }) => window.s3.get(endpoint, 'k/latest.json', credentials), {
      endpoint: `${origin}/s3`,
      credentials,
    })
    expect(result.error).toMatchObject({ code: 'ERR_REMOTE', status: 0, message: expect.stringContaining('redirect') })
    expect(result.error!.everything).not.toContain(SESSION_TOKEN)
    expect(elsewhere.requests).toEqual([])
  })
})
