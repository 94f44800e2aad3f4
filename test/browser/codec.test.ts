import { it } from 'vitest'
import { runPlatformCases } from '../helpers/platform-cases.js'

// Chromium's `#platform` is the web file (CompressionStream, Web Crypto): it reads and signs as the node one wrote.
runPlatformCases(it, 'chromium')
