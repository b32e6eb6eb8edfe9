// Heads-up bits over the map: clock, world name, zoom and centre buttons, staff freeze,
// area label, loading overlay, and the phone "people" toggle.
import { $ } from './dom.js';
import { gettext } from '../i18n.js';
import { ZOOM_LEVELS } from '../camera.js';

export class Hud {
  constructor({ store, camera, config, commands, renderer, getMap }) {
    Object.assign(this, { store, camera, config, commands, renderer, getMap });
    this.clockLabel = $('clock-label');
    this.sky = $('clock-sky');
    this.worldName = $('world-name');
    this.areaLabel = $('area-label');
    this.freeze = $('freeze');
    this.side = $('side');
    this.peopleToggle = $('people-toggle');

    $('zoom-in').addEventListener('click', () => this.zoom(1));
    $('zoom-out').addEventListener('click', () => this.zoom(-1));
    $('centre').addEventListener('click', () => this.centre());
    this.peopleToggle.addEventListener('click', () => this.togglePeople());
    $('people-close').addEventListener('click', () => this.togglePeople(false));

    if (config.user?.is_staff) {
      this.freeze.hidden = false;
      this.freeze.addEventListener('click', () => {
        if (this.store.world?.status === 'frozen') this.commands.resume();
        else this.commands.freeze();
      });
    }
    store.on('status', () => this.#renderStatus());
    store.on('snapshot', () => {
      this.worldName.textContent = store.world?.name || config.world?.name || 'Hearthvale';
    });
    this.worldName.textContent = config.world?.name || 'Hearthvale';
    setInterval(() => this.#renderClock(), 500);
    this.#renderClock();
  }

  zoom(dir) {
    this.camera.zoomStep(dir);
    this.#renderZoom();
  }

  #renderZoom() {
    $('zoom-in').disabled = this.camera.zoom >= ZOOM_LEVELS.at(-1);
    $('zoom-out').disabled = this.camera.zoom <= ZOOM_LEVELS[0];
  }

  /** Follow my character again, or show the town centre to spectators. */
  centre() {
    const pos = this.store.positionOf(this.store.you.player);
    if (pos) {
      this.camera.follow = true;
      this.camera.lookAt(pos.x * 32 + 16, pos.y * 32 + 16);
      return;
    }
    const map = this.getMap();
    if (!map) return;
    const plaza = map.areas.find((a) => /plaza|square|centre|center/i.test(a.name));
    if (plaza) this.camera.lookAt(plaza.x + plaza.width / 2, plaza.y + plaza.height / 2);
    else this.camera.lookAt(map.pxWidth / 2, map.pxHeight / 2);
  }

  togglePeople(force) {
    const open = force ?? !this.side.classList.contains('is-people-open');
    this.side.classList.toggle('is-people-open', open);
    this.peopleToggle.setAttribute('aria-expanded', String(open));
    if (open) document.querySelector('#people-list button')?.focus();
  }

  showArea(area) {
    if (area) {
      if (this.areaLabel.textContent !== area.label) this.areaLabel.textContent = area.label;
      this.areaLabel.hidden = false;
    } else {
      this.areaLabel.hidden = true;
    }
  }

  #renderStatus() {
    const frozen = this.store.world?.status === 'frozen';
    this.freeze.textContent = frozen ? gettext('Resume') : gettext('Freeze');
    this.freeze.setAttribute('aria-label', frozen ? gettext('Resume the world') : gettext('Freeze the world'));
    this.freeze.hidden = !this.config.user?.is_staff || this.store.world?.status === 'archived';
  }

  #renderClock() {
    this.#renderZoom();
    const c = this.store.clock();
    if (!c) return;
    if (this.clockLabel.textContent !== c.label) this.clockLabel.textContent = c.label;
    const phase = c.daylight > 0.8 ? 'day' : c.daylight > 0.2 ? 'dusk' : 'night';
    if (this.sky.dataset.phase !== phase) {
      this.sky.dataset.phase = phase;
      this.sky.title = { day: gettext('day'), dusk: gettext('dusk'), night: gettext('night') }[phase];
    }
  }
}

/** The loading overlay's progress, and its exit. */
export class Loading {
  constructor() {
    this.root = $('loading');
    this.bar = $('loading-bar');
    this.text = $('loading-text');
  }

  progress(fraction, label) {
    this.bar.value = Math.max(this.bar.value, fraction);
    this.bar.textContent = `${Math.round(fraction * 100)}%`;
    if (label) this.text.textContent = label;
  }

  done() {
    this.progress(1, gettext('Welcome!'));
    this.root.classList.add('is-done');
    setTimeout(() => {
      this.root.hidden = true;
    }, 450);
  }

  fail(message) {
    this.root.classList.add('is-error');
    this.text.textContent = message;
  }
}
