// The audit log's rows: a summary per cycle, and a detail row with its conflicts, suppressed duplicates and errors.
import { el, formatInstant, formatValue, providerName, shortId, winnerName } from './dom.js';

/** One summary row and its detail row, open when `expanded` (a set of audit ids, kept across reloads) has it. */
export function auditRows(entry, expanded) {
  const body = entry.body;
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
    count(body.conflicts.length, 'audit-conflict-count'),
    count(body.duplicatesSuppressed.length, 'audit-duplicate-count'),
    count(body.errors.length, 'audit-error-count'),
  );
  const detail = el(
    'tr',
    { class: 'detail', 'data-testid': 'audit-detail', 'data-audit-id': entry.id },
    el('td', { colspan: 12 }, auditDetail(entry)),
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

function auditDetail(entry) {
  const body = entry.body;
  const from =
    body.window.from === null
      ? 'the beginning'
      : `${body.window.from.modified} · ${body.window.from.externalId}`;
  const parts = [
    el('p', {
      class: 'muted',
      text: `Cycle ${body.cycleId} · window from ${from} to ${body.window.to} · ${formatInstant(body.startedAt)} → ${formatInstant(body.finishedAt)}`,
    }),
  ];
  if (body.conflicts.length > 0) {
    parts.push(
      subTable(
        'Conflicts',
        ['Contact', 'Field', 'CRM value', 'Local value', 'Winner'],
        body.conflicts.map((c) =>
          el(
            'tr',
            { 'data-testid': 'conflict-row' },
            el('td', { title: c.contactId, text: shortId(c.contactId) }),
            el('td', { 'data-testid': 'conflict-field', text: c.field }),
            el('td', { 'data-testid': 'conflict-crm', text: formatValue(c.crm) }),
            el('td', { 'data-testid': 'conflict-local', text: formatValue(c.local) }),
            el('td', { 'data-testid': 'conflict-winner', text: winnerName(c.winner) }),
          ),
        ),
      ),
    );
  }
  if (body.duplicatesSuppressed.length > 0) {
    parts.push(
      subTable(
        'Suppressed duplicates',
        ['Incoming record', 'Matched', 'Reason'],
        body.duplicatesSuppressed.map((d) =>
          el(
            'tr',
            { 'data-testid': 'duplicate-row' },
            el('td', { text: d.incoming }),
            el('td', { title: d.matched, text: d.matched }),
            el('td', { text: d.reason }),
          ),
        ),
      ),
    );
  }
  if (body.errors.length > 0) {
    parts.push(
      subTable(
        'Errors',
        ['Status', 'Message', 'Retry'],
        body.errors.map((e) =>
          el(
            'tr',
            { 'data-testid': 'error-row' },
            el('td', { text: e.status ?? '—' }),
            el('td', { text: e.message }),
            el('td', { text: e.retry ? 'will retry' : 'not retried' }),
          ),
        ),
      ),
    );
  }
  if (parts.length === 1) {
    parts.push(
      el('p', { class: 'muted', text: 'No conflicts, suppressed duplicates or errors in this cycle.' }),
    );
  }
  return el('div', { class: 'detail-body' }, parts);
}

function subTable(title, headings, rows) {
  return el(
    'section',
    { class: 'sub' },
    el('h4', { text: `${title} (${rows.length})` }),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { text: h })))),
      el('tbody', {}, rows),
    ),
  );
}
