// Replay page boot: the same map, store and renderer as the live town, fed from the
// recorded history instead of the socket. Controls: play/pause, speed, timeline scrub.
import { loadMap } from './map.js';
import { readConfig, createScene } from './scene.js';
import { attachInput } from './input.js';
import { $, h, fadeSiteMessages } from './ui/dom.js';
import { Toasts } from './ui/toasts.js';
import { PeopleList } from './ui/people.js';
import { Loading } from './ui/hud.js';
import { ZOOM_LEVELS } from './camera.js';
import { ReplayPlayer, SPEEDS, gameLabel, span } from './replay/player.js';
import { gettext, fmt } from './i18n.js';

const TRANSCRIPT_MAX = 400;


function boot() {
  const config = readConfig();
  const { store, camera, sprites, canvas, renderer } = createScene(config);
  const toasts = new Toasts($('toasts'));
  const loading = new Loading();
  let map = null;

  camera.zoom = 1;
  renderer.start();
  fadeSiteMessages();

  if (!config.world || !config.history_url) {
    loading.fail(gettext('There is no history to replay here.'));
    return;
  }
  const player = new ReplayPlayer({ store, historyUrl: config.history_url, world: config.world, clock: config.clock });
  Object.defineProperty(window, '__town', {
    value: Object.freeze({ store, camera, renderer, config, player, get map() { return map; } }),
    configurable: false,
  });

  // ---- controls -----------------------------------------------------------
  const play = $('replay-play');
  const playIcon = $('replay-play-icon');
  const range = $('replay-timeline');
  const timeLabel = $('replay-time');
  const endLabel = $('replay-end');
  const status = $('replay-status');
  const clockLabel = $('clock-label');
  const sky = $('clock-sky');
  const side = $('side');
  const peopleToggle = $('people-toggle');
  let scrubbing = false;

  const speedButtons = SPEEDS.map((s) => h('button', {
    type: 'button', class: 'replay-speed', role: 'radio', 'aria-checked': 'false', testid: 'replay-speed',
    dataset: { speed: s }, 'aria-label': fmt(gettext('%(speed)s times speed'), { speed: s }),
    onclick: () => player.setSpeed(s),
  }, `${s}×`));
  $('replay-speeds').replaceChildren(...speedButtons);
  $('replay-speeds').addEventListener('keydown', (e) => {
    const step = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[e.key];
    if (!step) return;
    e.preventDefault();
    const i = Math.max(0, Math.min(SPEEDS.length - 1, SPEEDS.indexOf(player.speed) + step));
    player.setSpeed(SPEEDS[i]);
    speedButtons[i].focus();
  });

  play.addEventListener('click', () => player.toggle());
  range.addEventListener('input', () => {
    scrubbing = true;
    const t = Number(range.value);
    timeLabel.textContent = span(t - player.first);
    clockLabel.textContent = gameLabel(t, player.clockInfo);
  });
  range.addEventListener('change', () => {
    scrubbing = false;
    player.seek(Number(range.value));
  });

  const renderState = () => {
    play.disabled = !player.loaded;
    range.disabled = !player.loaded;
    playIcon.textContent = player.playing ? '❚❚' : '▶';
    play.setAttribute('aria-label', player.playing ? gettext('Pause') : gettext('Play'));
    play.dataset.state = player.playing ? 'playing' : 'paused';
    speedButtons.forEach((b) => {
      const on = Number(b.dataset.speed) === player.speed;
      b.setAttribute('aria-checked', String(on));
      b.tabIndex = on ? 0 : -1;
    });
    status.textContent = player.ended ? gettext('End of the recorded history') : player.playing ? fmt(gettext('Playing at %(speed)s×'), { speed: player.speed }) : gettext('Paused');
  };
  player.on('state', renderState);
  player.on('range', ({ first, last }) => {
    range.min = String(first);
    range.max = String(Math.max(first + 1000, last));
    endLabel.textContent = span(last - first);
  });
  player.on('error', (err) => {
    console.warn('[replay] history failed', err);
    toasts.show(gettext('Could not fetch that part of the history. Trying again…'), { tone: 'error' });
  });

  // ---- transcript ---------------------------------------------------------
  const transcript = $('transcript');
  const line = (m) => h('li', { class: 'msg transcript__msg', dataset: { id: m.id ?? '', t: m.t ?? '' } },
    h('div', { class: 'msg__meta' },
      h('span', { class: 'msg__author' }, m.author_name || player.nameOf(m.author)),
      h('time', { class: 'msg__time' }, gameLabel(m.t ?? 0, player.clockInfo).replace(/^Day \d+ · /, ''))),
    h('p', { class: 'msg__text' }, m.text));
  const empty = () => h('li', { class: 'chat__empty' }, gettext('Nothing has been said yet.'));
  const addLines = (messages) => {
    const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    transcript.querySelector('.chat__empty')?.remove();
    transcript.append(...messages.map(line));
    while (transcript.children.length > TRANSCRIPT_MAX) transcript.firstElementChild.remove();
    if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  };
  player.on('seeked', ({ messages }) => {
    transcript.replaceChildren();
    if (messages.length) addLines(messages);
    else transcript.append(empty());
    transcript.scrollTop = transcript.scrollHeight;
  });
  player.on('message', (m) => addLines([m]));

  // ---- people -------------------------------------------------------------
  const follow = (id) => {
    renderer.followId = id;
    renderer.selected = id;
    if (id != null) {
      camera.follow = true;
      if (camera.zoom < 2) camera.zoomTo(2);
    }
  };
  new PeopleList({
    store, sprites,
    list: $('people-list'), count: $('people-count'), empty: $('people-empty'), badge: $('people-badge'),
    onPick: (id) => {
      follow(renderer.followId === id ? null : id);
      if (window.matchMedia('(max-width: 719px)').matches) togglePeople(false);
    },
  });
  store.on('roster', () => {
    if (renderer.followId != null && !store.players.has(renderer.followId)) follow(null);
  });
  const togglePeople = (force) => {
    const open = force ?? !side.classList.contains('is-people-open');
    side.classList.toggle('is-people-open', open);
    peopleToggle.setAttribute('aria-expanded', String(open));
  };
  peopleToggle.addEventListener('click', () => togglePeople());
  $('people-close').addEventListener('click', () => togglePeople(false));

  // ---- view ---------------------------------------------------------------
  const renderZoom = () => {
    $('zoom-in').disabled = camera.zoom >= ZOOM_LEVELS.at(-1);
    $('zoom-out').disabled = camera.zoom <= ZOOM_LEVELS[0];
  };
  const zoom = (dir) => {
    camera.zoomStep(dir);
    renderZoom();
  };
  const centre = () => {
    follow(null);
    if (!map) return;
    const plaza = map.areas.find((a) => /plaza|square|centre|center/i.test(a.name));
    if (plaza) camera.lookAt(plaza.x + plaza.width / 2, plaza.y + plaza.height / 2);
    else camera.lookAt(map.pxWidth / 2, map.pxHeight / 2);
  };
  $('zoom-in').addEventListener('click', () => zoom(1));
  $('zoom-out').addEventListener('click', () => zoom(-1));
  $('centre').addEventListener('click', centre);
  const area = $('area-label');
  attachInput({
    canvas, camera, renderer, map: () => map,
    actions: {
      tap() {},
      select: (id) => follow(renderer.followId === id ? null : id),
      step: (dx, dy) => camera.panBy(-dx * 64, -dy * 64),
      hover(tile, id) {
        renderer.hover = id;
        const a = tile && map ? map.areaAt(tile[0] * 32 + 16, tile[1] * 32 + 16) : null;
        area.hidden = !a;
        if (a && area.textContent !== a.label) area.textContent = a.label;
      },
      zoom,
      centre,
      help() {},
      mute() {},
      escape: () => follow(null),
    },
  });
  window.addEventListener('keydown', (e) => {
    if (e.key !== ' ' || e.repeat || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && t !== document.body && t !== canvas && t.tagName !== 'MAIN') return; // buttons handle their own Space
    e.preventDefault();
    if (player.loaded) player.toggle();
  });

  // ---- every frame --------------------------------------------------------
  let lastUi = 0;
  const tick = (now) => {
    player.update();
    if (now - lastUi > 120 && player.loaded) {
      lastUi = now;
      const t = player.now();
      if (!scrubbing) {
        range.value = String(t);
        const label = span(t - player.first);
        if (timeLabel.textContent !== label) timeLabel.textContent = label;
        const clock = store.clock();
        if (clock && clockLabel.textContent !== clock.label) clockLabel.textContent = clock.label;
        const phase = !clock ? 'day' : clock.daylight > 0.8 ? 'day' : clock.daylight > 0.2 ? 'dusk' : 'night';
        if (sky.dataset.phase !== phase) sky.dataset.phase = phase;
      }
      renderZoom();
      if (player.ended) renderState();
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);

  // ---- load ---------------------------------------------------------------
  const characters = (config.characters || []).map((c) => c.name);
  let spritesDone = 0;
  const steps = 3 + characters.length;
  for (const name of characters) {
    sprites.load(name).then(() => {
      spritesDone += 1;
      loading.progress(spritesDone / steps, gettext('Waking the residents'));
    });
  }
  const params = new URLSearchParams(location.search);
  const startAt = Number(params.get('t'));
  const startSpeed = Number(params.get('speed'));
  if (SPEEDS.includes(startSpeed)) player.setSpeed(startSpeed);
  renderState();

  Promise.all([
    loadMap(config.map_url, (d, _t, label) => loading.progress((d + spritesDone) / steps, label)),
    player.seek(Number.isFinite(startAt) && startAt > 0 ? startAt : 0),
  ]).then(async ([m]) => {
    map = m;
    renderer.setMap(map);
    centre();
    if (!(startAt > 0) && player.first > 0) await player.seek(player.first);
    if (!player.loaded) throw new Error('history unavailable');
    loading.done();
    if (params.get('paused') == null) player.play();
  }).catch((err) => {
    console.error('[replay] failed to start', err);
    loading.fail(gettext('The replay could not be loaded. Try reloading the page.'));
  });
}

boot();
