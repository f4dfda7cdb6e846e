// The map's colour map, in a fragment shader over a float texture of layer values (contract.ts LayerData).
// Cells are fetched with texelFetch (nearest, crisp at any zoom); zoomed out, a mip level holding the mean of
// the cells under a pixel is used instead, so the picture does not shimmer. The colours are the chosen palette's
// (src-shared/colours.ts: matplotlib's stops, evenly spaced, in one uniform array interpolated here; Spectral for the
// paper's colouring and viridis for losses by default), the same numbers the analysis module draws exported PNGs
// with, so the map matches them pixel for pixel.

import * as THREE from "three";
import { MAX_STOPS, type Palette, paletteOf, type Rgb } from "../src-shared/colours";
import type { LayerData } from "../src-shared/contract";

const vertex = /* glsl */ `
in vec3 position;
in vec2 uv;
uniform vec4 uNdc;
uniform vec4 uLocal;
out vec2 vLocal;
void main() {
  vLocal = mix(uLocal.xy, uLocal.zw, uv);
  gl_Position = vec4(mix(uNdc.xy, uNdc.zw, uv), 0.0, 1.0);
}`;

const fragment = /* glsl */ `
precision highp float;
precision highp int;
precision highp sampler2D;
uniform sampler2D uTex;
uniform sampler2D uInferred;
uniform bool uHasInferred;
uniform ivec2 uBase;
uniform ivec2 uSize;
uniform ivec2 uFull;
uniform int uShift;
uniform int uLevel;
uniform int uCoarseLevels;
uniform int uKind;
uniform float uLo;
uniform float uHi;
uniform bool uHideNotDone;
uniform vec3 uPalette[${MAX_STOPS}];
uniform int uStops;
uniform vec3 uNotDone;
uniform vec3 uNonFinite;
uniform vec3 uYes;
uniform vec3 uNo;
in vec2 vLocal;
out vec4 outColor;

// The palette's uStops evenly spaced colours, linearly interpolated (colours.ts sampleColourMap).
vec3 palette(float t) {
  float u = clamp(t, 0.0, 1.0) * float(uStops - 1);
  int i = min(uStops - 2, int(floor(u)));
  return mix(uPalette[i], uPalette[i + 1], u - float(i));
}

void main() {
  // A preview holds every 2^uShift-th cell of the sweep (uFull cells a side): cell -> its texel.
  ivec2 cell = min(clamp(uBase + ivec2(floor(vLocal)), ivec2(0), uFull - 1) >> uShift, uSize - 1);
  ivec2 size = textureSize(uTex, uLevel);
  float v = texelFetch(uTex, min(cell >> uLevel, size - 1), uLevel).r;
  // Streaming, coarse first: the agent trains the grid points of stride 2^top first, then 2^(top-1), ...; a
  // cell not done yet shows the nearest coarser grid point that is, so the map fills in like a progressive image.
  if (v < -1e29 && uLevel == 0 && uCoarseLevels > 0) {
    for (int k = 1; k <= 13; k++) {
      if (v > -1e29 || k > uCoarseLevels) break;
      v = texelFetch(uTex, (cell >> k) << k, 0).r;
    }
  }
  if (v < -1e29) {
    if (uHideNotDone) discard;
    outColor = vec4(uNotDone, 1.0);
    return;
  }
  vec3 c;
  if (v > 1e29) c = uNonFinite;
  else if (uKind == 0) c = palette((v + 1.0) * 0.5);
  else if (uKind == 1) c = mix(uNo, uYes, v);
  else c = palette((v - uLo) / max(uHi - uLo, 1e-12));
  // Boundary sampling: a cell inferred from a trained neighbour keeps that cell's colour, dimmed, under diagonal
  // light stripes in screen space (4 px apart at any zoom), so trained and inferred cells never look alike.
  if (uHasInferred && texelFetch(uInferred, cell, 0).r > 0.0) { // R8 is normalised: 1 reads as 1/255
    c *= 0.72;
    if (mod(gl_FragCoord.x + gl_FragCoord.y, 6.0) < 1.5) c = mix(c, vec3(1.0), 0.55);
  }
  outColor = vec4(c, 1.0);
}`;

const KIND = { rank: 0, binary: 1, log: 2 } as const;

/** Mean of the valid values under each texel of the next level; sentinels only where no value is valid. */
export function buildMips(values: Float32Array, nx: number, ny: number): { data: Float32Array; width: number; height: number }[] {
  const levels = [{ data: values, width: nx, height: ny }];
  for (let w = nx, h = ny; w > 1 || h > 1; ) {
    const src = levels[levels.length - 1];
    const W = Math.max(1, w >> 1), H = Math.max(1, h >> 1);
    const out = new Float32Array(W * H);
    for (let y = 0; y < H; y++) mipRow(src.data, w, h, out, W, y);
    levels.push({ data: out, width: W, height: H });
    w = W; h = H;
  }
  return levels;
}

/** Row y of a mip level (width W) from the level below it (w x h): the mean of valid values under each texel. */
function mipRow(src: Float32Array, w: number, h: number, out: Float32Array, W: number, y: number): void {
  for (let x = 0; x < W; x++) {
    let sum = 0, n = 0, nonFinite = false;
    for (let dy = 0; dy < 2; dy++) {
      const yy = 2 * y + dy;
      if (yy >= h) continue;
      for (let dx = 0; dx < 2; dx++) {
        const xx = 2 * x + dx;
        if (xx >= w) continue;
        const v = src[yy * w + xx];
        if (v > -1e29 && v < 1e29) { sum += v; n++; } else if (v > 1e29) nonFinite = true;
      }
    }
    out[y * W + x] = n ? sum / n : nonFinite ? 2 ** 100 : -(2 ** 100);
  }
}

type Mip = { data: Float32Array; width: number; height: number };

/**
 * Rows of every mip level that `cells` (indices into level 0) touch, with the levels above level 0 recomputed
 * there. Level 0's data must already hold the new values. Returned as runs of consecutive rows per level.
 */
export function updateMips(mips: Mip[], cells: ArrayLike<number>): { level: number; y0: number; y1: number }[][] {
  let rows = new Set<number>();
  for (let k = 0; k < cells.length; k++) rows.add(Math.floor(cells[k] / mips[0].width));
  const out: { level: number; y0: number; y1: number }[][] = [];
  for (let level = 0; level < mips.length; level++) {
    if (level > 0) {
      const below = mips[level - 1], m = mips[level];
      const up = new Set<number>();
      for (const r of rows) up.add(Math.min(m.height - 1, r >> 1));
      rows = up;
      for (const r of rows) mipRow(below.data, below.width, below.height, m.data, m.width, r);
    }
    const sorted = [...rows].sort((a, b) => a - b);
    const runs: { level: number; y0: number; y1: number }[] = [];
    for (const r of sorted) {
      const last = runs[runs.length - 1];
      if (last && last.y1 === r - 1) last.y1 = r; else runs.push({ level, y0: r, y1: r });
    }
    out.push(runs);
  }
  return out;
}

/**
 * Streaming update: upload only the rows of each mip level that `cells` touch (texSubImage2D on the texture's
 * own WebGL handle, bound through three's state cache so three's bookkeeping stays right). The texture's level-0
 * data must already hold the new values. Falls back to a full upload when the texture is not on the GPU yet.
 * Returns the texels uploaded.
 */
export function updateTextureCells(renderer: THREE.WebGLRenderer, tex: THREE.DataTexture, cells: ArrayLike<number>): number {
  const mips = tex.mipmaps as unknown as Mip[];
  const runs = updateMips(mips, cells);
  const handle = (renderer.properties.get(tex) as { __webglTexture?: WebGLTexture }).__webglTexture;
  if (!handle || tex.needsUpdate) { tex.needsUpdate = true; return mips.reduce((n, m) => n + m.data.length, 0); }
  const gl = renderer.getContext() as WebGL2RenderingContext;
  renderer.state.bindTexture(gl.TEXTURE_2D, handle);
  gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
  gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
  gl.pixelStorei(gl.UNPACK_ROW_LENGTH, 0);
  gl.pixelStorei(gl.UNPACK_SKIP_PIXELS, 0);
  gl.pixelStorei(gl.UNPACK_SKIP_ROWS, 0);
  let texels = 0;
  for (const levelRuns of runs) {
    for (const { level, y0, y1 } of levelRuns) {
      const m = mips[level];
      gl.texSubImage2D(gl.TEXTURE_2D, level, 0, y0, m.width, y1 - y0 + 1, gl.RED, gl.FLOAT, m.data.subarray(y0 * m.width, (y1 + 1) * m.width));
      texels += m.width * (y1 - y0 + 1);
    }
  }
  return texels;
}

export function layerTexture(layer: LayerData): THREE.DataTexture {
  const tex = new THREE.DataTexture(layer.values, layer.nx, layer.ny, THREE.RedFormat, THREE.FloatType);
  tex.internalFormat = "R32F";
  tex.mipmaps = buildMips(layer.values, layer.nx, layer.ny) as unknown as THREE.DataTexture["mipmaps"];
  tex.generateMipmaps = false;
  tex.minFilter = THREE.NearestMipmapNearestFilter;
  tex.magFilter = THREE.NearestFilter;
  tex.needsUpdate = true;
  return tex;
}

/** The inferred-cell mask of a layer (LayerData.inferred) as an R8 texture, null when the layer has none. */
export function inferredTexture(layer: LayerData): THREE.DataTexture | null {
  if (!layer.inferred) return null;
  const tex = new THREE.DataTexture(layer.inferred, layer.nx, layer.ny, THREE.RedFormat, THREE.UnsignedByteType);
  tex.internalFormat = "R8";
  tex.unpackAlignment = 1;
  tex.generateMipmaps = false;
  tex.minFilter = THREE.NearestFilter;
  tex.magFilter = THREE.NearestFilter;
  tex.needsUpdate = true;
  return tex;
}

export function mapMaterial(): THREE.RawShaderMaterial {
  const m = new THREE.RawShaderMaterial({
    glslVersion: THREE.GLSL3,
    vertexShader: vertex,
    fragmentShader: fragment,
    depthTest: false,
    depthWrite: false,
    transparent: true,
    uniforms: {
      uTex: { value: null }, uInferred: { value: null }, uHasInferred: { value: false }, uBase: { value: new THREE.Vector2(0, 0) }, uSize: { value: new THREE.Vector2(1, 1) },
      uFull: { value: new THREE.Vector2(1, 1) }, uShift: { value: 0 },
      uLevel: { value: 0 }, uCoarseLevels: { value: 0 }, uKind: { value: 0 }, uLo: { value: 0 }, uHi: { value: 1 }, uHideNotDone: { value: false },
      uNdc: { value: new THREE.Vector4() }, uLocal: { value: new THREE.Vector4() },
      uPalette: { value: Array.from({ length: MAX_STOPS }, () => new THREE.Vector3()) }, uStops: { value: 2 },
      uNotDone: { value: new THREE.Vector3() }, uNonFinite: { value: new THREE.Vector3() }, uYes: { value: new THREE.Vector3() }, uNo: { value: new THREE.Vector3() },
    },
  });
  setPaletteUniforms(m, paletteOf("spectral"));
  return m;
}

/** The palette a map is drawn with: its stops (padded to the uniform's length), outcome and sentinel colours. */
export function setPaletteUniforms(m: THREE.RawShaderMaterial, p: Palette): void {
  const u = m.uniforms;
  const set = (v: THREE.Vector3, c: Rgb) => v.set(c[0] / 255, c[1] / 255, c[2] / 255);
  (u.uPalette.value as THREE.Vector3[]).forEach((v, i) => set(v, p.stops[Math.min(i, p.stops.length - 1)]));
  u.uStops.value = p.stops.length;
  set(u.uNotDone.value, p.notDone);
  set(u.uNonFinite.value, p.nonFinite);
  set(u.uYes.value, p.yes);
  set(u.uNo.value, p.no);
}

/** Coarse-to-fine levels of an axis of n points, as the agent orders cells (grid.ts coarseToFine). */
export function coarseLevels(n: number): number {
  let top = 0;
  while ((2 << top) * 4 <= n) top += 1;
  return top;
}

/** log2 of a layer's stride: a preview's texel covers 2^shift cells a side (0 for a full layer). */
export function layerShift(layer: LayerData): number {
  return Math.round(Math.log2(layer.stride ?? 1));
}

export function setLayerUniforms(m: THREE.RawShaderMaterial, layer: LayerData, tex: THREE.DataTexture, hideNotDone: boolean,
  full?: { nx: number; ny: number }, inferred: THREE.DataTexture | null = null): void {
  const u = m.uniforms;
  u.uInferred.value = inferred;
  u.uHasInferred.value = inferred !== null;
  const streaming = layer.doneCells < layer.nx * layer.ny;
  u.uCoarseLevels.value = streaming ? Math.max(coarseLevels(layer.nx), coarseLevels(layer.ny)) : 0;
  u.uTex.value = tex;
  u.uSize.value.set(layer.nx, layer.ny);
  u.uFull.value.set(full?.nx ?? layer.nx, full?.ny ?? layer.ny);
  u.uShift.value = layerShift(layer);
  u.uKind.value = KIND[layer.kind];
  u.uLo.value = layer.lo;
  u.uHi.value = layer.hi;
  u.uHideNotDone.value = hideNotDone;
}

/** Mip level for a pixel footprint of `cellsPerPixel` cells (0 when cells are at least a pixel wide). */
export function mipLevel(cellsPerPixel: number, levels: number): number {
  if (!(cellsPerPixel > 1)) return 0;
  return Math.min(levels - 1, Math.floor(Math.log2(cellsPerPixel) + 0.5));
}
