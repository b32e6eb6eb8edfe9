// Pointer, touch, wheel and keyboard input on the town canvas. Turns gestures into actions.

const DRAG_THRESHOLD = 6; // CSS px before a press becomes a pan
const KEY_DIRS = {
  ArrowUp: [0, -1], KeyW: [0, -1],
  ArrowDown: [0, 1], KeyS: [0, 1],
  ArrowLeft: [-1, 0], KeyA: [-1, 0],
  ArrowRight: [1, 0], KeyD: [1, 0],
};

function isTypingTarget(el) {
  return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

/**
 * actions: {tap(tileX, tileY), select(playerId), step(dx, dy), hover(tile, playerId, area),
 *           zoom(dir), centre(), help(), mute(), escape()}
 */
export function attachInput({ canvas, camera, renderer, map: getMap, actions }) {
  const pointers = new Map(); // pointerId -> {x, y, sx, sy}
  let dragged = false;
  let pinch = null; // {dist, zoom}
  let wheelAcc = 0;

  const local = (e) => {
    const r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const tileAt = (x, y) => {
    const w = camera.screenToWorld(x, y);
    return [Math.floor(w.x / 32), Math.floor(w.y / 32)];
  };

  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    canvas.setPointerCapture?.(e.pointerId);
    const p = local(e);
    pointers.set(e.pointerId, { x: p.x, y: p.y, sx: p.x, sy: p.y });
    if (pointers.size === 1) dragged = false;
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { dist: Math.hypot(a.x - b.x, a.y - b.y) || 1, zoom: camera.zoom };
      dragged = true;
    }
  });

  canvas.addEventListener('pointermove', (e) => {
    const p = local(e);
    const rec = pointers.get(e.pointerId);
    if (!rec) {
      if (e.pointerType === 'mouse') {
        const id = renderer.playerAt(p.x, p.y);
        const tile = tileAt(p.x, p.y);
        canvas.classList.toggle('is-over-player', id != null);
        actions.hover(tile, id);
      }
      return;
    }
    const dx = p.x - rec.x;
    const dy = p.y - rec.y;
    rec.x = p.x;
    rec.y = p.y;
    if (pinch && pointers.size >= 2) {
      const [a, b] = [...pointers.values()];
      const dist = Math.hypot(a.x - b.x, a.y - b.y) || 1;
      camera.zoomTo(pinch.zoom * (dist / pinch.dist), (a.x + b.x) / 2, (a.y + b.y) / 2);
      camera.panBy(dx / 2, dy / 2);
      return;
    }
    if (!dragged && Math.hypot(p.x - rec.sx, p.y - rec.sy) > DRAG_THRESHOLD) dragged = true;
    if (dragged) {
      camera.panBy(dx, dy);
      canvas.classList.add('is-dragging');
    }
  });

  const end = (e, cancelled) => {
    const rec = pointers.get(e.pointerId);
    if (!rec) return;
    pointers.delete(e.pointerId);
    canvas.classList.remove('is-dragging');
    if (pinch) {
      if (pointers.size < 2) {
        camera.snapZoom(rec.x, rec.y);
        pinch = null;
      }
      return;
    }
    if (cancelled || dragged || pointers.size) return;
    const id = renderer.playerAt(rec.x, rec.y);
    if (id != null) actions.select(id);
    else {
      const [tx, ty] = tileAt(rec.x, rec.y);
      actions.tap(tx, ty);
    }
  };
  canvas.addEventListener('pointerup', (e) => end(e, false));
  canvas.addEventListener('pointercancel', (e) => end(e, true));
  canvas.addEventListener('pointerleave', (e) => {
    if (e.pointerType === 'mouse' && !pointers.size) actions.hover(null, null);
  });

  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    wheelAcc += e.deltaMode === 1 ? e.deltaY * 30 : e.deltaY;
    if (Math.abs(wheelAcc) < 60) return;
    const p = local(e);
    camera.zoomStep(wheelAcc < 0 ? 1 : -1, p.x, p.y);
    wheelAcc = 0;
  }, { passive: false });

  window.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (isTypingTarget(e.target) || e.target.closest?.('[data-own-keys]') || document.querySelector('dialog[open]')) return;
    if (e.key === '?') {
      e.preventDefault();
      actions.help();
      return;
    }
    if (e.key === 'Escape') {
      actions.escape();
      return;
    }
    const dir = KEY_DIRS[e.code];
    if (dir) {
      // Arrow keys on a focused button/list still walk; only text fields are exempt.
      e.preventDefault();
      actions.step(dir[0], dir[1]);
      return;
    }
    if (e.key === '+' || e.key === '=') actions.zoom(1);
    else if (e.key === '-' || e.key === '_') actions.zoom(-1);
    else if (e.key === 'c' || e.key === 'C') actions.centre();
    else if (e.key === 'm' || e.key === 'M') actions.mute();
  });

  return { tileAt, map: getMap };
}
