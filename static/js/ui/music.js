// Background music: starts after the first user gesture (autoplay rules); mute is remembered.
import { gettext } from '../i18n.js';

const KEY = 'hearthvale.muted';

export class Music {
  constructor({ audio, button, icon, store }) {
    Object.assign(this, { audio, button, icon, store });
    this.muted = localStorage.getItem(KEY) === '1';
    this.unlocked = false;
    this.audio.loop = true;
    this.audio.volume = 0.45;
    store.on('music', (url) => this.setTrack(url));
    button.addEventListener('click', () => this.toggle());
    const unlock = () => {
      this.unlocked = true;
      this.#play();
      window.removeEventListener('pointerdown', unlock, true);
      window.removeEventListener('keydown', unlock, true);
    };
    window.addEventListener('pointerdown', unlock, true);
    window.addEventListener('keydown', unlock, true);
    this.#render();
  }

  setTrack(url) {
    const abs = url ? new URL(url, location.href).href : '';
    if (this.audio.src === abs) return;
    if (url) this.audio.src = url;
    else this.audio.removeAttribute('src');
    this.button.disabled = false;
    this.#play();
    this.#render();
  }

  toggle() {
    this.muted = !this.muted;
    localStorage.setItem(KEY, this.muted ? '1' : '0');
    this.unlocked = true;
    this.#play();
    this.#render();
  }

  #play() {
    this.audio.muted = this.muted;
    if (this.muted) {
      this.audio.pause();
      return;
    }
    if (this.unlocked && this.audio.getAttribute('src')) {
      this.audio.play().catch(() => {}); // blocked or no track: the button still works later
    }
  }

  #render() {
    this.button.setAttribute('aria-pressed', String(this.muted));
    this.button.setAttribute('aria-label', this.muted ? gettext('Unmute music') : gettext('Mute music'));
    this.button.classList.toggle('is-off', this.muted);
    this.icon.textContent = this.muted ? '♪̸' : '♪';
    this.button.title = this.store.music ? (this.muted ? gettext('Music off (M)') : gettext('Music on (M)')) : gettext('No music today (M)');
  }
}
