// The character card: who someone is, what they are doing, recent talks, and "Talk".
import { h, timeAgo, listNames } from './dom.js';
import { gettext, ngettext, fmt } from '../i18n.js';
import { spriteThumb } from './people.js';
import { TALK_RANGE } from '../commands.js';
import { TranscriptDialog } from './transcript.js';

export const GROUP_MAX = 6; // the engine's cap on people in one conversation
const JOIN_RANGE = 3; // tiles (Manhattan) from anyone in it, as the engine counts

/** Django's CSRF token from its cookie (for the staff interview POST). */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

export class Card {
  constructor({ root, store, commands, sprites, config, renderer, onJoin }) {
    Object.assign(this, { root, store, commands, sprites, config, renderer, onJoin });
    this.id = null;
    this.pendingTalk = null; // walk over, then invite on arrival
    this.pendingJoin = null; // walk over, then join their conversation on arrival
    this._walkedAt = 0;
    this.details = null;
    this._timer = null;
    store.on('roster', () => this.update());
    store.on('conversation', () => this.update());
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.close();
      }
    });
  }

  get isOpen() {
    return this.id != null;
  }

  open(id, { focus = false } = {}) {
    const p = this.store.players.get(id);
    if (!p) return;
    this.id = id;
    this.details = null;
    this.renderer.selected = id;
    this.#build(p);
    this.root.hidden = false;
    this.update();
    clearInterval(this._timer);
    this._timer = setInterval(() => this.tick(), 300);
    if (focus) this.parts.close.focus();
    this.#fetch(id);
    this.#fetchRelations(p);
  }

  close() {
    if (this.id == null) return;
    const hadFocus = this.root.contains(document.activeElement);
    this.id = null;
    this.pendingTalk = null;
    this.pendingJoin = null;
    this.renderer.selected = null;
    this.root.hidden = true;
    clearInterval(this._timer);
    if (hadFocus) document.getElementById('town-canvas')?.focus();
  }

  #build(p) {
    const parts = {
      name: h('h2', { class: 'card__name', id: 'card-name' }, p.name),
      // A person's outside AI agent (docs/agents.md) is a visitor the town marks as such.
      kind: h('span', { class: `card__kind card__kind--${p.guest === 'agent' ? 'guest-agent' : p.kind}`, testid: 'card-kind' }, p.guest === 'agent' ? gettext('Guest agent') : p.kind === 'agent' ? gettext('Resident') : gettext('Visitor')),
      close: h('button', { type: 'button', class: 'icon-btn icon-btn--small card__close', 'aria-label': gettext('Close card'), testid: 'card-close', onclick: () => this.close() }, '×'),
      now: h('p', { class: 'card__now' }),
      mind: h('p', { class: 'card__mind', testid: 'card-mind', hidden: true }, gettext('Thinking offline right now: simple rules, no language model.')),
      identity: h('p', { class: 'card__identity' }, gettext('Getting to know them…')),
      action: h('div', { class: 'card__actions' }),
      interview: this.#interviewBox(p),
      relations: h('div', { class: 'card__recent card__relations', testid: 'card-relationships', hidden: true }),
      recent: h('div', { class: 'card__recent' }),
    };
    this.parts = parts;
    // `interview` is null for everyone but staff: leave it out (a null child shows as "null").
    const children = [
      h('header', { class: 'card__head' }, spriteThumb(this.sprites, p.character, 48), h('div', { class: 'card__title' }, parts.name, parts.kind), parts.close),
      parts.now,
      parts.mind,
      parts.identity,
      parts.action,
      parts.interview,
      parts.relations,
      parts.recent,
    ];
    this.root.replaceChildren(...children.filter((child) => child != null));
  }

  async #fetch(id) {
    const url = this.config.player_url?.replace('{id}', encodeURIComponent(id));
    if (!url) return;
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(String(res.status));
      const data = await res.json();
      if (this.id !== id) return;
      this.details = data;
      this.#renderDetails();
    } catch (err) {
      if (this.id === id) this.parts.identity.textContent = gettext('Could not load their story just now.');
    }
  }

  #renderDetails() {
    const d = this.details;
    this.parts.identity.textContent = d.identity || (d.kind === 'human' ? gettext('A visitor to Hearthvale.') : gettext('A quiet soul of Hearthvale.'));
    const convs = d.recent_conversations || [];
    if (!convs.length) {
      this.parts.recent.replaceChildren();
      return;
    }
    this.parts.recent.replaceChildren(
      h('h3', { class: 'card__sub' }, gettext('Recent conversations')),
      h('ul', { class: 'card__convs' }, convs.slice(0, 5).map((c) => h('li', {},
        h('button', {
          type: 'button', class: 'conv', testid: 'card-conversation', dataset: { conversationId: c.id },
          'aria-haspopup': 'dialog', title: gettext('Read the transcript'),
          onclick: () => this.#openTranscript(c, d.name),
        },
        h('span', { class: 'conv__with' }, fmt(gettext('with %(names)s'), { names: listNames(c.with || []) })),
        h('span', { class: 'conv__meta' }, [
          c.messages != null ? fmt(ngettext('%(count)s message', '%(count)s messages', c.messages), { count: c.messages }) : null,
          c.ended ? timeAgo(c.ended) : gettext('ongoing'),
        ].filter(Boolean).join(' · ')),
        c.summary ? h('span', { class: 'conv__summary' }, c.summary) : null,
        )))),
    );
  }

  /** Staff only, residents only: what they think of the people they have talked with. */
  async #fetchRelations(p) {
    if (!this.config.user?.is_staff || p.kind !== 'agent' || !this.config.world) return;
    const id = p.id;
    const url = `/api/worlds/${encodeURIComponent(this.config.world.id)}/players/${encodeURIComponent(id)}/relationships/`;
    let rows;
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(String(res.status));
      rows = (await res.json()).relationships || [];
    } catch {
      return; // the card stays useful without them
    }
    if (this.id !== id || !rows.length) return;
    this.parts.relations.hidden = false;
    this.parts.relations.replaceChildren(
      h('h3', { class: 'card__sub' }, gettext('What they think of others · staff')),
      h('ul', { class: 'card__convs' }, rows.slice(0, 8).map((r) => h('li', { class: 'conv', testid: 'card-relationship' },
        h('span', { class: 'conv__with' }, r.name),
        h('span', { class: 'conv__meta' }, fmt(ngettext('%(count)s conversation', '%(count)s conversations', r.talks), { count: r.talks })),
        h('span', { class: 'conv__summary' }, r.opinion)))),
    );
  }

  #openTranscript(conv, name) {
    if (!this.transcript) this.transcript = new TranscriptDialog({ config: this.config, store: this.store });
    this.transcript.open(conv, name);
  }

  /** Staff only, residents only: ask them a question out of character time. */
  #interviewBox(p) {
    if (!this.config.user?.is_staff || p.kind !== 'agent' || !this.config.world) return null;
    const input = h('input', {
      class: 'field__input interview__input', id: 'interview-question', testid: 'interview-input', maxlength: '500',
      placeholder: fmt(gettext('Ask %(name)s something…'), { name: p.name }), autocomplete: 'off', required: true,
    });
    const ask = h('button', { type: 'submit', class: 'btn btn--small', testid: 'interview-ask' }, gettext('Ask'));
    const answer = h('div', { class: 'interview__answer', testid: 'interview-answer', 'aria-live': 'polite', hidden: true });
    const pid = p.id;
    const form = h('form', { class: 'interview', testid: 'interview' },
      h('label', { class: 'card__sub', for: 'interview-question' }, gettext('Interview · staff')),
      h('div', { class: 'interview__row' }, input, ask),
      answer);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const question = input.value.trim();
      if (!question || ask.disabled) return;
      ask.disabled = true;
      answer.hidden = false;
      answer.dataset.state = 'loading';
      answer.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true', testid: 'interview-spinner' }), fmt(gettext('%(name)s is thinking…'), { name: p.name }));
      const url = `/api/worlds/${encodeURIComponent(this.config.world.id)}/players/${encodeURIComponent(pid)}/interview/`;
      let state = 'error';
      let text;
      try {
        const res = await fetch(url, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
          body: JSON.stringify({ question }),
        });
        let data = null;
        try {
          data = await res.json();
        } catch {
          data = null;
        }
        if (res.ok && typeof data?.answer === 'string') {
          state = 'answered';
          text = data.answer;
        } else {
          const why = data?.error || data?.detail || data?.message;
          text = why
            ? fmt(gettext('The interview failed (HTTP %(status)s: %(reason)s).'), { status: res.status, reason: why })
            : fmt(gettext('The interview failed (HTTP %(status)s).'), { status: res.status });
        }
      } catch (err) {
        text = fmt(gettext('The interview failed: the town did not answer (%(error)s).'), { error: err.message });
      }
      ask.disabled = false;
      if (this.id !== pid) return;
      answer.dataset.state = state;
      answer.replaceChildren(
        state === 'answered' ? h('span', { class: 'interview__q' }, fmt(gettext('“%(question)s”'), { question })) : null,
        h('span', { class: 'interview__text', role: state === 'error' ? 'alert' : null }, text));
    });
    return form;
  }

  tick() {
    if (this.id == null) return;
    if (this.pendingTalk === this.id) {
      if (this.#canTalkNow()) {
        this.pendingTalk = null;
        this.commands.invite(this.id);
      } else if (performance.now() - this._walkedAt > 1500 && !this.store.positionOf(this.store.you.player)?.moving) {
        this.#walk(); // they wandered off; follow them
      }
    }
    if (this.pendingJoin === this.id) {
      const c = this.#joinable(this.store.players.get(this.id));
      if (!c || this.store.myConversation()) {
        this.pendingJoin = null;
      } else if (this.#nearConversation(c)) {
        this.pendingJoin = null;
        this.commands.joinConversation(c.id);
      } else if (performance.now() - this._walkedAt > 1500 && !this.store.positionOf(this.store.you.player)?.moving) {
        this.#walk();
      }
    }
    this.update();
  }

  /** Their conversation, if it is under way and has room for one more. */
  #joinable(p) {
    const c = p && p.conversation != null ? this.store.conversations.get(p.conversation) : null;
    return c && c.status === 'active' && (c.participants || []).length < GROUP_MAX ? c : null;
  }

  #nearConversation(c) {
    const me = this.store.positionOf(this.store.you.player);
    if (!me) return false;
    return (c.participants || []).some((id) => {
      const q = this.store.positionOf(id);
      return q && Math.abs(Math.round(q.x) - Math.round(me.x)) + Math.abs(Math.round(q.y) - Math.round(me.y)) <= JOIN_RANGE;
    });
  }

  #walk() {
    this._walkedAt = performance.now();
    this.renderer.camera.follow = true;
    this.commands.walkTowards(this.id);
  }

  #canTalkNow() {
    const p = this.store.players.get(this.id);
    return p && p.conversation == null && !this.store.myConversation() && this.commands.distanceTo(this.id) <= TALK_RANGE;
  }

  update() {
    if (this.id == null) return;
    const p = this.store.players.get(this.id);
    if (!p) {
      this.parts.now.textContent = gettext('Has left the town.');
      this.parts.action.replaceChildren();
      return;
    }
    const doing = p.conversation != null
      ? p.activity ? fmt(gettext('Talking — %(activity)s'), { activity: p.activity }) : gettext('Talking')
      : p.activity || gettext('Taking a stroll');
    const now = fmt(gettext('Now: %(activity)s'), { activity: doing });
    if (this.parts.now.textContent !== now) this.parts.now.textContent = now;
    this.parts.mind.hidden = !this.store.thinksOffline(p.id);
    this.#renderAction(p);
  }

  #renderAction(p) {
    const { store, commands, config } = this;
    const me = store.you.player;
    let key;
    let node;
    if (p.id === me) {
      key = 'me';
      node = () => [h('span', { class: 'card__hint' }, gettext('That’s you!')), h('button', { type: 'button', class: 'btn btn--ghost btn--small', testid: 'leave-town', onclick: () => commands.leave() }, gettext('Leave town'))];
    } else if (me == null) {
      key = config.user ? 'join' : 'signin';
      node = () => config.user
        ? [h('button', { type: 'button', class: 'btn btn--primary btn--small', testid: 'talk-button', onclick: () => this.onJoin() }, gettext('Join to talk'))]
        : [h('a', { class: 'btn btn--primary btn--small', href: config.login_url, testid: 'talk-button' }, gettext('Sign in to talk'))];
    } else if (store.myConversation()) {
      const mine = store.myConversation();
      key = mine.participants?.includes(p.id) ? 'with' : 'busy-me';
      node = () => [h('span', { class: 'card__hint' }, key === 'with' ? gettext('You are talking together.') : gettext('You are already in a conversation.'))];
    } else if (this.#joinable(p)) {
      const c = this.#joinable(p);
      const near = this.#nearConversation(c);
      key = near ? 'join-conv' : this.pendingJoin === p.id ? 'walking-join' : 'walk-join';
      const label = near ? gettext('Join conversation') : gettext('Walk over & join');
      node = () => key === 'walking-join'
        ? [h('span', { class: 'card__hint' }, fmt(gettext('Walking over to %(name)s…'), { name: p.name }))]
        : [h('button', {
          type: 'button', class: 'btn btn--primary btn--small', testid: 'join-conversation', dataset: { mode: near ? 'join' : 'walk' },
          onclick: () => {
            if (this.#nearConversation(c)) {
              commands.joinConversation(c.id);
              return;
            }
            this.pendingJoin = p.id;
            this.#walk();
            this.update();
          },
        }, label)];
    } else if (p.conversation != null) {
      key = 'busy';
      node = () => [h('button', { type: 'button', class: 'btn btn--small', disabled: true, testid: 'talk-button' }, gettext('Busy talking'))];
    } else if (commands.distanceTo(p.id) <= TALK_RANGE) {
      key = 'talk';
      node = () => [h('button', { type: 'button', class: 'btn btn--primary btn--small', testid: 'talk-button', dataset: { mode: 'talk' }, onclick: () => commands.invite(p.id) }, fmt(gettext('Talk to %(name)s'), { name: p.name }))];
    } else {
      key = this.pendingTalk === p.id ? 'walking' : 'walk';
      node = () => key === 'walking'
        ? [h('span', { class: 'card__hint' }, fmt(gettext('Walking over to %(name)s…'), { name: p.name }))]
        : [h('button', {
          type: 'button', class: 'btn btn--primary btn--small', testid: 'talk-button', dataset: { mode: 'walk' },
          onclick: () => {
            this.pendingTalk = p.id;
            this.#walk();
            this.update();
          },
        }, gettext('Walk over & talk'))];
    }
    if (this.parts.action.dataset.key === key) return;
    const hadFocus = this.parts.action.contains(document.activeElement);
    this.parts.action.dataset.key = key;
    this.parts.action.replaceChildren(...node());
    if (hadFocus) (this.parts.action.querySelector('button:not([disabled]), a') || this.parts.close).focus();
  }
}
