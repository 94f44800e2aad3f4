// What every bench/*.bench.mjs shares with bench/run.mjs: the quick mode, a progress line per
// case (a full run takes minutes; a silent one looks hung), and the goals it checks, which run.mjs
// gathers into the final goal / measured / met table. Run on its own, a bench prints the same lines.
import { appendFileSync } from 'node:fs'

/** `npm run bench -- --quick` (run.mjs sets BENCH_QUICK=1): fewer rounds and operations, a smoke run. */
export const quick = process.env.BENCH_QUICK === '1'

const started = performance.now()

/**
 * Prints which case starts now, with the time since the bench started.
 *
 * @example
 * progress('s3', 3, 8, '1 KB GET, 16 in flight')   // [s3 +12 s] 3/8 1 KB GET, 16 in flight
 */
export function progress(bench, index, total, what) {
  const elapsed = ((performance.now() - started) / 1000).toFixed(0)
  console.log(`[${bench} +${elapsed} s] ${index}/${total} ${what}`)
}

/**
 * Records one goal: printed at once, and appended to BENCH_GOALS (a JSON-lines file run.mjs reads)
 * when set. `met` is `true`, `false`, or `null` for a figure reported without a goal.
 *
 * @example
 * goal({ bench: 'tiered', goal: 'sync ≥ 10× a serial save loop', measured: '15.2×', met: 15.2 >= 10 })
 */
export function goal({ bench, goal: text, measured, met }) {
  const verdict = met === null ? 'reported' : met ? 'met' : 'NOT met'
  console.log(`goal (${bench}): ${text}: ${measured} → ${verdict}`)
  if (process.env.BENCH_GOALS) appendFileSync(process.env.BENCH_GOALS, `${JSON.stringify({ bench, goal: text, measured, met })}\n`)
}
