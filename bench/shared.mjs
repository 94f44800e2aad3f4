// A Strands-shaped snapshot of a given size, as several benches build it (s3, and the Worker of
// workerd-cpu, which esbuild bundles with it): nothing here imports anything.

/**
 * A Strands-shaped snapshot whose JSON is about `bytes` long, with text that compresses like real chat.
 *
 * @example
 * const snapshot = snapshotOf(1024)
 */
export function snapshotOf(bytes) {
  const words = ['the', 'agent', 'called', 'a', 'tool', 'with', 'result', 'user', 'asked', 'about', 'weather', 'in', 'Paris', '42', 'ok']
  let text = ''
  for (let i = 0; text.length < bytes - 200; i++) text += words[(i * 7 + (i >> 3)) % words.length] + (i % 11 ? ' ' : '. ')
  return {
    scope: 'agent',
    schemaVersion: '1.0',
    createdAt: new Date().toISOString(),
    data: { messages: [{ role: 'user', content: [{ text }] }] },
    appData: {},
  }
}

/**
 * The S3 settings of the benches that stub the transport (s3 part 1, workerd-cpu): no server is
 * reached, so any credentials do; AWS's documented example keys.
 *
 * @example
 * new S3Storage({ ...STUB_S3, fetch: stub })
 */
export const STUB_S3 = {
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  bucket: 'snapshelf-bench',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
}
