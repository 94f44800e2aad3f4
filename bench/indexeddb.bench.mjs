#!/usr/bin/env node
// IndexedDB bench, in real Chromium (playwright-core, headless): saves and loads per second of
// 1 KiB and 256 KiB snapshots, one awaited operation at a time. Ours (IndexedDBStorage with
// compression 'none' and 'gzip', and its bare byte backend) against raw `idb` put/get, IndexedDB's
// own request API (one and two records per write) and `idb-keyval` set/get of the very bytes our
// store writes. Medians of interleaved rounds; ratios against raw idb from the same run (the
// machine is noisy: compare ratios, not absolutes).
// Run: `node bench/indexeddb.bench.mjs` (about a minute).
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { chromiumArgs, chromiumHowTo, findChromium } from '../scripts/chromium.mjs'
import { bundleBrowserPage } from '../scripts/esbuild-snapshelf.mjs'
import { goal, progress, quick } from './report.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const executablePath = findChromium()
if (!executablePath) {
  console.error(`!!! SKIPPING the IndexedDB bench: no Chromium found. To run it, ${chromiumHowTo}.`)
  process.exit(0)
}

// --quick (bench/run.mjs): 3 rounds of a fifth of the operations, a smoke run.
const PLAN = quick
  ? [
      { bytes: 1024, n: 20, rounds: 3 },
      { bytes: 256 * 1024, n: 5, rounds: 3 },
    ]
  : [
      { bytes: 1024, n: 100, rounds: 21 },
      { bytes: 256 * 1024, n: 20, rounds: 21 },
    ]

const js = await bundleBrowserPage(`${root}bench/indexeddb/page.ts`, { minify: true })
const server = createServer((req, res) => {
  if (req.url === '/bench.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
  res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/bench.js"></script>')
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${server.address().port}`
const browser = await chromium.launch({ executablePath, args: chromiumArgs, headless: true })

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1))

try {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${origin}/`)
  await page.waitForFunction(() => 'bench' in window)
  const version = browser.version()
  console.log(`Chromium ${version}; ops/s, median of rounds, one awaited op at a time; ratio = / raw idb`)
  for (const [index, { bytes, n, rounds }] of PLAN.entries()) {
    progress('indexeddb', index + 1, PLAN.length, `${bytes / 1024} KiB snapshots, ${rounds} rounds × ${n} saves and loads per variant`)
    const t0 = Date.now()
    const r = await page.evaluate(({ bytes, n, rounds }) => window.bench.run(bytes, n, rounds), { bytes, n, rounds })
    const base = r.results['raw idb put/get']
    const baseSave = median(base.save)
    const baseLoad = median(base.load)
    console.log(
      `\n${bytes / 1024} KiB snapshot (JSON ${r.storedBytes.json} B, gzip ${r.storedBytes.gzip} B), ${rounds} rounds × ${n} ops, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    )
    console.log(`${'variant'.padEnd(44)} ${'saves/s'.padStart(9)} ${'ratio'.padStart(6)} ${'loads/s'.padStart(9)} ${'ratio'.padStart(6)}`)
    for (const [name, { save, load }] of Object.entries(r.results)) {
      const s = median(save)
      const l = median(load)
      console.log(
        `${name.padEnd(44)} ${fmt(s).padStart(9)} ${(s / baseSave).toFixed(2).padStart(6)} ${fmt(l).padStart(9)} ${(l / baseLoad).toFixed(2).padStart(6)}`,
      )
    }
    // The goal, on the full store writing plain JSON (what raw idb is given: the same bytes, no gzip).
    const ours = r.results["ours: compression 'none'"]
    for (const [op, mine, floor] of [
      ['saves', median(ours.save), baseSave],
      ['loads', median(ours.load), baseLoad],
    ])
      goal({
        bench: 'indexeddb',
        goal: `${bytes / 1024} KiB ${op}, ours (compression 'none') ≥ 0.9× raw idb`,
        measured: `${(mine / floor).toFixed(2)}×`,
        met: mine / floor >= 0.9,
      })
  }
  console.log(
    [
      '\nGoal: ours ≥ 0.9× raw idb. "ours: backend" writes the same ready bytes as raw idb, create-only (as a history save does),',
      'as two records (payload + metadata, so listings never read payloads): "raw IndexedDB API, 2 records" is its floor.',
      'The store rows add validation and JSON encoding (and gzip); commitSnapshot writes twice (history and latest). Every write uses default durability',
      '(relaxed in Chromium 121+), as raw idb does.',
    ].join('\n'),
  )
} finally {
  await browser.close()
  server.close()
}
