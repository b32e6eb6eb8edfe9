// A past conversation's transcript in a dialog, paged from messages_url (newest page first,
// older pages when scrolling up or pressing "Earlier messages").
import { h, clockTime } from './dom.js';
import { Dialog } from './dialog.js';
import { gettext, ngettext, fmt } from '../i18n.js';

export class TranscriptDialog {
  constructor({ config, store }) {
    Object.assign(this, { config, store });
    this.title = h('h2', { class: 'dialog__title', id: 'transcript-dialog-title' }, gettext('Conversation'));
    this.lead = h('p', { class: 'dialog__lead' });
    this.earlier = h('button', { type: 'button', class: 'btn btn--ghost btn--small transcript__earlier', testid: 'transcript-earlier', hidden: true, onclick: () => this.#load() }, gettext('Earlier messages'));
    this.log = h('ol', { class: 'chat__log transcript__log', testid: 'transcript-messages', 'aria-label': gettext('Messages'), tabindex: '0' });
    this.status = h('p', { class: 'transcript__status', role: 'status' });
    this.el = h('dialog', { class: 'dialog dialog--transcript', testid: 'transcript-dialog', 'aria-labelledby': 'transcript-dialog-title' },
      h('div', { class: 'dialog__body' },
        this.title, this.lead, this.earlier, this.log, this.status,
        h('div', { class: 'dialog__actions' }, h('button', { type: 'button', class: 'btn btn--primary', 'data-close': '' }, gettext('Close')))));
    document.body.append(this.el);
    this.dialog = new Dialog(this.el);
    this.cid = null;
    this.oldest = null;
    this.more = false;
    this.loading = false;
    this.log.addEventListener('scroll', () => {
      if (this.log.scrollTop < 30 && this.more) this.#load();
    });
  }

  /** conv: {id, with: [names], messages, summary} from a character card. */
  open(conv, ownerName) {
    this.cid = conv.id;
    this.oldest = null;
    this.more = false;
    this.title.textContent = fmt(gettext('%(owner)s with %(others)s'), { owner: ownerName, others: (conv.with || []).join(', ') || gettext('someone') });
    this.lead.textContent = conv.summary || (conv.messages != null ? fmt(ngettext('%(count)s message', '%(count)s messages', conv.messages), { count: conv.messages }) : '');
    this.log.replaceChildren();
    this.earlier.hidden = true;
    this.status.textContent = '';
    this.dialog.open(this.log);
    this.#load();
  }

  async #load() {
    const cid = this.cid;
    if (cid == null || this.loading || !this.config.messages_url) return;
    const url = new URL(this.config.messages_url.replace('{id}', encodeURIComponent(cid)), location.href);
    if (this.oldest) url.searchParams.set('before', this.oldest);
    this.loading = true;
    this.status.textContent = gettext('Loading…');
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      if (cid !== this.cid) return;
      const msgs = data.messages || [];
      const first = this.log.firstElementChild;
      const keep = first ? first.offsetTop - this.log.scrollTop : 0;
      this.log.prepend(...msgs.map((m) => this.#line(m)));
      if (first) this.log.scrollTop = first.offsetTop - keep;
      else this.log.scrollTop = this.log.scrollHeight;
      if (msgs.length) this.oldest = msgs[0].id;
      this.more = !!data.more && msgs.length > 0;
      this.earlier.hidden = !this.more;
      this.status.textContent = this.log.children.length ? '' : gettext('No messages in this conversation.');
    } catch (err) {
      if (cid === this.cid) this.status.textContent = fmt(gettext('Could not load the messages (%(error)s).'), { error: err.message });
    } finally {
      this.loading = false;
    }
    // A short first page leaves nothing to scroll: fetch on until it can scroll or ends.
    if (cid === this.cid && this.more && this.log.scrollHeight <= this.log.clientHeight) this.#load();
  }

  #line(m) {
    const human = this.store.players.get(m.author)?.kind === 'human';
    return h('li', { class: `msg${human ? ' msg--human' : ''}`, dataset: { id: m.id } },
      h('div', { class: 'msg__meta' },
        h('span', { class: 'msg__author' }, m.author_name || this.store.nameOf(m.author)),
        h('time', { class: 'msg__time', datetime: m.created || '' }, clockTime(m.created))),
      h('p', { class: 'msg__text' }, m.text));
  }
}
