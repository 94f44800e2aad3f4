import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A fault-injecting HTTP proxy in front of the real S3 server (never instead of it): requests
 * pass through untouched (the Host header too, so SigV4 signatures stay valid) except those
 * picked for a fault. Listens on 127.0.0.1 on a random port.
 */

/**
 * The faults the proxy injects.
 * - `500` / `503`: an S3-style error answer without forwarding.
 * - `429`: SlowDown with `Retry-After`, without forwarding.
 * - `reset`: the client connection is destroyed before anything is forwarded.
 * - `stall`: the request is held, never forwarded or answered (the client must time out).
 * - `lost`: forwarded, the server's answer read in full, then the client connection destroyed
 *   without answering: the write happened but the client cannot know.
 * - `tamper`: forwarded with one body byte flipped (what SigV4's payload hash must catch).
 */
export type Fault = '500' | '503' | '429' | 'reset' | 'stall' | 'lost' | 'tamper'

export interface FaultProxyOptions {
  /** The real server, e.g. `http://127.0.0.1:7480`. */
  target: string
  /** Probability that a request gets a fault (default 0). */
  rate?: number
  /** Faults picked from at random (default: all but `tamper`). */
  faults?: Fault[]
  /** `Retry-After` seconds on 429 answers (default 0, to keep bulk tests fast). */
  retryAfterSeconds?: number
  /** Only requests for which this returns true may get a random fault (default: all). */
  eligible?: (req: http.IncomingMessage) => boolean
}

/**
 * One HTTP answer, as the proxy sends it back (`content-length` is set from `body`).
 *
 * @example
 * const answer: ProxyAnswer = { status: 307, headers: { location: 'http://elsewhere/' }, body: Buffer.alloc(0) }
 */
export interface ProxyAnswer {
  status: number
  headers: http.OutgoingHttpHeaders
  body: Buffer
}

/**
 * A running proxy.


 *
 * @example
 * const proxy = await startFaultProxy({ target: 'http://127.0.0.1:7480', rate: 0.1 })
 * const store = new S3Storage({ ...options, endpoint: proxy.url })
 * await proxy.close()
 */
export interface FaultProxy {
  url: string
  /** Requests seen, and faults injected by kind. */
  stats: { requests: number; faults: Record<Fault, number> }
  rate: number
  faults: Fault[]
  /** Forces the next `n` eligible requests matching `when` to get `fault`, regardless of `rate`. */
  force(fault: Fault, n?: number, when?: (req: http.IncomingMessage) => boolean): void
  /**
   * When set, answers a request itself (the request and its body as received) instead of
   * forwarding it; `undefined` forwards as usual. For servers that misbehave in ways no fault
   * above covers: redirects, error bodies that echo the request.
   */
  intercept?: (req: http.IncomingMessage, body: Buffer) => ProxyAnswer | undefined
  /** When set, rewrites the real server's answer before it goes back (a server that repeats a page). */
  rewrite?: (req: http.IncomingMessage, answer: ProxyAnswer) => ProxyAnswer
  close(): Promise<void>
}

const ALL: Fault[] = ['500', '503', '429', 'reset', 'stall', 'lost']

/** Sends a made or rewritten `answer`, with the length of its body (rarely the original's). */
function send(res: http.ServerResponse, answer: ProxyAnswer): void {
  const headers = { ...answer.headers, 'content-length': String(answer.body.length) }
  delete headers['transfer-encoding']
  res.writeHead(answer.status, headers).end(answer.body)
}

/**
 * Starts a fault proxy.
 *
 * @example
 * const proxy = await startFaultProxy({ target, rate: 0.1, faults: ['500', 'lost'] })
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const sockets = new Set<Socket>()
  const forced: { fault: Fault; left: number; when?: (req: http.IncomingMessage) => boolean }[] = []
  const stats = { requests: 0, faults: Object.fromEntries([...ALL, 'tamper'].map((f) => [f, 0])) as Record<Fault, number> }

  const pick = (req: http.IncomingMessage): Fault | undefined => {
    const f = forced.find((x) => x.left > 0 && (!x.when || x.when(req)))
    if (f) {
      f.left--
      return f.fault
    }
    if (options.eligible && !options.eligible(req)) return undefined
    if (Math.random() >= proxy.rate || !proxy.faults.length) return undefined
    return proxy.faults[Math.floor(Math.random() * proxy.faults.length)]
  }

  const server = http.createServer(async (req, res) => {
    stats.requests++
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    let body = Buffer.concat(chunks)
    const fault = pick(req)
    if (fault) stats.faults[fault]++
    if (fault === '500' || fault === '503' || fault === '429') {
      const code = fault === '500' ? 'InternalError' : fault === '503' ? 'ServiceUnavailable' : 'SlowDown'
      res.writeHead(Number(fault), {
        'content-type': 'application/xml',
        ...(fault === '429' ? { 'retry-after': String(options.retryAfterSeconds ?? 0) } : {}),
      })
      return res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message><RequestId>proxy-${stats.requests}</RequestId></Error>`,
      )
    }
    const own = proxy.intercept?.(req, body)
    if (own) return send(res, own)
    if (fault === 'reset') return req.socket.destroy()
    if (fault === 'stall') return // held until the client gives up and closes, or close()
    if (fault === 'tamper' && body.length) {
      body = Buffer.from(body)
      body[body.length >> 1]! ^= 0x01
    }
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      async (up) => {
        const answer: Buffer[] = []
        for await (const c of up) answer.push(c as Buffer)
        if (fault === 'lost') return req.socket.destroy()
        const real = { status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(answer) }
        if (proxy.rewrite) return send(res, proxy.rewrite(req, real))
        res.writeHead(real.status, real.headers).end(real.body)
      },
    )
    upstream.on('error', () => req.socket.destroy())
    upstream.end(body)
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    rate: options.rate ?? 0,
    faults: options.faults ?? ALL,
    force(fault, n = 1, when) {
      forced.push({ fault, left: n, when })
    },
    async close() {
      for (const s of sockets) s.destroy()
      agent.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return proxy
}
