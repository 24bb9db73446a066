/** A JSON value of a provider's wire shape, read loosely: tests reach into it by the provider's own names. */
export type Wire = Record<string, unknown>;

/**
 * Provider options whose `fetch` lets `edit` rewrite each listing page (a GET whose path ends with `path`) between
 * the real simulator and the adapter: a CRM answering malformed records, without a simulator of our own making.
 */
export function rewritingListings(path: string, edit: (page: Wire) => void) {
  return () => ({
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, init);
      const url = new URL(String(input instanceof Request ? input.url : input));
      const listing = (init?.method ?? 'GET') === 'GET' && url.pathname.endsWith(path);
      if (!listing || !response.ok) return response;
      const page = (await response.json()) as Wire;
      edit(page);
      return new Response(JSON.stringify(page), { status: 200, headers: response.headers });
    },
  });
}
