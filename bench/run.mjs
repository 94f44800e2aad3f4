#!/usr/bin/env node
// `npm run bench`: builds the package, makes sure the S3 server is up (the same way `npm test`
// does), then runs every bench/*.bench.mjs in turn. Each prints a progress line per case, then its
// own tables of medians and ratios against peers measured in the same run (compare ratios, never
// absolute times: shared machines are noisy), after a legend of their columns. The run ends with
// one table of every goal: what it asks, what was measured, met or not.
//   npm run bench                  everything (about 7 minutes on 2 shared cores)
//   npm run bench -- --quick       a smoke run of about a minute: few rounds, few operations
//   npm run bench -- s3 tiered     a subset, by file name prefix (combines with --quick)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = args.filter((a) => !a.startsWith('--'))
const files = readdirSync(`${root}bench`)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort()

/** What each bench's columns mean, printed before its output. */
const LEGEND = {
  'codec.bench.mjs': [
    'The two #platform files (web: CompressionStream + Web Crypto; node: node:zlib + node:crypto), both run in Node.',
    'Part 1: µs per snapshot encode (JSON + gzip) / decode (gunzip + JSON), median of rounds; ×faster = web ÷ node.',
    'Part 2: client CPU of a 1 KB gzip PUT (S3Storage.saveSnapshot, fetch stubbed), node path and web path (the dist',
    '  bundled with the browser condition), ÷ bare aws4fetch plain PUT (UNSIGNED-PAYLOAD). Goal: ≤ 1.5× on Node.',
    'Part 3: gzip on 100 B-64 KB agent JSON under Node, Bun and Deno: bytes saved, gzip + gunzip µs, µs per byte saved.',
  ],
  'history.bench.mjs': [
    'Issue 15: 200 turns of three agent shapes saved with commitSnapshot after every turn, on the real S3 server.',
    'whole = dedup: false (every history object whole, as before); delta = the default (each save stores its change).',
    'stored / uploaded: bytes the session holds at the end and sent in all; ×final: ÷ the final snapshot stored whole (gzip).',
    'save ms at a turn: median of the five saves up to it; load ms: fresh stores, latest / newest by id / 50th by id.',
  ],
  'indexeddb.bench.mjs': [
    'IndexedDB in headless Chromium, one awaited operation at a time.',
    'saves/s, loads/s: operations per second, median of interleaved rounds (higher is better).',
    'ratio: ÷ the "raw idb put/get" row of the same run (1.00 = as fast as raw idb).',
    'Rows: raw idb / the raw IndexedDB API / idb-keyval (peers, writing our stored bytes); "ours: backend" = the',
    'byte layer (two records per write); "ours: compression …" = the full store (validation, JSON, gzip).',
  ],
  'langgraph.bench.mjs': [
    'A 100-step LangGraph thread through the checkpoint saver API (put + putWrites + getTuple per step).',
    "ms / thread, ms / step: median of rounds (lower is better); x MemorySaver: ÷ LangGraph's in-memory saver (the floor);",
    'list all 100 (ms): listing the whole thread. Bytes table: what the 100 steps store, against whole checkpoints.',
  ],
  'memory.bench.mjs': [
    'Peak extra memory of one save and one load of an 8 MB and a 32 MB agent snapshot, each in a fresh `node --expose-gc` child:',
    '  ours over MemoryStorage and over S3Storage (real S3 server), and the AWS SDK doing stringify + gzip + PutObject / the reverse.',
    "peak RSS: the kernel's peak (VmHWM, reset at the start) minus the RSS before the operation; ×JSON: ÷ the JSON size (lower is better).",
    'value: what a GC leaves held after it (a load: the parsed value itself, ~2.1× the JSON in V8); beyond value: peak RSS - value.',
    'Goal: peak extra ≤ 2× the JSON for a 32 MB save and load (a load: beyond the value it returns).',
  ],
  's3.bench.mjs': [
    'Contenders: ours (gzip) = S3Storage as configured by default; ours (none) = plain JSON; aws-sdk = @aws-sdk/client-s3;',
    'aws4fetch = bare AwsClient (UNSIGNED-PAYLOAD, no condition); a4f same = aws4fetch sending exactly our request.',
    'Part 1, client CPU: µs per request with fetch stubbed (no server), median of rounds; lower is better.',
    '  none/a4f-same: ours (none) ÷ a4f same = our client overhead alone.',
    'Part 2, against the real S3 server: ops/s (higher is better), median of rounds; conc = requests in flight.',
    '  gz/sdk … no/same: ours (gzip or none) ÷ that peer; above 1.00× ours is faster.',
    "Part 3: bare aws4fetch GETs/s by object size, sequential: the server's own small-response delay.",
  ],
  'workerd-cpu.bench.mjs': [
    'Client CPU per S3 request inside workerd (built package, web #platform), every transport stubbed: the workerd half of s3 part 1.',
    'Contenders as in s3 part 1 (ours with dedup: false, so a save is one whole PUT), plus ours backend = S3Backend alone.',
    "µs: the workerd process's CPU time per request (schedstat of all its threads around each batch of n requests,",
    '  less an empty request), median of interleaved rounds; lower is better. Then its main thread alone, and the',
    "  isolate's own clock across each batch (it moves on I/O only: read after a timer) as a cross-check.",
    "Goal: a 1 KB gzip PUT ≤ 1.5× bare aws4fetch's plain PUT, as codec checks on Node.",
  ],
  'tiered.bench.mjs': [
    'Snapshots written locally first, then sent to a remote that adds 20 ms per request.',
    'ms: wall time (lower is better); requests: what the remote received; bytes sent: what was uploaded.',
    'speed-up: serial loop ms ÷ sync ms.',
  ],
}

if (spawnSync(`${root}node_modules/.bin/tsup`, [], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1)

const env = { ...process.env }
if (quick) env.BENCH_QUICK = '1'
if (!env.S3_ENDPOINT) {
  const { ensureS3 } = await import('../scripts/s3-server.mjs')
  const s3 = await ensureS3({ required: false })
  if (s3)
    Object.assign(env, {
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY: s3.accessKeyId,
      S3_SECRET_KEY: s3.secretAccessKey,
      S3_BUCKET: s3.bucket,
    })
}
mkdirSync(`${root}.cache`, { recursive: true })
env.BENCH_GOALS = `${root}.cache/bench-goals.jsonl`
rmSync(env.BENCH_GOALS, { force: true })

const started = performance.now()
const crashed = []
for (const [i, file] of files.entries()) {
  console.log(`\n=== ${i + 1}/${files.length} ${file}${quick ? ' (--quick: a smoke run, figures are rough)' : ''} ===`)
  for (const line of LEGEND[file] ?? []) console.log(`  legend: ${line}`)
  const t0 = performance.now()
  const { status } = spawnSync(process.execPath, [`bench/${file}`], { cwd: root, env, stdio: 'inherit' })
  console.log(`=== ${file}: ${((performance.now() - t0) / 1000).toFixed(0)} s${status ? `, exited ${status}` : ''} ===`)
  if (status !== 0) crashed.push(file)
}

// The goals every bench recorded (bench/report.mjs), in one table.
const goals = existsSync(env.BENCH_GOALS)
  ? readFileSync(env.BENCH_GOALS, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : []
const width = (key, min) => Math.max(min, ...goals.map((g) => String(g[key]).length))
const [wb, wg, wm] = [width('bench', 5), width('goal', 4), width('measured', 8)]
console.log(`\nGoals (${quick ? 'QUICK smoke run: indicative only' : 'full run'}; ${((performance.now() - started) / 1000).toFixed(0)} s)`)
console.log(`${'bench'.padEnd(wb)}  ${'goal'.padEnd(wg)}  ${'measured'.padEnd(wm)}  met`)
for (const g of goals)
  console.log(
    `${g.bench.padEnd(wb)}  ${g.goal.padEnd(wg)}  ${String(g.measured).padEnd(wm)}  ${g.met === null ? '-' : g.met ? 'yes' : 'NO'}`,
  )
const met = goals.filter((g) => g.met === true).length
const judged = goals.filter((g) => g.met !== null).length
console.log(`${met} of ${judged} goals met${crashed.length ? `; FAILED to run: ${crashed.join(', ')}` : ''}`)
// A goal missed is a finding, not a crash (the machine is shared and noisy); a bench that fails is.
process.exit(crashed.length ? 1 : 0)
