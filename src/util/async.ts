/**
 * Runs `fn` over `items` with at most `limit` in flight; results keep the order of `items`.
 * With `stop()` returning true, items not yet started are given to `skip` instead.
 */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  opts: {stop?: () => boolean; skip?: (item: T, index: number) => R} = {},
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const width = Math.max(1, Math.min(limit, items.length))
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= items.length) return
      if (opts.stop?.() && opts.skip) {
        out[i] = opts.skip(items[i], i)
        continue
      }
      out[i] = await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({length: width}, worker))
  return out
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  })
