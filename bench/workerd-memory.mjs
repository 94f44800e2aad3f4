#!/usr/bin/env node
// Peak RSS of a workerd process doing one 24 MB snapshot round trip (issue 18 item 3), built
// package: a Worker bundled as wrangler would (`workerd` / `worker` / `browser` conditions, so the
// web #platform: CompressionStream, DecompressionStream) saves a snapshot of ~235,000 messages
// into MemoryStorage, drops it, loads it back and checks every message. Each case runs in a fresh
// `workerd serve` (the binary @cloudflare/vitest-plugin installs) whose kernel peak RSS (VmHWM) is
// read after the answer; a 0 MB case gives workerd's own baseline, and building the value alone
// (no save) what the test's own value costs, so that saving and loading can be told apart from it. V8's old generation is capped
// at 128 MB (`--max-old-space-size`), the nearest local stand-in for a Worker's 128 MB: workerd as
// miniflare runs it sets no memory limit at all. It is not the same limit (Cloudflare counts the
// isolate's whole memory, ArrayBuffers too), so the figure to read is the RSS.
// Not part of `npm run bench` (no *.bench.mjs): run it on its own after `npx tsup`:
//   node bench/workerd-memory.mjs [dist directory, default ./dist] [MB, default 24]
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { freePort, writeConfig } from './workerd.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = process.argv[2] ?? `${root}dist`
const mb = Number(process.argv[3] ?? 24)
const dir = `${root}.cache/workerd-memory`
const workerd = `${root}node_modules/@cloudflare/workerd-linux-64/bin/workerd`
mkdirSync(dir, { recursive: true })

writeFileSync(
  `${dir}/entry.js`,
  `import { MemoryStorage } from 'snapshelf'
function message(i) {
  return { role: i % 2 ? 'assistant' : 'user', content: [{ text: \`Where is order #\${i >> 2}? It was due on the \${(i % 28) + 1}th, tracking \${(i * 7919).toString(16)}.\` }] }
}
// A function of its own, so the value saved is gone (its frame with it) before the load.
async function save(storage, location, size, op) {
  const messages = []
  for (let length = 200; length < size; ) {
    const m = message(messages.length)
    messages.push(m)
    length += JSON.stringify(m).length + 1
  }
  if (op !== 'build') await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: { scope: 'agent', data: { messages }, appData: {} } })
  return messages.length
}
export default {
  async fetch(request) {
    const storage = new MemoryStorage()
    const location = { sessionId: 's', scope: 'agent', scopeId: 'main' }
    const url = new URL(request.url)
    const op = url.searchParams.get('op')
    const count = await save(storage, location, Number(url.searchParams.get('mb')) * 1024 * 1024, op)
    if (op !== 'trip') return new Response(JSON.stringify({ count, loaded: count, differing: 0 }))
    const loaded = await storage.loadSnapshot({ location })
    let differing = 0
    for (let i = 0; i < count; i++) if (JSON.stringify(loaded.data.messages[i]) !== JSON.stringify(message(i))) differing++
    return new Response(JSON.stringify({ count, loaded: loaded.data.messages.length, differing }))
  },
}
`,
)
await build({
  entryPoints: [`${dir}/entry.js`],
  bundle: true,
  format: 'esm',
  outfile: `${dir}/worker.js`,
  conditions: ['workerd', 'worker', 'browser'],
  platform: 'neutral',
  alias: { snapshelf: `${dist}/index.js` },
  logLevel: 'error',
})

const port = await freePort()
writeConfig(dir, port, ['--max-old-space-size=128'])

/**
 * One fresh workerd, one request for a snapshot of `size` MB; its answer and its peak RSS. `op`:
 * `build` the value only, `save` it too, or `trip`: save, drop, load and check.
 */
async function run(size, op) {
  const child = spawn(workerd, ['serve', `${dir}/config.capnp`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  try {
    for (let i = 0; ; i++) {
      try {
        const answer = await (await fetch(`http://127.0.0.1:${port}/?mb=${size}&op=${op}`)).json()
        const peak = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024
        return { answer, peak }
      } catch (error) {
        if (child.exitCode !== null || i > 100) throw new Error(`workerd failed: ${stderr.slice(0, 800) || error.message}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  } finally {
    child.kill()
  }
}

const [base, built, saved, trip] = [await run(0, 'trip'), await run(mb, 'build'), await run(mb, 'save'), await run(mb, 'trip')]
if (trip.answer.differing !== 0 || trip.answer.loaded !== trip.answer.count)
  throw new Error(`the round trip differs: ${JSON.stringify(trip.answer)}`)
const plus = (r) => `${r.peak.toFixed(0)} MB (+${(r.peak - base.peak).toFixed(0)})`
console.log(
  `workerd peak RSS, ${mb} MB snapshot of ${trip.answer.count} messages, dist ${dist}: idle ${base.peak.toFixed(0)} MB; ` +
    `building the value ${plus(built)}; building and saving it ${plus(saved)}; the round trip ${plus(trip)}`,
)
