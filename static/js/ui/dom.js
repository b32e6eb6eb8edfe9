// DOM helpers. Text always goes in as text nodes: never innerHTML with town data.
import { gettext, ngettext, fmt } from '../i18n.js';

/**
 * h('button', {class: 'btn', testid: 'x', onclick: fn, 'aria-label': '…'}, 'Label', child)
 * `text` sets textContent; `dataset` merges data-*; false/null attributes are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function $(id) {
  return document.getElementById(id);
}

/** "3 min ago", "yesterday"… from an ISO date. */
export function timeAgo(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 45) return gettext('just now');
  const m = Math.round(s / 60);
  if (m < 60) return fmt(gettext('%(count)s min ago'), { count: m });
  const hr = Math.round(m / 60);
  if (hr < 24) return fmt(gettext('%(count)s h ago'), { count: hr });
  const d = Math.round(hr / 24);
  return d === 1 ? gettext('yesterday') : fmt(ngettext('%(count)s day ago', '%(count)s days ago', d), { count: d });
}

export function clockTime(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Names joined for people: "Ada", "Ada and Bo", "Ada, Bo and Cy". */
export function listNames(names) {
  const n = names.filter(Boolean);
  if (n.length <= 1) return n[0] ?? gettext('someone');
  return fmt(gettext('%(names)s and %(last)s'), { names: n.slice(0, -1).join(', '), last: n.at(-1) });
}

/** "Signed in as …" and friends float over the map: let them go after a few seconds. */
export function fadeSiteMessages() {
  const box = document.querySelector('.messages');
  if (!box) return;
  setTimeout(() => {
    box.classList.add('is-leaving');
    setTimeout(() => box.remove(), 450);
  }, 5000);
}
