// DOM and formatting helpers of the admin page. Text only ever goes in through textContent or text nodes.

import { providerLabels } from './providers.js';

export const byId = (id) => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`page is missing #${id}`);
  return element;
};

/** `el('td', { class: 'n', text: 3 }, child…)`: attributes, text and children, never HTML. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') element.textContent = String(value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

export function formatInstant(iso) {
  if (iso === null || iso === undefined) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function relative(iso) {
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const magnitude = Math.abs(seconds);
  const amount =
    magnitude < 60
      ? `${magnitude}s`
      : magnitude < 3600
        ? `${Math.round(magnitude / 60)} min`
        : magnitude < 86_400
          ? `${Math.round(magnitude / 3600)} h`
          : `${Math.round(magnitude / 86_400)} d`;
  if (magnitude < 5) return 'now';
  return seconds > 0 ? `in ${amount}` : `${amount} ago`;
}

/** A field value from a contact: text as it is, an address as one line, anything else as JSON. */
export function formatValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const parts = Object.values(value).filter((part) => part !== null && part !== '');
    if (parts.every((part) => typeof part === 'string')) return parts.join(', ');
  }
  return JSON.stringify(value);
}

export const winnerName = (winner) =>
  winner === 'crm' ? 'CRM' : winner === 'nurturehub' ? 'NurtureHub' : winner;
export const providerName = (provider) => providerLabels[provider] ?? provider;
export const shortId = (id) => (typeof id === 'string' && id.length > 12 ? `${id.slice(0, 8)}…` : String(id));
