#!/usr/bin/env node
// Extracts every ```ts block of README.md into .cache/readme/<n>.ts so `tsc -p test/readme`
// typechecks them as a user's code would compile (the package names resolve to the sources).
// Every snippet defines (or `declare`s) the names it uses, so a reader can run it as written;
// test/readme/globals.d.ts declares only runtime globals tsc lacks (Deno). The ```js quick start
// is run, not typechecked: test/node/readme-quickstart.test.ts. A block that starts with
// `// not compiled:` is skipped.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = `${root}.cache/readme/`
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const blocks = [...readFileSync(`${root}README.md`, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
let written = 0
blocks.forEach((code, i) => {
  if (code.startsWith('// not compiled:')) return
  // Deno resolves `npm:` specifiers; tsc resolves the same package by its name.
  const source = code.replaceAll("from 'npm:snapshelf", "from 'snapshelf")
  writeFileSync(`${out}snippet-${String(i + 1).padStart(2, '0')}.ts`, `// README.md, TypeScript block ${i + 1}\nexport {}\n${source}`)
  written++
})
console.log(`README: ${written} TypeScript blocks written to .cache/readme/ (${blocks.length - written} marked not compiled)`)
