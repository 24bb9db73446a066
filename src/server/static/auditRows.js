// The audit log's rows: a summary per cycle, and a detail row with its conflicts, suppressed duplicates and errors.
import { el, formatInstant, formatValue, providerName, shortId, winnerName } from './dom.js';

/**
 * Items of each list an audit entry arrives with (the API's `items`), and that each "Show more" adds: an entry of
 * a first sync lists every duplicate it suppressed, up to hundreds of thousands.
 */
export const AUDIT_ITEMS_PAGE = 100;

/**
 * One summary row and its detail row. `kept` outlives reloads of the table: `expanded`, the audit ids whose detail
 * is open, and `extraItems`, the items "Show more" added to a list (by `auditId:list`; an entry never changes once
 * written, so they are shown again rather than fetched). `loadItems(entry, list, offset)` fetches a list's next page.
 */
export function auditRows(entry, kept, loadItems) {
  const { expanded } = kept;
  const body = entry.body;
  const counts = entry.itemCounts;
  const count = (n, testid) => el('td', { class: n > 0 ? 'n flagged' : 'n', 'data-testid': testid, text: n });
  const toggle = el('button', {
    type: 'button',
    class: 'toggle',
    'data-testid': 'audit-toggle',
    'aria-expanded': 'false',
    'aria-label': `details of audit entry ${entry.id}`,
    text: '▸',
  });
  const row = el(
    'tr',
    { class: 'summary', 'data-testid': 'audit-row', 'data-audit-id': entry.id },
    el('td', {}, toggle),
    el('td', { class: 'n', text: entry.id }),
    el('td', { text: formatInstant(body.finishedAt) }),
    el('td', { text: providerName(entry.provider) }),
    el('td', {}, el('span', { class: `badge outcome-${body.outcome}`, text: body.outcome })),
    el('td', { class: 'n', text: body.fetched }),
    el('td', { class: 'n', text: body.written.created }),
    el('td', { class: 'n', text: body.written.updated }),
    el('td', { class: 'n', text: body.written.unchanged }),
    count(counts.conflicts, 'audit-conflict-count'),
    count(counts.duplicatesSuppressed, 'audit-duplicate-count'),
    count(counts.errors, 'audit-error-count'),
  );
  const detail = el(
    'tr',
    { class: 'detail', 'data-testid': 'audit-detail', 'data-audit-id': entry.id },
    el('td', { colspan: 12 }, auditDetail(entry, kept.extraItems, loadItems)),
  );
  const setOpen = (open) => {
    detail.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? '▾' : '▸';
    if (open) expanded.add(entry.id);
    else expanded.delete(entry.id);
  };
  setOpen(expanded.has(entry.id));
  row.addEventListener('click', () => setOpen(detail.hidden));
  return [row, detail];
}

/** The three lists of an entry: how each is titled and how one of its items becomes a table row. */
const itemLists = [
  {
    list: 'conflicts',
    title: 'Conflicts',
    headings: ['Contact', 'Field', 'Was', 'CRM value', 'Local value', 'Winner'],
    row: (c) =>
      el(
        'tr',
        { 'data-testid': 'conflict-row' },
        el('td', { title: c.contactId, text: shortId(c.contactId) }),
        el('td', { 'data-testid': 'conflict-field', text: c.field }),
        // An entry committed before conflicts recorded their base has none to show.
        el('td', { 'data-testid': 'conflict-base', text: 'base' in c ? formatValue(c.base) : '' }),
        el('td', { 'data-testid': 'conflict-crm', text: formatValue(c.crm) }),
        el('td', { 'data-testid': 'conflict-local', text: formatValue(c.local) }),
        el('td', {
          'data-testid': 'conflict-winner',
          ...(c.reason === 'both-changed-resolved-by-recency' && {
            title: 'the later edit another CRM of the tenant holds',
          }),
          ...(c.reason === 'both-changed-resolved-by-withdrawal' && {
            title: 'a withdrawal of consent kept',
          }),
          text: winnerName(c.winner),
        }),
      ),
  },
  {
    list: 'duplicatesSuppressed',
    title: 'Suppressed duplicates',
    headings: ['Incoming record', 'Matched', 'Reason'],
    row: (d) =>
      el(
        'tr',
        { 'data-testid': 'duplicate-row' },
        el('td', { text: d.incoming }),
        el('td', { title: d.matched, text: d.matched }),
        el('td', { text: d.reason }),
      ),
  },
  {
    list: 'errors',
    title: 'Errors',
    headings: ['Status', 'Message', 'Retry'],
    row: (e) =>
      el(
        'tr',
        { 'data-testid': 'error-row' },
        el('td', { text: e.status ?? '—' }),
        el('td', { text: e.message }),
        el('td', { text: e.retry ? 'will retry' : 'not retried' }),
      ),
  },
];

function auditDetail(entry, extraItems, loadItems) {
  const body = entry.body;
  const from =
    body.window.from === null
      ? 'the beginning'
      : `${body.window.from.modified} · ${body.window.from.externalId}`;
  const sections = itemLists
    .filter(({ list }) => entry.itemCounts[list] > 0)
    .map((spec) => itemSection(entry, spec, extraItems, loadItems));
  return el(
    'div',
    { class: 'detail-body' },
    el('p', {
      class: 'muted',
      text: `Cycle ${body.cycleId} · window from ${from} to ${body.window.to} · ${formatInstant(body.startedAt)} → ${formatInstant(body.finishedAt)}`,
    }),
    sections.length > 0
      ? sections
      : el('p', { class: 'muted', text: 'No conflicts, suppressed duplicates or errors in this cycle.' }),
  );
}

/**
 * One list's table: the items the entry came with and those "Show more" added before, and a button adding the next
 * page while there are more.
 */
function itemSection(entry, { list, title, headings, row }, extraItems, loadItems) {
  const total = entry.itemCounts[list];
  const key = `${entry.id}:${list}`;
  const added = extraItems.get(key) ?? [];
  const rows = el('tbody', {}, [...entry.body[list], ...added].map(row));
  const section = el(
    'section',
    { class: 'sub', 'data-list': list },
    el('h4', { text: `${title} (${total})` }),
    el('table', {}, el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { text: h })))), rows),
  );
  let shown = entry.body[list].length + added.length;
  if (shown >= total) return section;

  const more = el('button', { type: 'button', class: 'show-more', 'data-testid': 'audit-show-more' });
  const status = el('span', { class: 'status', role: 'status' });
  const label = () => {
    more.textContent = `Show ${Math.min(total - shown, AUDIT_ITEMS_PAGE)} more`;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    status.textContent = '';
    try {
      const page = await loadItems(entry, list, shown);
      rows.append(...page.items.map(row));
      shown += page.items.length;
      extraItems.set(key, [...(extraItems.get(key) ?? []), ...page.items]);
      if (page.nextOffset === null) more.parentElement.remove();
      else label();
    } catch (error) {
      status.textContent = `Could not load more: ${error.message}`;
    } finally {
      more.disabled = false;
    }
  });
  label();
  section.append(el('p', { class: 'more-items' }, more, status));
  return section;
}
