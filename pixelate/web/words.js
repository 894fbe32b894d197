// Words a person understands: failures and refusals in plain language, sizes and names for people.
// Pure functions only (no DOM), shared by the page's modules.

export const PIXEL_SIZE_MIN = 2;
export const PIXEL_SIZE_MAX = 128;
export const PIXEL_SIZE_DEFAULT = 16;

// The processing reasons of a failed status record (pixelate.REASONS), in plain words.
const FAILURE_TEXT = {
  "unsupported-format": "This file is not an image we can read. Try a JPEG, PNG, GIF, WebP, HEIC, AVIF, TIFF or BMP image.",
  "corrupt": "This image is damaged or incomplete, so it could not be opened. Try saving or exporting it again.",
  "too-large": "This image is too large for the service. Try a smaller or lower-resolution copy.",
  "empty": "This file is empty: there is nothing in it to pixelate.",
  "too-many-frames": "This animation or multi-page file has too many frames for the service.",
  "invalid-option": `The pixel size, method or areas were not accepted. Pick a pixel size from ${PIXEL_SIZE_MIN} to ${PIXEL_SIZE_MAX} and draw the areas inside the photo.`,
};

// Error codes of POST /api/uploads and POST /api/detect (4xx, pixelate/service/api.py), in plain words; an
// unknown code shows the api's own message. "invalid-size" is told apart by the file: empty, or too large.
const NOT_AN_IMAGE = "This file is not an image, so it cannot be pixelated. Choose a photo or picture file.";
const API_ERROR_TEXT = {
  "invalid-content-type": NOT_AN_IMAGE,
  "unsupported-format": NOT_AN_IMAGE,
  "invalid-filename": "This file's name cannot be used. Rename the file and try again.",
  "invalid-pixel-size": FAILURE_TEXT["invalid-option"],
  "invalid-method": FAILURE_TEXT["invalid-option"],
  "invalid-option": FAILURE_TEXT["invalid-option"],
  "invalid-regions": "The areas chosen on this photo were not accepted. Draw them again inside the photo.",
  "too-large": "This file is too large to upload. Try a smaller or lower-resolution copy.",
  "empty": FAILURE_TEXT.empty,
  "unavailable": "The service is busy or briefly unavailable. Please try again in a moment.",
};

// S3's XML error codes for a refused presigned POST.
const STORAGE_ERROR_TEXT = {
  EntityTooLarge: FAILURE_TEXT["too-large"],
  EntityTooSmall: FAILURE_TEXT.empty,
  AccessDenied: "The upload was refused, perhaps because the upload link expired. Please try again.",
};

// Content types for files the browser leaves untyped (HEIC on many systems, for one).
const TYPE_BY_EXTENSION = {
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif", webp: "image/webp",
  heic: "image/heic", heif: "image/heif", avif: "image/avif", tif: "image/tiff", tiff: "image/tiff",
  bmp: "image/bmp", psd: "image/vnd.adobe.photoshop", mpo: "image/jpeg",
};

const EXTENSION_BY_TYPE = {
  "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
  "image/avif": "avif", "image/heic": "heic", "image/tiff": "tiff", "image/bmp": "bmp",
};

export function clampPixelSize(value) {
  const n = Math.round(Number(value));
  if (!Number.isFinite(n)) return PIXEL_SIZE_DEFAULT;
  return Math.min(PIXEL_SIZE_MAX, Math.max(PIXEL_SIZE_MIN, n));
}

export function contentTypeOf(file) {
  if (file.type) return file.type;
  const ext = (file.name.split(".").pop() || "").toLowerCase();
  return TYPE_BY_EXTENSION[ext] || "application/octet-stream";
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

export function downloadName(filename, pixelSize, contentType) {
  const stem = filename.replace(/\.[^.]*$/, "") || "image";
  const ext = EXTENSION_BY_TYPE[contentType] || (filename.includes(".") ? filename.split(".").pop() : "img");
  return `${stem}-pixelated-${pixelSize}.${ext}`;
}

export function formatName(contentType) {
  const ext = EXTENSION_BY_TYPE[contentType];
  return ext ? ext.toUpperCase() : "this kind of";
}

export function describeFailure(record) {
  const words = FAILURE_TEXT[record.reason];
  if (words) return words;
  return record.message || "Something went wrong while pixelating this image.";
}

export function describeApiError(status, body, file) {
  const code = body && typeof body.error === "string" ? body.error : "";
  if (code === "invalid-size" && file) return file.size === 0 ? API_ERROR_TEXT.empty : API_ERROR_TEXT["too-large"];
  if (API_ERROR_TEXT[code]) return API_ERROR_TEXT[code];
  if (status === 413) return API_ERROR_TEXT["too-large"];
  if (status === 415) return NOT_AN_IMAGE;
  if (status >= 500 || status === 429) return API_ERROR_TEXT.unavailable;
  if (body && typeof body.message === "string" && body.message) return `The service refused this upload: ${body.message}.`;
  return `The service refused this upload (HTTP ${status}). Please try again.`;
}

export function describeStorageError(status, xmlText) {
  const code = (/<Code>([^<]+)<\/Code>/.exec(xmlText || "") || [])[1];
  if (code && STORAGE_ERROR_TEXT[code]) return STORAGE_ERROR_TEXT[code];
  if (status === 0) return "The upload did not get through. Check your connection and try again.";
  return `The upload was refused by storage (HTTP ${status}${code ? `, ${code}` : ""}). Please try again.`;
}

// Whether a failed status record may come out otherwise if the photo is sent again: not when the image itself was
// refused (pixelate.REASONS), but a service's own failure (a timeout, say) may.
export function retryableFailure(record) {
  return !(record && Object.hasOwn(FAILURE_TEXT, record.reason));
}

// Two boxes ({x, y, w, h}) are the same face when they overlap mostly: intersection over union above a half, or
// most (80 %) of the smaller inside the larger (a face box grown to whole blocks, or with a margin, around another).
function sameFace(a, b) {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return false;
  const shared = w * h;
  const one = a.w * a.h;
  const other = b.w * b.h;
  return shared / (one + other - shared) > 0.5 || shared / Math.min(one, other) > 0.8;
}

// The status record's `regions` with each face the server found (it has a score) that is a region the person sent
// again (the same face, kept on the page and found again by the server) merged into that region: one entry, over
// both boxes, with the larger block. The rest as they are.
export function mergeSameFaces(regions) {
  const sent = regions.filter((r) => r.score === undefined).map((r) => ({ ...r }));
  const found = [];
  for (const face of regions.filter((r) => r.score !== undefined)) {
    const same = sent.find((r) => sameFace(r, face));
    if (!same) {
      found.push(face);
      continue;
    }
    const x1 = Math.max(same.x + same.w, face.x + face.w);
    const y1 = Math.max(same.y + same.h, face.y + face.h);
    same.x = Math.min(same.x, face.x);
    same.y = Math.min(same.y, face.y);
    Object.assign(same, { w: x1 - same.x, h: y1 - same.y, block: Math.max(same.block || 0, face.block || 0) || undefined });
  }
  return [...sent, ...found];
}

// What the server pixelated (the status record's `regions`, merged: mergeSameFaces), counted in words: "2 areas
// you chose, 1 face you kept and 1 face the server found". A face the server found carries its detector's score;
// a face kept on the page (found by "Find faces") is sent, and comes back, as a face without one.
export function describePixelated(regions) {
  const chosen = regions.filter((r) => r.score === undefined && r.source !== "face").length;
  const kept = regions.filter((r) => r.score === undefined && r.source === "face").length;
  const found = regions.length - chosen - kept;
  const parts = [];
  if (chosen) parts.push(`${plural(chosen, "area", "areas")} you chose`);
  if (kept) parts.push(`${plural(kept, "face", "faces")} you kept`);
  if (found) parts.push(`${plural(found, "face", "faces")} the server found`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}` : parts.join("");
}

// The larger blocks faces were given ("; faces in blocks of 32 px"), or "" when every block is the pixel size.
export function describeFaceBlocks(regions, pixelSize) {
  const blocks = [...new Set(regions.filter((r) => r.block > pixelSize).map((r) => r.block))].sort((a, b) => a - b);
  if (!blocks.length) return "";
  const range = blocks.length > 1 ? `${blocks[0]} to ${blocks[blocks.length - 1]}` : String(blocks[0]);
  return `; faces in blocks of ${range} px`;
}

// A drawn area more blocks across than this (on its larger side) may leave a face or writing in it recognisable: a
// face the server finds gets at most 8 (pixelate/image/options.py), a drawn area only the pixel size asked.
export const AREA_BLOCKS_WARN = 16;

// A note on the drawn areas ({w, h, source}, numbered from 1 in the order given) that are more than
// AREA_BLOCKS_WARN blocks across at `pixelSize`, or "" when none is. No sizes in it that change while an area is
// dragged: it is said once, not at every step.
export function describeLargeAreas(areas, pixelSize) {
  const large = areas.flatMap((a, i) => (
    a.source !== "face" && Math.max(a.w, a.h) / pixelSize > AREA_BLOCKS_WARN ? [i + 1] : []));
  if (!large.length) return "";
  const which = large.length > 1
    ? `Areas ${large.slice(0, -1).join(", ")} and ${large[large.length - 1]} are`
    : `Area ${large[0]} is`;
  const them = large.length > 1 ? "them" : "it";
  return `${which} more than ${AREA_BLOCKS_WARN} blocks across at ${pixelSize} px, so a face or anything else in `
    + `${them} may stay recognisable: larger blocks (a larger pixel size) hide ${them} better.`;
}

// What "Find faces" found: `found` faces, of which `added` were not marked yet.
export function describeFacesFound(found, added) {
  if (!found) return "No faces found in this photo. Draw an area over anything you want hidden.";
  const already = found - added;
  return `Found ${plural(found, "face", "faces")}${already ? ` (${already} already marked)` : ""}. `
    + "Check that each box covers the whole face: drag it or its edges to adjust it, delete a box that is not "
    + "a face, and draw any face that was missed.";
}

