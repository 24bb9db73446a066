/**
 * A request's path and query as a message may show it: the value of each parameter named in `personal` (decoded
 * names, as a spec's `personalQueryParams` lists them) reads `…`; everything else stays as sent, page numbers and
 * modified-from windows included, which is what a failure is diagnosed by.
 */
export function redactQuery(path: string, personal: readonly string[]): string {
  const start = path.indexOf('?');
  if (start === -1 || personal.length === 0) return path;
  const pairs = path
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      const name = new URLSearchParams(pair).keys().next().value;
      return name !== undefined && personal.includes(name) ? `${pair.slice(0, equals)}=…` : pair;
    });
  return `${path.slice(0, start + 1)}${pairs.join('&')}`;
}
