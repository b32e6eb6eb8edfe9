// Persistent notices across the top of the stage: frozen, archived, reconnecting, offline mind.
import { h } from './dom.js';
import { gettext } from '../i18n.js';

export class Banners {
  constructor(root) {
    this.root = root;
    this.items = new Map(); // kind -> element
    this.dismissed = new Set(JSON.parse(sessionStorage.getItem('hearthvale.dismissed') || '[]'));
  }

  set(kind, text, { tone = 'info', dismissible = false } = {}) {
    if (dismissible && this.dismissed.has(kind)) return;
    let el = this.items.get(kind);
    if (!el) {
      el = h('div', { class: `banner banner--${tone}`, testid: `banner-${kind}`, dataset: { kind }, role: 'status' });
      this.items.set(kind, el);
      this.root.append(el);
    }
    el.replaceChildren(h('span', { class: 'banner__text' }, text));
    if (dismissible) {
      el.append(h('button', {
        type: 'button',
        class: 'banner__close',
        'aria-label': gettext('Dismiss'),
        testid: `banner-${kind}-dismiss`,
        onclick: () => {
          this.dismissed.add(kind);
          sessionStorage.setItem('hearthvale.dismissed', JSON.stringify([...this.dismissed]));
          this.clear(kind);
        },
      }, '×'));
    }
  }

  clear(kind) {
    this.items.get(kind)?.remove();
    this.items.delete(kind);
  }
}
