// What the workerd benches share (bench/workerd-cpu.bench.mjs, bench/workerd-memory.mjs): a free
// local port and the `workerd serve` config of one Worker (`worker.js` beside it) listening there.
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * A free port on 127.0.0.1.
 *
 * @example
 * const port = await freePort()
 */
export function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * Writes `${dir}/config.capnp`: one Worker (the ES module `${dir}/worker.js`) served on `port`,
 * with these V8 flags.
 *
 * @example
 * writeConfig(dir, port, ['--max-old-space-size=128'])
 */
export function writeConfig(dir, port, v8Flags = []) {
  const flags = v8Flags.length ? `\n  v8Flags = [${v8Flags.map((f) => JSON.stringify(f)).join(', ')}],` : ''
  writeFileSync(
    `${dir}/config.capnp`,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .w)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],${flags}
);
const w :Workerd.Worker = (modules = [(name = "worker", esModule = embed "worker.js")], compatibilityDate = "2026-04-01");
`,
  )
}
