// What part of the world is on screen: centre, zoom and follow behaviour.

export const ZOOM_LEVELS = [1, 1.5, 2, 3, 4];

export class Camera {
  constructor() {
    this.x = 0; // world pixels at the centre of the view
    this.y = 0;
    this.zoom = 2;
    this.viewW = 1; // CSS pixels
    this.viewH = 1;
    this.mapW = 0;
    this.mapH = 0;
    this.follow = true; // follow my player until the user pans
  }

  setView(w, h) {
    this.viewW = w;
    this.viewH = h;
    this.clamp();
  }

  setMap(w, h) {
    this.mapW = w;
    this.mapH = h;
    this.clamp();
  }

  screenToWorld(sx, sy) {
    return { x: this.x + (sx - this.viewW / 2) / this.zoom, y: this.y + (sy - this.viewH / 2) / this.zoom };
  }

  worldToScreen(wx, wy) {
    return { x: (wx - this.x) * this.zoom + this.viewW / 2, y: (wy - this.y) * this.zoom + this.viewH / 2 };
  }

  lookAt(wx, wy) {
    this.x = wx;
    this.y = wy;
    this.clamp();
  }

  panBy(dx, dy) {
    this.x -= dx / this.zoom;
    this.y -= dy / this.zoom;
    this.follow = false;
    this.clamp();
  }

  /** Zoom keeping the world point under (sx, sy) in place. */
  zoomTo(z, sx = this.viewW / 2, sy = this.viewH / 2) {
    const nz = Math.min(ZOOM_LEVELS.at(-1), Math.max(ZOOM_LEVELS[0], z));
    const before = this.screenToWorld(sx, sy);
    this.zoom = nz;
    const after = this.screenToWorld(sx, sy);
    this.x += before.x - after.x;
    this.y += before.y - after.y;
    this.clamp();
  }

  zoomStep(dir, sx, sy) {
    const i = ZOOM_LEVELS.findIndex((z) => z >= this.zoom - 1e-6);
    const cur = i < 0 ? ZOOM_LEVELS.length - 1 : i;
    const exact = Math.abs(ZOOM_LEVELS[cur] - this.zoom) < 1e-6;
    const next = dir > 0 ? (exact ? cur + 1 : cur) : cur - 1;
    this.zoomTo(ZOOM_LEVELS[Math.max(0, Math.min(ZOOM_LEVELS.length - 1, next))], sx, sy);
  }

  /** After a pinch, settle on the nearest crisp level. */
  snapZoom(sx, sy) {
    let best = ZOOM_LEVELS[0];
    for (const z of ZOOM_LEVELS) if (Math.abs(z - this.zoom) < Math.abs(best - this.zoom)) best = z;
    this.zoomTo(best, sx, sy);
  }

  /** Ease towards a target (world px) when following. */
  update(dt, target) {
    if (!this.follow || !target) return;
    const k = 1 - Math.exp(-dt * 6);
    this.x += (target.x - this.x) * k;
    this.y += (target.y - this.y) * k;
    this.clamp();
  }

  clamp() {
    if (!this.mapW) return;
    const halfW = this.viewW / 2 / this.zoom;
    const halfH = this.viewH / 2 / this.zoom;
    this.x = this.mapW <= halfW * 2 ? this.mapW / 2 : Math.min(this.mapW - halfW, Math.max(halfW, this.x));
    this.y = this.mapH <= halfH * 2 ? this.mapH / 2 : Math.min(this.mapH - halfH, Math.max(halfH, this.y));
  }
}
