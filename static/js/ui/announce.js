// Town notices: every page shows them; staff can make one from the HUD.
import { $ } from './dom.js';
import { Dialog } from './dialog.js';
import { gettext, ngettext, fmt } from '../i18n.js';

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

export class Announcements {
  constructor({ store, config, banners, toasts }) {
    Object.assign(this, { store, config, banners, toasts });
    store.on('announcement', (ev) => {
      banners.set(`notice-${ev.t}`, fmt(gettext('Town notice: %(text)s'), { text: ev.text }), { tone: 'info', dismissible: true });
    });
    if (!config.user?.is_staff || !config.announce_url) return;
    this.button = $('announce');
    this.dialog = new Dialog($('announce-dialog'));
    this.form = $('announce-form');
    this.text = $('announce-text');
    this.error = $('announce-error');
    this.submit = $('announce-submit');
    this.button.hidden = false;
    this.button.addEventListener('click', () => {
      this.error.textContent = '';
      this.dialog.open(this.text);
    });
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#send();
    });
  }

  async #send() {
    const text = this.text.value.trim();
    if (!text) {
      this.error.textContent = gettext('Write what the town should hear.');
      return;
    }
    this.submit.disabled = true;
    this.submit.textContent = gettext('Announcing…');
    try {
      const res = await fetch(this.config.announce_url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
        body: JSON.stringify({ text }),
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
      this.text.value = '';
      this.dialog.close();
      this.toasts.show(fmt(ngettext('Announced — %(count)s resident heard it.', 'Announced — %(count)s residents heard it.', data.residents), { count: data.residents }));
    } catch (err) {
      this.error.textContent = String(err.message || err);
    } finally {
      this.submit.disabled = false;
      this.submit.textContent = gettext('Announce');
    }
  }
}
