import { readdirSync, readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { providerLabels } from '../core/providerName.ts';
import { connectionMachine } from '../machines/connectionMachine.ts';
import { machineDiagramDefs, machineGraph, renderMachineDiagram } from './machineDiagram.ts';

/**
 * The admin page: an HTML shell with no data in it, so it is served without the token. Its script
 * (`static/admin.js` and the modules it imports) asks for the token, keeps it in sessionStorage and calls the
 * admin API with it; it builds every element from data with `textContent`, never with markup. The state
 * diagram is rendered here, once, from the connection machine's own definition; the script clones it per
 * connection and highlights the current state.
 */

/** Scripts and styles only from this origin, nothing inline, no framing: data can never become markup. */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const javascript = 'text/javascript; charset=utf-8';
const contentTypes: Record<string, string> = {
  '.js': javascript,
  '.css': 'text/css; charset=utf-8',
};

/** The page's scripts (ES modules) and styles, read once from `static/`; only these names are served. */
function readAssets(): Map<string, { body: string; type: string }> {
  const dir = new URL('./static/', import.meta.url);
  const assets = new Map<string, { body: string; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = contentTypes[name.slice(name.lastIndexOf('.'))];
    if (type !== undefined) assets.set(name, { body: readFileSync(new URL(name, dir), 'utf8'), type });
  }
  // How each CRM spells its name, from the one table the server's messages use, not a copy in the page.
  assets.set('providers.js', {
    body: `export const providerLabels = ${JSON.stringify(providerLabels)};\n`,
    type: javascript,
  });
  return assets;
}

/** `GET /admin` and its assets (`/admin/admin.js`, `/admin/admin.css`, …), with the page's security headers. */
export function adminPageRoutes(): Hono {
  const html = renderAdminPage();
  const assets = readAssets();
  return new Hono()
    .use('*', async (c, next) => {
      await next();
      c.header('Content-Security-Policy', contentSecurityPolicy);
      c.header('X-Content-Type-Options', 'nosniff');
      c.header('Referrer-Policy', 'no-referrer');
      c.header('Cache-Control', 'no-store');
    })
    .get('/', (c) => c.html(html))
    .get('/:asset', (c) => {
      const asset = assets.get(c.req.param('asset'));
      return asset === undefined
        ? c.text('not found', 404)
        : c.body(asset.body, 200, { 'Content-Type': asset.type });
    });
}

/** The page shell. Stable `data-testid`s are the contract with the browser test. */
export function renderAdminPage(): string {
  const diagram = renderMachineDiagram(machineGraph(connectionMachine));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>crm-sync admin</title>
<link rel="stylesheet" href="/admin/admin.css">
<script type="module" src="/admin/admin.js"></script>
</head>
<body>
${machineDiagramDefs()}
<header class="topbar">
  <h1>crm-sync <span class="muted">admin</span></h1>
  <div id="session" class="session" hidden>
    <label>Tenant <select id="tenant-select" data-testid="tenant-select"></select></label>
    <button type="button" id="sign-out" data-testid="sign-out">Sign out</button>
  </div>
</header>
<main>
  <section id="login" class="panel login" data-testid="login">
    <h2>Sign in</h2>
    <p>Paste the admin token: <code>crm-sync serve</code> prints it at start, or it is <code>CRM_SYNC_ADMIN_TOKEN</code>.</p>
    <form id="login-form">
      <input type="password" id="token-input" data-testid="token-input" autocomplete="off" placeholder="admin token" required>
      <button type="submit" data-testid="login-button">Sign in</button>
    </form>
    <p id="login-error" class="error" data-testid="login-error" role="alert"></p>
  </section>
  <section id="dashboard" hidden data-testid="dashboard">
    <section class="panel tenant-bar" data-testid="tenant-bar">
      <h2 id="tenant-name" data-testid="tenant-name"></h2>
      <span>Default interval <strong id="tenant-interval" data-testid="tenant-interval"></strong></span>
      <form id="tenant-interval-form" class="inline">
        <input id="tenant-interval-input" data-testid="tenant-interval-input" placeholder="15m" size="6" required>
        <button type="submit" data-testid="tenant-set-interval">Set tenant interval</button>
      </form>
      <span id="tenant-status" class="status" role="status"></span>
    </section>
    <h2>Connections</h2>
    <p id="connections-status" class="status" role="status" data-testid="connections-status"></p>
    <p id="no-connections" class="muted" hidden>This tenant has no connections yet (<code>crm-sync connection add</code>).</p>
    <div id="connections" class="cards" data-testid="connections"></div>
    <h2>Audit log</h2>
    <div class="audit-filters">
      <label>Connection <select id="audit-connection" data-testid="audit-filter-connection"></select></label>
      <button type="button" id="audit-refresh" data-testid="audit-refresh">Refresh</button>
      <span id="audit-status" class="status" role="status"></span>
    </div>
    <table id="audit-table" class="audit" data-testid="audit-table">
      <thead><tr>
        <th></th><th>#</th><th>Finished</th><th>Provider</th><th>Outcome</th><th>Fetched</th>
        <th>Created</th><th>Updated</th><th>Unchanged</th><th>Conflicts</th><th>Duplicates</th><th>Errors</th>
      </tr></thead>
      <tbody id="audit-body"></tbody>
    </table>
    <p id="audit-empty" class="muted" hidden>No audit entries yet: each completed or failed cycle writes one.</p>
    <button type="button" id="audit-more" data-testid="audit-more" hidden>Load older entries</button>
  </section>
</main>
<template id="machine-diagram">${diagram}</template>
</body>
</html>
`;
}
