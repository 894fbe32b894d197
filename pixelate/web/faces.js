// "Find faces": a reduced copy of the photo goes to POST /api/detect, and the boxes come back in the photo's
// own upright pixels, for the person to check and adjust before anything is uploaded.
import { detectFaces } from "./network.js";

// The copy sent is at most this many pixels on its longer side: for a photo of 2000 px or more the detector's
// finest pass looks at 1333 px (faces of 1.5 % of the long side at 20 px: detector.preview_side), so a copy of
// 1344 px finds what the photo itself would, in a few hundred KB of JPEG (the api takes at most 4 MiB).
const DETECT_LONG_SIDE = 1344;
const DETECT_QUALITY = 0.9;

// The photo in `img` (upright: see preview.js, loadWorkingCopy), as a JPEG at
// most DETECT_LONG_SIDE pixels on its longer side; transparent parts over mid grey, as the server does.
function reducedCopy(img, width, height) {
  const scale = Math.min(1, DETECT_LONG_SIDE / Math.max(width, height));
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
