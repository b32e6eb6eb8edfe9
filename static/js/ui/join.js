// "Join the town": the call to action for visitors, and the character dialog for signed-in people.
import { h, $ } from './dom.js';
import { Dialog } from './dialog.js';
import { humanError } from './toasts.js';
import { gettext, fmt } from '../i18n.js';

export class Join {
  constructor({ config, store, commands, sprites, toasts }) {
    Object.assign(this, { config, store, commands, sprites, toasts });
    this.cta = $('cta');
    this.dialog = new Dialog($('join-dialog'));
    this.form = $('join-form');
    this.name = $('join-name');
    this.grid = $('sprite-grid');
    this.caption = $('sprite-caption');
    this.error = $('join-error');
    this.submit = $('join-submit');
    this.choice = null;
    this.options = [];
    this.#buildPicker();
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#submit();
    });
    store.on('me', (id) => {
      if (id != null) this.dialog.close();
      this.renderCta();
    });
    store.on('hello', () => this.renderCta());
    this.renderCta();
  }

  renderCta() {
    const { config, store } = this;
    if (store.you.player != null) {
      this.cta.replaceChildren();
      return;
    }
    if (!config.user) {
      this.cta.replaceChildren(h('div', { class: 'cta' },
        h('a', { class: 'btn btn--primary btn--big', href: config.login_url, testid: 'join-button' }, gettext('Join the town')),
        h('a', { class: 'cta__alt', href: config.signup_url }, gettext('New here? Create an account'))));
      return;
    }
    this.cta.replaceChildren(h('div', { class: 'cta' },
      h('button', { type: 'button', class: 'btn btn--primary btn--big', testid: 'join-button', 'aria-haspopup': 'dialog', onclick: () => this.open() }, gettext('Join the town'))));
  }

  open() {
    if (!this.config.user) {
      location.href = this.config.login_url;
      return;
    }
    this.error.textContent = '';
    this.submit.disabled = false;
    if (!this.name.value) this.name.value = localStorage.getItem('hearthvale.name') || this.config.user.username || '';
    this.dialog.open(this.name);
    this.name.select();
  }

  #buildPicker() {
    const chars = this.config.characters || [];
    const saved = localStorage.getItem('hearthvale.character');
    this.options = chars.map((c, i) => {
      const canvas = h('canvas', { class: 'sprite-option__img', width: 32, height: 32, 'aria-hidden': 'true' });
      const paint = () => {
        const ctx = canvas.getContext('2d');
        ctx.imageSmoothingEnabled = false;
        ctx.clearRect(0, 0, 32, 32);
        this.sprites.draw(ctx, c.name, 'down', 0, 0, 0);
      };
      paint();
      this.sprites.load(c.name).then(paint);
      const btn = h('button', {
        type: 'button', class: 'sprite-option', role: 'radio', 'aria-checked': 'false', 'aria-label': c.label || c.name,
        title: c.label || c.name, tabindex: '-1', testid: 'sprite-option', dataset: { character: c.name, index: i },
        onclick: () => this.#choose(i, true),
      }, canvas);
      btn.addEventListener('keydown', (e) => this.#key(e, i));
      return btn;
    });
    this.grid.replaceChildren(...this.options);
    const start = Math.max(0, chars.findIndex((c) => c.name === saved));
    if (chars.length) this.#choose(start, false);
    else this.caption.textContent = gettext('No characters are available yet.');
  }

  #choose(i, focus) {
    const chars = this.config.characters || [];
    this.options.forEach((b, j) => {
      b.setAttribute('aria-checked', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
    });
    this.choice = chars[i]?.name ?? null;
    this.caption.textContent = chars[i]?.label || chars[i]?.name || '';
    if (focus) this.options[i]?.focus();
  }

  #columns() {
    const cols = getComputedStyle(this.grid).gridTemplateColumns.split(' ').filter(Boolean).length;
    return cols || 4;
  }

  #key(e, i) {
    const n = this.options.length;
    const cols = this.#columns();
    const move = { ArrowRight: 1, ArrowDown: cols, ArrowLeft: -1, ArrowUp: -cols, Home: -n, End: n }[e.key];
    if (move === undefined) return;
    e.preventDefault();
    this.#choose(Math.min(n - 1, Math.max(0, i + move)), true);
  }

  #submit() {
    const name = this.name.value.trim().replace(/\s+/g, ' ');
    if (!name) {
      this.error.textContent = gettext('Please choose a name.');
      this.name.focus();
      return;
    }
    if (!this.choice) {
      this.error.textContent = gettext('Please choose a look.');
      return;
    }
    this.error.textContent = '';
    this.submit.disabled = true;
    this.submit.textContent = gettext('Moving in…');
    localStorage.setItem('hearthvale.name', name);
    localStorage.setItem('hearthvale.character', this.choice);
    this.commands.join(name, this.choice, (reply) => {
      this.submit.disabled = false;
      this.submit.textContent = gettext('Join the town');
      if (reply.type === 'error') {
        this.error.textContent = humanError(reply);
        return;
      }
      this.dialog.close();
      this.toasts.show(fmt(gettext('Welcome to Hearthvale, %(name)s!'), { name }), { tone: 'good' });
    });
  }
}
