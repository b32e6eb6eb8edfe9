// What the live town and the replay page both start from: the page's config and a scene
// (store, camera, sprites, renderer on the town canvas).
import { Store } from './store.js';
import { Camera } from './camera.js';
import { Renderer } from './render.js';
import { Sprites } from './assets.js';
import { $ } from './ui/dom.js';

/** The JSON the template put in #town-config ({} if missing or broken). */
export function readConfig() {
  try {
    return JSON.parse($('town-config')?.textContent || 'null') || {};
  } catch {
    return {};
  }
}

/** A store and the renderer drawing it on #town-canvas through a camera. */
export function createScene(config) {
  const store = new Store();
  const camera = new Camera();
  const sprites = new Sprites(config.sprite_url);
  const canvas = $('town-canvas');
  const renderer = new Renderer(canvas, { store, camera, sprites });
  return { store, camera, sprites, canvas, renderer };
}
