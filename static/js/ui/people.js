// The "In town" list: real buttons, updated in place so keyboard focus survives updates.
import { h } from './dom.js';
import { gettext, fmt } from '../i18n.js';

export function spriteThumb(sprites, character, size = 32) {
  const c = h('canvas', { class: 'thumb', width: 32, height: 32, 'aria-hidden': 'true' });
  c.style.width = `${size}px`;
  c.style.height = `${size}px`;
  const paint = () => {
    const ctx = c.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, 32, 32);
    sprites.draw(ctx, character, 'down', 0, 0, 0);
  };
  paint();
  sprites.load(character).then(paint);
  return c;
}

export class PeopleList {
  constructor({ store, sprites, list, count, empty, badge, onPick }) {
    Object.assign(this, { store, sprites, list, count, empty, badge, onPick });
    this.rows = new Map(); // id -> {li, parts, character}
    this._queued = false;
    store.on('roster', () => this.schedule());
    store.on('snapshot', () => this.schedule());
  }

  schedule() {
    if (this._queued) return;
    this._queued = true;
    requestAnimationFrame(() => {
      this._queued = false;
      this.render();
    });
  }

  #row(p) {
    let row = this.rows.get(p.id);
    if (!row || row.character !== p.character) {
      const parts = {
        name: h('span', { class: 'person__name' }),
        tag: h('span', { class: 'person__tag' }),
        what: h('span', { class: 'person__what' }),
      };
      const button = h('button', {
        type: 'button',
        class: 'person',
        testid: 'player-item',
        dataset: { playerId: p.id },
        onclick: () => this.onPick(p.id),
      }, spriteThumb(this.sprites, p.character, 32), h('span', { class: 'person__text' }, h('span', { class: 'person__line' }, parts.name, parts.tag), parts.what));
      const li = h('li', { class: 'people__item' }, button);
      row?.li.remove();
      row = { li, button, parts, character: p.character };
      this.rows.set(p.id, row);
    }
    return row;
  }

  render() {
    const me = this.store.you.player;
    const players = [...this.store.players.values()].sort((a, b) => {
      const rank = (p) => (p.id === me ? 0 : p.kind === 'human' ? 1 : 2);
      return rank(a) - rank(b) || String(a.name).localeCompare(String(b.name));
    });
    const live = new Set(players.map((p) => p.id));
    for (const [id, row] of this.rows) {
      if (!live.has(id)) {
        row.li.remove();
        this.rows.delete(id);
      }
    }
    players.forEach((p, i) => {
      const row = this.#row(p);
      const human = p.kind === 'human';
      row.parts.name.textContent = p.name;
      const guest = p.guest === 'agent'; // a person's outside AI agent (docs/agents.md)
      row.parts.tag.textContent = p.id === me ? gettext('you') : guest ? gettext('guest agent') : human ? gettext('visitor') : gettext('resident');
      row.parts.tag.className = `person__tag person__tag--${p.id === me ? 'me' : human ? 'human' : 'agent'}`;
      const talking = p.conversation != null;
      row.parts.what.textContent = talking ? `${gettext('talking')}${p.activity ? ` · ${p.activity}` : ''}` : p.activity || (human ? gettext('wandering about') : gettext('going about their day'));
      row.parts.what.classList.toggle('is-talking', talking);
      const label = talking ? gettext('%(name)s, %(tag)s, in a conversation. %(activity)s') : gettext('%(name)s, %(tag)s. %(activity)s');
      row.button.setAttribute('aria-label', fmt(label, { name: p.name, tag: row.parts.tag.textContent, activity: p.activity || '' }).trim());
      if (this.list.children[i] !== row.li) this.list.insertBefore(row.li, this.list.children[i] || null);
    });
    this.count.textContent = players.length ? `(${players.length})` : '';
    this.badge.textContent = players.length ? String(players.length) : '';
    this.empty.hidden = players.length > 0;
  }
}
