import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { AwsClient } from 'aws4fetch'
import { describe, expect, it } from 'vitest'
import { describeS3, s3Server } from '../helpers/s3.js'

// The README's JavaScript quick start, taken from the README itself (so the README is what is
// tested) and run as its reader runs it: plain `node quickstart.js`, no loader, no TypeScript.
// It is written inside the repository, whose package.json has `"type": "module"` and is named
// `snapshelf`, so `import 'snapshelf'` resolves through the package's own `exports` to the BUILT
// dist/ exactly as it does in a project that installed the tarball.
const root = fileURLToPath(new URL('../../', import.meta.url))
const readme = readFileSync(`${root}README.md`, 'utf8')
const block = /```js\n(\/\/ quickstart\.js[\s\S]*?)```/.exec(readme)?.[1]
const printed = /It prints what it did[^\n]*\n\n```\n([\s\S]*?)```/.exec(readme)?.[1]
const dir = `${root}.cache/readme-run/`
const file = `${dir}quickstart.js`
if (block) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, block)
}

/** Runs the quick start with plain node and an environment that has exactly the S3 settings given. */
function runQuickstart(s3: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...s3 }
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd: dir, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

/** The lines the README says it prints, with what varies per run (ids, the stored size) as patterns. */
function expectedLines(): RegExp[] {
  const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/g
  return printed!
    .trim()
    .split('\n')
    .map((line) => {
      const escaped = line
        .replace(uuid, 'UUID')
        .replace(/\(\d+ bytes\)/, '(SIZE bytes)')
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      return new RegExp(`^${escaped.replaceAll('UUID', uuid.source).replace('SIZE', '\\d+')}$`)
    })
}

describe('README JavaScript quick start', () => {
  it('is in the README, with the output it claims', () => {
    expect(block, 'a ```js block starting with `// quickstart.js`').toBeTruthy()
    expect(printed, 'an "It prints what it did:" block').toBeTruthy()
    expect(readme).toContain('"type": "module"')
  })

  it('runs with plain node against MemoryStorage and prints what the README says', async () => {
    expect(existsSync(`${root}dist/index.js`), 'dist/ is built (npm test builds first; alone: npx tsup)').toBe(true)
    const { code, stdout, stderr } = await runQuickstart({})
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n')
    const expected = expectedLines()
    expect(lines).toHaveLength(expected.length)
    for (const [i, line] of lines.entries()) expect(line).toMatch(expected[i]!)
    expect(lines[0]).toBe('storage: in memory')
  })
})

describeS3('README JavaScript quick start on a real S3 server', () => {
  it('with S3_* set it uses the bucket, then deletes its session, leaving the bucket empty', async () => {
    const { endpoint, region, accessKeyId, secretAccessKey } = s3Server!
    // A bucket of its own: the quick start's fixed session id must not meet another run's.
    const bucket = `readme-quickstart-${Date.now().toString(36)}`
    const s3 = new AwsClient({ accessKeyId, secretAccessKey, region, service: 's3', retries: 0 })
    const bucketUrl = `${endpoint.replace(/\/+$/, '')}/${bucket}`
    expect((await s3.fetch(bucketUrl, { method: 'PUT' })).status).toBe(200)
    try {
      const { code, stdout, stderr } = await runQuickstart({
        S3_ENDPOINT: endpoint,
        S3_REGION: region,
        S3_ACCESS_KEY: accessKeyId,
        S3_SECRET_KEY: secretAccessKey,
        S3_BUCKET: bucket,
      })
      expect(stderr).toBe('')
      expect(code).toBe(0)
      expect(stdout).toContain(`storage: S3 bucket ${bucket} at ${endpoint}`)
      expect(stdout).toMatch(/latest says: plan my trip/)
      expect(stdout).toMatch(/deleted session-42/)
      const listing = await (await s3.fetch(`${bucketUrl}?list-type=2`)).text()
      expect(listing).not.toContain('<Key>')
    } finally {
      await s3.fetch(bucketUrl, { method: 'DELETE' })
    }
  })
})
