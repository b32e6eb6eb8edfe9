// Where a player is at a given world time, and a small client-side A* for path previews.

const DIRS = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] };

/** Direction name of a step from a to b (null when they coincide). */
export function directionOf(a, b) {
  if (!a || !b) return null;
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  if (dx === 0 && dy === 0) return null;
  if (Math.abs(dx) >= Math.abs(dy)) return dx > 0 ? 'right' : 'left';
  return dy > 0 ? 'down' : 'up';
}

export function directionVector(name) {
  return DIRS[name] ?? [0, 0];
}

/**
 * Position of a player at world time T, following the server's rule:
 * f = (T - t0) / 1000 * speed along path, linear between path[floor(f)] and the next.
 * Returns {x, y, facing, moving} in tile units.
 */
export function positionAt(player, T) {
  const path = player.path;
  if (!path || path.length === 0 || player.t0 == null) {
    return { x: player.x, y: player.y, facing: player.facing || 'down', moving: false };
  }
  const n = path.length;
  const f = ((T - player.t0) / 1000) * (player.speed || 1);
  if (n === 1 || f >= n - 1) {
    const last = path[n - 1];
    return { x: last[0], y: last[1], facing: directionOf(path[n - 2], last) || player.facing || 'down', moving: false };
  }
  if (f <= 0) {
    return { x: path[0][0], y: path[0][1], facing: directionOf(path[0], path[1]) || player.facing || 'down', moving: false };
  }
  const i = Math.floor(f);
  const a = path[i];
  const b = path[i + 1];
  const k = f - i;
  return {
    x: a[0] + (b[0] - a[0]) * k,
    y: a[1] + (b[1] - a[1]) * k,
    facing: directionOf(a, b) || player.facing || 'down',
    moving: true,
  };
}

/** The tile a player is heading to (end of the path) or standing on. */
export function destinationOf(player) {
  const path = player.path;
  if (path && path.length) return path[path.length - 1];
  return [Math.round(player.x), Math.round(player.y)];
}

// Binary heap keyed by f-score; small and allocation-light.
class Heap {
  constructor() { this.items = []; }
  get size() { return this.items.length; }
  push(node, score) {
    const a = this.items;
    a.push([score, node]);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p][0] <= a[i][0]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l][0] < a[m][0]) m = l;
        if (r < a.length && a[r][0] < a[m][0]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top[1];
  }
}

/**
 * 4-neighbour A* on a grid. `blocked(x, y)` says whether a tile is a wall.
 * Returns [[x, y], ...] from start to goal inclusive, or null.
 */
export function findPath(width, height, blocked, start, goal, maxNodes = 6000) {
  const [sx, sy] = start;
  const [gx, gy] = goal;
  if (gx < 0 || gy < 0 || gx >= width || gy >= height || blocked(gx, gy)) return null;
  const key = (x, y) => y * width + x;
  const came = new Map();
  const g = new Map([[key(sx, sy), 0]]);
  const open = new Heap();
  open.push(key(sx, sy), Math.abs(gx - sx) + Math.abs(gy - sy));
  let expanded = 0;
  while (open.size && expanded < maxNodes) {
    const cur = open.pop();
    const cx = cur % width;
    const cy = (cur - cx) / width;
    if (cx === gx && cy === gy) {
      const out = [[cx, cy]];
      let k = cur;
      while (came.has(k)) {
        k = came.get(k);
        out.push([k % width, Math.floor(k / width)]);
      }
      return out.reverse();
    }
    expanded++;
    const base = g.get(cur);
    for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const nx = cx + dx;
      const ny = cy + dy;
      if (nx < 0 || ny < 0 || nx >= width || ny >= height || blocked(nx, ny)) continue;
      const nk = key(nx, ny);
      const cost = base + 1;
      if (cost < (g.get(nk) ?? Infinity)) {
        g.set(nk, cost);
        came.set(nk, cur);
        open.push(nk, cost + Math.abs(gx - nx) + Math.abs(gy - ny));
      }
    }
  }
  return null;
}
