// The live preview, drawn in the browser before anything is uploaded: the server's block grid (anchored at the
// image's top-left for the whole photo, at each area's own corner for chosen areas; the last block of a row or
// column cut), its colours ("average": alpha-weighted block means; "nearest": the block's centre pixel).

// The preview works on a copy at most this many pixels on its longer side: block means over that copy are
// within a level or two of the full-size ones, and a 12 MP photo re-renders in milliseconds.
const PREVIEW_WORK_MAX = 1024;
// The canvas on the page is at most this many CSS pixels on its longer side (times the device pixel ratio).
const DISPLAY_MAX = 720;
// A face the server finds spans at most this many blocks across (pixelate/image/options.py, DEFAULT_FACE_BLOCKS).
export const FACE_BLOCKS = 8;

// Block edges of a grid of `size`-pixel blocks from `start` to `end`, the last block partial: the server's grid
// (pixelate/image/ops.py), so the preview shows exactly the blocks it will make.
function blockEdges(end, size, start = 0) {
  const edges = [];
  for (let at = start; at < end; at += size) edges.push(at);
  edges.push(end);
  return edges;
}

// The same edges on a copy scaled by `scale` (`scaledLength` pixels long): every block keeps at least one pixel.
function scaledEdges(edges, scale, scaledLength) {
  const last = edges.length - 1;
  return edges.map((e, i) => (i === last
    ? Math.min(scaledLength, Math.max(1, Math.round(e * scale)))
    : Math.min(scaledLength - 1, Math.floor(e * scale))));
}

// The mean colour of each block, as the server computes it: alpha-weighted (transparent pixels lend no
// colour). `source` is ImageData of the (possibly scaled) copy; returns ImageData of cols × rows.
function blockColours(source, xEdges, yEdges) {
  const cols = xEdges.length - 1;
  const rows = yEdges.length - 1;
  const out = new ImageData(cols, rows);
  const src = source.data;
  const width = source.width;
  const dst = out.data;
  for (let by = 0; by < rows; by++) {
    const y0 = yEdges[by];
    const y1 = Math.max(y0 + 1, yEdges[by + 1]);
    for (let bx = 0; bx < cols; bx++) {
      const x0 = xEdges[bx];
      const x1 = Math.max(x0 + 1, xEdges[bx + 1]);
      const o = (by * cols + bx) * 4;
      let r = 0, g = 0, b = 0, a = 0;
      for (let y = y0; y < y1; y++) {
        let i = (y * width + x0) * 4;
        for (let x = x0; x < x1; x++, i += 4) {
          const alpha = src[i + 3];
          r += src[i] * alpha; g += src[i + 1] * alpha; b += src[i + 2] * alpha; a += alpha;
        }
      }
      const count = (x1 - x0) * (y1 - y0);
      if (a > 0) {
        dst[o] = Math.round(r / a); dst[o + 1] = Math.round(g / a); dst[o + 2] = Math.round(b / a);
      }
      dst[o + 3] = Math.round(a / count);
    }
  }
  return out;
}

// Decodes the photo once into a working copy (ImageData) for previews. `img` is the photo upright (`width` ×
// `height`), as the server turns it: the page's <img> of the file (the browser turns a JPEG by its EXIF
// orientation when it shows and draws it, and naturalWidth/naturalHeight are then the upright size), or a canvas
// the page turned (orientation.js), so the preview and every area drawn on it are in the upright photo's pixels.
export async function loadWorkingCopy(img, width, height) {
  const scale = Math.min(1, PREVIEW_WORK_MAX / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(img, 0, 0, w, h);
  return {
    image: img, width, height, scaleX: w / width, scaleY: h / height, data: ctx.getImageData(0, 0, w, h),
    blocks: new Map(), // "method:size" → a canvas of one pixel per block
    base: null, // the photo at the preview canvas's size
  };
}

// The centre pixel of each block along one side, from `start` to `end`: start + floor(length / 2), the partial
// last block's centre included, as pixelate/image/ops.py samples them.
function blockCentres(end, size, start = 0) {
  const centres = [];
  for (let at = start; at < end; at += size) {
    centres.push(at + ((Math.min(end, at + size) - at) >> 1));
  }
  return centres;
}

// "nearest" from the full-resolution image at any size, exactly: 1:1 copies only (no resampling that
// could round a sample point to the neighbouring pixel), first each block's centre row, then each
// block's centre column of those rows. Draw calls: rows + columns. `box` ({x0, y0, x1, y1}): only its blocks,
// anchored at its corner (the whole image by default).
function sampledBlocks(image, width, height, size, box = { x0: 0, y0: 0, x1: width, y1: height }) {
  const xs = blockCentres(box.x1, size, box.x0);
  const ys = blockCentres(box.y1, size, box.y0);
  const rows = document.createElement("canvas");
  rows.width = width;
  rows.height = ys.length;
  const rowsCtx = rows.getContext("2d");
  rowsCtx.imageSmoothingEnabled = false;
  ys.forEach((y, r) => rowsCtx.drawImage(image, 0, y, width, 1, 0, r, width, 1));
  const small = document.createElement("canvas");
  small.width = xs.length;
  small.height = ys.length;
  const smallCtx = small.getContext("2d");
  smallCtx.imageSmoothingEnabled = false;
  xs.forEach((x, c) => smallCtx.drawImage(rows, x, 0, 1, ys.length, c, 0, 1, ys.length));
  return small;
}

// "average" from the working copy: exact when the photo is at most PREVIEW_WORK_MAX pixels on its
// longer side, within a level or two per block (median) on larger ones. `box`: only its blocks, from its corner.
function averagedBlocks(work, size, box = { x0: 0, y0: 0, x1: work.width, y1: work.height }) {
  const blocks = blockColours(
    work.data,
    scaledEdges(blockEdges(box.x1, size, box.x0), work.scaleX, work.data.width),
    scaledEdges(blockEdges(box.y1, size, box.y0), work.scaleY, work.data.height),
  );
  const small = document.createElement("canvas");
  small.width = blocks.width;
  small.height = blocks.height;
  small.getContext("2d").putImageData(blocks, 0, 0);
  return small;
}

// One pixel per block of the whole photo's grid at `size`, kept while the photo is on the page: dragging an
// area redraws the preview many times a second without computing a block twice.
function blocksAt(work, size, method) {
  const key = `${method}:${size}`;
  let small = work.blocks.get(key);
  if (!small) {
    small = method === "nearest" ? sampledBlocks(work.image, work.width, work.height, size) : averagedBlocks(work, size);
    work.blocks.set(key, small);
  }
  return small;
}

// The canvas keeps the photo's aspect ratio at a size fit for the screen; CSS scales it down further.
function sizeCanvas(canvas, work) {
  const displayScale = Math.min(1, (DISPLAY_MAX * (window.devicePixelRatio || 1)) / Math.max(work.width, work.height));
  const w = Math.max(1, Math.round(work.width * displayScale));
  const h = Math.max(1, Math.round(work.height * displayScale));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  return displayScale;
}

// The whole photo pixelated. Sharp block edges: each block pixel becomes a pixelSize square; the partial last
// blocks are cut off at the canvas edge, exactly as the server cuts them at the image edge.
export function drawPreview(canvas, work, pixelSize, method) {
  const small = blocksAt(work, pixelSize, method);
  const displayScale = sizeCanvas(canvas, work);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  const blockOnScreen = pixelSize * displayScale;
  ctx.drawImage(small, 0, 0, small.width * blockOnScreen, small.height * blockOnScreen);
}

// `box` ({x, y, w, h} in photo pixels) clipped to the photo: what the server pixelates for it, with blocks
// anchored at the box's own corner (pixelate/image/regions.py). Answers {x0, y0, x1, y1}.
export function clipToPhoto(box, width, height) {
  return {
    x0: Math.max(0, Math.floor(box.x)),
    y0: Math.max(0, Math.floor(box.y)),
    x1: Math.min(width, Math.ceil(box.x + box.w)),
    y1: Math.min(height, Math.ceil(box.y + box.h)),
  };
}

// A face's block, when raised, is a multiple of this (pixelate/image/regions.py, FACE_BLOCK_MULTIPLE).
const FACE_BLOCK_MULTIPLE = 16;

// The block the server uses for a face: the pixel size, raised (to a multiple of FACE_BLOCK_MULTIPLE) so that the
// face spans at most FACE_BLOCKS blocks across its larger side (pixelate/image/regions.py, face_block).
export function faceBlock(box, pixelSize) {
  const needed = Math.ceil(Math.max(box.w, box.h) / FACE_BLOCKS);
  return needed <= pixelSize ? pixelSize : Math.ceil(needed / FACE_BLOCK_MULTIPLE) * FACE_BLOCK_MULTIPLE;
}

// The 8×8 block grid of an upright JPEG that the server pixelates in the DCT domain (pixelate/image/region_steps.py,
// jpeg_regions_in_dct; pixelate/image/fast/jpeg_regions.py, pixelate_jpeg_regions and plan), from its layout
// (orientation.js, jpegLayout) and the method; null when the server takes the pixel path, which pixelates each
// area exactly as it is (another format, an EXIF orientation other than 1, "nearest", arithmetic coding, a
// precision other than 8 bits, a multi-picture file, odd sampling). `luma`: the pixels one block of the first
// component covers, what a face grows to; `all`: the pixels a block of every component covers (16 px where
// chroma is subsampled 2×, 8 px for 4:4:4 and grey), what a drawn area grows to.
export function dctGrid(layout, method) {
  if (!layout || method !== "average" || layout.orientation !== 1 || layout.images > 1) return null;
  const { sof, precision, sampling } = layout;
  if (![0xc0, 0xc1, 0xc2].includes(sof) || precision !== 8 || ![1, 3, 4].includes(sampling.length)) return null;
  const hmax = Math.max(...sampling.map(([h]) => h));
  const vmax = Math.max(...sampling.map(([, v]) => v));
  if (sampling.some(([h, v]) => h < 1 || v < 1 || hmax % h || vmax % v)) return null;
  const footprints = sampling.map(([h, v]) => [(8 * hmax) / h, (8 * vmax) / v]);
  const gcd = (a, b) => (b ? gcd(b, a % b) : a);
  const lcm = (values) => values.reduce((a, b) => (a * b) / gcd(a, b));
  const all = [lcm(footprints.map((f) => f[0])), lcm(footprints.map((f) => f[1]))];
  // four components (CMYK, YCCK) have no chroma to spare: a face grows to every component's blocks too
  return { luma: footprints.length === 4 ? all : footprints[0], all };
}

// What the server pixelates for `box` ({x, y, w, h}) at `block` on the DCT grid `grid` (dctGrid) of a `width` ×
// `height` JPEG: a block a multiple of 8 grows the box outward to whole units (a face's to the luma's blocks,
// any other area's to every component's), clipped to the photo, its blocks then laid from the grown box's corner;
// any other block leaves the box as it is. Answers {x, y, w, h}.
export function dctBox(box, block, face, grid, width, height) {
  if (!grid || block % 8) return box;
  const [ux, uy] = face ? grid.luma : grid.all;
  const x0 = Math.floor(box.x / ux) * ux;
  const y0 = Math.floor(box.y / uy) * uy;
  const x1 = Math.min(width, Math.ceil((box.x + box.w) / ux) * ux);
  const y1 = Math.min(height, Math.ceil((box.y + box.h) / uy) * uy);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

// The areas ({x, y, w, h, source}) as the preview's targets, each with its block. A face the person kept is sent
// as a face region (x,y,w,h,face): the server pixelates it with a face's block, at most FACE_BLOCKS blocks across
// it, whatever the pixel size asked; the preview shows the same. On an upright JPEG (`grid`: dctGrid) each box is
// the one the server's DCT-domain edit pixelates (dctBox), in the `width` × `height` photo.
export function areaTargets(areas, pixelSize, grid = null, width = 0, height = 0) {
  return areas.map((area) => {
    const face = area.source === "face";
    const block = face ? faceBlock(area, pixelSize) : pixelSize;
    return { box: dctBox(area, block, face, grid, width, height), block };
  });
}

// The photo itself at the canvas's size, scaled down once (a 12 MP photo takes a while to resample well) and
// kept, so that dragging an area redraws in a fraction of a millisecond.
function photoAt(work, width, height) {
  if (!work.base || work.base.width !== width || work.base.height !== height) {
    const base = document.createElement("canvas");
    base.width = width;
    base.height = height;
    const ctx = base.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(work.image, 0, 0, width, height);
    work.base = base;
  }
  return work.base;
}

// The photo as it is, with only `targets` ({box: {x, y, w, h}, block}) pixelated, each snapped to its own block
// grid; finer blocks first, so that where areas overlap the coarser block wins, as on the server.
export function drawAreasPreview(canvas, work, targets, method) {
  const displayScale = sizeCanvas(canvas, work);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(photoAt(work, canvas.width, canvas.height), 0, 0);
  ctx.imageSmoothingEnabled = false;
  const ordered = [...targets].sort((a, b) => a.block - b.block);
  for (const { box, block } of ordered) {
    const area = clipToPhoto(box, work.width, work.height);
    if (area.x1 <= area.x0 || area.y1 <= area.y0) continue;
    // one pixel per block of this area, from its own corner (computed per area: areas move while dragged)
    const small = method === "nearest"
      ? sampledBlocks(work.image, work.width, work.height, block, area)
      : averagedBlocks(work, block, area);
    const onScreen = block * displayScale;
    // The last column and row may be partial blocks: clip to the area, as the server cuts them.
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.x0 * displayScale, area.y0 * displayScale, (area.x1 - area.x0) * displayScale, (area.y1 - area.y0) * displayScale);
    ctx.clip();
    ctx.clearRect(area.x0 * displayScale, area.y0 * displayScale, (area.x1 - area.x0) * displayScale, (area.y1 - area.y0) * displayScale);
    ctx.drawImage(small, 0, 0, small.width, small.height, area.x0 * displayScale, area.y0 * displayScale,
      small.width * onScreen, small.height * onScreen);
    ctx.restore();
  }
}
