// What the README's snippets cannot define themselves: every other name a snippet uses it defines
// (or `declare`s, for the reader's own code such as `userOf`), so a block that leans on an
// undefined name fails this typecheck (issue 17: the browser snippet used `token`, `snapshot`,
// `render` and `bar` without saying what they were).
declare global {
  // Deno's own global, for the Deno quick start (its types are not installed here).
  const Deno: { env: { get(name: string): string | undefined } }
}
export {}
