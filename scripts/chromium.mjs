// Where Chromium is, and how we launch it, for every browser runner (vitest browser mode, the
// playwright-core tests, the IndexedDB bench). We never download a browser (`playwright install`
// needs hosts this project cannot assume); CI installs Debian's `chromium` with apt.
import { existsSync } from 'node:fs'

/**
 * Flags for a headless Chromium in a container: no sandbox (root, no user namespaces), no GPU,
 * and none of the background traffic (updates, sync, QUIC) that has nowhere to go offline.
 *
 * @example
 * await chromium.launch({ executablePath: findChromium(), args: chromiumArgs })
 */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

/** What to tell a developer whose machine has no Chromium. */
export const chromiumHowTo =
  'install Chromium (Debian/Ubuntu: `apt-get install -y chromium`) or set CHROMIUM_PATH to a Chromium binary; `npm test` installs it with apt when run as root on Debian'

/**
 * The Chromium binary to drive: `$CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`, else
 * `chromium-browser`; `null` when there is none.
 *
 * @example
 * const path = findChromium()
 * if (!path) console.warn(`SKIPPING browser tests: ${chromiumHowTo}`)
 */
export function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium']
  for (const path of candidates) if (path && existsSync(path)) return path
  return null
}
