// Masks of known boundary dimension for the box-counting tests: a half plane (1), a Koch snowflake (log 4 / log 3),
// independent random cells (2).
import type { Mask } from "../../src-main/analysis/dimension";

export const N = 2048;

export function maskFrom(inside: (x: number, y: number) => boolean, n = N): Mask {
  const data = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) data[y * n + x] = inside(x + 0.5, y + 0.5) ? 1 : 0;
  return { width: n, height: n, data };
}

/** Koch snowflake vertices after `depth` subdivisions, centred in an n x n image. */
export function kochSnowflake(depth: number, n = N): [number, number][] {
  const r = n * 0.42;
  const c = n / 2;
  let pts: [number, number][] = [0, 1, 2].map((k) => {
    const a = Math.PI / 2 + (2 * Math.PI * k) / 3;
    return [c + r * Math.cos(a), c + r * Math.sin(a)];
  });
  for (let d = 0; d < depth; d++) {
    const next: [number, number][] = [];
    for (let i = 0; i < pts.length; i++) {
      const [ax, ay] = pts[i];
      const [bx, by] = pts[(i + 1) % pts.length];
      const dx = (bx - ax) / 3;
      const dy = (by - ay) / 3;
      const p1: [number, number] = [ax + dx, ay + dy];
      const p3: [number, number] = [ax + 2 * dx, ay + 2 * dy];
      // Outward bump: rotate the middle third by -60 degrees (vertices run counter-clockwise).
      const cos = Math.cos(-Math.PI / 3);
      const sin = Math.sin(-Math.PI / 3);
      const p2: [number, number] = [p1[0] + dx * cos - dy * sin, p1[1] + dx * sin + dy * cos];
      next.push([ax, ay], p1, p2, p3);
    }
    pts = next;
  }
  return pts;
}

/** Even-odd scanline fill of a polygon into a mask. */
export function fillPolygon(pts: [number, number][], n = N): Mask {
  const data = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) {
    const yc = y + 0.5;
    const xs: number[] = [];
    for (let i = 0; i < pts.length; i++) {
      const [ax, ay] = pts[i];
      const [bx, by] = pts[(i + 1) % pts.length];
      if ((ay <= yc && by > yc) || (by <= yc && ay > yc)) xs.push(ax + ((yc - ay) / (by - ay)) * (bx - ax));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      for (let x = Math.max(0, Math.ceil(xs[k] - 0.5)); x < Math.min(n, Math.ceil(xs[k + 1] - 0.5)); x++) data[y * n + x] = 1;
    }
  }
  return { width: n, height: n, data };
}

export function seededRandom(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
