// The photo upright, as the server sees it. The server turns every photo by its EXIF orientation, wherever Pillow
// finds it (pixelate/image/orient.py), and areas are sent in the upright photo's pixels. Browsers turn a JPEG by it
// (CSS image-orientation: from-image); measured in Chromium here, a PNG's eXIf chunk too, but not ImageMagick's
// "Raw profile type exif" text in a PNG, nor a WebP's EXIF chunk: such a photo is shown as stored, and an area
// drawn on it would land elsewhere on the server, leaving what it should hide. So the page reads the orientation
// itself, asks the browser (a tiny probe image carrying it the same way) whether it turns such a file, and turns
// the photo itself when the browser does not.

// 2 × 1 pixels carrying EXIF orientation 6 ("turn 90° clockwise") in each way: a browser that applies it shows 1 × 2.
const PROBES = {
  "png-exif": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAGmVYSWZNTQAqAAAACAABARIAAwAAAAEABgAAAAAAANZnS2kAAAAPSURBVHicYzwhJ8fAwAAABcwBBkWIWdQAAAAASUVORK5CYII=",
  "png-raw": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAZnRFWHRSYXcgcHJvZmlsZSB0eXBlIGV4aWYACmV4aWYKICAgICAgMzIKNDU3ODY5NjYwMDAwNGQ0ZDAwMmEwMDAwMDAwODAwMDEwMTEyMDAwMzAwMDAwMDAxMDAwNjAwMDAwMDAwMDAwMAoHkIJOAAAAD0lEQVR4nGM8ISfHwMAAAAXMAQZFiFnUAAAAAElFTkSuQmCC",
  "webp": "data:image/webp;base64,UklGRlIAAABXRUJQVlA4WAoAAAAIAAAAAQAAAAAAVlA4TBEAAAAvAQAAAAdQjyLXo/+BiOh/AABFWElGGgAAAE1NACoAAAAIAAEBEgADAAAAAQAGAAAAAAAA",
};
const probed = new Map();

// Bytes as text, one character per byte (TextDecoder's "latin1" is windows-1252, which remaps 0x80–0x9f).
function ascii(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
}

// The Orientation (0x0112) of TIFF-structured EXIF at `bytes` (an optional "Exif\0\0" first): 1 to 8, 1 when
// absent or out of range (as the server reads it), null when the EXIF is not readable.
function tiffOrientation(bytes) {
  const value = tiffValue(bytes, 0x0112);
  if (value === null) return null;
  return value >= 1 && value <= 8 ? value : 1;
}

// The value (SHORT or LONG) of `tag` in the first IFD of TIFF-structured data at `bytes` (an optional "Exif\0\0"
// or "MPF\0" first): 0 when absent, null when the data is not readable.
function tiffValue(bytes, tag) {
  let start = 0;
  if (ascii(bytes.subarray(0, 4)) === "Exif") start = 6;
  else if (ascii(bytes.subarray(0, 4)) === "MPF\0") start = 4;
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset + start, bytes.length - start);
    const order = view.getUint16(0);
    const little = order === 0x4949;
    if ((!little && order !== 0x4d4d) || view.getUint16(2, little) !== 42) return null;
    const ifd = view.getUint32(4, little);
    const count = view.getUint16(ifd, little);
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      if (view.getUint16(entry, little) !== tag) continue;
      const type = view.getUint16(entry + 2, little);
      return type === 3 ? view.getUint16(entry + 8, little) : type === 4 ? view.getUint32(entry + 8, little) : 0;
    }
    return 0;
  } catch {
    return null; // a RangeError: the EXIF is cut short
  }
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// ImageMagick's "Raw profile type exif" text: a line of name, one of length, then the EXIF in hexadecimal.
function rawProfile(text) {
  const hex = text.split("\n").slice(3).join("").replace(/\s/g, "");
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return tiffOrientation(out);
}

// A PNG's orientation: its eXIf chunk (read first, as Pillow does), else a "Raw profile type exif" text chunk.
async function pngOrientation(bytes, view) {
  let found = { carrier: "", orientation: 1 };
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = ascii(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length));
    at += 12 + length;
    if (type === "eXIf") return { carrier: "png-exif", orientation: tiffOrientation(data) };
    if (type !== "tEXt" && type !== "zTXt" && type !== "iTXt") continue;
    const nul = data.indexOf(0);
    if (ascii(data.subarray(0, nul)) !== "Raw profile type exif") continue;
    let orientation = null;
    try {
      if (type === "tEXt") orientation = rawProfile(ascii(data.subarray(nul + 1)));
      else if (type === "zTXt") orientation = rawProfile(ascii(await inflate(data.subarray(nul + 2))));
      else {
        const language = data.indexOf(0, nul + 3);
        const text = data.subarray(data.indexOf(0, language + 1) + 1);
        orientation = rawProfile(ascii(data[nul + 1] ? await inflate(text) : text));
      }
    } catch {
      orientation = null;
    }
    found = { carrier: "png-raw", orientation };
  }
  return found;
}

// How the file carries an EXIF orientation, and which: {carrier: "jpeg" | "png-exif" | "png-raw" | "webp" | "",
// orientation: 1..8, or null when it cannot be read}.
export async function readOrientation(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const view = new DataView(bytes.buffer);
  const head = ascii(bytes.subarray(0, 12));
  if (head.startsWith("\x89PNG")) return pngOrientation(bytes, view);
  if (head.startsWith("RIFF") && head.slice(8, 12) === "WEBP") {
    for (let at = 12; at + 8 <= bytes.length;) {
      const size = view.getUint32(at + 4, true);
      if (ascii(bytes.subarray(at, at + 4)) === "EXIF") {
        return { carrier: "webp", orientation: tiffOrientation(bytes.subarray(at + 8, at + 8 + size)) };
      }
      at += 8 + size + (size & 1);
    }
    return { carrier: "", orientation: 1 };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return { carrier: "jpeg", orientation: null }; // the browser turns it
  return { carrier: "", orientation: 1 };
}

// What the server's DCT-domain path needs to know of a JPEG (pixelate/image/fast/jpeg_regions.py, parse_header;
// pixelate/image/region_steps.py, jpeg_regions_in_dct): {sof, precision, sampling: [[h, v], ...], orientation
// (as the server reads it: the first APP1 Exif, 1 when absent or unreadable), images (an MPF's count: Pillow
// opens a JPEG of more than one as MPO, which takes the pixel path)}; null when it is not a plain JPEG.
export function jpegLayout(bytes) {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let frame = null;
  let orientation = 0;
  let images = 1;
  for (let at = 2; at + 4 <= bytes.length;) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) { at += 1; continue; } // a fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }
    const length = view.getUint16(at + 2);
    const segment = bytes.subarray(at + 4, at + 2 + length);
    if (length < 2 || segment.length !== length - 2) return null;
    if (marker === 0xda) break; // the first scan: the header is over
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (frame || segment.length < 6) return null;
      const count = segment[5];
      if (segment.length < 6 + 3 * count) return null;
      const sampling = [];
      for (let i = 0; i < count; i++) sampling.push([segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 15]);
      frame = { sof: marker, precision: segment[0], height: (segment[1] << 8) | segment[2], width: (segment[3] << 8) | segment[4], sampling };
    } else if (marker === 0xe1 && !orientation && ascii(segment.subarray(0, 6)) === "Exif\0\0") {
      orientation = tiffOrientation(segment) || 1;
    } else if (marker === 0xe2 && ascii(segment.subarray(0, 4)) === "MPF\0") {
      images = tiffValue(segment, 0xb001) || 1;
    }
    at += 2 + length;
  }
  return frame && { ...frame, orientation: orientation || 1, images };
}

/** The JPEG layout of `file` (jpegLayout), or null for anything else. */
export async function readJpegLayout(file) {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  if (head[0] !== 0xff || head[1] !== 0xd8) return null;
  try {
    return jpegLayout(new Uint8Array(await file.arrayBuffer()));
  } catch {
    return null; // cut short
  }
}

// Whether this browser turns a file whose orientation is carried this way.
function browserTurns(carrier) {
  if (!PROBES[carrier]) return Promise.resolve(true);
  if (!probed.has(carrier)) {
    const img = new Image();
    img.src = PROBES[carrier];
    probed.set(carrier, img.decode().then(() => img.naturalWidth === 1, () => false));
  }
  return probed.get(carrier);
}

// The canvas transform that turns a stored `w` × `h` picture upright for each EXIF orientation.
const TURNS = {
  2: (w) => [-1, 0, 0, 1, w, 0],
  3: (w, h) => [-1, 0, 0, -1, w, h],
  4: (w, h) => [1, 0, 0, -1, 0, h],
  5: () => [0, 1, 1, 0, 0, 0],
  6: (w, h) => [0, 1, -1, 0, h, 0],
  7: (w, h) => [0, -1, -1, 0, h, w],
  8: (w) => [0, -1, 1, 0, 0, w],
};

/**
 * The photo in `img` (loaded from `file`) upright, as the server will see it: {image, width, height, turned}.
 * `image` is `img` itself when the browser already shows it upright, else a canvas the page turned (`turned`
 * is then the orientation applied); `image` is null when the file's orientation cannot be read.
 */
export async function uprightPhoto(img, file) {
  const { carrier, orientation } = await readOrientation(file);
  const shown = { image: img, width: img.naturalWidth, height: img.naturalHeight, turned: 0 };
  if (orientation === 1 || carrier === "jpeg" || carrier === "") return shown;
  if (await browserTurns(carrier)) return shown;
  if (orientation === null) return { ...shown, image: null };
  const swap = orientation >= 5;
  const canvas = document.createElement("canvas");
  canvas.width = swap ? img.naturalHeight : img.naturalWidth;
  canvas.height = swap ? img.naturalWidth : img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(...TURNS[orientation](img.naturalWidth, img.naturalHeight));
  ctx.drawImage(img, 0, 0);
  return { image: canvas, width: canvas.width, height: canvas.height, turned: orientation };
}
