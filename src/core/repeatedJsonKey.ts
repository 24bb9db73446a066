/**
 * The path of the first object key a JSON text gives twice (`["events", 0, "at"]`), or `null` when none is. The text
 * must already have parsed as JSON. `JSON.parse` keeps the last of two values without a word, so a body giving a
 * field twice was read as whichever came last, where a query parameter given twice is refused.
 */
export function repeatedJsonKey(text: string): Array<string | number> | null {
  type Frame = { keys: Set<string> | null; index: number; key: string | null };
  const stack: Frame[] = [];
  const path = () => stack.map((f) => (f.keys === null ? f.index : (f.key ?? '')));
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const frame = stack.at(-1);
      if (expectKey && frame?.keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (frame.keys.has(key)) return [...path().slice(0, -1), key];
        frame.keys.add(key);
        frame.key = key;
        expectKey = false;
      }
      i = end;
    } else if (ch === '{') {
      stack.push({ keys: new Set(), index: 0, key: null });
      expectKey = true;
    } else if (ch === '[') {
      stack.push({ keys: null, index: 0, key: null });
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',') {
      const frame = stack.at(-1);
      if (frame?.keys) expectKey = true;
      else if (frame) frame.index += 1;
    }
  }
  return null;
}
