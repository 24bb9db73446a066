// A connection's card: its state diagram (cloned from the page's template) with the current state highlighted,
// its cursor, next run and last error, and its action buttons.
import { byId, el, formatInstant, providerName, relative } from './dom.js';

/**
 * A card's structure, built once; `actions.run(card, 'sync' | 'retry')` and `actions.setInterval(event, card,
 * input)` handle its buttons. `updateCard` fills it, so a refresh never clobbers a half-typed
 * interval.
 */
export function createCard(connection, actions) {
  const diagram = byId('machine-diagram').content.firstElementChild.cloneNode(true);
  const field = (label, testid) => [el('dt', { text: label }), el('dd', { 'data-testid': testid })];
  const status = el('p', { class: 'status', role: 'status', 'data-testid': 'action-status' });
  const intervalInput = el('input', {
    'data-testid': 'interval-input',
    placeholder: 'tenant',
    size: 6,
    'aria-label': 'connection interval (empty: follow the tenant)',
    value: connection.interval ?? '',
  });
  const card = el(
    'article',
    { class: 'card', 'data-testid': 'connection-card', 'data-connection-id': connection.id },
    el(
      'header',
      {},
      el('h3', { text: providerName(connection.provider) }),
      el('span', { class: 'badge', 'data-testid': 'connection-state' }),
      el('span', {
        class: 'badge running',
        'data-testid': 'connection-running',
        text: 'running',
        hidden: true,
      }),
      el('span', {
        class: 'badge disabled',
        'data-testid': 'connection-disabled',
        text: 'disabled',
        hidden: true,
      }),
    ),
    el(
      'div',
      { class: 'card-body' },
      el('div', { class: 'diagram' }, diagram),
      el(
        'div',
        { class: 'details' },
        el(
          'dl',
          {},
          field('Cursor', 'connection-cursor'),
          field('Next run', 'connection-next-run'),
          field('Interval', 'connection-interval'),
          field('Base URL', 'connection-base-url'),
          field('Last cycle', 'connection-last-cycle'),
          field('Last error', 'connection-last-error'),
        ),
        el(
          'div',
          { class: 'actions' },
          el('button', {
            type: 'button',
            'data-testid': 'sync-now',
            text: 'Sync now',
            onclick: () => actions.run(card, 'sync'),
          }),
          el('button', {
            type: 'button',
            'data-testid': 'retry',
            text: 'Retry',
            onclick: () => actions.run(card, 'retry'),
          }),
          el(
            'form',
            { class: 'inline', onsubmit: (event) => actions.setInterval(event, card, intervalInput) },
            intervalInput,
            el('button', { type: 'submit', 'data-testid': 'set-interval', text: 'Set interval' }),
          ),
        ),
        status,
      ),
    ),
  );
  return card;
}

/** Fills a card from a connection view (GET …/connections): state badge, highlighted diagram node, details. */
export function updateCard(card, connection) {
  const find = (testid) => card.querySelector(`[data-testid="${testid}"]`);
  const state = connection.state ?? 'unreadable';
  card.dataset.state = state;
  const badge = find('connection-state');
  badge.textContent = state;
  badge.className = `badge state-${state}`;
  find('connection-running').hidden = !connection.running;
  find('connection-disabled').hidden = connection.enabled;

  for (const node of card.querySelectorAll('.state')) {
    const current = node.dataset.state === connection.state;
    node.classList.toggle('current', current);
    node.classList.toggle('resume', node.dataset.state === connection.resumePhase && !current);
    if (current) node.setAttribute('aria-current', 'step');
    else node.removeAttribute('aria-current');
  }
  for (const edge of card.querySelectorAll('.transition')) {
    edge.classList.toggle('active', edge.dataset.source === connection.state);
  }

  find('connection-cursor').textContent =
    connection.cursor === null
      ? 'none yet: the first cycle reads everything'
      : `${connection.cursor.modified} · ${connection.cursor.externalId}`;
  find('connection-next-run').textContent = connection.enabled
    ? `${formatInstant(connection.nextRunAt)} (${relative(connection.nextRunAt)})`
    : 'not scheduled: disabled';
  find('connection-interval').textContent =
    connection.interval === null
      ? `${connection.effectiveInterval} (the tenant's)`
      : `${connection.effectiveInterval} (this connection's own)`;
  find('connection-base-url').replaceChildren(...baseUrlLines(connection));
  const audit = connection.lastAudit;
  find('connection-last-cycle').textContent =
    audit === null
      ? 'none yet'
      : `${formatInstant(audit.finishedAt)}: fetched ${audit.counts.fetched}, upserted ${audit.counts.upserts}, ` +
        `sent ${audit.counts.sent}, conflicts ${audit.counts.conflicts}`;
  find('connection-last-error').replaceChildren(...lastErrorLines(connection));

  const syncNow = find('sync-now');
  const refusal = syncRefusal(connection, Date.now());
  syncNow.disabled = refusal !== null;
  syncNow.title = refusal ?? '';
  find('retry').disabled = !connection.enabled || connection.running || connection.state !== 'error';
}

/** Why the API would refuse Sync now (409) in this state, or null when it takes it. */
function syncRefusal(connection, now) {
  if (!connection.enabled) return 'disabled';
  if (connection.running) return 'a run is in progress';
  // An older machine version's snapshot (after an upgrade) is restarted by the run: the API takes it.
  if (connection.state === null && !connection.snapshotRestartsOnItsOwn)
    return 'its stored snapshot cannot be restored: reset it';
  if (connection.state === 'error') return 'in error: Retry leads it out';
  if (connection.state === 'backoff' && Date.parse(connection.resumeAt) > now)
    return `in backoff: it resumes by itself at ${formatInstant(connection.resumeAt)}`;
  return null;
}

/** The base URL, and why runs refuse it when they do (plain http to another host, stored by an earlier version). */
function baseUrlLines(connection) {
  if (connection.baseUrlProblem === null) return [el('span', { text: connection.baseUrl })];
  return [
    el('span', { text: connection.baseUrl }),
    el('br'),
    el('span', {
      class: 'error',
      text:
        `refused: ${connection.baseUrlProblem}; set another with crm-sync connection set-base-url ` +
        `--tenant … --provider ${connection.provider} URL`,
    }),
  ];
}

function lastErrorLines(connection) {
  if (connection.snapshotError !== null)
    return [el('span', { class: 'error', text: connection.snapshotError })];
  const error = connection.lastError;
  if (error === null) return [el('span', { class: 'muted', text: 'none' })];
  const status = error.status === null ? '' : ` ${error.status}`;
  const next = nextStep(connection, error);
  return [
    el('span', { class: 'error', text: `${error.kind}${status} in ${error.phase}: ${error.message}` }),
    el('br'),
    el('span', { class: 'muted', text: `${formatInstant(error.at)}${next === '' ? '' : ` · ${next}`}` }),
  ];
}

/** What happens after the last error, or what it takes to go on. */
function nextStep(connection, error) {
  if (connection.state === 'backoff')
    return `retrying: attempt ${connection.attempt}, resumes ${formatInstant(connection.resumeAt)}`;
  if (connection.state !== 'error') return '';
  // Retrying sends to the base URL again, and this page cannot change it.
  if (connection.baseUrlProblem !== null)
    return `stopped (${connection.errorReason ?? error.kind}): set another base URL, then press Retry`;
  // Retrying with the credentials the CRM refused fails again, and this page cannot change them.
  if (connection.errorReason === 'auth_failed')
    return (
      'stopped (auth_failed): the CRM refused the credentials; set new ones with crm-sync connection ' +
      `set-credentials --tenant … --provider ${connection.provider} --credentials …, then press Retry`
    );
  // Out of attempts, the schedule retries it at its next run (docs/scheduling.md).
  if (connection.errorReason === 'attempts_exhausted' && connection.enabled)
    return (
      `stopped (attempts_exhausted): the schedule retries ${connection.resumePhase ?? ''} at ` +
      `${formatInstant(connection.nextRunAt)}, or press Retry to resume it now`
    );
  return `stopped (${connection.errorReason ?? error.kind}): press Retry to resume ${connection.resumePhase ?? ''}`;
}
