// The conversation panel: status, messages (with older history on scroll), typing, composer.
import { h, clockTime, listNames, $ } from './dom.js';

const MAX = 500;

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
    this.cid = null; // conversation on screen
    this.rendered = new Map(); // message id -> li
    this.loadingOlder = false;

    store.on('conversation', () => this.update());
    store.on('snapshot', () => this.update(true));
    store.on('me', () => this.update());
    store.on('message', (m) => {
      if (m.conversation === this.cid) this.#renderMessages();
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

  #otherNames(c) {
    return listNames(this.#others(c).map((id) => this.store.nameOf(id)));
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
    this.title.textContent = names === 'someone' ? 'Conversation' : `With ${names}`;
    const state = c.status;
    const iAmInviter = c.inviter === this.store.you.player;
    const status = {
      invited: iAmInviter ? `Waiting for ${names} to answer…` : `${this.store.nameOf(c.inviter)} invited you.`,
      walking: `Walking over to meet ${names}…`,
      active: `Talking with ${names}`,
      ended: c.reason === 'declined' ? `${names} can’t talk right now.` : 'Conversation ended.',
    }[state] || state;
    this.status.textContent = status;
    this.el.dataset.state = state;
    const open = state !== 'ended';
    this.leave.hidden = !open;
    this.leave.textContent = state === 'invited' ? 'Cancel' : 'Leave';
    this.closeBtn.hidden = open;
    this.input.disabled = state !== 'active';
    this.send.disabled = state !== 'active';
    this.input.placeholder = state === 'active' ? `Say something to ${names}…` : state === 'ended' ? 'This conversation is over.' : 'You can talk once you meet.';
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
      this.log.replaceChildren(h('li', { class: 'chat__empty' }, 'No messages yet. Say hello!'));
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
      h('div', { class: 'msg__meta' }, h('span', { class: 'msg__author' }, mine ? 'You' : author), h('time', { class: 'msg__time', datetime: m.created || '' }, clockTime(m.created))),
      h('p', { class: 'msg__text' }, m.text));
  }

  #renderTyping() {
    if (this.cid == null) return;
    const c = this.store.conversations.get(this.cid);
    const now = performance.now();
    const who = c && c.status !== 'ended' ? this.#others(c).filter((id) => this.store.isTyping(id, now)) : [];
    const text = who.length ? `${listNames(who.map((id) => this.store.nameOf(id)))} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
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
      this.toasts.show(`Messages can be up to ${MAX} characters.`, { tone: 'error' });
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
