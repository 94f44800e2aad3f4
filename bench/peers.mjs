// Peers a bench compares against that no test needs, so they are not devDependencies: installed on
// first use into .cache/bench-peers (npm, from the registry the project already installs from),
// never into node_modules or the lockfile. LangGraph's SQLite saver is one: its native
// better-sqlite3 compiles from source here (about 2 minutes), which every `npm install` would
// otherwise pay for a bench row.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const dir = fileURLToPath(new URL('../.cache/bench-peers/', import.meta.url))

/**
 * Imports bench-only peer `name`, installing `spec` (e.g. `name@1.0.4`) into .cache/bench-peers the
 * first time; resolves `undefined`, with the reason printed, when it cannot be installed here.
 *
 * @example
 * const sqlite = await benchPeer('@langchain/langgraph-checkpoint-sqlite@1.0.4', '@langchain/langgraph-checkpoint-sqlite')
 */
export async function benchPeer(spec, name) {
  const require = createRequire(`${dir}package.json`)
  const load = async () => import(pathToFileURL(require.resolve(name)).href)
  try {
    return await load()
  } catch {
    // Not installed yet.
  }
  mkdirSync(dir, { recursive: true })
  if (!existsSync(`${dir}package.json`)) writeFileSync(`${dir}package.json`, '{ "private": true, "type": "module" }\n')
  console.log(`installing bench peer ${spec} into .cache/bench-peers (once) ...`)
  try {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', spec], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    return await load()
  } catch (error) {
    console.log(
      `bench peer ${spec} is not available here, its rows are left out: ${String(error?.stderr ?? error)
        .split('\n')
        .slice(-3)
        .join(' ')}`,
    )
    return undefined
  }
}
