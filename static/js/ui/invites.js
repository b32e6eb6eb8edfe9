// "Ada would like to talk" — Accept / Decline, reachable by keyboard.
import { h } from './dom.js';
import { gettext } from '../i18n.js';

/** A translated sentence with `%(name)s` in it, the name in <strong> (text nodes only). */
function withStrongName(text, name) {
  const at = text.indexOf('%(name)s');
  if (at < 0) return [text];
  return [text.slice(0, at), h('strong', {}, name), text.slice(at + '%(name)s'.length)].filter((part) => part !== '');
}

export class Invites {
  constructor({ root, store, commands }) {
    Object.assign(this, { root, store, commands });
    this.open = new Map(); // conversation id -> element
    store.on('invited', (c) => this.show(c));
    store.on('conversation', (c) => {
      if (c.status !== 'invited') this.dismiss(c.id);
    });
    store.on('snapshot', () => {
      for (const id of this.open.keys()) {
        const c = store.conversations.get(id);
        if (!c || c.status !== 'invited') this.dismiss(id);
      }
    });
  }

  show(c) {
    if (this.open.has(c.id)) return;
    const who = this.store.nameOf(c.inviter);
    const title = h('p', { class: 'invite__title', id: `invite-${c.id}` },
      ...withStrongName(gettext('%(name)s would like to talk with you.'), who));
    const accept = h('button', {
      type: 'button', class: 'btn btn--primary btn--small', testid: 'invite-accept',
      onclick: () => {
        this.commands.accept(c.id);
        this.dismiss(c.id);
      },
    }, gettext('Accept'));
    const decline = h('button', {
      type: 'button', class: 'btn btn--ghost btn--small', testid: 'invite-decline',
      onclick: () => {
        this.commands.decline(c.id);
        this.dismiss(c.id);
      },
    }, gettext('Decline'));
    const el = h('div', {
      class: 'invite', role: 'alertdialog', 'aria-labelledby': `invite-${c.id}`, testid: 'invite',
    }, h('span', { class: 'invite__icon', 'aria-hidden': 'true' }), title, h('div', { class: 'invite__actions' }, decline, accept));
    el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        decline.click();
      }
    });
    this.open.set(c.id, el);
    this.root.append(el);
    const active = document.activeElement;
    if (!active || active === document.body || active.id === 'town-canvas') accept.focus();
  }

  dismiss(id) {
    const el = this.open.get(id);
    if (!el) return;
    const hadFocus = el.contains(document.activeElement);
    el.remove();
    this.open.delete(id);
    if (hadFocus) document.getElementById('town-canvas')?.focus();
  }
}
