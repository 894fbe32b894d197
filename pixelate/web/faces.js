// "Find faces": a reduced copy of the photo goes to POST /api/detect, and the boxes come back in the photo's
// own upright pixels, for the person to check and adjust before anything is uploaded.
import { detectFaces } from "./network.js";

// The copy sent is as long as the detector's finest pass is for the photo (detector.preview_side), so that it finds
// what the photo itself would: for a photo of 2000 px or more narrower than 2:1, 1333 px (faces of 1.5 % of the
// long side at 20 px; the copy is DETECT_LONG_SIDE at least), in a few hundred KB of JPEG; for a panorama, what its
// 4:3 panels need (faces of 2 % of its short side: 5333 px at 8000×1000), up to DETECT_MAX_PIXELS (a JPEG of a few
// MB: the api takes at most 4 MiB; a longer panorama's smallest faces are then looked for on the server only).
const DETECT_LONG_SIDE = 1344;
const DETECT_MAX_PIXELS = 4_000_000;
// POST /api/detect takes at most this (api.SYNC_MAX_BYTES): a copy of a noisy panorama that comes out larger is
// made again, smaller by the share it is over
const DETECT_MAX_BYTES = 4 * 1024 * 1024;
const DETECT_QUALITY = 0.9;
// The detector's rule of the smallest face (pixelate/image/faces/detector.py, min_face_size and preview_side).
const MIN_FACE_PX = 30;
const MIN_FACE_FRACTION = 0.015;
const PANORAMA_ASPECT = 2;
const PANEL_ASPECT = 4 / 3;
const NET_MIN_FACE_PX = 20;

// The long side of the copy of a `width` × `height` photo sent to look for faces in.
export function detectLongSide(width, height) {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const panel = long < PANORAMA_ASPECT * short ? long : PANEL_ASPECT * short;
  const finest = long * NET_MIN_FACE_PX / Math.max(MIN_FACE_PX, MIN_FACE_FRACTION * panel);
  const fits = long * Math.sqrt(DETECT_MAX_PIXELS / (width * height));
  return Math.min(long, fits, Math.max(DETECT_LONG_SIDE, finest));
}

// The photo in `img` (upright: see preview.js, loadWorkingCopy), as a JPEG `detectLongSide` pixels on its longer
// side (smaller if that JPEG is over DETECT_MAX_BYTES); transparent parts over mid grey, as the server does.
async function reducedCopy(img, width, height) {
  let scale = Math.min(1, detectLongSide(width, height) / Math.max(width, height));
  for (;;) {
    const blob = await jpegCopy(img, width, height, scale);
    if (blob.size <= DETECT_MAX_BYTES || scale * Math.max(width, height) <= DETECT_LONG_SIDE) return blob;
    scale *= Math.sqrt(DETECT_MAX_BYTES / blob.size) * 0.95;
  }
}

function jpegCopy(img, width, height, scale) {
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#808080";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("This browser could not make a copy of the photo to look for faces."))),
      "image/jpeg", DETECT_QUALITY);
  });
}

// The faces in the upright photo `img` ({x, y, w, h, score}), in the photo's pixels (`width` × `height`,
// upright). A box found on the copy is scaled back outward, so it covers at least what it covered there.
export async function findFaces(img, width, height, onBusy) {
  const found = await detectFaces(await reducedCopy(img, width, height), width, height, onBusy);
  const sx = width / found.width;
  const sy = height / found.height;
  const faces = [];
  for (const face of found.faces) {
    const x0 = Math.max(0, Math.floor(face.x * sx));
    const y0 = Math.max(0, Math.floor(face.y * sy));
    const x1 = Math.min(width, Math.ceil((face.x + face.w) * sx));
    const y1 = Math.min(height, Math.ceil((face.y + face.h) * sy));
    if (x1 > x0 && y1 > y0) faces.push({ x: x0, y: y0, w: x1 - x0, h: y1 - y0, score: face.score });
  }
  return faces;
}
