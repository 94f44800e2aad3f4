// Where gzip stops paying for small snapshots (issue 18 item 2), runtime-neutral: bench/codec.bench.mjs
// runs this file under Node, Bun and Deno (each imports both platform files of the BUILT package).
// For realistic agent JSON of 100 B to 64 KB: stored bytes plain vs gzip, and the CPU of a gzip
// encode + decode on each platform file, as µs and as µs per byte saved.
// Prints one JSON line: { runtime, rows: [{ size, gz, encode: { node, web }, decode: { node, web } }] }.
import * as node from '../dist/platform/node.js'
import * as web from '../dist/platform/web.js'
import { agentJson } from './codec-data.mjs'

const quick = globalThis.process?.env?.BENCH_QUICK === '1' || globalThis.Deno?.env.get('BENCH_QUICK') === '1'
const runtime = globalThis.Deno ? `deno ${Deno.version.deno}` : globalThis.Bun ? `bun ${Bun.version}` : `node ${process.versions.node}`
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Median µs per call of `f` over rounds of about `budgetMs` each. */
async function usPerCall(f, budgetMs = quick ? 20 : 80) {
  for (let i = 0; i < 20; i++) await f()
  const rounds = []
  for (let r = 0; r < (quick ? 3 : 7); r++) {
    let n = 0
    const t0 = performance.now()
    while (performance.now() - t0 < budgetMs) {
      await f()
      n++
    }
    rounds.push(((performance.now() - t0) * 1000) / n)
  }
  return median(rounds)
}

const rows = []
for (const size of [100, 200, 300, 500, 1024, 2048, 4096, 16384, 65536]) {
  const raw = agentJson(size)
  const gz = await node.gzip(raw)
  const row = { size: raw.length, gz: gz.length, encode: {}, decode: {} }
  for (const [name, p] of Object.entries({ node, web })) {
    row.encode[name] = await usPerCall(() => p.gzip(raw))
    row.decode[name] = await usPerCall(() => p.gunzip(gz, 1 << 26))
  }
  rows.push(row)
}
console.log(JSON.stringify({ runtime, rows }))
