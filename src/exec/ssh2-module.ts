/** ssh2 is CommonJS: its ESM namespace names only some exports, so take the whole module object. */
type Ssh2 = typeof import('ssh2')
let loading: Promise<Ssh2> | null = null

export function loadSsh2(): Promise<Ssh2> {
  loading ??= import('ssh2').then((m) => ((m as unknown as {default?: Ssh2}).default ?? m) as Ssh2)
  return loading
}
