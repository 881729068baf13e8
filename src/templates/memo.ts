/**
 * A pure function of one string, remembered for the strings it saw last: an alert's link and runbook are asked
 * about several times per message (their buttons, the sanitiser, the template's `url` and `fitsButton`), each
 * answer a WHATWG URL parse. Bounded in entries and in key length (alert text is hostile: a 900 KB "URL" is not
 * kept), and emptied whole when full: cheap, and a burst of new alerts simply refills it.
 */
export function memoByString<T>(compute: (key: string) => T, maxEntries = 512, maxKeyLength = 2048): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    if (key.length > maxKeyLength) return compute(key);
    const known = seen.get(key);
    if (known !== undefined || seen.has(key)) return known as T;
    const value = compute(key);
    if (seen.size >= maxEntries) seen.clear();
    seen.set(key, value);
    return value;
  };
}
