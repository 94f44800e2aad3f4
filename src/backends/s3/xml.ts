/**
 * The few bits of XML S3 speaks to us: ListObjectsV2 results, DeleteObjects results and error
 * bodies. A string scanner, not a DOM: Workers and Deno have no `DOMParser`, and S3's responses are
 * flat, machine-written documents with no CDATA, comments or nesting of a tag inside itself, so
 * matching `<Tag>…</Tag>` is exact for them.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/**
 * Decodes XML character references (`&amp;`, `&#38;`, `&#x26;`, …) in element text.
 *
 * @example
 * xmlUnescape('a&amp;b') // 'a&b'
 */
export function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return ENTITIES[ref] ?? whole
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
}

/**
 * Escapes text for an XML element body (keys in a DeleteObjects request) as numeric character
 * references, which every XML parser reads (one rule instead of a table of entity names).
 *
 * @example
 * xmlEscape('a&b<c') // 'a&#38;b&#60;c'
 */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** One compiled pattern per tag name; a listing asks for Key/Size/ETag a thousand times. */
const patterns = new Map<string, RegExp>()

/**
 * The raw (still escaped) bodies of every `<tag>…</tag>` in `xml`, in document order.
 *
 * @example
 * xmlBlocks('<R><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents></R>', 'Contents')
 * // ['<Key>a</Key>', '<Key>b</Key>']
 */
export function xmlBlocks(xml: string, tag: string): string[] {
  const out: string[] = []
  let re = patterns.get(tag)
  if (!re) {
    re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g')
    patterns.set(tag, re)
  }
  re.lastIndex = 0
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1]!)
  return out
}

/**
 * The unescaped text of the first `<tag>…</tag>` in `xml`, or `undefined`.
 *
 * @example
 * xmlText('<Error><Code>NoSuchBucket</Code></Error>', 'Code') // 'NoSuchBucket'
 */
export function xmlText(xml: string, tag: string): string | undefined {
  const body = xmlBlocks(xml, tag)[0]
  return body === undefined ? undefined : xmlUnescape(body)
}
