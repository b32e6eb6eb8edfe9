// The conversation panel: who is in it, status, messages (with older history on scroll),
// typing, composer. Conversations may be groups: everyone is listed, each in their colour.
import { h, clockTime, listNames, $ } from './dom.js';
import { gettext, fmt } from '../i18n.js';

const MAX = 500;

/** A stable colour per character (names and message authors): dark on the light message
 * bubbles, light (`lightness` 75) on the dark panel. */
export function colourOf(id, lightness = 36) {
  let hash = 0;
  for (const ch of String(id)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${hash % 360}, 55%, ${lightness}%)`;
}

export class Chat {
  constructor({ store, commands, config, toasts, onShow }) {
    Object.assign(this, { store, commands, config, toasts, onShow });
    this.el = $('chat');
    this.title = $('chat-title');
    this.status = $('chat-status');
    this.log = $('chat-log');
    this.typingLine = $('chat-typing');
    this.form = $('chat-form');
    this.input = $('chat-input');
    this.count = $('chat-count');
    this.send = $('chat-send');
    this.leave = $('chat-leave');
    this.closeBtn = $('chat-close');
    // Who is in the conversation: built here so the page template needs no change.
    this.people = h('ul', { class: 'chat__people', testid: 'chat-participants', 'aria-label': gettext('In this conversation') });
    // Styled through the CSSOM: the page's CSP refuses inline style attributes.
    Object.assign(this.people.style, { listStyle: 'none', margin: '0', padding: '4px 12px 0', display: 'none', flexWrap: 'wrap', gap: '4px 12px', fontSize: '12.5px' });
    this.el.querySelector('.chat__head')?.after(this.people);
    this.cid = null; // conversation on screen
    this.rendered = new Map(); // message id -> li
    this.loadingOlder = false;

    store.on('conversation', () => this.update());
    store.on('snapshot', () => this.update(true));
    store.on('me', () => this.update());
    store.on('message', (m) => {
      if (m.conversation === this.cid) this.#renderMessages();
    });
    store.on('forgotten', (ids) => {
      for (const id of ids) {
        this.rendered.get(id)?.remove();
        this.rendered.delete(id);
      }
    });
    store.on('typing', () => this.#renderTyping());
    setInterval(() => this.#renderTyping(), 1000);

    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#send();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.#send();
      }
    });
    this.input.addEventListener('input', () => {
      this.#count();
      if (this.input.value.trim() && this.cid != null) this.commands.typing(this.cid);
    });
    this.leave.addEventListener('click', () => {
      if (this.cid != null) this.commands.leaveConversation(this.cid);
    });
    this.closeBtn.addEventListener('click', () => this.#hide());
    this.log.addEventListener('scroll', () => {
      if (this.log.scrollTop < 40) this.#loadOlder();
    });
    this.#count();
  }

  #others(c) {
    return (c.participants || []).filter((id) => id !== this.store.you.player);
  }

  /** I walked out of a group that goes on without me. */
  #gone(c) {
    return c.status !== 'ended' && c.status !== 'invited' && !(c.participants || []).includes(this.store.you.player);
  }

  #renderPeople(c) {
    const me = this.store.you.player;
    const ids = c.status === 'ended' || this.#gone(c) ? [] : c.participants || [];
    const key = ids.map((id) => `${id}:${this.store.nameOf(id)}`).join('|');
    if (this.people.dataset.key === key) return;
    this.people.dataset.key = key;
    this.people.style.display = ids.length < 3 ? 'none' : 'flex'; // a pair is named in the title
    this.people.replaceChildren(...ids.map((id) => {
      const li = h('li', { dataset: { player: id } }, h('span', { 'aria-hidden': 'true' }, '● '), id === me ? gettext('You') : this.store.nameOf(id));
      li.style.color = colourOf(id, 75);
      return li;
    }));
  }

  #otherNames(c) {
    return listNames(this.#others(c).map((id) => this.store.nameOf(id)));
  }

  /** Is anyone else in it whose name we know? (Else the title is just "Conversation".) */
  #knowsOthers(c) {
    return this.#others(c).some((id) => this.store.players.get(id)?.name);
  }

  update(resync = false) {
    const mine = this.store.myConversation();
    if (mine && mine.status === 'invited' && mine.invitee === this.store.you.player) {
      // The invitation toast handles this stage.
      if (this.cid === mine.id) this.#hide();
      return;
    }
    if (mine && mine.id !== this.cid) this.#show(mine);
    if (this.cid == null) return;
    const c = this.store.conversations.get(this.cid);
    if (!c) {
      if (resync) this.#hide();
      return;
    }
    const names = this.#otherNames(c);
    this.title.textContent = this.#knowsOthers(c) ? fmt(gettext('With %(names)s'), { names }) : gettext('Conversation');
    const gone = this.#gone(c);
    const state = gone ? 'ended' : c.status;
    this.#renderPeople(c);
    const iAmInviter = c.inviter === this.store.you.player;
    const status = {
      invited: iAmInviter
        ? fmt(gettext('Waiting for %(names)s to answer…'), { names })
        : fmt(gettext('%(name)s invited you.'), { name: this.store.nameOf(c.inviter) }),
      walking: fmt(gettext('Walking over to meet %(names)s…'), { names }),
      active: fmt(gettext('Talking with %(names)s'), { names }),
      ended: gone
        ? gettext('You left the conversation.')
        : c.reason === 'declined' ? fmt(gettext('%(names)s can’t talk right now.'), { names }) : gettext('Conversation ended.'),
    }[state] || state;
    this.status.textContent = status;
    this.el.dataset.state = state;
    const open = state !== 'ended';
    this.leave.hidden = !open;
    this.leave.textContent = state === 'invited' ? gettext('Cancel') : gettext('Leave');
    this.closeBtn.hidden = open;
    this.input.disabled = state !== 'active';
    this.send.disabled = state !== 'active';
    this.input.placeholder = state === 'active'
      ? fmt(gettext('Say something to %(names)s…'), { names })
      : state === 'ended' ? gettext('This conversation is over.') : gettext('You can talk once you meet.');
    if (state === 'active' && this._lastState !== 'active') {
      const a = document.activeElement;
      if (!a || !/^(INPUT|TEXTAREA)$/.test(a.tagName)) this.input.focus({ preventScroll: true });
    }
    this._lastState = state;
    this.#renderMessages();
    this.#renderTyping();
  }

  #show(c) {
    this._lastState = null;
    this.cid = c.id;
    this.rendered.clear();
    this.log.replaceChildren();
    this.el.hidden = false;
    this.onShow?.(true);
    const have = this.store.messagesOf(c.id).length;
    if ((c.message_count ?? 0) > have && !this.store.olderAvailable.has(c.id)) this.#loadOlder();
  }

  #hide() {
    this.cid = null;
    this.el.hidden = true;
    this.onShow?.(false);
  }

  #renderMessages() {
    if (this.cid == null) return;
    const msgs = this.store.messagesOf(this.cid);
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 30;
    const firstBefore = this.log.firstElementChild;
    const offsetBefore = firstBefore ? firstBefore.offsetTop - this.log.scrollTop : 0;
    let prev = null;
    for (const m of msgs) {
      let li = this.rendered.get(m.id);
      if (!li) {
        li = this.#message(m);
        this.rendered.set(m.id, li);
        if (prev) prev.after(li);
        else this.log.prepend(li);
      }
      prev = li;
    }
    if (!msgs.length) {
      this.log.replaceChildren(h('li', { class: 'chat__empty' }, gettext('No messages yet. Say hello!')));
      this.rendered.clear();
    } else {
      this.log.querySelector('.chat__empty')?.remove();
    }
    if (atBottom || !firstBefore) this.log.scrollTop = this.log.scrollHeight;
    else if (firstBefore.isConnected) this.log.scrollTop = firstBefore.offsetTop - offsetBefore; // keep place after prepending history
  }

  #message(m) {
    const mine = m.author === this.store.you.player;
    const author = m.author_name || this.store.nameOf(m.author);
    const human = this.store.players.get(m.author)?.kind === 'human';
    return h('li', { class: `msg${mine ? ' msg--mine' : ''}${human ? ' msg--human' : ''}`, dataset: { id: m.id } },
      h('div', { class: 'msg__meta' }, this.#author(m, mine ? gettext('You') : author, mine), h('time', { class: 'msg__time', datetime: m.created || '' }, clockTime(m.created))),
      h('p', { class: 'msg__text' }, m.text));
  }

  #author(m, name, mine) {
    const el = h('span', { class: 'msg__author' }, name);
    if (!mine) el.style.color = colourOf(m.author);
    return el;
  }

  #renderTyping() {
    if (this.cid == null) return;
    const c = this.store.conversations.get(this.cid);
    const now = performance.now();
    const who = c && c.status !== 'ended' && !this.#gone(c) ? this.#others(c).filter((id) => this.store.isTyping(id, now)) : [];
    const names = listNames(who.map((id) => this.store.nameOf(id)));
    const text = who.length ? fmt(who.length > 1 ? gettext('%(names)s are typing…') : gettext('%(names)s is typing…'), { names }) : '';
    if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
  }

  #count() {
    const n = this.input.value.length;
    this.count.textContent = `${n} / ${MAX}`;
    this.count.classList.toggle('is-near', n > MAX - 50);
  }

  #send() {
    const text = this.input.value.trim();
    if (!text || this.cid == null || this.input.disabled) return;
    if (text.length > MAX) {
      this.toasts.show(fmt(gettext('Messages can be up to %(max)s characters.'), { max: MAX }), { tone: 'error' });
      return;
    }
    this.commands.say(this.cid, text, (reply) => {
      if (reply.type === 'error' && !this.input.value) {
        this.input.value = text; // give the words back so nothing is lost
        this.#count();
      }
    });
    this.input.value = '';
    this.#count();
  }

  async #loadOlder() {
    const cid = this.cid;
    if (cid == null || this.loadingOlder || this.store.olderAvailable.get(cid) === false || !this.config.messages_url) return;
    const oldest = this.store.messagesOf(cid)[0];
    const url = new URL(this.config.messages_url.replace('{id}', encodeURIComponent(cid)), location.href);
    if (oldest) url.searchParams.set('before', oldest.id);
    this.loadingOlder = true;
    this.log.classList.add('is-loading');
    let got = 0;
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(String(res.status));
      const data = await res.json();
      got = (data.messages || []).length;
      this.store.addHistory(cid, data.messages || [], data.more && got > 0);
      if (cid === this.cid) this.#renderMessages();
    } catch (err) {
      console.warn('[town] older messages failed', err);
      this.store.olderAvailable.set(cid, false);
    } finally {
      this.loadingOlder = false;
      this.log.classList.remove('is-loading');
    }
    // Nothing to scroll yet (a short page)? Then scrolling up can never ask: fetch on.
    if (got && cid === this.cid && this.store.olderAvailable.get(cid) && this.log.scrollHeight <= this.log.clientHeight + 40) {
      this.#loadOlder();
    }
  }
}
