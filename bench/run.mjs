#!/usr/bin/env node
// `npm run bench`: builds the package, makes sure the S3 server is up (the same way `npm test`
// does), then runs every bench/*.bench.mjs in turn. Each prints its own table of medians and
// ratios against peers measured in the same run: compare ratios, never absolute times, since
// shared machines are noisy. Pass names to run a subset: `npm run bench -- s3 tiered`.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(`${root}bench`)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort()

if (spawnSync(`${root}node_modules/.bin/tsup`, [], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1)

const env = { ...process.env }
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

let failed = 0
for (const file of files) {
  console.log(`\n=== ${file} ===`)
  const { status } = spawnSync(process.execPath, [`bench/${file}`], { cwd: root, env, stdio: 'inherit' })
  if (status !== 0) {
    failed++
    console.log(`!!! ${file} exited ${status}`)
  }
}
process.exit(failed ? 1 : 0)
