// Boot: read the page config, load the map and sprites, open the socket, wire the UI.
import { Connection } from './net.js';
import { readConfig, createScene } from './scene.js';
import { loadMap } from './map.js';
import { attachInput } from './input.js';
import { Commands } from './commands.js';
import { $, h, fadeSiteMessages } from './ui/dom.js';
import { Toasts } from './ui/toasts.js';
import { Banners } from './ui/banners.js';
import { Dialog } from './ui/dialog.js';
import { PeopleList } from './ui/people.js';
import { Card } from './ui/card.js';
import { Chat } from './ui/chat.js';
import { Invites } from './ui/invites.js';
import { Join } from './ui/join.js';
import { Hud, Loading } from './ui/hud.js';
import { Announcements } from './ui/announce.js';
import { gettext, fmt } from './i18n.js';
import { Music } from './ui/music.js';


function boot() {
  const config = readConfig();
  const { store, camera, sprites, canvas, renderer } = createScene(config);
  const toasts = new Toasts($('toasts'));
  const banners = new Banners($('banners'));
  const loading = new Loading();
  let map = null;
  let mapUrl = null;

  // Read-only handle for browser tests and curious developers.
  Object.defineProperty(window, '__town', {
    value: Object.freeze({ store, camera, renderer, config, get map() { return map; } }),
    configurable: false,
  });

  camera.zoom = 1; // an overview for visitors; joining zooms in on your character
  renderer.start();

  if (!config.world) {
    loading.fail(gettext('There is no town here yet. An operator can found one with “manage.py town init”.'));
    return;
  }

  const net = new Connection(config.ws_url);
  const commands = new Commands({ net, store, renderer, getMap: () => map });
  const hud = new Hud({ store, camera, config, commands, renderer, getMap: () => map });
  const join = new Join({ config, store, commands, sprites, toasts });
  const card = new Card({ root: $('card'), store, commands, sprites, config, renderer, onJoin: () => join.open() });
  const side = $('side');
  new Chat({ store, commands, config, toasts, onShow: (open) => side.classList.toggle('has-chat', open) });
  new Invites({ root: $('invites'), store, commands });
  new Announcements({ store, config, banners, toasts });
  new PeopleList({
    store, sprites,
    list: $('people-list'), count: $('people-count'), empty: $('people-empty'), badge: $('people-badge'),
    onPick: (id) => {
      const pos = store.positionOf(id);
      const phone = window.matchMedia('(max-width: 719px)').matches;
      if (pos) {
        camera.follow = false;
        // On phones the card covers the lower half: keep them in the upper part of the view.
        camera.lookAt(pos.x * 32 + 16, pos.y * 32 + 16 + (phone ? camera.viewH * 0.22 / camera.zoom : 0));
      }
      if (phone) hud.togglePeople(false);
      card.open(id, { focus: true });
    },
  });
  new Music({ audio: $('music'), button: $('mute'), icon: $('mute-icon'), store });
  const help = new Dialog($('help-dialog'));
  $('help').addEventListener('click', () => help.open());
  addReplayLinks(config);
  fadeSiteMessages();

  // ---- the map ------------------------------------------------------------
  const characters = (config.characters || []).map((c) => c.name);
  let spritesDone = 0;
  const steps = () => 2 + characters.length;
  const report = (done, label) => loading.progress(done / steps(), label);
  async function useMap(url) {
    if (!url || url === mapUrl) return;
    mapUrl = url;
    try {
      const m = await loadMap(url, (d, _t, label) => report(d + spritesDone, label));
      if (url !== mapUrl) return;
      map = m;
      renderer.setMap(map);
      hud.centre();
      loading.done();
    } catch (err) {
      console.error('[town] map failed', err);
      mapUrl = null;
      loading.fail(gettext('The map could not be loaded. Try reloading the page.'));
    }
  }
  for (const name of characters) {
    sprites.load(name).then(() => {
      spritesDone += 1;
      report(spritesDone, gettext('Waking the residents'));
    });
  }
  useMap(config.map_url);

  // ---- the socket ---------------------------------------------------------
  net.on('frame', (f) => {
    switch (f.type) {
      case 'hello':
        store.applyHello(f);
        break;
      case 'snapshot':
        store.applySnapshot(f);
        if (f.map && !mapUrl) useMap(f.map);
        break;
      case 'events':
        store.applyEvents(f.events, { summary: !!f.summary });
        break;
      case 'ack':
        store.applyAck(f);
        break;
      case 'error':
        if (!commands.quiet.has(f.id)) toasts.error(f);
        break;
      default:
        break;
    }
  });
  // Tell the server what the camera shows (at most twice a second, and only on a change).
  const VIEW_EVERY_MS = 500;
  setInterval(() => {
    if (!camera.mapW || !net.isOpen) return;
    const half = { w: camera.viewW / 2 / camera.zoom, h: camera.viewH / 2 / camera.zoom };
    const tile = (px) => Math.min(4096, Math.max(0, Math.floor(px / 32)));
    net.setView({
      x0: tile(camera.x - half.w), y0: tile(camera.y - half.h),
      x1: tile(camera.x + half.w), y1: tile(camera.y + half.h),
    });
  }, VIEW_EVERY_MS);
  net.on('status', (s) => {
    if (s.state === 'open') banners.clear('reconnecting');
    else banners.set('reconnecting', fmt(gettext('Reconnecting… attempt %(attempt)s'), { attempt: s.attempt }), { tone: 'warn' });
  });
  store.on('status', (status) => {
    if (status === 'frozen') banners.set('frozen', gettext('The town is frozen — time stands still until it resumes.'), { tone: 'cold' });
    else banners.clear('frozen');
    if (status === 'archived') banners.set('archived', gettext('This town is archived: you can look around, but nothing happens here any more.'), { tone: 'info' });
    else banners.clear('archived');
  });
  const showMind = (mode) => {
    if (mode === 'offline') {
      banners.set('offline', gettext('Residents are running on the offline mind — no language model configured, or today’s budget is spent.'), { tone: 'info', dismissible: true });
    } else banners.clear('offline');
  };
  store.on('hello', (f) => showMind(f.mind));
  store.on('mind', showMind);
  store.on('me', (id) => {
    if (id != null) {
      camera.follow = true;
      if (camera.zoom < 2 && window.innerWidth >= 700) camera.zoomTo(2);
      hud.centre();
    }
  });
  store.on('move', (id) => {
    if (id === store.you.player) renderer.preview = null; // the server's path takes over
  });
  net.start();

  // ---- input --------------------------------------------------------------
  let hinted = false;
  attachInput({
    canvas, camera, renderer, map: () => map,
    actions: {
      tap(x, y) {
        if (card.isOpen && store.me == null) card.close();
        if (!map) return;
        if (store.me) {
          card.pendingTalk = null;
          commands.moveTo(x, y);
          camera.follow = true;
        } else if (!hinted) {
          hinted = true;
          toasts.show(gettext('Join the town to walk around. Drag to look, click someone to meet them.'));
        }
      },
      select: (id) => card.open(id),
      step: (dx, dy) => {
        if (store.me) {
          camera.follow = true;
          commands.step(dx, dy);
        } else camera.panBy(-dx * 64, -dy * 64);
      },
      hover(tile, id) {
        renderer.hover = id;
        renderer.hoverTile = tile;
        hud.showArea(tile && map ? map.areaAt(tile[0] * 32 + 16, tile[1] * 32 + 16) : null);
      },
      zoom: (dir) => hud.zoom(dir),
      centre: () => hud.centre(),
      help: () => help.open(),
      mute: () => $('mute').click(),
      escape: () => {
        card.close();
        hud.togglePeople(false);
      },
    },
  });
}

/** "Replay" in the site header and the help dialog (the template stays static). */
function addReplayLinks(config) {
  if (!config.replay_url) return;
  document.querySelector('.site-nav')?.append(
    h('a', { class: 'site-nav__link', href: config.replay_url, testid: 'replay-link' }, gettext('Replay')));
  $('help-dialog')?.querySelector('.dialog__note')?.after(h('p', { class: 'dialog__note' },
    gettext('Missed something?'), ' ', h('a', { href: config.replay_url }, gettext('Watch the replay')), ' ',
    gettext('of the town’s history at up to 32× speed.')));
}

boot();
