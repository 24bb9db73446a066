// The admin page's script: sign-in, tenant picker, connection cards and the audit log, over the admin API.
// Every element is built with createElement/textContent (dom.js): values from the CRM or the API never become
// markup. The token lives in sessionStorage, for this tab only.
import { AUDIT_ITEMS_PAGE, auditRows } from './auditRows.js';
import { createCard, updateCard } from './connectionCard.js';
import { byId, el, providerName } from './dom.js';

const TOKEN_KEY = 'crm-sync.adminToken';
const TENANT_KEY = 'crm-sync.tenantId';
/** Connection cards refresh on their own this often; the audit log refreshes after actions and on demand. */
const REFRESH_MS = 10_000;
const AUDIT_PAGE = 25;

const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  tenants: [],
  tenantId: null,
  connections: [],
  /** Audit ids whose detail row is open, and items "Show more" added to their lists: kept across reloads. */
  expanded: new Set(),
  extraItems: new Map(),
  nextBeforeId: null,
  /** Bumped by every load of the audit log: an answer to an earlier one is dropped. */
  auditLoad: 0,
  timer: null,
  /** When the connection cards were last read, for the message a failed refresh leaves. */
  refreshedAt: null,
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${session.token ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    signOut('The token was refused. Sign in again.');
    throw new ApiError(401, 'unauthorised');
  }
  if (!response.ok)
    throw new ApiError(response.status, data?.error ?? `${response.status} ${response.statusText}`);
  return data;
}

// ---- sign in / out ----------------------------------------------------------------------------------------

function showSignedIn(signedIn) {
  byId('login').hidden = signedIn;
  byId('dashboard').hidden = !signedIn;
  byId('session').hidden = !signedIn;
}

function signOut(message) {
  session.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(session.timer);
  session.timer = null;
  showSignedIn(false);
  byId('login-error').textContent = message ?? '';
}

async function signIn(token) {
  session.token = token;
  byId('login-error').textContent = '';
  try {
    const { tenants } = await api('GET', '/tenants');
    sessionStorage.setItem(TOKEN_KEY, token);
    session.tenants = tenants;
    showSignedIn(true);
    renderTenantPicker();
    clearInterval(session.timer);
    session.timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refreshInBackground();
    }, REFRESH_MS);
    await selectTenant(pickInitialTenant());
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      byId('login-error').textContent = `Could not reach the admin API: ${error.message}`;
    }
  }
}

function pickInitialTenant() {
  const saved = sessionStorage.getItem(TENANT_KEY);
  const known = session.tenants.find((tenant) => tenant.id === saved);
  return known?.id ?? session.tenants[0]?.id ?? null;
}

// ---- tenant -----------------------------------------------------------------------------------------------

function renderTenantPicker() {
  const select = byId('tenant-select');
  select.replaceChildren(
    ...session.tenants.map((tenant) => el('option', { value: tenant.id, text: tenant.name })),
  );
}

async function selectTenant(tenantId) {
  session.tenantId = tenantId;
  session.connections = [];
  session.expanded.clear();
  session.extraItems.clear();
  byId('connections').replaceChildren();
  byId('audit-body').replaceChildren();
  const tenant = session.tenants.find((t) => t.id === tenantId);
  byId('tenant-name').textContent = tenant?.name ?? 'No tenants yet (crm-sync tenant add NAME)';
  byId('tenant-interval').textContent = tenant?.interval ?? '—';
  byId('tenant-interval-input').value = tenant?.interval ?? '';
  // Without a tenant there is nothing to pick or set (the interval form would PATCH /tenants/null), and the
  // lists say they are empty rather than showing nothing.
  const none = tenantId === null;
  for (const control of [
    byId('tenant-select'),
    ...byId('tenant-interval-form').elements,
    byId('audit-connection'),
  ])
    control.disabled = none;
  if (none) {
    renderAuditFilter();
    byId('no-connections').hidden = false;
    byId('audit-more').hidden = true;
    byId('audit-empty').hidden = false;
    return;
  }
  byId('tenant-select').value = tenantId;
  sessionStorage.setItem(TENANT_KEY, tenantId);
  await refreshInBackground();
  if (tenantId !== session.tenantId) return;
  renderAuditFilter();
  await loadAudit();
}

async function setTenantInterval(event) {
  event.preventDefault();
  const status = byId('tenant-status');
  const interval = byId('tenant-interval-input').value.trim();
  try {
    const { tenant } = await api('PATCH', `/tenants/${session.tenantId}`, { interval });
    session.tenants = session.tenants.map((t) => (t.id === tenant.id ? tenant : t));
    byId('tenant-interval').textContent = tenant.interval;
    status.textContent = `Tenant interval set to ${tenant.interval}.`;
  } catch (error) {
    status.textContent = `Could not set the interval: ${error.message}`;
    return;
  }
  // The cards' effective intervals, read again; a failure here is the refresh's, said under the cards.
  await refreshInBackground();
}

// ---- connections ------------------------------------------------------------------------------------------

async function refreshConnections() {
  if (session.tenantId === null) return;
  const tenantId = session.tenantId;
  const { connections } = await api('GET', `/tenants/${tenantId}/connections`);
  if (tenantId !== session.tenantId) return;
  session.connections = connections;
  renderAuditFilter();
  const container = byId('connections');
  byId('no-connections').hidden = connections.length > 0;
  const cards = new Map([...container.children].map((card) => [card.dataset.connectionId, card]));
  for (const connection of connections) {
    let card = cards.get(connection.id);
    if (card === undefined) {
      card = createCard(connection, { run: act, setInterval: setConnectionInterval });
      container.append(card);
    }
    updateCard(card, connection);
    cards.delete(connection.id);
  }
  for (const gone of cards.values()) gone.remove();
  session.refreshedAt = new Date();
  byId('connections-status').textContent = '';
}

/**
 * A refresh nobody asked for (the timer's, the one after an action): a failure says so above the cards, which
 * keep what they last showed, and the next refresh that works clears it.
 */
async function refreshInBackground() {
  try {
    await refreshConnections();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    const since =
      session.refreshedAt === null ? '' : ` The cards show the state read at ${clock(session.refreshedAt)}.`;
    byId('connections-status').textContent =
      `Could not refresh at ${clock(new Date())}: ${error.message}.${since}`;
  }
}

const clock = (date) => date.toLocaleTimeString();

async function act(card, action) {
  const status = card.querySelector('[data-testid="action-status"]');
  const buttons = card.querySelectorAll('button');
  for (const button of buttons) button.disabled = true;
  status.textContent = action === 'sync' ? 'Syncing…' : 'Retrying…';
  try {
    const { connection } = await api(
      'POST',
      `/tenants/${session.tenantId}/connections/${card.dataset.connectionId}/${action}`,
    );
    updateCard(card, connection);
    status.textContent = `${action === 'sync' ? 'Sync' : 'Retry'} finished: ${connection.state}.`;
    await loadAudit();
  } catch (error) {
    status.textContent = `${action === 'sync' ? 'Sync' : 'Retry'} failed: ${error.message}`;
  } finally {
    card.querySelector('[data-testid="set-interval"]').disabled = false;
    await refreshInBackground();
  }
}

async function setConnectionInterval(event, card, input) {
  event.preventDefault();
  const status = card.querySelector('[data-testid="action-status"]');
  const text = input.value.trim();
  try {
    const { connection } = await api(
      'PATCH',
      `/tenants/${session.tenantId}/connections/${card.dataset.connectionId}`,
      {
        interval: text === '' ? null : text,
      },
    );
    updateCard(card, connection);
    input.value = connection.interval ?? '';
    status.textContent =
      connection.interval === null
        ? `Interval: following the tenant (${connection.effectiveInterval}).`
        : `Interval set to ${connection.interval}.`;
  } catch (error) {
    status.textContent = `Could not set the interval: ${error.message}`;
  }
}

// ---- audit log --------------------------------------------------------------------------------------------

function renderAuditFilter() {
  const select = byId('audit-connection');
  const selected = select.value;
  select.replaceChildren(
    el('option', { value: '', text: 'All connections' }),
    ...session.connections.map((c) => el('option', { value: c.id, text: providerName(c.provider) })),
  );
  if (session.connections.some((c) => c.id === selected)) select.value = selected;
}

/** Loads the newest page (or, with `more`, the next older page) of the tenant's audit log. */
async function loadAudit(more = false) {
  const tenantId = session.tenantId;
  if (tenantId === null) return;
  const query = new URLSearchParams({ limit: String(AUDIT_PAGE), items: String(AUDIT_ITEMS_PAGE) });
  const connectionId = byId('audit-connection').value;
  if (connectionId !== '') query.set('connectionId', connectionId);
  if (more && session.nextBeforeId !== null) query.set('beforeId', String(session.nextBeforeId));
  const status = byId('audit-status');
  const load = ++session.auditLoad;
  const moreButton = byId('audit-more');
  if (more) moreButton.disabled = true;
  try {
    const page = await api('GET', `/tenants/${tenantId}/audit?${query}`);
    if (tenantId !== session.tenantId || load !== session.auditLoad) return;
    const body = byId('audit-body');
    if (!more) body.replaceChildren();
    for (const entry of page.entries) body.append(...auditRows(entry, session, loadAuditItems));
    session.nextBeforeId = page.nextBeforeId;
    byId('audit-more').hidden = page.nextBeforeId === null;
    byId('audit-empty').hidden = body.children.length > 0;
    status.textContent = '';
  } catch (error) {
    if (load === session.auditLoad) status.textContent = `Could not load the audit log: ${error.message}`;
  } finally {
    if (load === session.auditLoad) moreButton.disabled = false;
  }
}

/** The next page of one list of an audit entry, from `offset`. */
function loadAuditItems(entry, list, offset) {
  const query = new URLSearchParams({ offset: String(offset), limit: String(AUDIT_ITEMS_PAGE) });
  return api('GET', `/tenants/${entry.tenantId}/audit/${entry.id}/items/${list}?${query}`);
}

// ---- wiring -----------------------------------------------------------------------------------------------

byId('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void signIn(byId('token-input').value.trim());
});
byId('sign-out').addEventListener('click', () => signOut('Signed out.'));
byId('tenant-select').addEventListener('change', (event) => void selectTenant(event.target.value));
byId('tenant-interval-form').addEventListener('submit', setTenantInterval);
byId('audit-connection').addEventListener('change', () => void loadAudit());
byId('audit-refresh').addEventListener('click', () => void loadAudit());
byId('audit-more').addEventListener('click', () => void loadAudit(true));

if (session.token !== null) void signIn(session.token);
else showSignedIn(false);
